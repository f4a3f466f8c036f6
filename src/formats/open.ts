/** Recognizes a file (or a Hugging Face model folder) by its content and opens it with the right reader. */
import { existsSync, statSync } from 'node:fs';
import { EFFML_MAGIC, type EffmlFile, readEffml } from './effml.js';
import { FormatError } from './errors.js';
import { GGUF_MAGIC, type GGUFFile, readGGUF } from './gguf.js';
import { isGzip, readIdx } from './idx.js';
import {
  type Llama2cCheckpoint,
  type Llama2cTokenizerFile,
  readLlama2cCheckpoint,
  readLlama2cTokenizer,
} from './llama2c.js';
import {
  type SafetensorsFile,
  ShardedSafetensors,
  readSafetensors,
  resolveSafetensorsFolder,
} from './safetensors.js';
import { FileSource } from './source.js';
import type { Tensor } from '../tensor/tensor.js';

export type OpenedFile =
  | { kind: 'gguf'; file: GGUFFile }
  | { kind: 'safetensors'; file: SafetensorsFile }
  | { kind: 'safetensors-sharded'; file: ShardedSafetensors }
  | { kind: 'llama2c'; file: Llama2cCheckpoint }
  | { kind: 'llama2c-tokenizer'; file: Llama2cTokenizerFile }
  | { kind: 'idx'; tensor: Tensor; path: string }
  | { kind: 'effml'; file: EffmlFile; path: string };

export const SUPPORTED_FORMATS =
  'GGUF v1-v3, safetensors (single or sharded via model.safetensors.index.json, or a model folder), llama2.c checkpoint, llama2.c tokenizer.bin, IDX (.gz), .effml (compressed network)';

export function openModelFile(path: string): OpenedFile {
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  if (statSync(path).isDirectory()) path = resolveSafetensorsFolder(path);
  if (path.endsWith('.index.json'))
    return { kind: 'safetensors-sharded', file: new ShardedSafetensors(path) };
  const probe = new FileSource(path);
  const head = probe.read(0, Math.min(probe.size, 8));
  probe.close();
  const view = new DataView(head.buffer);
  if (head.byteLength >= 4 && view.getUint32(0, true) === GGUF_MAGIC)
    return { kind: 'gguf', file: readGGUF(path) };
  if (
    isGzip(head) ||
    (head.byteLength >= 4 && head[0] === 0 && head[1] === 0 && head[2] >= 0x08 && head[2] <= 0x0e)
  )
    return { kind: 'idx', tensor: readIdx(path), path };
  if (new TextDecoder().decode(head) === EFFML_MAGIC) return { kind: 'effml', file: readEffml(path), path };
  if (path.endsWith('.safetensors')) return { kind: 'safetensors', file: readSafetensors(path) };
  // A llama2.c checkpoint's header fixes the file size exactly; anything else may be a tokenizer.bin.
  const failures: string[] = [];
  for (const attempt of [
    () => ({ kind: 'llama2c', file: readLlama2cCheckpoint(path) }) as const,
    () => ({ kind: 'llama2c-tokenizer', file: readLlama2cTokenizer(path) }) as const,
    () => ({ kind: 'safetensors', file: readSafetensors(path) }) as const,
  ]) {
    try {
      return attempt();
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      failures.push(err.reason);
    }
  }
  const why = path.endsWith('.bin')
    ? `; as a llama2.c checkpoint: ${failures[0]}; as a tokenizer.bin: ${failures[1]}`
    : '';
  throw new FormatError(path, `not a supported model file (supported: ${SUPPORTED_FORMATS})${why}`);
}
