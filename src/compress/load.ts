import { FormatError } from '../formats/errors.js';
import { readEffml } from '../formats/effml.js';
import type { Backend } from '../kernels/backend.js';
import type { NetworkSpec } from '../nn/sequential.js';
import { Sequential } from '../nn/sequential.js';
import { decodeTensor } from './codec.js';

/** What deepCompression stores beside the tensors. */
export interface CompressedMeta {
  network: NetworkSpec;
  /** test accuracy measured before saving */
  accuracy: number;
  testExamples: number;
}

/** Decodes a compressed network file into a runnable network. */
export function loadCompressed(path: string, backend: Backend): { net: Sequential; meta: CompressedMeta } {
  const file = readEffml(path);
  const meta = file.meta as CompressedMeta;
  if (
    typeof meta !== 'object' ||
    meta === null ||
    typeof meta.network !== 'object' ||
    !Array.isArray(meta.network?.layers)
  )
    throw new FormatError(path, 'meta has no network description: not a compressed network');
  let net: Sequential;
  try {
    net = new Sequential(meta.network, backend);
  } catch (err) {
    throw new FormatError(path, `network description is invalid: ${(err as Error).message}`);
  }
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  for (const p of net.params()) {
    const t = byName.get(p.name);
    if (!t) throw new FormatError(path, `no tensor ${p.name}`);
    if (t.shape.join() !== p.shape.join())
      throw new FormatError(path, `${p.name} has shape [${t.shape}], the network needs [${p.shape}]`);
    p.data.set(decodeTensor(t, path));
  }
  return { net, meta };
}
