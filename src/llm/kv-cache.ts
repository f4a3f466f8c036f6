import type { Backend } from '../kernels/backend.js';
import type { LlamaConfig } from './config.js';

export class ContextOverflowError extends Error {
  constructor(
    readonly limit: number,
    needed: number,
  ) {
    super(`context overflow: ${needed} tokens do not fit the model's context of ${limit} tokens`);
    this.name = 'ContextOverflowError';
  }
}

/** Keys and values of every layer, one row of kvHeads · headDim per position, preallocated to the context length. */
export class KVCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** positions filled */
  length = 0;

  constructor(
    readonly config: LlamaConfig,
    backend: Backend,
    readonly capacity = config.contextLength,
  ) {
    const kvDim = config.nKvHeads * config.headDim;
    this.keys = Array.from({ length: config.nLayers }, () => backend.allocF32(capacity * kvDim));
    this.values = Array.from({ length: config.nLayers }, () => backend.allocF32(capacity * kvDim));
  }

  /** Throws ContextOverflowError unless `tokens` more positions fit. */
  reserve(tokens: number): void {
    if (this.length + tokens > this.capacity)
      throw new ContextOverflowError(this.capacity, this.length + tokens);
  }

  /** Forgets positions from `length` on (e.g. to rewind a conversation). */
  truncate(length: number): void {
    this.length = Math.max(0, Math.min(length, this.length));
  }
}
