// effml WASM SIMD kernels (AssemblyScript). Every pointer is a byte address in the shared
// memory the JS side allocates from; every kernel has its definition in ../reference.ts.
// Row-parallel kernels take a row range [r0, r1) so that threads can split the work.

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function ld(p: usize, i: i32): v128 {
  return v128.load(p + (<usize>i << 2));
}

@inline function at(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

@inline function put(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

// sum a[i] * b[i], i < k
export function dot_f32(a: usize, b: usize, k: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= k; i += 16) {
    s0 = f32x4.add(s0, f32x4.mul(ld(a, i), ld(b, i)));
    s1 = f32x4.add(s1, f32x4.mul(ld(a, i + 4), ld(b, i + 4)));
    s2 = f32x4.add(s2, f32x4.mul(ld(a, i + 8), ld(b, i + 8)));
    s3 = f32x4.add(s3, f32x4.mul(ld(a, i + 12), ld(b, i + 12)));
  }
  for (; i + 4 <= k; i += 4) s0 = f32x4.add(s0, f32x4.mul(ld(a, i), ld(b, i)));
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < k; i++) s += at(a, i) * at(b, i);
  return s;
}

// out[n] = sum_k w[n, k] x[k] for rows n in [r0, r1); four rows at a time share each load of x
export function matvec_f32(out: usize, w: usize, x: usize, K: i32, r0: i32, r1: i32): void {
  const row = <usize>K << 2;
  let n = r0;
  for (; n + 4 <= r1; n += 4) {
    const w0 = w + <usize>n * row, w1 = w0 + row, w2 = w1 + row, w3 = w2 + row;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const xv = ld(x, k);
      s0 = f32x4.add(s0, f32x4.mul(ld(w0, k), xv));
      s1 = f32x4.add(s1, f32x4.mul(ld(w1, k), xv));
      s2 = f32x4.add(s2, f32x4.mul(ld(w2, k), xv));
      s3 = f32x4.add(s3, f32x4.mul(ld(w3, k), xv));
    }
    let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
    for (; k < K; k++) {
      const xk = at(x, k);
      t0 += at(w0, k) * xk;
      t1 += at(w1, k) * xk;
      t2 += at(w2, k) * xk;
      t3 += at(w3, k) * xk;
    }
    put(out, n, t0);
    put(out, n + 1, t1);
    put(out, n + 2, t2);
    put(out, n + 3, t3);
  }
  for (; n < r1; n++) put(out, n, dot_f32(w + <usize>n * row, x, K));
}

// matvec_f32 one row at a time: a single sequential read stream, which DRAM serves faster than
// the four interleaved streams of the 4-row tile once the weights no longer fit in cache
export function matvec_stream_f32(out: usize, w: usize, x: usize, K: i32, r0: i32, r1: i32): void {
  const row = <usize>K << 2;
  for (let n = r0; n < r1; n++) put(out, n, dot_f32(w + <usize>n * row, x, K));
}

// out[m, n] = sum_k a[m, k] w[n, k] for all m < M and n in [r0, r1): 2 x 4 register tiles,
// the 4 weight rows stay in cache while every activation row passes over them
export function matmul_f32(out: usize, a: usize, w: usize, M: i32, N: i32, K: i32, r0: i32, r1: i32): void {
  matmul_rows_f32(out, a, w + <usize>r0 * (<usize>K << 2), M, N, K, r0, r1);
}

// matmul_f32 for output columns [n0, n1), with w pointing at weight row n0
function matmul_rows_f32(out: usize, a: usize, w: usize, M: i32, N: i32, K: i32, n0: i32, n1: i32): void {
  const row = <usize>K << 2;
  w -= <usize>n0 * row;
  let n = n0;
  for (; n + 4 <= n1; n += 4) {
    const w0 = w + <usize>n * row, w1 = w0 + row, w2 = w1 + row, w3 = w2 + row;
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      const a0 = a + <usize>m * row, a1 = a0 + row;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const x0 = ld(a0, k), x1 = ld(a1, k);
        let v = ld(w0, k);
        c00 = f32x4.add(c00, f32x4.mul(x0, v));
        c10 = f32x4.add(c10, f32x4.mul(x1, v));
        v = ld(w1, k);
        c01 = f32x4.add(c01, f32x4.mul(x0, v));
        c11 = f32x4.add(c11, f32x4.mul(x1, v));
        v = ld(w2, k);
        c02 = f32x4.add(c02, f32x4.mul(x0, v));
        c12 = f32x4.add(c12, f32x4.mul(x1, v));
        v = ld(w3, k);
        c03 = f32x4.add(c03, f32x4.mul(x0, v));
        c13 = f32x4.add(c13, f32x4.mul(x1, v));
      }
      let t00 = hsum(c00), t01 = hsum(c01), t02 = hsum(c02), t03 = hsum(c03);
      let t10 = hsum(c10), t11 = hsum(c11), t12 = hsum(c12), t13 = hsum(c13);
      for (; k < K; k++) {
        const x0 = at(a0, k), x1 = at(a1, k);
        t00 += x0 * at(w0, k);
        t01 += x0 * at(w1, k);
        t02 += x0 * at(w2, k);
        t03 += x0 * at(w3, k);
        t10 += x1 * at(w0, k);
        t11 += x1 * at(w1, k);
        t12 += x1 * at(w2, k);
        t13 += x1 * at(w3, k);
      }
      const o0 = out + ((<usize>m * <usize>N + <usize>n) << 2), o1 = o0 + (<usize>N << 2);
      store<f32>(o0, t00);
      store<f32>(o0, t01, 4);
      store<f32>(o0, t02, 8);
      store<f32>(o0, t03, 12);
      store<f32>(o1, t10);
      store<f32>(o1, t11, 4);
      store<f32>(o1, t12, 8);
      store<f32>(o1, t13, 12);
    }
    if (m < M) matvec_f32(out + <usize>m * (<usize>N << 2), w, a + <usize>m * row, K, n, n + 4);
  }
  for (; n < n1; n++)
    for (let m = 0; m < M; m++) put(out, m * N + n, dot_f32(a + <usize>m * row, w + <usize>n * row, K));
}

// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight
export function rmsnorm_f32(out: usize, x: usize, weight: usize, rows: i32, dim: i32, eps: f32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * dim) << 2), or = out + (<usize>(r * dim) << 2);
    const scale = <f32>1 / Mathf.sqrt(dot_f32(xr, xr, dim) / <f32>dim + eps);
    const sv = f32x4.splat(scale);
    let i = 0;
    for (; i + 4 <= dim; i += 4) v128.store(or + (<usize>i << 2), f32x4.mul(f32x4.mul(ld(xr, i), sv), ld(weight, i)));
    for (; i < dim; i++) put(or, i, at(xr, i) * scale * at(weight, i));
  }
}

// e^x in four lanes (Cephes expf: x = n ln2 + r, degree-6 polynomial in r, scaled by 2^n); about
// 1 ulp over the clamped range [-87.3, 88.7]
@inline function exp_f32x4(v: v128): v128 {
  const x = f32x4.min(f32x4.max(v, f32x4.splat(-87.33654)), f32x4.splat(88.72283));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
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
    v128.store(out + (<usize>i << 2), f32x4.div(v, f32x4.add(one, exp_f32x4(f32x4.neg(v)))));
  }
  for (; i < n; i++) put(out, i, at(x, i) / (<f32>1 + Mathf.exp(-at(x, i))));
}

// x[r, :] = exp(x[r, :] - max) / sum, in place
export function softmax_f32(x: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * cols) << 2);
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
    for (; i + 4 <= cols; i += 4) v128.store(xr + (<usize>i << 2), f32x4.mul(ld(xr, i), inv));
    for (; i < cols; i++) put(xr, i, at(xr, i) * f32x4.extract_lane(inv, 0));
  }
}

// RoPE in place on x[heads, headDim] at position pos, pair i turned by pos * invFreq[i]: pairs (2i, 2i+1) when halves == 0
// (Meta / GGUF / llama2.c layout), pairs (i, i + headDim/2) when halves == 1 (Hugging Face)
export function rope_f32(x: usize, heads: i32, headDim: i32, pos: i32, invFreq: usize, halves: i32): void {
  const half = headDim >> 1;
  for (let i = 0; i < half; i++) {
    const angle = <f64>pos * <f64>at(invFreq, i);
    const c = <f32>Math.cos(angle), s = <f32>Math.sin(angle);
    const i0 = halves ? i : 2 * i;
    const i1 = halves ? i + half : 2 * i + 1;
    for (let h = 0; h < heads; h++) {
      const base = h * headDim;
      const v0 = at(x, base + i0), v1 = at(x, base + i1);
      put(x, base + i0, v0 * c - v1 * s);
      put(x, base + i1, v0 * s + v1 * c);
    }
  }
}

// causal grouped-query attention for query heads [h0, h1) of T tokens at positions pos0.. (see
// Backend.attention); keys j < sinks are scored against qs (the query at the sinks' relative
// position) instead of q; scores: pos0 + T floats of scratch for this thread
export function attention_f32(
  out: usize, q: usize, qs: usize, keys: usize, values: usize, scores: usize,
  T: i32, pos0: i32, heads: i32, kvHeads: i32, headDim: i32, sinks: i32, h0: i32, h1: i32,
): void {
  const kvDim = kvHeads * headDim;
  const group = heads / kvHeads;
  const scale = <f32>1 / Mathf.sqrt(<f32>headDim);
  for (let t = 0; t < T; t++) {
    const n = pos0 + t + 1;
    for (let h = h0; h < h1; h++) {
      const qo = <usize>((t * heads + h) * headDim) << 2;
      const kvo = (h / group) * headDim;
      for (let j = 0; j < n; j++) {
        const query = j < sinks ? qs + qo : q + qo;
        put(scores, j, dot_f32(query, keys + (<usize>(j * kvDim + kvo) << 2), headDim) * scale);
      }
      softmax_f32(scores, 1, n);
      const oh = out + qo;
      memory.fill(oh, 0, <usize>headDim << 2);
      for (let j = 0; j < n; j++) {
        const vj = values + (<usize>(j * kvDim + kvo) << 2);
        const p = at(scores, j);
        const pv = f32x4.splat(p);
        let i = 0;
        for (; i + 4 <= headDim; i += 4) v128.store(oh + (<usize>i << 2), f32x4.add(ld(oh, i), f32x4.mul(pv, ld(vj, i))));
        for (; i < headDim; i++) put(oh, i, at(oh, i) + p * at(vj, i));
      }
    }
  }
}

@inline function f16_to_f32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0) {
    const v = <f32>mant * <f32>5.9604644775390625e-8;
    return sign ? -v : v;
  }
  if (exp == 31) return reinterpret<f32>(sign | 0x7f800000 | (mant << 13));
  return reinterpret<f32>(sign | ((exp + 112) << 23) | (mant << 13));
}

export function dequantize_f16(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) put(dst, i, f16_to_f32(<u32>load<u16>(src + (<usize>i << 1))));
}

export function dequantize_bf16(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u32>(dst + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
}

// block_q8_0 { f16 d; i8 qs[32]; }: x = d * q
export function dequantize_q8_0(dst: usize, src: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const blk = src + <usize>b * 34;
    const d = f32x4.splat(f16_to_f32(<u32>load<u16>(blk)));
    const o = dst + (<usize>b << 7);
    for (let h = 0; h < 2; h++) {
      const q = v128.load(blk + 2 + (<usize>h << 4));
      const lo = i16x8.extend_low_i8x16_s(q), hi = i16x8.extend_high_i8x16_s(q);
      const oh = o + (<usize>h << 6);
      v128.store(oh, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d));
      v128.store(oh, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), 16);
      v128.store(oh, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), 32);
      v128.store(oh, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), 48);
    }
  }
}

// block_q4_0 { f16 d; u8 qs[16]; }: x = d * (q - 8), low nibbles first
export function dequantize_q4_0(dst: usize, src: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const blk = src + <usize>b * 18;
    const d = f16_to_f32(<u32>load<u16>(blk));
    const o = dst + (<usize>b << 7);
    for (let j = 0; j < 16; j++) {
      const q = <i32>load<u8>(blk + 2 + j);
      put(o, j, d * <f32>((q & 15) - 8));
      put(o, j + 16, d * <f32>((q >> 4) - 8));
    }
  }
}

// block_q4_1 { f16 d; f16 m; u8 qs[16]; }: x = d * q + m, low nibbles first
export function dequantize_q4_1(dst: usize, src: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const blk = src + <usize>b * 20;
    const d = f16_to_f32(<u32>load<u16>(blk));
    const m = f16_to_f32(<u32>load<u16>(blk, 2));
    const o = dst + (<usize>b << 7);
    for (let j = 0; j < 16; j++) {
      const q = <i32>load<u8>(blk + 4 + j);
      put(o, j, d * <f32>(q & 15) + m);
      put(o, j + 16, d * <f32>(q >> 4) + m);
    }
  }
}

// q8_0 weights times activations quantized to q8_0 blocks, as ggml's vec_dot_q8_0_q8_0: per block
// of 32, d_w * d_x * (q_w . q_x). Activations: d = max|x| / 127, q = round half away from zero.

// quantizes x[K] into xq[K] (i16, ready for i32x4.dot_i16x8_s) and xd[K / 32]; when aq != 0 also
// writes the quantized values back in f32 (q * d) there, for the prefill path; when qsum != 0 the
// sum of each block's q (as f32) there, for weights with zero points
export function quantize_act_q8(x: usize, xq: usize, xd: usize, aq: usize, qsum: usize, K: i32): void {
  const signMask = i32x4.splat(0x80000000);
  const half = f32x4.splat(0.5);
  for (let b = 0; b < K >> 5; b++) {
    const xb = x + (<usize>b << 7);
    let m = f32x4.abs(v128.load(xb));
    for (let j = 4; j < 32; j += 4) m = f32x4.max(m, f32x4.abs(ld(xb, j)));
    const amax = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    const d = amax / 127;
    const id = f32x4.splat(d != 0 ? <f32>1 / d : 0);
    const dv = f32x4.splat(d);
    put(xd, b, d);
    const qb = xq + (<usize>b << 6);
    let sum = i32x4.splat(0);
    for (let j = 0; j < 32; j += 8) {
      // round half away from zero: trunc(v + copysign(0.5, v))
      const v0 = f32x4.mul(ld(xb, j), id), v1 = f32x4.mul(ld(xb, j + 4), id);
      const r0 = f32x4.trunc(f32x4.add(v0, v128.or(half, v128.and(v0, signMask))));
      const r1 = f32x4.trunc(f32x4.add(v1, v128.or(half, v128.and(v1, signMask))));
      const i0 = i32x4.trunc_sat_f32x4_s(r0), i1 = i32x4.trunc_sat_f32x4_s(r1);
      sum = i32x4.add(sum, i32x4.add(i0, i1));
      v128.store(qb + (<usize>j << 1), i16x8.narrow_i32x4_s(i0, i1));
      if (aq) {
        const ab = aq + (<usize>b << 7) + (<usize>j << 2);
        v128.store(ab, f32x4.mul(r0, dv));
        v128.store(ab, f32x4.mul(r1, dv), 16);
      }
    }
    if (qsum) put(qsum, b, <f32>(i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3)));
  }
}

// one block of 32 weights (widened to i16) times activation block xb (i16): i32 lanes to sum
@inline function block_dot_i16(w0: v128, w1: v128, w2: v128, w3: v128, xb: usize): v128 {
  let s = i32x4.dot_i16x8_s(w0, v128.load(xb));
  s = i32x4.add(s, i32x4.dot_i16x8_s(w1, v128.load(xb, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(w2, v128.load(xb, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(w3, v128.load(xb, 48)));
}

// block_dot_i16 scaled: f32 lanes to sum
@inline function block_dot_q8(w0: v128, w1: v128, w2: v128, w3: v128, xb: usize, scale: f32): v128 {
  return f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb)), f32x4.splat(scale));
}

function dot_q8_0_q8(w: usize, xq: usize, xd: usize, blocks: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < blocks; b++) {
    const blk = w + <usize>b * 34;
    const q0 = v128.load(blk, 2);
    const q1 = v128.load(blk, 18);
    const scale = f16_to_f32(<u32>load<u16>(blk)) * at(xd, b);
    acc = f32x4.add(acc, block_dot_q8(
      i16x8.extend_low_i8x16_s(q0), i16x8.extend_high_i8x16_s(q0),
      i16x8.extend_low_i8x16_s(q1), i16x8.extend_high_i8x16_s(q1),
      xq + (<usize>b << 6), scale,
    ));
  }
  return hsum(acc);
}

// out[m, n] = w_n . x_m for one weight row w (blocks of q8_0) and up to four activation rows
// m0 .. m0 + rows - 1 (xq / xd: all rows): each weight block is widened to i16 once for all of
// them. Each row sums in the same order as dot_q8_0_q8, so a row's result does not depend on the
// batch it is in.
function dot_q8_0_rows(out: usize, w: usize, xq: usize, xd: usize, blocks: i32, N: i32, n: i32, m0: i32, rows: i32): void {
  const xRow = <usize>blocks << 6, dRow = <usize>blocks << 2;
  const x0 = xq + <usize>m0 * xRow, d0 = xd + <usize>m0 * dRow;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let b = 0; b < blocks; b++) {
    const blk = w + <usize>b * 34;
    const q0 = v128.load(blk, 2), q1 = v128.load(blk, 18);
    const w0 = i16x8.extend_low_i8x16_s(q0), w1 = i16x8.extend_high_i8x16_s(q0);
    const w2 = i16x8.extend_low_i8x16_s(q1), w3 = i16x8.extend_high_i8x16_s(q1);
    const ws = f16_to_f32(<u32>load<u16>(blk));
    const xb = x0 + (<usize>b << 6), db = d0 + (<usize>b << 2);
    a0 = f32x4.add(a0, block_dot_q8(w0, w1, w2, w3, xb, ws * load<f32>(db)));
    if (rows > 1) a1 = f32x4.add(a1, block_dot_q8(w0, w1, w2, w3, xb + xRow, ws * load<f32>(db + dRow)));
    if (rows > 2) a2 = f32x4.add(a2, block_dot_q8(w0, w1, w2, w3, xb + 2 * xRow, ws * load<f32>(db + 2 * dRow)));
    if (rows > 3) a3 = f32x4.add(a3, block_dot_q8(w0, w1, w2, w3, xb + 3 * xRow, ws * load<f32>(db + 3 * dRow)));
  }
  put(out, m0 * N + n, hsum(a0));
  if (rows > 1) put(out, (m0 + 1) * N + n, hsum(a1));
  if (rows > 2) put(out, (m0 + 2) * N + n, hsum(a2));
  if (rows > 3) put(out, (m0 + 3) * N + n, hsum(a3));
}

// out[m, n] for all m < M and n in [r0, r1). Without aq (decode, and decode batches): integer
// block dot products straight from the quantized weights, four activation rows per pass over a
// weight row. With aq (prefill): the same products in f32, four weight rows at a time dequantized
// into this thread's scratch (16 K bytes) and multiplied with the f32 tile kernel against the
// dequantized activations aq (q * d), amortizing the dequantization over many rows.
export function matmul_q8_0(
  out: usize, aq: usize, xq: usize, xd: usize, w: usize, scratch: usize,
  M: i32, N: i32, K: i32, r0: i32, r1: i32,
): void {
  const blocks = K >> 5;
  const row = <usize>blocks * 34;
  if (aq == 0) {
    for (let n = r0; n < r1; n++)
      for (let m = 0; m < M; m += 4) {
        const wn = w + <usize>n * row;
        const rows = min(4, M - m);
        // a lone row goes alone: the shared-widening kernel is slower for one
        if (rows == 1) put(out, m * N + n, dot_q8_0_q8(wn, xq + <usize>m * (<usize>blocks << 6), xd + <usize>m * (<usize>blocks << 2), blocks));
        else dot_q8_0_rows(out, wn, xq, xd, blocks, N, n, m, rows);
      }
    return;
  }
  for (let n = r0; n < r1; n += 4) {
    const n1 = min(n + 4, r1);
    dequantize_q8_0(scratch, w + <usize>n * row, (n1 - n) * blocks);
    matmul_rows_f32(out, aq, scratch, M, N, K, n, n1);
  }
}

// Group-wise int4 weights (src/quant/): packed [N, ceil(K / 2)] with the even column in the low
// nibble, f32 scales and zero points [N, groups]: w = (q - zero) * scale, groups of groupSize
// columns (the last may be partial). out = a . w^T in f32.

// 16 packed bytes (two 4-bit values each, the even column in the low nibble) as 32 bytes in
// column order: columns 0..15, then 16..31
@inline function nibble_columns_low(b: v128): v128 {
  return i8x16.shuffle(v128.and(b, i8x16.splat(15)), i8x16.shr_u(b, 4), 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}

@inline function nibble_columns_high(b: v128): v128 {
  return i8x16.shuffle(v128.and(b, i8x16.splat(15)), i8x16.shr_u(b, 4), 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}

// sum over columns [c0, c1) of q[c] * x[c] for one packed row (c0 even); SIMD over 32 columns at a time
function dot_q4_f32(row: usize, x: usize, c0: i32, c1: i32): f32 {
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
  let c = c0;
  for (; c + 32 <= c1; c += 32) {
    const b = v128.load(row + (<usize>c >> 1));
    const v0 = nibble_columns_low(b);
    const v1 = nibble_columns_high(b);
    const h0 = i16x8.extend_low_i8x16_u(v0), h1 = i16x8.extend_high_i8x16_u(v0);
    const h2 = i16x8.extend_low_i8x16_u(v1), h3 = i16x8.extend_high_i8x16_u(v1);
    const xc = x + (<usize>c << 2);
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h0)), v128.load(xc)));
    acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h0)), v128.load(xc, 16)));
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h1)), v128.load(xc, 32)));
    acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h1)), v128.load(xc, 48)));
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h2)), v128.load(xc, 64)));
    acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h2)), v128.load(xc, 80)));
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h3)), v128.load(xc, 96)));
    acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h3)), v128.load(xc, 112)));
  }
  let s = hsum(f32x4.add(acc0, acc1));
  for (; c < c1; c++) {
    const b = <i32>load<u8>(row + (<usize>c >> 1));
    s += <f32>((c & 1) != 0 ? b >> 4 : b & 15) * at(x, c);
  }
  return s;
}

// one output: sum over groups of scale * (q . x - zero * sum(x)) with the group sums of x in xsum
function dot_int4_f32(row: usize, scales: usize, zeros: usize, x: usize, xsum: usize, K: i32, groupSize: i32): f32 {
  const groups = (K + groupSize - 1) / groupSize;
  let s: f32 = 0;
  for (let gi = 0; gi < groups; gi++) {
    const c0 = gi * groupSize;
    const c1 = min(c0 + groupSize, K);
    s += at(scales, gi) * (dot_q4_f32(row, x, c0, c1) - at(zeros, gi) * at(xsum, gi));
  }
  return s;
}

function dequantize_int4_row(dst: usize, packed: usize, scales: usize, zeros: usize, K: i32, groupSize: i32): void {
  const groups = (K + groupSize - 1) / groupSize;
  for (let gi = 0; gi < groups; gi++) {
    const s = at(scales, gi);
    const z = at(zeros, gi);
    const sv = f32x4.splat(s);
    const zs = f32x4.splat(z * s);
    const end = min((gi + 1) * groupSize, K);
    let c = gi * groupSize;
    // 32 columns at a time (c is even: group sizes are even): nibbles to column order, then q * s - z * s
    for (; c + 32 <= end; c += 32) {
      const b = v128.load(packed + (<usize>c >> 1));
      const v0 = nibble_columns_low(b);
      const v1 = nibble_columns_high(b);
      const h0 = i16x8.extend_low_i8x16_u(v0), h1 = i16x8.extend_high_i8x16_u(v0);
      const h2 = i16x8.extend_low_i8x16_u(v1), h3 = i16x8.extend_high_i8x16_u(v1);
      const o = dst + (<usize>c << 2);
      v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h0)), sv), zs));
      v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h0)), sv), zs), 16);
      v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h1)), sv), zs), 32);
      v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h1)), sv), zs), 48);
      v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h2)), sv), zs), 64);
      v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h2)), sv), zs), 80);
      v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h3)), sv), zs), 96);
      v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h3)), sv), zs), 112);
    }
    for (; c < end; c++) {
      const b = <i32>load<u8>(packed + (<usize>c >> 1));
      put(dst, c, (<f32>((c & 1) != 0 ? b >> 4 : b & 15) - z) * s);
    }
  }
}

// one output from quantized activations (K and groupSize multiples of 32): per block b of 32,
// scale_g * d_b * (q_w . q_x - zero_g * sum(q_x)), the dot products in integers
function dot_int4_q8(row: usize, scales: usize, zeros: usize, xq: usize, xd: usize, qsum: usize, K: i32, groupSize: i32): f32 {
  const perGroup = groupSize >> 5;
  let acc = f32x4.splat(0);
  let offset: f32 = 0;
  for (let b = 0; b < K >> 5; b++) {
    const bytes = v128.load(row + (<usize>b << 4));
    const v0 = nibble_columns_low(bytes);
    const v1 = nibble_columns_high(bytes);
    const xb = xq + (<usize>b << 6);
    const d = block_dot_i16(
      i16x8.extend_low_i8x16_u(v0), i16x8.extend_high_i8x16_u(v0),
      i16x8.extend_low_i8x16_u(v1), i16x8.extend_high_i8x16_u(v1), xb,
    );
    const g = b / perGroup;
    const scale = at(scales, g) * at(xd, b);
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(d), f32x4.splat(scale)));
    offset += scale * at(zeros, g) * at(qsum, b);
  }
  return hsum(acc) - offset;
}

// dot_int4_q8 for one weight row and up to four activation rows m0 .. m0 + rows - 1 (xq / xd /
// qsum: all rows): each block's nibbles are unpacked and widened once for all of them, and each
// row sums in the same order as dot_int4_q8, so its result does not depend on the batch.
function dot_int4_q8_rows(
  out: usize, row: usize, scales: usize, zeros: usize, xq: usize, xd: usize, qsum: usize,
  K: i32, groupSize: i32, N: i32, n: i32, m0: i32, rows: i32,
): void {
  const perGroup = groupSize >> 5;
  const blocks = K >> 5;
  const xRow = <usize>blocks << 6, dRow = <usize>blocks << 2;
  const x0 = xq + <usize>m0 * xRow, d0 = xd + <usize>m0 * dRow, s0 = qsum + <usize>m0 * dRow;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let o0: f32 = 0, o1: f32 = 0, o2: f32 = 0, o3: f32 = 0;
  for (let b = 0; b < blocks; b++) {
    const bytes = v128.load(row + (<usize>b << 4));
    const v0 = nibble_columns_low(bytes);
    const v1 = nibble_columns_high(bytes);
    const w0 = i16x8.extend_low_i8x16_u(v0), w1 = i16x8.extend_high_i8x16_u(v0);
    const w2 = i16x8.extend_low_i8x16_u(v1), w3 = i16x8.extend_high_i8x16_u(v1);
    const g = b / perGroup;
    const sg = at(scales, g), zg = at(zeros, g);
    const xb = x0 + (<usize>b << 6), db = d0 + (<usize>b << 2), qb = s0 + (<usize>b << 2);
    let scale = sg * load<f32>(db);
    a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb)), f32x4.splat(scale)));
    o0 += scale * zg * load<f32>(qb);
    if (rows > 1) {
      scale = sg * load<f32>(db + dRow);
      a1 = f32x4.add(a1, f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb + xRow)), f32x4.splat(scale)));
      o1 += scale * zg * load<f32>(qb + dRow);
    }
    if (rows > 2) {
      scale = sg * load<f32>(db + 2 * dRow);
      a2 = f32x4.add(a2, f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb + 2 * xRow)), f32x4.splat(scale)));
      o2 += scale * zg * load<f32>(qb + 2 * dRow);
    }
    if (rows > 3) {
      scale = sg * load<f32>(db + 3 * dRow);
      a3 = f32x4.add(a3, f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb + 3 * xRow)), f32x4.splat(scale)));
      o3 += scale * zg * load<f32>(qb + 3 * dRow);
    }
  }
  put(out, m0 * N + n, hsum(a0) - o0);
  if (rows > 1) put(out, (m0 + 1) * N + n, hsum(a1) - o1);
  if (rows > 2) put(out, (m0 + 2) * N + n, hsum(a2) - o2);
  if (rows > 3) put(out, (m0 + 3) * N + n, hsum(a3) - o3);
}

// Without scratch (decode, decode batches): dot products straight from the packed weights, in
// integers against q8 activations when xq != 0 (sums = per-block sums of q; four activation rows
// per pass over a weight row), else in f32 (sums = per-group sums of a). With scratch (prefill):
// four weight rows at a time dequantized into this thread's scratch (16 K bytes) and multiplied
// with the f32 tile kernel against a (the q8 activations dequantized, when quantized).
export function matmul_int4(
  out: usize, a: usize, xq: usize, xd: usize, sums: usize, w: usize, scales: usize, zeros: usize, scratch: usize,
  M: i32, N: i32, K: i32, groupSize: i32, r0: i32, r1: i32,
): void {
  const rowBytes = <usize>((K + 1) >> 1);
  const groups = (K + groupSize - 1) / groupSize;
  const sRow = <usize>groups << 2;
  if (scratch == 0) {
    for (let n = r0; n < r1; n++) {
      const wn = w + <usize>n * rowBytes, sn = scales + <usize>n * sRow, zn = zeros + <usize>n * sRow;
      if (!xq) for (let m = 0; m < M; m++) put(out, m * N + n, dot_int4_f32(wn, sn, zn, a + (<usize>(m * K) << 2), sums + <usize>m * sRow, K, groupSize));
      else
        for (let m = 0; m < M; m += 4) {
          const rows = min(4, M - m);
          // sharing the unpacked weights pays from three rows on; fewer go one at a time
          if (rows >= 3) dot_int4_q8_rows(out, wn, sn, zn, xq, xd, sums, K, groupSize, N, n, m, rows);
          else
            for (let r = m; r < m + rows; r++)
              put(out, r * N + n, dot_int4_q8(wn, sn, zn, xq + (<usize>(r * K) << 1), xd + (<usize>(r * (K >> 5)) << 2), sums + (<usize>(r * (K >> 5)) << 2), K, groupSize));
        }
    }
    return;
  }
  for (let n = r0; n < r1; n += 4) {
    const n1 = min(n + 4, r1);
    for (let r = n; r < n1; r++)
      dequantize_int4_row(scratch + (<usize>((r - n) * K) << 2), w + <usize>r * rowBytes, scales + <usize>r * sRow, zeros + <usize>r * sRow, K, groupSize);
    matmul_rows_f32(out, a, scratch, M, N, K, n, n1);
  }
}

// Reads n floats as fast as the core can (the bandwidth yardstick for matvec); returns their sum.
export function stream_sum_f32(p: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = f32x4.add(s0, ld(p, i));
    s1 = f32x4.add(s1, ld(p, i + 4));
    s2 = f32x4.add(s2, ld(p, i + 8));
    s3 = f32x4.add(s3, ld(p, i + 12));
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < n; i++) s += at(p, i);
  return s;
}

// out[cols, rows] = a[rows, cols]ᵀ in 16 x 16 tiles
export function transpose_f32(out: usize, a: usize, rows: i32, cols: i32): void {
  for (let r0 = 0; r0 < rows; r0 += 16) {
    const r1 = min(r0 + 16, rows);
    for (let c0 = 0; c0 < cols; c0 += 16) {
      const c1 = min(c0 + 16, cols);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) put(out, c * rows + r, at(a, r * cols + c));
    }
  }
}

// Channels-last patches: row (b, oh, ow) of cols[B·OH·OW, k·k·C] is the receptive field [kh, kw, c]
// of x[B, H, W, C] (zeros outside the image). col2im is its adjoint: dx += each row scattered back.
export function im2col_f32(
  cols: usize, x: usize, B: i32, H: i32, W: i32, C: i32, k: i32, s: i32, p: i32, OH: i32, OW: i32,
): void {
  const rowLen = k * k * C;
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const row = cols + (<usize>(((b * OH + oh) * OW + ow) * rowLen) << 2);
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * s + kh - p;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * s + kw - p;
            const dst = row + (<usize>((kh * k + kw) * C) << 2);
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) memory.fill(dst, 0, <usize>C << 2);
            else memory.copy(dst, x + (<usize>(((b * H + ih) * W + iw) * C) << 2), <usize>C << 2);
          }
        }
      }
}

export function col2im_f32(
  dx: usize, cols: usize, B: i32, H: i32, W: i32, C: i32, k: i32, s: i32, p: i32, OH: i32, OW: i32,
): void {
  memory.fill(dx, 0, <usize>(B * H * W * C) << 2);
  const rowLen = k * k * C;
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const row = ((b * OH + oh) * OW + ow) * rowLen;
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * s + kh - p;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * s + kw - p;
            if (iw < 0 || iw >= W) continue;
            const src = row + (kh * k + kw) * C;
            const dst = ((b * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) put(dx, dst + c, at(dx, dst + c) + at(cols, src + c));
          }
        }
      }
}

// EIE's leading non-zero detection: the indices and values of the non-zero a[j]; returns how many.
export function nonzeros_f32(a: usize, n: i32, idx: usize, val: usize): i32 {
  let m = 0;
  for (let j = 0; j < n; j++) {
    const v = at(a, j);
    if (v != 0) {
      store<i32>(idx + (<usize>m << 2), j);
      put(val, m, v);
      m++;
    }
  }
  return m;
}

// Where PE k's local rows start in acc: PEs before it own floor(rows / pes) rows each, plus one
// for each of them below rows % pes.
@inline function eie_local(acc: usize, rows: i32, pes: i32, k: i32): usize {
  return acc + (<usize>(k * (rows / pes) + min(k, rows % pes)) << 2);
}

// y += W a for PEs [k0, k1) of an EIE layer (see ../backend.ts, EieWeights). Each PE sums into its
// own run of `acc` (its local rows, contiguous, so threads never share a cache line), then adds them
// to its rows of y (row r·pes + k) at the end. Per non-zero activation the 16 shared weights are
// scaled by it once; each PE then walks its entries of that column: z zero rows skipped, v added.
// scratch (per thread): 16 scaled weights and 16 byte steps.
export function eie_spmv(
  y: usize, idx: usize, val: usize, nnz: i32, pointers: usize, peStart: usize, entries: usize,
  codebook: usize, scratch: usize, acc: usize, rows: i32, cols: i32, pes: i32, k0: i32, k1: i32,
): void {
  const scaled = scratch;
  const step = scratch + 64;
  for (let z = 0; z < 16; z++) store<i32>(step + (<usize>z << 2), (z + 1) * 4);
  memory.fill(eie_local(acc, rows, pes, k0), 0, eie_local(acc, rows, pes, k1) - eie_local(acc, rows, pes, k0));
  for (let t = 0; t < nnz; t++) {
    const j = load<i32>(idx + (<usize>t << 2));
    const aj = f32x4.splat(at(val, t));
    for (let q = 0; q < 4; q++) v128.store(scaled + (<usize>q << 4), f32x4.mul(ld(codebook, q * 4), aj));
    for (let k = k0; k < k1; k++) {
      const ptr = pointers + (<usize>(k * (cols + 1) + j) << 2);
      const first = entries + <usize>load<u32>(peStart + (<usize>k << 2));
      const e1 = first + <usize>load<u32>(ptr, 4);
      let out = eie_local(acc, rows, pes, k) - 4;
      for (let e = first + <usize>load<u32>(ptr); e < e1; e++) {
        const b = <i32>load<u8>(e);
        out += <usize>load<i32>(step + (<usize>(b >> 4) << 2));
        store<f32>(out, load<f32>(out) + load<f32>(scaled + (<usize>(b & 15) << 2)));
      }
    }
  }
  for (let k = k0; k < k1; k++) {
    const sums = eie_local(acc, rows, pes, k);
    for (let r = 0, i = k; i < rows; r++, i += pes) put(y, i, at(y, i) + at(sums, r));
  }
}

// W8A8 (SmoothQuant): activation rows to int8 (kept as i16 for i32x4.dot_i16x8_s) with one scale
// per row: per token (mode 0, max|x| / 127 of the row), per tensor (mode 1, of the whole matrix), or
// the static `scale` (mode 2). q = clamp(round half away from zero(x / s), -127, 127).
export function quantize_rows_i8(x: usize, xq: usize, xs: usize, M: i32, K: i32, mode: i32, scale: f32): void {
  let s = scale;
  if (mode == 1) s = absmax_f32(x, M * K) / 127;
  const signMask = i32x4.splat(0x80000000);
  const half = f32x4.splat(0.5);
  const lo = i32x4.splat(-127), hi = i32x4.splat(127);
  for (let r = 0; r < M; r++) {
    const row = x + (<usize>(r * K) << 2);
    if (mode == 0) s = absmax_f32(row, K) / 127;
    put(xs, r, s);
    const inv: f32 = s != 0 ? <f32>1 / s : 0;
    const iv = f32x4.splat(inv);
    const q = xq + (<usize>(r * K) << 1);
    let k = 0;
    for (; k + 8 <= K; k += 8) {
      // round half away from zero: trunc(v + copysign(0.5, v)), then clamp to ±127
      const v0 = f32x4.mul(ld(row, k), iv), v1 = f32x4.mul(ld(row, k + 4), iv);
      const i0 = i32x4.trunc_sat_f32x4_s(f32x4.trunc(f32x4.add(v0, v128.or(half, v128.and(v0, signMask)))));
      const i1 = i32x4.trunc_sat_f32x4_s(f32x4.trunc(f32x4.add(v1, v128.or(half, v128.and(v1, signMask)))));
      v128.store(q + (<usize>k << 1), i16x8.narrow_i32x4_s(i32x4.min_s(i32x4.max_s(i0, lo), hi), i32x4.min_s(i32x4.max_s(i1, lo), hi)));
    }
    for (; k < K; k++) {
      const v = at(row, k) * inv;
      const rounded = Mathf.trunc(v + copysign<f32>(0.5, v));
      store<i16>(q + (<usize>k << 1), <i16>(<i32>Mathf.max(<f32>-127, Mathf.min(<f32>127, rounded))));
    }
  }
}

@inline function absmax_f32(p: usize, n: i32): f32 {
  let m = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.max(m, f32x4.abs(ld(p, i)));
  let r = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; i < n; i++) r = Mathf.max(r, Mathf.abs(at(p, i)));
  return r;
}

// Σ_k xq[k] · w[k] over K int8 weights and i16 activations, in int32.
@inline function dot_i8(w: usize, xq: usize, K: i32): i32 {
  let acc = i32x4.splat(0);
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    const q = v128.load(w + <usize>k);
    const x = xq + (<usize>k << 1);
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q), v128.load(x)));
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q), v128.load(x, 16)));
  }
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; k < K; k++) s += <i32>load<i8>(w + <usize>k) * <i32>load<i16>(xq + (<usize>k << 1));
  return s;
}

// out[m, n] = f32(acc) · f32(xs[m] · ws[n]), acc = Σ_k xq[m, k] · w[n, k] in int32, for output rows
// n in [r0, r1). Two weight rows at a time against four activation rows, so every weight load serves
// four dot products.
export function matmul_i8(out: usize, xq: usize, xs: usize, w: usize, ws: usize, M: i32, N: i32, K: i32, r0: i32, r1: i32): void {
  const K8 = K & ~7;
  let n = r0;
  for (; n + 2 <= r1; n += 2) {
    const w0 = w + <usize>n * <usize>K;
    const w1 = w0 + <usize>K;
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const x0 = xq + (<usize>(m * K) << 1);
      const x1 = x0 + (<usize>K << 1), x2 = x1 + (<usize>K << 1), x3 = x2 + (<usize>K << 1);
      let a00 = i32x4.splat(0), a01 = i32x4.splat(0), a10 = i32x4.splat(0), a11 = i32x4.splat(0);
      let a20 = i32x4.splat(0), a21 = i32x4.splat(0), a30 = i32x4.splat(0), a31 = i32x4.splat(0);
      for (let k = 0; k < K8; k += 8) {
        const q0 = i16x8.extend_low_i8x16_s(v128.load64_zero(w0 + <usize>k));
        const q1 = i16x8.extend_low_i8x16_s(v128.load64_zero(w1 + <usize>k));
        const o = <usize>k << 1;
        const v0 = v128.load(x0 + o), v1 = v128.load(x1 + o), v2 = v128.load(x2 + o), v3 = v128.load(x3 + o);
        a00 = i32x4.add(a00, i32x4.dot_i16x8_s(v0, q0));
        a01 = i32x4.add(a01, i32x4.dot_i16x8_s(v0, q1));
        a10 = i32x4.add(a10, i32x4.dot_i16x8_s(v1, q0));
        a11 = i32x4.add(a11, i32x4.dot_i16x8_s(v1, q1));
        a20 = i32x4.add(a20, i32x4.dot_i16x8_s(v2, q0));
        a21 = i32x4.add(a21, i32x4.dot_i16x8_s(v2, q1));
        a30 = i32x4.add(a30, i32x4.dot_i16x8_s(v3, q0));
        a31 = i32x4.add(a31, i32x4.dot_i16x8_s(v3, q1));
      }
      finish_i8(out, xq, xs, w0, ws, a00, m, n, N, K, K8);
      finish_i8(out, xq, xs, w1, ws, a01, m, n + 1, N, K, K8);
      finish_i8(out, xq, xs, w0, ws, a10, m + 1, n, N, K, K8);
      finish_i8(out, xq, xs, w1, ws, a11, m + 1, n + 1, N, K, K8);
      finish_i8(out, xq, xs, w0, ws, a20, m + 2, n, N, K, K8);
      finish_i8(out, xq, xs, w1, ws, a21, m + 2, n + 1, N, K, K8);
      finish_i8(out, xq, xs, w0, ws, a30, m + 3, n, N, K, K8);
      finish_i8(out, xq, xs, w1, ws, a31, m + 3, n + 1, N, K, K8);
    }
    for (; m < M; m++) {
      const x = xq + (<usize>(m * K) << 1);
      store_i8(out, xs, ws, dot_i8(w0, x, K), m, n, N);
      store_i8(out, xs, ws, dot_i8(w1, x, K), m, n + 1, N);
    }
  }
  for (; n < r1; n++)
    for (let m = 0; m < M; m++) store_i8(out, xs, ws, dot_i8(w + <usize>n * <usize>K, xq + (<usize>(m * K) << 1), K), m, n, N);
}

@inline function store_i8(out: usize, xs: usize, ws: usize, acc: i32, m: i32, n: i32, N: i32): void {
  put(out, m * N + n, <f32>acc * (at(xs, m) * at(ws, n)));
}

// The lanes of a tile accumulator plus the columns past the last multiple of 8.
@inline function finish_i8(out: usize, xq: usize, xs: usize, wr: usize, ws: usize, acc: v128, m: i32, n: i32, N: i32, K: i32, K8: i32): void {
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  const x = xq + (<usize>(m * K) << 1);
  for (let k = K8; k < K; k++) s += <i32>load<i8>(wr + <usize>k) * <i32>load<i16>(x + (<usize>k << 1));
  store_i8(out, xs, ws, s, m, n, N);
}
