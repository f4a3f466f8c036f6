// The f32 ops of a transformer block besides its matmuls: norms, activations, element-wise ops,
// RoPE and attention (each defined in ../reference.ts).
import { at, dot_f32, ld, put } from './simd';

// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight
export function rmsnorm_f32(out: usize, x: usize, weight: usize, rows: i32, dim: i32, eps: f32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>(r * dim)) << 2),
      or = out + ((<usize>(r * dim)) << 2);
    const scale = <f32>1 / Mathf.sqrt(dot_f32(xr, xr, dim) / <f32>dim + eps);
    const sv = f32x4.splat(scale);
    let i = 0;
    for (; i + 4 <= dim; i += 4)
      v128.store(or + ((<usize>i) << 2), f32x4.mul(f32x4.mul(ld(xr, i), sv), ld(weight, i)));
    for (; i < dim; i++) put(or, i, at(xr, i) * scale * at(weight, i));
  }
}

// e^x in four lanes (Cephes expf: x = n ln2 + r, degree-6 polynomial in r, scaled by 2^n); about
// 1 ulp over the clamped range [-87.3, 88.7]
function exp_f32x4(v: v128): v128 {
  const x = f32x4.min(f32x4.max(v, f32x4.splat(-87.33654)), f32x4.splat(88.72283));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.4426950408889634)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.1219444e-4)));
  let p = f32x4.splat(1.98756915e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2n);
}

// out[i] = x[i] / (1 + e^-x[i])
export function silu_f32(out: usize, x: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = ld(x, i);
    v128.store(out + ((<usize>i) << 2), f32x4.div(v, f32x4.add(one, exp_f32x4(f32x4.neg(v)))));
  }
  for (; i < n; i++) put(out, i, at(x, i) / (<f32>1 + Mathf.exp(-at(x, i))));
}

// x[r, :] = exp(x[r, :] - max) / sum, in place
function softmax_f32(x: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>(r * cols)) << 2);
    let max = at(xr, 0);
    for (let i = 1; i < cols; i++) max = Mathf.max(max, at(xr, i));
    let sum: f32 = 0;
    for (let i = 0; i < cols; i++) {
      const e = Mathf.exp(at(xr, i) - max);
      put(xr, i, e);
      sum += e;
    }
    const inv = f32x4.splat(<f32>1 / sum);
    let i = 0;
    for (; i + 4 <= cols; i += 4) v128.store(xr + ((<usize>i) << 2), f32x4.mul(ld(xr, i), inv));
    for (; i < cols; i++) put(xr, i, at(xr, i) * f32x4.extract_lane(inv, 0));
  }
}

// RoPE in place on x[heads, headDim] at position pos, pair i turned by pos * invFreq[i]: pairs (2i, 2i+1) when halves == 0
// (Meta / GGUF / llama2.c layout), pairs (i, i + headDim/2) when halves == 1 (Hugging Face)
export function rope_f32(x: usize, heads: i32, headDim: i32, pos: i32, invFreq: usize, halves: i32): void {
  const half = headDim >> 1;
  for (let i = 0; i < half; i++) {
    const angle = <f64>pos * <f64>at(invFreq, i);
    const c = <f32>Math.cos(angle),
      s = <f32>Math.sin(angle);
    const i0 = halves ? i : 2 * i;
    const i1 = halves ? i + half : 2 * i + 1;
    for (let h = 0; h < heads; h++) {
      const base = h * headDim;
      const v0 = at(x, base + i0),
        v1 = at(x, base + i1);
      put(x, base + i0, v0 * c - v1 * s);
      put(x, base + i1, v0 * s + v1 * c);
    }
  }
}

// causal grouped-query attention for query heads [h0, h1) of T tokens at positions pos0.. (see
// Backend.attention); keys j < sinks are scored against qs (the query at the sinks' relative
// position) instead of q; scores: pos0 + T floats of scratch for this thread
export function attention_f32(
  out: usize,
  q: usize,
  qs: usize,
  keys: usize,
  values: usize,
  scores: usize,
  T: i32,
  pos0: i32,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  sinks: i32,
  h0: i32,
  h1: i32,
): void {
  const kvDim = kvHeads * headDim;
  const group = heads / kvHeads;
  const scale = <f32>1 / Mathf.sqrt(<f32>headDim);
  for (let t = 0; t < T; t++) {
    const n = pos0 + t + 1;
    for (let h = h0; h < h1; h++) {
      const qo = (<usize>((t * heads + h) * headDim)) << 2;
      const kvo = (h / group) * headDim;
      for (let j = 0; j < n; j++) {
        const query = j < sinks ? qs + qo : q + qo;
        put(scores, j, dot_f32(query, keys + ((<usize>(j * kvDim + kvo)) << 2), headDim) * scale);
      }
      softmax_f32(scores, 1, n);
      const oh = out + qo;
      memory.fill(oh, 0, (<usize>headDim) << 2);
      for (let j = 0; j < n; j++) {
        const vj = values + ((<usize>(j * kvDim + kvo)) << 2);
        const p = at(scores, j);
        const pv = f32x4.splat(p);
        let i = 0;
        for (; i + 4 <= headDim; i += 4)
          v128.store(oh + ((<usize>i) << 2), f32x4.add(ld(oh, i), f32x4.mul(pv, ld(vj, i))));
        for (; i < headDim; i++) put(oh, i, at(oh, i) + p * at(vj, i));
      }
    }
  }
}

// out[i] = a[i] + b[i]
export function add_f32(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + ((<usize>i) << 2), f32x4.add(ld(a, i), ld(b, i)));
  for (; i < n; i++) put(out, i, at(a, i) + at(b, i));
}

// out[i] = a[i] * b[i]
export function mul_f32(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + ((<usize>i) << 2), f32x4.mul(ld(a, i), ld(b, i)));
  for (; i < n; i++) put(out, i, at(a, i) * at(b, i));
}
