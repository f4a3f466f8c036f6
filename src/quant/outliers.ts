/**
 * An outlier-injected twin of a model, exactly equivalent in floating point: a few channels of each
 * RMSNorm weight (before q/k/v and before gate/up) are multiplied by a power of two and the matching
 * input columns of the linears after it divided by the same, so every linear's output is unchanged
 * bit for bit while its input carries large outlier channels, as LLMs past 6.7B parameters show
 * (the case SmoothQuant is for). Small models like stories260K have no strong outliers of their own.
 */
import type { LlamaModel } from '../llm/model.js';
import { Random } from '../tensor/random.js';
import { UserError } from '../errors.js';

export interface OutlierOptions {
  /** channels per norm (default 4) */
  channels?: number;
  /** a power of two, so the scaling is exact (default 64) */
  factor?: number;
  seed?: number;
}

/** Injects in place; returns the channels chosen in each layer. */
export function injectOutliers(model: LlamaModel, o: OutlierOptions = {}): number[][] {
  const { channels = 4, factor = 64, seed = 1 } = o;
  const dim = model.config.dim;
  if (!(Number.isInteger(Math.log2(factor)) && factor > 1))
    throw new UserError(
      `the outlier factor must be a power of two above 1 (exact in floating point), got ${factor}`,
    );
  if (!(Number.isInteger(channels) && channels >= 1 && channels <= dim))
    throw new UserError(`outlier channels must be 1..${dim}, got ${channels}`);
  const random = new Random(seed);
  return model.weights.layers.map((L) => {
    const picked = random
      .shuffle(Array.from({ length: dim }, (_, i) => i))
      .slice(0, channels)
      .sort((a, b) => a - b);
    for (const [norm, fcs] of [
      [L.attnNorm, [L.wq, L.wk, L.wv]],
      [L.ffnNorm, [L.w1, L.w3]],
    ] as const) {
      for (const c of picked) norm[c] *= factor;
      for (const w of fcs) {
        if (w.dtype !== 'f32') throw new UserError('outliers are injected into an f32 / f16 model');
        for (let r = 0; r < w.data.length / dim; r++) for (const c of picked) w.data[r * dim + c] /= factor;
      }
    }
    return picked;
  });
}
