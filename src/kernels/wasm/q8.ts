// q8_0 weights, and the q8 activations the quantized matmuls (q8_0, int4) take: x[n] in blocks of
// 32 as ggml's quantize_row_q8_0, d = max|x| / 127 kept in f32, q = round half away from zero kept
// as i16 (ready for i32x4.dot_i16x8_s).
import { dequantize_q8_0 } from './dequantize';
import { matmul_rows_f32 } from './f32';
import { F32_BLOCK_BYTES, Q8_0_BYTES, Q8_0_QS, Q8_ACT_BLOCK_BYTES, QK, QK_LOG2 } from './layout';
import { at, f16_to_f32, hsum, ld, put } from './simd';

// xq[n] and xd[n / 32] from x[n]
export function quantize_q8(x: usize, xq: usize, xd: usize, n: i32): void {
  inline.always(quantize_blocks_q8(x, n, xq, xd, 0, 0, true, false, false));
}

// quantize_q8, and qsum[n / 32]: the sum of each block's q (as f32), for weights with zero points
export function quantize_q8_sums(x: usize, xq: usize, xd: usize, qsum: usize, n: i32): void {
  inline.always(quantize_blocks_q8(x, n, xq, xd, qsum, 0, true, true, false));
}

// out[n] = q * d: x through q8 and back in f32, for the matmuls that multiply in f32 (prefill)
export function round_trip_q8(x: usize, out: usize, n: i32): void {
  inline.always(quantize_blocks_q8(x, n, 0, 0, 0, out, false, false, true));
}

// the three above: the flags are constants at each call, so each export keeps only its own stores
function quantize_blocks_q8(
  x: usize,
  n: i32,
  xq: usize,
  xd: usize,
  qsum: usize,
  aq: usize,
  writeQ: bool,
  writeSums: bool,
  writeF32: bool,
): void {
  const signMask = i32x4.splat(0x80000000);
  const half = f32x4.splat(0.5);
  for (let b = 0; b < n >> QK_LOG2; b++) {
    const xb = x + <usize>b * F32_BLOCK_BYTES;
    let m = f32x4.abs(v128.load(xb));
    for (let j = 4; j < QK; j += 4) m = f32x4.max(m, f32x4.abs(ld(xb, j)));
    const amax = Mathf.max(
      Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
      Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)),
    );
    const d = amax / 127;
    const id = f32x4.splat(d != 0 ? <f32>1 / d : 0);
    const dv = f32x4.splat(d);
    if (writeQ) put(xd, b, d);
    const qb = xq + <usize>b * Q8_ACT_BLOCK_BYTES;
    let sum = i32x4.splat(0);
    for (let j = 0; j < QK; j += 8) {
      // round half away from zero: trunc(v + copysign(0.5, v))
      const v0 = f32x4.mul(ld(xb, j), id),
        v1 = f32x4.mul(ld(xb, j + 4), id);
      const r0 = f32x4.trunc(f32x4.add(v0, v128.or(half, v128.and(v0, signMask))));
      const r1 = f32x4.trunc(f32x4.add(v1, v128.or(half, v128.and(v1, signMask))));
      const i0 = i32x4.trunc_sat_f32x4_s(r0),
        i1 = i32x4.trunc_sat_f32x4_s(r1);
      if (writeSums) sum = i32x4.add(sum, i32x4.add(i0, i1));
      if (writeQ) v128.store(qb + ((<usize>j) << 1), i16x8.narrow_i32x4_s(i0, i1));
      if (writeF32) {
        const ab = aq + <usize>b * F32_BLOCK_BYTES + ((<usize>j) << 2);
        v128.store(ab, f32x4.mul(r0, dv));
        v128.store(ab, f32x4.mul(r1, dv), 16);
      }
    }
    if (writeSums)
      put(
        qsum,
        b,
        <f32>(
          (i32x4.extract_lane(sum, 0) +
            i32x4.extract_lane(sum, 1) +
            i32x4.extract_lane(sum, 2) +
            i32x4.extract_lane(sum, 3))
        ),
      );
  }
}

// one block of 32 weights (widened to i16) times activation block xb (i16): i32 lanes to sum
export function block_dot_i16(w0: v128, w1: v128, w2: v128, w3: v128, xb: usize): v128 {
  let s = i32x4.dot_i16x8_s(w0, v128.load(xb));
  s = i32x4.add(s, i32x4.dot_i16x8_s(w1, v128.load(xb, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(w2, v128.load(xb, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(w3, v128.load(xb, 48)));
}

// block_dot_i16 scaled: f32 lanes to sum
function block_dot_q8(w0: v128, w1: v128, w2: v128, w3: v128, xb: usize, scale: f32): v128 {
  return f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb)), f32x4.splat(scale));
}

function dot_q8_0_q8(w: usize, xq: usize, xd: usize, blocks: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < blocks; b++) {
    const blk = w + <usize>b * Q8_0_BYTES;
    const q0 = v128.load(blk, Q8_0_QS);
    const q1 = v128.load(blk, Q8_0_QS + 16);
    const scale = f16_to_f32(<u32>load<u16>(blk)) * at(xd, b);
    acc = f32x4.add(
      acc,
      block_dot_q8(
        i16x8.extend_low_i8x16_s(q0),
        i16x8.extend_high_i8x16_s(q0),
        i16x8.extend_low_i8x16_s(q1),
        i16x8.extend_high_i8x16_s(q1),
        xq + <usize>b * Q8_ACT_BLOCK_BYTES,
        scale,
      ),
    );
  }
  return hsum(acc);
}

// out[m, n] = w_n . x_m for one weight row w (blocks of q8_0) and up to four activation rows
// m0 .. m0 + rows - 1 (xq / xd: all rows): each weight block is widened to i16 once for all of
// them. Each row sums in the same order as dot_q8_0_q8, so a row's result does not depend on the
// batch it is in.
function dot_q8_0_rows(
  out: usize,
  w: usize,
  xq: usize,
  xd: usize,
  blocks: i32,
  N: i32,
  n: i32,
  m0: i32,
  rows: i32,
): void {
  const xRow = <usize>blocks * Q8_ACT_BLOCK_BYTES,
    dRow = (<usize>blocks) << 2;
  const x0 = xq + <usize>m0 * xRow,
    d0 = xd + <usize>m0 * dRow;
  let a0 = f32x4.splat(0),
    a1 = f32x4.splat(0),
    a2 = f32x4.splat(0),
    a3 = f32x4.splat(0);
  for (let b = 0; b < blocks; b++) {
    const blk = w + <usize>b * Q8_0_BYTES;
    const q0 = v128.load(blk, Q8_0_QS),
      q1 = v128.load(blk, Q8_0_QS + 16);
    const w0 = i16x8.extend_low_i8x16_s(q0),
      w1 = i16x8.extend_high_i8x16_s(q0);
    const w2 = i16x8.extend_low_i8x16_s(q1),
      w3 = i16x8.extend_high_i8x16_s(q1);
    const ws = f16_to_f32(<u32>load<u16>(blk));
    const xb = x0 + <usize>b * Q8_ACT_BLOCK_BYTES,
      db = d0 + ((<usize>b) << 2);
    a0 = f32x4.add(a0, block_dot_q8(w0, w1, w2, w3, xb, ws * load<f32>(db)));
    if (rows > 1) a1 = f32x4.add(a1, block_dot_q8(w0, w1, w2, w3, xb + xRow, ws * load<f32>(db + dRow)));
    if (rows > 2)
      a2 = f32x4.add(a2, block_dot_q8(w0, w1, w2, w3, xb + 2 * xRow, ws * load<f32>(db + 2 * dRow)));
    if (rows > 3)
      a3 = f32x4.add(a3, block_dot_q8(w0, w1, w2, w3, xb + 3 * xRow, ws * load<f32>(db + 3 * dRow)));
  }
  put(out, m0 * N + n, hsum(a0));
  if (rows > 1) put(out, (m0 + 1) * N + n, hsum(a1));
  if (rows > 2) put(out, (m0 + 2) * N + n, hsum(a2));
  if (rows > 3) put(out, (m0 + 3) * N + n, hsum(a3));
}

// out[m, n] = Σ_k w[n, k] x[m, k] for all m < M and n in [r0, r1), as ggml's vec_dot_q8_0_q8_0: per
// block of 32, d_w * d_x * (q_w . q_x) in integers straight from the weights, four activation rows
// (xq, xd from quantize_q8) per pass over a weight row. For decode and decode batches.
export function matmul_q8_0_q8(
  out: usize,
  w: usize,
  xq: usize,
  xd: usize,
  M: i32,
  N: i32,
  K: i32,
  r0: i32,
  r1: i32,
): void {
  const blocks = K >> QK_LOG2;
  const row = <usize>blocks * Q8_0_BYTES;
  for (let n = r0; n < r1; n++)
    for (let m = 0; m < M; m += 4) {
      const wn = w + <usize>n * row;
      const rows = min(4, M - m);
      // a lone row goes alone: the shared-widening kernel is slower for one
      if (rows == 1)
        put(
          out,
          m * N + n,
          dot_q8_0_q8(
            wn,
            xq + <usize>m * (<usize>blocks * Q8_ACT_BLOCK_BYTES),
            xd + <usize>m * ((<usize>blocks) << 2),
            blocks,
          ),
        );
      else dot_q8_0_rows(out, wn, xq, xd, blocks, N, n, m, rows);
    }
}

// The same products in f32 for many activation rows (prefill): four weight rows at a time
// dequantized into this thread's scratch (four f32 rows, 16 K bytes) and multiplied with the f32
// tile kernel against a (the activations through round_trip_q8), amortizing the dequantization.
export function matmul_tiled_q8_0_f32(
  out: usize,
  a: usize,
  w: usize,
  scratch: usize,
  M: i32,
  N: i32,
  K: i32,
  r0: i32,
  r1: i32,
): void {
  const blocks = K >> QK_LOG2;
  const row = <usize>blocks * Q8_0_BYTES;
  for (let n = r0; n < r1; n += 4) {
    const n1 = min(n + 4, r1);
    dequantize_q8_0(scratch, w + <usize>n * row, (n1 - n) * blocks);
    matmul_rows_f32(out, a, scratch, M, N, K, n, n1);
  }
}
