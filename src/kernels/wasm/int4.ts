// Group-wise int4 weights (src/quant/): packed [N, ceil(K / 2)] with the even column in the low
// nibble, f32 scales and zero points [N, groups]: w = (q - zero) * scale, groups of groupSize
// columns (the last may be partial). out[m, n] = Σ_k w[n, k] a[m, k] in f32 for all m < M and
// output rows n in [r0, r1).
import { matmul_rows_f32 } from './f32';
import { INT4_BLOCK_BYTES, Q8_ACT_BLOCK_BYTES, QK_LOG2 } from './layout';
import { block_dot_i16 } from './q8';
import { at, hsum, put } from './simd';

// 16 packed bytes (two 4-bit values each, the even column in the low nibble) as 32 bytes in
// column order: columns 0..15, then 16..31
function nibble_columns_low(b: v128): v128 {
  return i8x16.shuffle(
    v128.and(b, i8x16.splat(15)),
    i8x16.shr_u(b, 4),
    0,
    16,
    1,
    17,
    2,
    18,
    3,
    19,
    4,
    20,
    5,
    21,
    6,
    22,
    7,
    23,
  );
}

function nibble_columns_high(b: v128): v128 {
  return i8x16.shuffle(
    v128.and(b, i8x16.splat(15)),
    i8x16.shr_u(b, 4),
    8,
    24,
    9,
    25,
    10,
    26,
    11,
    27,
    12,
    28,
    13,
    29,
    14,
    30,
    15,
    31,
  );
}

// sum over columns [c0, c1) of q[c] * x[c] for one packed row (c0 even); SIMD over 32 columns at a time
function dot_q4_f32(row: usize, x: usize, c0: i32, c1: i32): f32 {
  let acc0 = f32x4.splat(0),
    acc1 = f32x4.splat(0);
  let c = c0;
  for (; c + 32 <= c1; c += 32) {
    const b = v128.load(row + ((<usize>c) >> 1));
    const v0 = nibble_columns_low(b);
    const v1 = nibble_columns_high(b);
    const h0 = i16x8.extend_low_i8x16_u(v0),
      h1 = i16x8.extend_high_i8x16_u(v0);
    const h2 = i16x8.extend_low_i8x16_u(v1),
      h3 = i16x8.extend_high_i8x16_u(v1);
    const xc = x + ((<usize>c) << 2);
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h0)), v128.load(xc)));
    acc1 = f32x4.add(
      acc1,
      f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h0)), v128.load(xc, 16)),
    );
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h1)), v128.load(xc, 32)));
    acc1 = f32x4.add(
      acc1,
      f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h1)), v128.load(xc, 48)),
    );
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h2)), v128.load(xc, 64)));
    acc1 = f32x4.add(
      acc1,
      f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h2)), v128.load(xc, 80)),
    );
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(h3)), v128.load(xc, 96)));
    acc1 = f32x4.add(
      acc1,
      f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(h3)), v128.load(xc, 112)),
    );
  }
  let s = hsum(f32x4.add(acc0, acc1));
  for (; c < c1; c++) {
    const b = <i32>load<u8>(row + ((<usize>c) >> 1));
    s += <f32>((c & 1) != 0 ? b >> 4 : b & 15) * at(x, c);
  }
  return s;
}

// one output: sum over groups of scale * (q . x - zero * sum(x)) with the group sums of x in xsum
function dot_int4_f32(
  row: usize,
  scales: usize,
  zeros: usize,
  x: usize,
  xsum: usize,
  K: i32,
  groupSize: i32,
): f32 {
  const groups = (K + groupSize - 1) / groupSize;
  let s: f32 = 0;
  for (let gi = 0; gi < groups; gi++) {
    const c0 = gi * groupSize;
    const c1 = min(c0 + groupSize, K);
    s += at(scales, gi) * (dot_q4_f32(row, x, c0, c1) - at(zeros, gi) * at(xsum, gi));
  }
  return s;
}

function dequantize_int4_row(
  dst: usize,
  packed: usize,
  scales: usize,
  zeros: usize,
  K: i32,
  groupSize: i32,
): void {
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
      const b = v128.load(packed + ((<usize>c) >> 1));
      const v0 = nibble_columns_low(b);
      const v1 = nibble_columns_high(b);
      const h0 = i16x8.extend_low_i8x16_u(v0),
        h1 = i16x8.extend_high_i8x16_u(v0);
      const h2 = i16x8.extend_low_i8x16_u(v1),
        h3 = i16x8.extend_high_i8x16_u(v1);
      const o = dst + ((<usize>c) << 2);
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
      const b = <i32>load<u8>(packed + ((<usize>c) >> 1));
      put(dst, c, (<f32>((c & 1) != 0 ? b >> 4 : b & 15) - z) * s);
    }
  }
}

// one output from quantized activations (K and groupSize multiples of 32): per block b of 32,
// scale_g * d_b * (q_w . q_x - zero_g * sum(q_x)), the dot products in integers
function dot_int4_q8(
  row: usize,
  scales: usize,
  zeros: usize,
  xq: usize,
  xd: usize,
  qsum: usize,
  K: i32,
  groupSize: i32,
): f32 {
  const perGroup = groupSize >> QK_LOG2;
  let acc = f32x4.splat(0);
  let offset: f32 = 0;
  for (let b = 0; b < K >> QK_LOG2; b++) {
    const bytes = v128.load(row + <usize>b * INT4_BLOCK_BYTES);
    const v0 = nibble_columns_low(bytes);
    const v1 = nibble_columns_high(bytes);
    const xb = xq + <usize>b * Q8_ACT_BLOCK_BYTES;
    const d = block_dot_i16(
      i16x8.extend_low_i8x16_u(v0),
      i16x8.extend_high_i8x16_u(v0),
      i16x8.extend_low_i8x16_u(v1),
      i16x8.extend_high_i8x16_u(v1),
      xb,
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
  out: usize,
  row: usize,
  scales: usize,
  zeros: usize,
  xq: usize,
  xd: usize,
  qsum: usize,
  K: i32,
  groupSize: i32,
  N: i32,
  n: i32,
  m0: i32,
  rows: i32,
): void {
  const perGroup = groupSize >> QK_LOG2;
  const blocks = K >> QK_LOG2;
  const xRow = <usize>blocks * Q8_ACT_BLOCK_BYTES,
    dRow = (<usize>blocks) << 2;
  const x0 = xq + <usize>m0 * xRow,
    d0 = xd + <usize>m0 * dRow,
    s0 = qsum + <usize>m0 * dRow;
  let a0 = f32x4.splat(0),
    a1 = f32x4.splat(0),
    a2 = f32x4.splat(0),
    a3 = f32x4.splat(0);
  let o0: f32 = 0,
    o1: f32 = 0,
    o2: f32 = 0,
    o3: f32 = 0;
  for (let b = 0; b < blocks; b++) {
    const bytes = v128.load(row + <usize>b * INT4_BLOCK_BYTES);
    const v0 = nibble_columns_low(bytes);
    const v1 = nibble_columns_high(bytes);
    const w0 = i16x8.extend_low_i8x16_u(v0),
      w1 = i16x8.extend_high_i8x16_u(v0);
    const w2 = i16x8.extend_low_i8x16_u(v1),
      w3 = i16x8.extend_high_i8x16_u(v1);
    const g = b / perGroup;
    const sg = at(scales, g),
      zg = at(zeros, g);
    const xb = x0 + <usize>b * Q8_ACT_BLOCK_BYTES,
      db = d0 + ((<usize>b) << 2),
      qb = s0 + ((<usize>b) << 2);
    let scale = sg * load<f32>(db);
    a0 = f32x4.add(
      a0,
      f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb)), f32x4.splat(scale)),
    );
    o0 += scale * zg * load<f32>(qb);
    if (rows > 1) {
      scale = sg * load<f32>(db + dRow);
      a1 = f32x4.add(
        a1,
        f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb + xRow)), f32x4.splat(scale)),
      );
      o1 += scale * zg * load<f32>(qb + dRow);
    }
    if (rows > 2) {
      scale = sg * load<f32>(db + 2 * dRow);
      a2 = f32x4.add(
        a2,
        f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb + 2 * xRow)), f32x4.splat(scale)),
      );
      o2 += scale * zg * load<f32>(qb + 2 * dRow);
    }
    if (rows > 3) {
      scale = sg * load<f32>(db + 3 * dRow);
      a3 = f32x4.add(
        a3,
        f32x4.mul(f32x4.convert_i32x4_s(block_dot_i16(w0, w1, w2, w3, xb + 3 * xRow)), f32x4.splat(scale)),
      );
      o3 += scale * zg * load<f32>(qb + 3 * dRow);
    }
  }
  put(out, m0 * N + n, hsum(a0) - o0);
  if (rows > 1) put(out, (m0 + 1) * N + n, hsum(a1) - o1);
  if (rows > 2) put(out, (m0 + 2) * N + n, hsum(a2) - o2);
  if (rows > 3) put(out, (m0 + 3) * N + n, hsum(a3) - o3);
}

// Decode with f32 activations (K or the group size not a multiple of 32): dot products straight
// from the packed weights; asum[M, groups] holds the sum of each group of each activation row
// (the zero points factor out: scale * (q . a - zero * Σ a)).
export function matmul_int4_f32(
  out: usize,
  a: usize,
  asum: usize,
  w: usize,
  scales: usize,
  zeros: usize,
  M: i32,
  N: i32,
  K: i32,
  groupSize: i32,
  r0: i32,
  r1: i32,
): void {
  const rowBytes = <usize>((K + 1) >> 1);
  const sRow = (<usize>((K + groupSize - 1) / groupSize)) << 2;
  for (let n = r0; n < r1; n++) {
    const wn = w + <usize>n * rowBytes,
      sn = scales + <usize>n * sRow,
      zn = zeros + <usize>n * sRow;
    for (let m = 0; m < M; m++)
      put(
        out,
        m * N + n,
        dot_int4_f32(wn, sn, zn, a + ((<usize>(m * K)) << 2), asum + <usize>m * sRow, K, groupSize),
      );
  }
}

// Decode with q8 activations (xq, xd, qsum from quantize_q8_sums; K and the group size multiples
// of 32): integer dot products straight from the packed weights, four activation rows per pass
// over a weight row.
export function matmul_int4_q8(
  out: usize,
  xq: usize,
  xd: usize,
  qsum: usize,
  w: usize,
  scales: usize,
  zeros: usize,
  M: i32,
  N: i32,
  K: i32,
  groupSize: i32,
  r0: i32,
  r1: i32,
): void {
  const rowBytes = <usize>((K + 1) >> 1);
  const sRow = (<usize>((K + groupSize - 1) / groupSize)) << 2;
  const blocks = K >> QK_LOG2;
  for (let n = r0; n < r1; n++) {
    const wn = w + <usize>n * rowBytes,
      sn = scales + <usize>n * sRow,
      zn = zeros + <usize>n * sRow;
    for (let m = 0; m < M; m += 4) {
      const rows = min(4, M - m);
      // sharing the unpacked weights pays from three rows on; fewer go one at a time
      if (rows >= 3) dot_int4_q8_rows(out, wn, sn, zn, xq, xd, qsum, K, groupSize, N, n, m, rows);
      else
        for (let r = m; r < m + rows; r++)
          put(
            out,
            r * N + n,
            dot_int4_q8(
              wn,
              sn,
              zn,
              xq + ((<usize>(r * K)) << 1),
              xd + ((<usize>(r * blocks)) << 2),
              qsum + ((<usize>(r * blocks)) << 2),
              K,
              groupSize,
            ),
          );
    }
  }
}

// Prefill: four weight rows at a time dequantized into this thread's scratch (four f32 rows, 16 K
// bytes) and multiplied with the f32 tile kernel against a (f32, or through round_trip_q8 where
// the decode kernels take q8 activations, so that both paths compute the same products).
export function matmul_tiled_int4_f32(
  out: usize,
  a: usize,
  w: usize,
  scales: usize,
  zeros: usize,
  scratch: usize,
  M: i32,
  N: i32,
  K: i32,
  groupSize: i32,
  r0: i32,
  r1: i32,
): void {
  const rowBytes = <usize>((K + 1) >> 1);
  const sRow = (<usize>((K + groupSize - 1) / groupSize)) << 2;
  for (let n = r0; n < r1; n += 4) {
    const n1 = min(n + 4, r1);
    for (let r = n; r < n1; r++)
      dequantize_int4_row(
        scratch + ((<usize>((r - n) * K)) << 2),
        w + <usize>r * rowBytes,
        scales + <usize>r * sRow,
        zeros + <usize>r * sRow,
        K,
        groupSize,
      );
    matmul_rows_f32(out, a, scratch, M, N, K, n, n1);
  }
}
