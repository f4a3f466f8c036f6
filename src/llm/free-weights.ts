/** Gives a model's weight arrays back to the backend that holds them (what their owner's dispose does). */
import type { Backend } from '../kernels/backend.js';
import type { Linear, LlamaWeights } from './weights.js';

/** The arrays of one linear, in whichever format it is stored. */
export function freeLinear(backend: Backend, w: Linear): void {
  if (w.dtype === 'int4') for (const a of [w.data.packed, w.data.scales, w.data.zeros]) backend.free(a);
  else if (w.dtype === 'int8') for (const a of [w.data.q, w.data.scales]) backend.free(a);
  else backend.free(w.data);
}

/** Every array of the weights, each once (a tied classifier is the embedding itself). */
export function freeWeights(backend: Backend, w: LlamaWeights): void {
  for (const L of w.layers) {
    for (const a of [L.attnNorm, L.ffnNorm, L.bq, L.bk, L.bv]) if (a) backend.free(a);
    for (const linear of [L.wq, L.wk, L.wv, L.wo, L.w1, L.w2, L.w3]) freeLinear(backend, linear);
  }
  backend.free(w.embed);
  backend.free(w.finalNorm);
  if (w.output.data !== w.embed) freeLinear(backend, w.output);
}
