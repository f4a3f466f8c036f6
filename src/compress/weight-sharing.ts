import type { Optimizer } from '../nn/optim.js';
import type { Param } from '../nn/param.js';
import { kmeans1d, nearest } from './kmeans.js';
import { UserError } from '../errors.js';

/**
 * A weight-shared layer (Deep Compression's trained quantization): every weight is an index into a
 * codebook. Index 0 is reserved for the zero weight (pruned positions and sparse fillers), so
 * `bits` bits give 2^bits - 1 trained centroids.
 */
export interface SharedWeights {
  codebook: Float32Array;
  /** per weight, 0 = pruned */
  codes: Uint8Array;
  bits: number;
}

/** k-means (linear init) over the layer's surviving weights; the layer then holds codebook values. */
export function shareWeights(p: Param, bits: number): SharedWeights {
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 8))
    throw new UserError(`${p.name}: weight bits must be 1..8, got ${bits}`);
  const alive = p.mask ? p.data.filter((_, i) => p.mask![i]) : Float32Array.from(p.data);
  const centroids = kmeans1d(alive, 2 ** bits - 1);
  const codes = new Uint8Array(p.size);
  for (let i = 0; i < p.size; i++) if (!p.mask || p.mask[i]) codes[i] = 1 + nearest(centroids, p.data[i]);
  const shared = { codebook: Float32Array.from([0, ...centroids]), codes, bits };
  applyShared(p, shared);
  return shared;
}

export function applyShared(p: Param, s: SharedWeights): void {
  for (let i = 0; i < p.size; i++) p.data[i] = s.codebook[s.codes[i]];
}

/**
 * Fine-tunes the centroids: the gradient of a centroid is the sum of the gradients of the weights
 * that share it (paper eq. 3), then SGD with momentum on the codebook, and the layer re-expanded.
 * Parameters without a codebook (biases) take plain SGD steps.
 */
export class CentroidSGD implements Optimizer {
  private readonly velocity = new Map<Param, Float32Array>();

  constructor(
    private readonly params: Param[],
    private readonly shared: Map<Param, SharedWeights>,
    private readonly momentum = 0.9,
  ) {
    for (const p of params) this.velocity.set(p, new Float32Array(shared.get(p)?.codebook.length ?? p.size));
  }

  step(lr: number): void {
    for (const p of this.params) {
      const v = this.velocity.get(p)!;
      const s = this.shared.get(p);
      if (!s) {
        for (let i = 0; i < p.size; i++) {
          v[i] = this.momentum * v[i] + p.grad[i];
          p.data[i] -= lr * v[i];
        }
        continue;
      }
      const g = new Float64Array(s.codebook.length);
      for (let i = 0; i < p.size; i++) g[s.codes[i]] += p.grad[i];
      for (let c = 1; c < s.codebook.length; c++) {
        v[c] = this.momentum * v[c] + g[c];
        s.codebook[c] -= lr * v[c];
      }
      applyShared(p, s);
    }
  }
}
