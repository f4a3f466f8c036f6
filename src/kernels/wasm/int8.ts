// W8A8 (SmoothQuant): int8 weights [N, K] with one f32 scale per output row, times activation rows
// quantized to int8 (kept as i16 for i32x4.dot_i16x8_s) with one scale per row.
import { absmax_f32, at, ld, put } from './simd';

// the scale of each row: its own max|x| / 127 (dynamic, per token)
export function quantize_i8_per_token(x: usize, xq: usize, xs: usize, M: i32, K: i32): void {
  inline.always(quantize_rows_i8(x, xq, xs, M, K, true, 0));
}

// one dynamic scale for the whole input: max|x| / 127 of the matrix
export function quantize_i8_per_tensor(x: usize, xq: usize, xs: usize, M: i32, K: i32): void {
  inline.always(quantize_rows_i8(x, xq, xs, M, K, false, absmax_f32(x, M * K) / 127));
}

// the static scale fixed at calibration
export function quantize_i8_static(x: usize, xq: usize, xs: usize, M: i32, K: i32, scale: f32): void {
  inline.always(quantize_rows_i8(x, xq, xs, M, K, false, scale));
}

// q = clamp(round half away from zero(x / s), -127, 127), s = `scale` for every row unless perRow
function quantize_rows_i8(x: usize, xq: usize, xs: usize, M: i32, K: i32, perRow: bool, scale: f32): void {
  let s = scale;
  const signMask = i32x4.splat(0x80000000);
  const half = f32x4.splat(0.5);
  const lo = i32x4.splat(-127),
    hi = i32x4.splat(127);
  for (let r = 0; r < M; r++) {
    const row = x + ((<usize>(r * K)) << 2);
    if (perRow) s = absmax_f32(row, K) / 127;
    put(xs, r, s);
    const inv: f32 = s != 0 ? <f32>1 / s : 0;
    const iv = f32x4.splat(inv);
    const q = xq + ((<usize>(r * K)) << 1);
    let k = 0;
    for (; k + 8 <= K; k += 8) {
      // round half away from zero: trunc(v + copysign(0.5, v)), then clamp to ±127
      const v0 = f32x4.mul(ld(row, k), iv),
        v1 = f32x4.mul(ld(row, k + 4), iv);
      const i0 = i32x4.trunc_sat_f32x4_s(f32x4.trunc(f32x4.add(v0, v128.or(half, v128.and(v0, signMask)))));
      const i1 = i32x4.trunc_sat_f32x4_s(f32x4.trunc(f32x4.add(v1, v128.or(half, v128.and(v1, signMask)))));
      v128.store(
        q + ((<usize>k) << 1),
        i16x8.narrow_i32x4_s(i32x4.min_s(i32x4.max_s(i0, lo), hi), i32x4.min_s(i32x4.max_s(i1, lo), hi)),
      );
    }
    for (; k < K; k++) {
      const v = at(row, k) * inv;
      const rounded = Mathf.trunc(v + copysign<f32>(0.5, v));
      store<i16>(q + ((<usize>k) << 1), <i16>(<i32>Mathf.max(<f32>-127, Mathf.min(<f32>127, rounded))));
    }
  }
}

// Σ_k xq[k] · w[k] over K int8 weights and i16 activations, in int32.
function dot_i8(w: usize, xq: usize, K: i32): i32 {
  let acc = i32x4.splat(0);
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    const q = v128.load(w + <usize>k);
    const x = xq + ((<usize>k) << 1);
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q), v128.load(x)));
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q), v128.load(x, 16)));
  }
  let s =
    i32x4.extract_lane(acc, 0) +
    i32x4.extract_lane(acc, 1) +
    i32x4.extract_lane(acc, 2) +
    i32x4.extract_lane(acc, 3);
  for (; k < K; k++) s += <i32>load<i8>(w + <usize>k) * <i32>load<i16>(xq + ((<usize>k) << 1));
  return s;
}

// out[m, n] = f32(acc) · f32(xs[m] · ws[n]), acc = Σ_k xq[m, k] · w[n, k] in int32, for output rows
// n in [r0, r1). Two weight rows at a time against four activation rows, so every weight load serves
// four dot products.
export function matmul_i8_i8(
  out: usize,
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  M: i32,
  N: i32,
  K: i32,
  r0: i32,
  r1: i32,
): void {
  const K8 = K & ~7;
  let n = r0;
  for (; n + 2 <= r1; n += 2) {
    const w0 = w + <usize>n * <usize>K;
    const w1 = w0 + <usize>K;
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const x0 = xq + ((<usize>(m * K)) << 1);
      const x1 = x0 + ((<usize>K) << 1),
        x2 = x1 + ((<usize>K) << 1),
        x3 = x2 + ((<usize>K) << 1);
      let a00 = i32x4.splat(0),
        a01 = i32x4.splat(0),
        a10 = i32x4.splat(0),
        a11 = i32x4.splat(0);
      let a20 = i32x4.splat(0),
        a21 = i32x4.splat(0),
        a30 = i32x4.splat(0),
        a31 = i32x4.splat(0);
      for (let k = 0; k < K8; k += 8) {
        const q0 = i16x8.extend_low_i8x16_s(v128.load64_zero(w0 + <usize>k));
        const q1 = i16x8.extend_low_i8x16_s(v128.load64_zero(w1 + <usize>k));
        const o = (<usize>k) << 1;
        const v0 = v128.load(x0 + o),
          v1 = v128.load(x1 + o),
          v2 = v128.load(x2 + o),
          v3 = v128.load(x3 + o);
        a00 = i32x4.add(a00, i32x4.dot_i16x8_s(v0, q0));
        a01 = i32x4.add(a01, i32x4.dot_i16x8_s(v0, q1));
        a10 = i32x4.add(a10, i32x4.dot_i16x8_s(v1, q0));
        a11 = i32x4.add(a11, i32x4.dot_i16x8_s(v1, q1));
        a20 = i32x4.add(a20, i32x4.dot_i16x8_s(v2, q0));
        a21 = i32x4.add(a21, i32x4.dot_i16x8_s(v2, q1));
        a30 = i32x4.add(a30, i32x4.dot_i16x8_s(v3, q0));
        a31 = i32x4.add(a31, i32x4.dot_i16x8_s(v3, q1));
      }
      inline.always(finish_i8(out, xq, xs, w0, ws, a00, m, n, N, K, K8));
      inline.always(finish_i8(out, xq, xs, w1, ws, a01, m, n + 1, N, K, K8));
      inline.always(finish_i8(out, xq, xs, w0, ws, a10, m + 1, n, N, K, K8));
      inline.always(finish_i8(out, xq, xs, w1, ws, a11, m + 1, n + 1, N, K, K8));
      inline.always(finish_i8(out, xq, xs, w0, ws, a20, m + 2, n, N, K, K8));
      inline.always(finish_i8(out, xq, xs, w1, ws, a21, m + 2, n + 1, N, K, K8));
      inline.always(finish_i8(out, xq, xs, w0, ws, a30, m + 3, n, N, K, K8));
      inline.always(finish_i8(out, xq, xs, w1, ws, a31, m + 3, n + 1, N, K, K8));
    }
    for (; m < M; m++) {
      const x = xq + ((<usize>(m * K)) << 1);
      store_i8(out, xs, ws, inline.always(dot_i8(w0, x, K)), m, n, N);
      store_i8(out, xs, ws, inline.always(dot_i8(w1, x, K)), m, n + 1, N);
    }
  }
  for (; n < r1; n++)
    for (let m = 0; m < M; m++)
      store_i8(out, xs, ws, dot_i8(w + <usize>n * <usize>K, xq + ((<usize>(m * K)) << 1), K), m, n, N);
}

function store_i8(out: usize, xs: usize, ws: usize, acc: i32, m: i32, n: i32, N: i32): void {
  put(out, m * N + n, <f32>acc * (at(xs, m) * at(ws, n)));
}

// The lanes of a tile accumulator plus the columns past the last multiple of 8.
function finish_i8(
  out: usize,
  xq: usize,
  xs: usize,
  wr: usize,
  ws: usize,
  acc: v128,
  m: i32,
  n: i32,
  N: i32,
  K: i32,
  K8: i32,
): void {
  let s =
    i32x4.extract_lane(acc, 0) +
    i32x4.extract_lane(acc, 1) +
    i32x4.extract_lane(acc, 2) +
    i32x4.extract_lane(acc, 3);
  const x = xq + ((<usize>(m * K)) << 1);
  for (let k = K8; k < K; k++) s += <i32>load<i8>(wr + <usize>k) * <i32>load<i16>(x + ((<usize>k) << 1));
  store_i8(out, xs, ws, s, m, n, N);
}
