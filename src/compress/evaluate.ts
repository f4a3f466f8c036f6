import type { Backend } from '../kernels/backend.js';
import type { ImageDataset } from '../nn/dataset.js';
import { accuracy } from '../nn/train.js';
import { loadCompressed } from './load.js';

export interface CompressedEvaluation {
  network: string;
  examples: number;
  accuracy: number;
  /** what the file says was measured before saving */
  savedAccuracy: number;
  savedExamples: number;
}

/** Decodes a compressed network file and measures its accuracy on `test`. */
export function evaluateCompressed(path: string, test: ImageDataset, backend: Backend): CompressedEvaluation {
  const { net, meta } = loadCompressed(path, backend);
  const measured = accuracy(net, test);
  net.dispose();
  return {
    network: meta.network.name,
    examples: test.count,
    accuracy: measured,
    savedAccuracy: meta.accuracy,
    savedExamples: meta.testExamples,
  };
}
