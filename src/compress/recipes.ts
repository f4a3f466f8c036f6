import type { DeepCompressionOptions } from './deep-compression.js';

/** What a network's recipe sets; the rest of DeepCompressionOptions is the caller's. */
export type CompressionRecipe = Pick<
  DeepCompressionOptions,
  'epochs' | 'pruneQuality' | 'pruneIterations' | 'retrainEpochs' | 'weightBits' | 'indexBits'
>;

/**
 * Per network: the paper's recipe (per-layer quality, bits, index width), tuned on Fashion-MNIST for
 * the paper's compression ratio (README, "Deep Compression"). The fc layers share 15 weights, so
 * lenet-300-100's output also runs on EIE.
 */
export const COMPRESSION_RECIPES: Record<string, CompressionRecipe> = {
  'lenet-300-100': {
    epochs: 20,
    pruneQuality: { fc1: 2.6, fc2: 2.8, fc3: 1.9 },
    pruneIterations: 8,
    retrainEpochs: 5,
    weightBits: { fc1: 4, fc2: 4, fc3: 4 },
    indexBits: { fc1: 5, fc2: 5, fc3: 5 },
  },
  'lenet-5': {
    epochs: 15,
    pruneQuality: { conv1: 0.5, conv2: 1.7, fc1: 2.35, fc2: 1.6 },
    pruneIterations: 4,
    retrainEpochs: 3,
    weightBits: { conv1: 8, conv2: 8, fc1: 4, fc2: 4 },
    indexBits: { conv1: 8, conv2: 8, fc1: 5, fc2: 5 },
  },
};
