import type { DeepCompressionOptions } from '../../src/compress/deep-compression.js';
import { COMPRESSION_RECIPES } from '../../src/compress/recipes.js';
import type { Backend } from '../../src/kernels/backend.js';
import type { ImageDataset } from '../../src/nn/dataset.js';
import { LENET_300_100 } from '../../src/nn/lenet.js';

/** LeNet-300-100's recipe with one epoch per stage: a whole Deep Compression run in a second. */
export function quickLenetCompression(
  backend: Backend,
  train: ImageDataset,
  test: ImageDataset,
  sensitivity: number[],
): DeepCompressionOptions {
  return {
    ...COMPRESSION_RECIPES[LENET_300_100.name],
    network: LENET_300_100,
    train,
    test,
    backend,
    seed: 1,
    batchSize: 50,
    epochs: 1,
    lr: 1e-3,
    weightDecay: 0,
    pruneIterations: 1,
    retrainEpochs: 1,
    retrainLr: 1e-3,
    finetuneEpochs: 1,
    finetuneLr: 1e-4,
    sensitivity,
  };
}
