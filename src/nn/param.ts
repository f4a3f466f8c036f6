import type { Backend } from '../kernels/backend.js';
import { UserError } from '../errors.js';

/**
 * A trainable tensor: values and gradient in the backend's memory (so kernels use them in place,
 * until dispose() frees them), and, once the network is pruned, a mask of the weights still alive.
 */
export class Param {
  readonly data: Float32Array;
  readonly grad: Float32Array;
  /** 1 where the weight is kept; pruned weights stay exactly zero through retraining (Han et al. 2015) */
  mask: Uint8Array | null = null;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    private readonly backend: Backend,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > 2 ** 28) throw new UserError(`${name} [${shape}] has more than 2^28 values`);
    this.data = backend.allocF32(n);
    this.grad = backend.allocF32(n);
  }

  dispose(): void {
    this.backend.free(this.data);
    this.backend.free(this.grad);
  }

  get size(): number {
    return this.data.length;
  }

  /** A weight matrix or kernel (what pruning and weight sharing act on), not a bias. */
  get isWeight(): boolean {
    return this.shape.length > 1;
  }

  /** Zeroes the gradient of pruned weights. */
  maskGrad(): void {
    const m = this.mask;
    if (!m) return;
    for (let i = 0; i < m.length; i++) if (!m[i]) this.grad[i] = 0;
  }

  /** Zeroes the pruned weights. */
  applyMask(): void {
    const m = this.mask;
    if (!m) return;
    for (let i = 0; i < m.length; i++) if (!m[i]) this.data[i] = 0;
  }
}
