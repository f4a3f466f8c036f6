/**
 * SmoothQuant (Xiao et al., ICML 2023): activation outliers sit in a few input channels, so divide
 * those channels by s_j and multiply the matching weight columns by s_j (folded into the preceding
 * RMSNorm, so the fp model is unchanged), with s_j = max|X_j|^α / max|W_j|^(1-α); then int8 weights
 * per output channel and int8 activations. Named as in the smoothquant repo (smooth_ln_fcs).
 */
import type { LlamaModel } from '../llm/model.js';
import type { LayerWeights, Linear } from '../llm/weights.js';
import { scaleNormFcs } from './awq.js';
import type { LayerStats } from './calibrate.js';
import { LINEAR_KEYS, linearShape } from './quantize-model.js';
import { UserError } from '../errors.js';

export interface W8A8Options {
  /** per output channel (default) or one scale per matrix */
  weight: 'channel' | 'tensor';
  /** activations per token (dynamic, default), per tensor (dynamic), or per tensor with a calibrated static scale */
  act: 'token' | 'tensor' | 'static';
}

/** The paper's efficiency levels: per-tensor weights; activations per token / per tensor dynamic / static. */
export const SMOOTHQUANT_PRESETS: Record<'O1' | 'O2' | 'O3', W8A8Options> = {
  O1: { weight: 'tensor', act: 'token' },
  O2: { weight: 'tensor', act: 'tensor' },
  O3: { weight: 'tensor', act: 'static' },
};

/** The linears each smoothed site feeds, and the norm before them (o_proj and down_proj are not smoothed, as in the repo). */
const SMOOTHED = [
  { site: 'attn_in', norm: 'attnNorm', fcs: ['wq', 'wk', 'wv'] },
  { site: 'ffn_in', norm: 'ffnNorm', fcs: ['w1', 'w3'] },
] as const;

/** s_j = max|X_j|^α / max_i |W_ij|^(1-α) over all the linears reading X, both clamped at 1e-5 as in the repo. */
export function smoothingScales(actMax: ArrayLike<number>, fcs: Float32Array[], alpha: number): Float32Array {
  const K = actMax.length;
  const wMax = new Float64Array(K);
  for (const w of fcs) for (let i = 0; i < w.length; i++) wMax[i % K] = Math.max(wMax[i % K], Math.abs(w[i]));
  return Float32Array.from({ length: K }, (_, j) =>
    Math.max(1e-5, Math.max(actMax[j], 1e-5) ** alpha / Math.max(wMax[j], 1e-5) ** (1 - alpha)),
  );
}

const f32 = (w: Linear, what: string): Float32Array => {
  if (w.dtype !== 'f32')
    throw new UserError(`${what} is ${w.dtype}: SmoothQuant starts from an f32 / f16 model`);
  return w.data;
};

/** smooth_lm: folds the scales into every layer's norms and linears, and into the calibration statistics. */
export function smoothModel(model: LlamaModel, stats: LayerStats[], alpha: number): void {
  if (!(alpha >= 0 && alpha <= 1)) throw new UserError(`alpha must lie in [0, 1], got ${alpha}`);
  model.weights.layers.forEach((L: LayerWeights, l) => {
    for (const { site, norm, fcs } of SMOOTHED) {
      const ws = fcs.map((k) => f32(L[k], `layer ${l} ${k}`));
      const s = smoothingScales(stats[l][site].maxAbs, ws, alpha);
      scaleNormFcs(L[norm], ws, s);
      stats[l][site].divide(s);
    }
  });
}

/** Symmetric int8 with one scale per row (or one for the matrix): q = round(w / s), s = max|w| / 127. */
export function quantizeInt8(
  w: Float32Array,
  rows: number,
  cols: number,
  weight: W8A8Options['weight'],
): { q: Int8Array; scales: Float32Array } {
  const absMax = (from: number, to: number) => {
    let m = 0;
    for (let i = from; i < to; i++) m = Math.max(m, Math.abs(w[i]));
    return m;
  };
  const whole = weight === 'tensor' ? absMax(0, w.length) : 0;
  const scales = Float32Array.from(
    { length: rows },
    (_, r) => (weight === 'tensor' ? whole : absMax(r * cols, (r + 1) * cols)) / 127,
  );
  const q = new Int8Array(w.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) q[r * cols + c] = scales[r] ? Math.round(w[r * cols + c] / scales[r]) : 0;
  return { q, scales };
}

const SITE_OF = {
  wq: 'attn_in',
  wk: 'attn_in',
  wv: 'attn_in',
  wo: 'attn_out',
  w1: 'ffn_in',
  w3: 'ffn_in',
  w2: 'ffn_mid',
} as const;

/**
 * Every decoder linear to W8A8 in place (the embedding and classifier stay f32, as in the paper).
 * Static activation scales come from the calibration statistics (max |x| / 127 over the site).
 * The f32 linears are freed as they are replaced. Returns each layer's relative weight error ||W - Q(W)||² / ||W||².
 */
export function quantizeW8A8(model: LlamaModel, o: W8A8Options, stats: LayerStats[] | null): number[] {
  if (o.act === 'static' && !stats) throw new UserError('static activation scales need calibration');
  const be = model.backend;
  return model.weights.layers.map((L, l) => {
    let err = 0;
    let norm = 0;
    for (const key of LINEAR_KEYS) {
      const w = f32(L[key], `layer ${l} ${key}`);
      const [rows, cols] = linearShape(model, key);
      const { q, scales } = quantizeInt8(w, rows, cols, o.weight);
      for (let i = 0; i < w.length; i++) {
        err += (q[i] * scales[Math.floor(i / cols)] - w[i]) ** 2;
        norm += w[i] ** 2;
      }
      const heapQ = be.allocBytes(q.length);
      heapQ.set(new Uint8Array(q.buffer));
      const heapScales = be.allocF32(rows);
      heapScales.set(scales);
      const act = o.act === 'static' ? Math.max(...stats![l][SITE_OF[key]].maxAbs) / 127 : o.act;
      L[key] = {
        dtype: 'int8',
        data: { q: new Int8Array(heapQ.buffer, heapQ.byteOffset, q.length), scales: heapScales, act },
      };
      be.free(w); // the replaced f32 weights; the new ones are the weights' owner's
    }
    return err / norm;
  });
}
