/**
 * Picks the next token from logits: repetition penalty, then greedy (temperature 0) or temperature
 * -> top-k -> softmax -> min-p -> top-p -> a draw from a seeded generator (same seed, same text).
 */
import { Random } from '../tensor/random.js';
import { UserError } from '../errors.js';

export interface SamplingOptions {
  /** 0 = greedy (default 0.8) */
  temperature?: number;
  /** keep the k most likely tokens; 0 = all (default 40) */
  topK?: number;
  /** keep the smallest set of tokens whose probability reaches p (default 0.95) */
  topP?: number;
  /** drop tokens less likely than minP × the most likely one (default 0.05) */
  minP?: number;
  /** divide positive logits (multiply negative ones) of recent tokens by this (default 1: off, as llama.cpp) */
  repetitionPenalty?: number;
  /** how many recent tokens the penalty looks at (default 64) */
  repetitionWindow?: number;
  seed?: number;
}

export const SAMPLING_DEFAULTS: Required<SamplingOptions> = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1,
  repetitionWindow: 64,
  seed: 0,
};

export class Sampler {
  private readonly o: Required<SamplingOptions>;
  private readonly random: Random;

  constructor(options: SamplingOptions = {}) {
    const given = Object.fromEntries(
      Object.keys(SAMPLING_DEFAULTS).flatMap((k) => {
        const v = options[k as keyof SamplingOptions];
        return v === undefined ? [] : [[k, v]];
      }),
    );
    this.o = { ...SAMPLING_DEFAULTS, seed: Math.floor(Math.random() * 2 ** 32), ...given };
    for (const [key, value] of Object.entries(this.o))
      if (!Number.isFinite(value) || value < 0)
        throw new UserError(`sampling option ${key} must be a finite number >= 0, got ${value}`);
    if (this.o.topP > 1 || this.o.minP > 1) throw new UserError('topP and minP must lie in [0, 1]');
    this.random = new Random(this.o.seed);
  }

  /** `history`: the tokens so far (prompt and generated), for the repetition penalty. Leaves `logits` untouched. */
  sample(logits: Float32Array, history: readonly number[] = []): number {
    const o = this.o;
    const scores = Float32Array.from(logits);
    if (o.repetitionPenalty !== 1)
      for (const id of new Set(history.slice(-o.repetitionWindow)))
        scores[id] = scores[id] > 0 ? scores[id] / o.repetitionPenalty : scores[id] * o.repetitionPenalty;
    if (o.temperature === 0) return argmax(scores);

    // candidates sorted by logit, cut to top-k
    let ids =
      o.topK > 0 && o.topK < scores.length
        ? topK(scores, o.topK)
        : Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);
    const max = scores[ids[0]];
    let probs = ids.map((id) => Math.exp((scores[id] - max) / o.temperature));
    // min-p: relative to the most likely candidate (whose weight is exp(0) = 1)
    if (o.minP > 0) {
      const keep = probs.filter((p) => p >= o.minP).length;
      ids = ids.slice(0, Math.max(1, keep));
      probs = probs.slice(0, ids.length);
    }
    let total = probs.reduce((a, b) => a + b, 0);
    if (o.topP < 1) {
      let mass = 0;
      let n = 0;
      while (n < probs.length && mass < o.topP * total) mass += probs[n++];
      ids = ids.slice(0, Math.max(1, n));
      probs = probs.slice(0, ids.length);
      total = probs.reduce((a, b) => a + b, 0);
    }
    let r = this.random.next() * total;
    for (let i = 0; i < ids.length; i++) {
      r -= probs[i];
      if (r < 0) return ids[i];
    }
    return ids[ids.length - 1];
  }
}

/** The k largest entries' indices, largest first, in one pass (O(n) for k much smaller than n). */
function topK(x: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (best.length === k && x[i] <= x[best[k - 1]]) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && x[best[at - 1]] < x[i]) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = i;
  }
  return best;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
