import type { Backend } from '../kernels/backend.js';

/**
 * A layer's activation and gradient buffers in the backend's memory, grown to the largest batch
 * seen and then reused, so training allocates nothing per step. It owns them: a grown buffer
 * replaces (and frees) the smaller one, and dispose() frees them all.
 */
export class Workspace {
  private readonly buffers = new Map<string, Float32Array>();

  constructor(private readonly backend: Backend) {}

  /** A buffer of exactly n floats (a view on one of at least n); contents are whatever was left there. */
  f32(key: string, n: number): Float32Array {
    let b = this.buffers.get(key);
    if (!b || b.length < n) {
      if (b) this.backend.free(b);
      b = this.backend.allocF32(n);
      this.buffers.set(key, b);
    }
    return b.length === n ? b : b.subarray(0, n);
  }

  dispose(): void {
    for (const b of this.buffers.values()) this.backend.free(b);
    this.buffers.clear();
  }
}
