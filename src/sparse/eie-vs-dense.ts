import { loadCompressed } from '../compress/load.js';
import type { Backend } from '../kernels/backend.js';
import type { ImageDataset } from '../nn/dataset.js';
import { predict } from '../nn/train.js';
import { loadEieNetwork, predictEie } from './eie-network.js';

export interface EieVsDense {
  network: string;
  examples: number;
  /** of the EIE predictions */
  accuracy: number;
  /** images whose EIE prediction equals the decoded dense network's */
  agreeWithDense: number;
  /** one image at a time */
  eieMsPerImage: number;
  denseMsPerImage: number;
  layers: { rows: number; cols: number; pes: number; entries: number }[];
}

/**
 * Classifies `test` with a compressed MLP entirely through EIE SpMVs (Deep Compression layers
 * rebuilt over `pes` PEs) and with the decoded dense network, one image at a time each.
 */
export function eieVsDense(path: string, test: ImageDataset, pes: number, backend: Backend): EieVsDense {
  const eieNet = loadEieNetwork(path, pes);
  const { net } = loadCompressed(path, backend);
  let t = performance.now();
  const sparse = predictEie(eieNet, test, backend);
  const eieMs = performance.now() - t;
  t = performance.now();
  const dense = predict(net, test, 1);
  const denseMs = performance.now() - t;
  net.dispose();
  let agree = 0;
  let correct = 0;
  for (let i = 0; i < test.count; i++) {
    agree += sparse[i] === dense[i] ? 1 : 0;
    correct += sparse[i] === test.labels[i] ? 1 : 0;
  }
  return {
    network: eieNet.name,
    examples: test.count,
    accuracy: correct / test.count,
    agreeWithDense: agree,
    eieMsPerImage: eieMs / test.count,
    denseMsPerImage: denseMs / test.count,
    layers: eieNet.layers.map((l) => ({ rows: l.rows, cols: l.cols, pes: l.pes, entries: l.entries.length })),
  };
}
