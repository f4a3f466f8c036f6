/**
 * AWQ (Lin et al., MLSys 2024), block by block as llm-awq's auto_scale.py and auto_clip.py:
 *  1. per group of linears sharing an input, search s = mean|x|^α (α on a grid of 20 in [0, 1),
 *     normalized by sqrt(max(s) · min(s))) for the least MSE of the quantized output, and fold s
 *     into the preceding norm or linear so the fp model is unchanged. The output inspected is
 *     llm-awq's module2inspect where it is per token: the MLP's output for gate / up (down stays
 *     fp), o's and down's own outputs. For q, k, v llm-awq inspects the attention block's output,
 *     which needs whole sequences; calibration keeps sampled rows, so the loss is on the
 *     concatenated q, k, v outputs;
 *  2. per output row and group, search the clipping range (shrinking the max over a grid) for the
 *     least output error, skipping q and k as llm-awq does;
 *  3. quantize with the chosen scales and clips (quantizeModel).
 * Calibration statistics come from one fp pass (calibrate.ts): as in llm-awq, a layer's inputs are
 * those of the unmodified fp model.
 */
import type { Backend } from '../kernels/backend.js';
import type { LlamaModel } from '../llm/model.js';
import type { LayerWeights, Linear } from '../llm/weights.js';
import type { LayerStats, SiteStats } from './calibrate.js';
import { type QuantConfig, fakeQuantize, groupsOf } from './rtn.js';
import { UserError } from '../errors.js';

export interface AwqOptions extends QuantConfig {
  /** grid points for α and for the clip shrink (default 20) */
  nGrid?: number;
  /** largest clip shrink (default 0.5) */
  maxShrink?: number;
  /** input rows used by the clip search (default 512, as llm-awq) */
  clipRows?: number;
  onLayer?: (layer: number, total: number) => void;
}

type LinearKey = 'wq' | 'wk' | 'wv' | 'wo' | 'w1' | 'w2' | 'w3';

/** The clip limits chosen per linear of each layer ([rows, groups]). */
export type ClipPlan = Partial<Record<LinearKey, Float32Array>>[];

export interface AwqResult {
  /** α chosen per layer and group */
  ratios: Record<string, number>[];
  clips: ClipPlan;
}

function f32(w: Linear): Float32Array {
  if (w.dtype !== 'f32') throw new UserError('AWQ needs f32 weights (load the fp model)');
  return w.data;
}

/** y[n, N] = x[n, K] · w[N, K]ᵀ on the backend */
function project(
  be: Backend,
  x: Float32Array,
  w: Float32Array,
  n: number,
  N: number,
  K: number,
): Float32Array {
  const out = new Float32Array(n * N);
  be.matmul(out, x, w, n, N, K);
  return out;
}

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/** w[:, c] *= s[c] (into a copy) */
function scaleColumns(w: Float32Array, K: number, s: Float32Array, invert = false): Float32Array {
  const out = Float32Array.from(w);
  for (let i = 0; i < out.length; i++) out[i] = invert ? out[i] / s[i % K] : out[i] * s[i % K];
  return out;
}

/**
 * The block output the loss is measured on, from the concatenated outputs y [n, N] of the searched
 * linears; the linears' own outputs when not given.
 */
type Inspect = (y: Float32Array, n: number) => Float32Array;

/** The MLP's output w2 · (silu(gate) ⊙ up) from y = [gate | up] per row, w2 [dim, hidden] in fp. */
function mlpOutput(be: Backend, w2: Float32Array, dim: number, hidden: number): Inspect {
  return (y, n) => {
    const mid = new Float32Array(n * hidden);
    for (let t = 0; t < n; t++)
      for (let h = 0; h < hidden; h++) {
        const gate = y[t * 2 * hidden + h];
        mid[t * hidden + h] = (gate / (1 + Math.exp(-gate))) * y[t * 2 * hidden + hidden + h];
      }
    return project(be, mid, w2, n, dim, hidden);
  };
}

/** _search_module_scale: the best s for linears [N_i, K] sharing the input `site`. */
export function searchModuleScale(
  be: Backend,
  site: SiteStats,
  weights: Float32Array[],
  K: number,
  o: AwqOptions,
  inspect: Inspect = (y) => y,
): { scales: Float32Array; ratio: number } {
  const x = site.sample();
  const n = site.count;
  const N = weights.reduce((a, w) => a + w.length / K, 0);
  const wCat = new Float32Array(N * K);
  let at = 0;
  for (const w of weights) {
    wCat.set(w, at);
    at += w.length;
  }
  const reference = inspect(project(be, x, wCat, n, N, K), n);
  const nGrid = o.nGrid ?? 20;
  let best = { loss: Infinity, ratio: 0, scales: new Float32Array(K).fill(1) };
  for (let g = 0; g < nGrid; g++) {
    const ratio = g / nGrid;
    const s = Float32Array.from(site.meanAbs, (m) => Math.max(Math.pow(m, ratio), 1e-4));
    const norm = Math.sqrt(Math.max(...s) * Math.min(...s));
    for (let c = 0; c < K; c++) s[c] /= norm;
    const quantized = scaleColumns(fakeQuantize(scaleColumns(wCat, K, s), N, K, o), K, s, true);
    const loss = mse(reference, inspect(project(be, x, quantized, n, N, K), n));
    if (loss < best.loss) best = { loss, ratio, scales: s };
  }
  return best;
}

/** scale_ln_fcs: divide the norm by s, multiply the following linears' columns by s. */
export function scaleNormFcs(norm: Float32Array, fcs: Float32Array[], s: Float32Array): void {
  const K = norm.length;
  for (let c = 0; c < K; c++) norm[c] /= s[c];
  for (const w of fcs) for (let i = 0; i < w.length; i++) w[i] *= s[i % K];
}

/** scale_fc_fc: divide the previous linear's output rows (and bias) by s, multiply the next one's columns by s. */
function scaleFcFc(
  prev: Float32Array,
  prevBias: Float32Array | null,
  prevK: number,
  next: Float32Array,
  s: Float32Array,
): void {
  const K = s.length;
  for (let r = 0; r < K; r++) {
    for (let c = 0; c < prevK; c++) prev[r * prevK + c] /= s[r];
    if (prevBias) prevBias[r] /= s[r];
  }
  for (let i = 0; i < next.length; i++) next[i] *= s[i % K];
}

/** auto_clip_layer: per output row and group, the clip max with the least output error. */
export function autoClipLayer(
  be: Backend,
  w: Float32Array,
  N: number,
  K: number,
  site: SiteStats,
  o: AwqOptions,
): Float32Array {
  const n = Math.min(site.count, o.clipRows ?? 512);
  const x = site.sample().subarray(0, n * K);
  const g = o.groupSize > 0 ? o.groupSize : K;
  const groups = groupsOf(K, o.groupSize);
  const nGrid = o.nGrid ?? 20;
  const steps = Math.floor((o.maxShrink ?? 0.5) * nGrid);
  const clip = new Float32Array(N * groups);
  for (let gi = 0; gi < groups; gi++) {
    const c0 = gi * g;
    const gs = Math.min(g, K - c0);
    const xg = new Float32Array(n * gs);
    for (let t = 0; t < n; t++) xg.set(x.subarray(t * K + c0, t * K + c0 + gs), t * gs);
    const wg = new Float32Array(N * gs);
    const orgMax = new Float32Array(N);
    for (let r = 0; r < N; r++) {
      wg.set(w.subarray(r * K + c0, r * K + c0 + gs), r * gs);
      for (let c = 0; c < gs; c++) orgMax[r] = Math.max(orgMax[r], Math.abs(wg[r * gs + c]));
    }
    const reference = project(be, xg, wg, n, N, gs);
    const bestErr = new Float64Array(N).fill(Infinity);
    for (let i = 0; i < steps; i++) {
      const limit = orgMax.map((m) => m * (1 - i / nGrid));
      const out = project(be, xg, fakeQuantize(wg, N, gs, { bits: o.bits, groupSize: 0 }, limit), n, N, gs);
      for (let r = 0; r < N; r++) {
        let err = 0;
        for (let t = 0; t < n; t++) err += (reference[t * N + r] - out[t * N + r]) ** 2;
        if (err < bestErr[r]) {
          bestErr[r] = err;
          clip[r * groups + gi] = limit[r];
        }
      }
    }
  }
  return clip;
}

/** auto_scale_block + apply_scale, then auto_clip_block, for every layer. Modifies the fp weights in place. */
export function runAwq(model: LlamaModel, stats: LayerStats[], o: AwqOptions): AwqResult {
  const c = model.config;
  const be = model.backend;
  const qDim = c.nHeads * c.headDim;
  const ratios: Record<string, number>[] = [];
  const clips: ClipPlan = [];
  model.weights.layers.forEach((L: LayerWeights, l) => {
    const st = stats[l];
    const r: Record<string, number> = {};
    // (input_layernorm -> q, k, v)
    let found = searchModuleScale(be, st.attn_in, [f32(L.wq), f32(L.wk), f32(L.wv)], c.dim, o);
    scaleNormFcs(L.attnNorm, [f32(L.wq), f32(L.wk), f32(L.wv)], found.scales);
    st.attn_in.divide(found.scales);
    r.qkv = found.ratio;
    // (v_proj -> o_proj), only when v's outputs are o's inputs one to one (no grouped-query attention)
    if (c.nKvHeads === c.nHeads) {
      found = searchModuleScale(be, st.attn_out, [f32(L.wo)], qDim, o);
      scaleFcFc(f32(L.wv), L.bv, c.dim, f32(L.wo), found.scales);
      st.attn_out.divide(found.scales);
      r.o = found.ratio;
    }
    // (post_attention_layernorm -> gate, up), the loss on the MLP's output
    const mlp = mlpOutput(be, f32(L.w2), c.dim, c.hiddenDim);
    found = searchModuleScale(be, st.ffn_in, [f32(L.w1), f32(L.w3)], c.dim, o, mlp);
    scaleNormFcs(L.ffnNorm, [f32(L.w1), f32(L.w3)], found.scales);
    st.ffn_in.divide(found.scales);
    r.gateUp = found.ratio;
    // (up_proj -> down_proj)
    found = searchModuleScale(be, st.ffn_mid, [f32(L.w2)], c.hiddenDim, o);
    scaleFcFc(f32(L.w3), null, c.dim, f32(L.w2), found.scales);
    st.ffn_mid.divide(found.scales);
    r.down = found.ratio;
    ratios.push(r);
    // clipping, skipping q and k (their outputs meet in the attention scores)
    clips.push({
      wv: autoClipLayer(be, f32(L.wv), c.nKvHeads * c.headDim, c.dim, st.attn_in, o),
      wo: autoClipLayer(be, f32(L.wo), c.dim, qDim, st.attn_out, o),
      w1: autoClipLayer(be, f32(L.w1), c.hiddenDim, c.dim, st.ffn_in, o),
      w3: autoClipLayer(be, f32(L.w3), c.hiddenDim, c.dim, st.ffn_in, o),
      w2: autoClipLayer(be, f32(L.w2), c.dim, c.hiddenDim, st.ffn_mid, o),
    });
    o.onLayer?.(l + 1, c.nLayers);
  });
  return { ratios, clips };
}
