import type { Backend } from '../kernels/backend.js';
import type { LlamaConfig } from './config.js';
import { UserError } from '../errors.js';

export class ContextOverflowError extends UserError {
  constructor(
    readonly limit: number,
    needed: number,
  ) {
    super(`context overflow: ${needed} tokens do not fit the model's context of ${limit} tokens`);
    this.name = 'ContextOverflowError';
  }
}

/**
 * What happens when the cache is full: `full` refuses more tokens; `window` evicts the oldest;
 * `sink` keeps the first `sinks` tokens (StreamingLLM's attention sinks) and evicts the oldest of
 * the rest.
 */
export type CachePolicy = 'full' | 'window' | 'sink';

export interface CacheOptions {
  policy?: CachePolicy;
  /** slots (sinks + window); default: the model's context */
  capacity?: number;
  /** sink tokens for the `sink` policy (default 4) */
  sinks?: number;
}

/**
 * Keys and values of every layer, one row of kvHeads · headDim per slot, preallocated. Until the
 * cache is full, slot = position. After that the window slots form a ring buffer (eviction
 * overwrites one slot, nothing is copied) and the sinks stay in slots 0..sinks-1.
 *
 * Keys are stored rotated by their stream position. Attention only sees relative positions, so
 * the window keys need no re-rotation: as in StreamingLLM, their distance to the query inside the
 * cache equals their distance in the stream. The sinks sit at cache positions 0..sinks-1 and are
 * scored against the query rotated to its cache position instead (see LlamaModel).
 *
 * The cache allocates its arrays in the backend's memory and frees them on dispose().
 */
export class KVCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  readonly policy: CachePolicy;
  readonly capacity: number;
  readonly sinks: number;
  /** tokens fed so far: the stream position of the next token */
  position = 0;
  private disposed = false;

  constructor(
    config: LlamaConfig,
    private readonly backend: Backend,
    options: CacheOptions = {},
  ) {
    this.policy = options.policy ?? 'full';
    this.capacity = options.capacity ?? config.contextLength;
    this.sinks = this.policy === 'sink' ? (options.sinks ?? 4) : 0;
    if (!Number.isInteger(this.capacity) || this.capacity < 1 || this.capacity > config.contextLength)
      throw new UserError(
        `cache capacity must be an integer in [1, ${config.contextLength}], got ${this.capacity}`,
      );
    if (!Number.isInteger(this.sinks) || this.sinks < 0 || this.sinks >= this.capacity)
      throw new UserError(`sink tokens must be an integer in [0, ${this.capacity - 1}], got ${this.sinks}`);
    const kvDim = config.nKvHeads * config.headDim;
    this.keys = Array.from({ length: config.nLayers }, () => backend.allocF32(this.capacity * kvDim));
    this.values = Array.from({ length: config.nLayers }, () => backend.allocF32(this.capacity * kvDim));
  }

  /** slots filled */
  get length(): number {
    return Math.min(this.position, this.capacity);
  }

  /** whether the next token evicts one (or, for `full`, does not fit) */
  get full(): boolean {
    return this.position >= this.capacity;
  }

  /** The slot of stream position p (valid for the last capacity - sinks positions and the sinks). */
  slot(p: number): number {
    if (p < this.capacity) return p;
    return this.sinks + ((p - this.sinks) % (this.capacity - this.sinks));
  }

  /** Gives the cache's memory back to the backend; the cache cannot be used after. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const a of [...this.keys, ...this.values]) this.backend.free(a);
  }

  /** Throws ContextOverflowError if the policy cannot take `tokens` more. */
  reserve(tokens: number): void {
    if (this.disposed) throw new Error('this KV cache was disposed');
    if (this.policy === 'full' && this.position + tokens > this.capacity)
      throw new ContextOverflowError(this.capacity, this.position + tokens);
  }

  /** Empties the cache (always allowed). */
  reset(): void {
    this.position = 0;
  }

  /** Forgets positions from `position` on (e.g. to rewind a conversation); not past an eviction. */
  truncate(position: number): void {
    if (position < this.position && this.position > this.capacity)
      throw new RangeError('cannot rewind a cache that has evicted tokens; start a new one');
    this.position = Math.max(0, Math.min(position, this.position));
  }
}
