// f32 matrix products. Row-parallel kernels take a range [r0, r1) of output rows (weight rows),
// which the thread pool splits (see ../ops.ts).
import { at, dot_f32, hsum, ld, put } from './simd';

// out[n] = sum_k w[n, k] x[k] for rows n in [r0, r1); four rows at a time share each load of x
export function matvec_f32(out: usize, w: usize, x: usize, K: i32, r0: i32, r1: i32): void {
  const row = (<usize>K) << 2;
  let n = r0;
  for (; n + 4 <= r1; n += 4) {
    const w0 = w + <usize>n * row,
      w1 = w0 + row,
      w2 = w1 + row,
      w3 = w2 + row;
    let s0 = f32x4.splat(0),
      s1 = f32x4.splat(0),
      s2 = f32x4.splat(0),
      s3 = f32x4.splat(0);
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const xv = ld(x, k);
      s0 = f32x4.add(s0, f32x4.mul(ld(w0, k), xv));
      s1 = f32x4.add(s1, f32x4.mul(ld(w1, k), xv));
      s2 = f32x4.add(s2, f32x4.mul(ld(w2, k), xv));
      s3 = f32x4.add(s3, f32x4.mul(ld(w3, k), xv));
    }
    let t0 = hsum(s0),
      t1 = hsum(s1),
      t2 = hsum(s2),
      t3 = hsum(s3);
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
  const row = (<usize>K) << 2;
  for (let n = r0; n < r1; n++) put(out, n, dot_f32(w + <usize>n * row, x, K));
}

// out[m, n] = sum_k a[m, k] w[n, k] for all m < M and n in [r0, r1): 2 x 4 register tiles,
// the 4 weight rows stay in cache while every activation row passes over them
export function matmul_f32(out: usize, a: usize, w: usize, M: i32, N: i32, K: i32, r0: i32, r1: i32): void {
  matmul_rows_f32(out, a, w + <usize>r0 * ((<usize>K) << 2), M, N, K, r0, r1);
}

// matmul_f32 for output columns [n0, n1), with w pointing at weight row n0
export function matmul_rows_f32(
  out: usize,
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  K: i32,
  n0: i32,
  n1: i32,
): void {
  const row = (<usize>K) << 2;
  w -= <usize>n0 * row;
  let n = n0;
  for (; n + 4 <= n1; n += 4) {
    const w0 = w + <usize>n * row,
      w1 = w0 + row,
      w2 = w1 + row,
      w3 = w2 + row;
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      const a0 = a + <usize>m * row,
        a1 = a0 + row;
      let c00 = f32x4.splat(0),
        c01 = f32x4.splat(0),
        c02 = f32x4.splat(0),
        c03 = f32x4.splat(0);
      let c10 = f32x4.splat(0),
        c11 = f32x4.splat(0),
        c12 = f32x4.splat(0),
        c13 = f32x4.splat(0);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const x0 = ld(a0, k),
          x1 = ld(a1, k);
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
      let t00 = hsum(c00),
        t01 = hsum(c01),
        t02 = hsum(c02),
        t03 = hsum(c03);
      let t10 = hsum(c10),
        t11 = hsum(c11),
        t12 = hsum(c12),
        t13 = hsum(c13);
      for (; k < K; k++) {
        const x0 = at(a0, k),
          x1 = at(a1, k);
        t00 += x0 * at(w0, k);
        t01 += x0 * at(w1, k);
        t02 += x0 * at(w2, k);
        t03 += x0 * at(w3, k);
        t10 += x1 * at(w0, k);
        t11 += x1 * at(w1, k);
        t12 += x1 * at(w2, k);
        t13 += x1 * at(w3, k);
      }
      const o0 = out + ((<usize>m * <usize>N + <usize>n) << 2),
        o1 = o0 + ((<usize>N) << 2);
      store<f32>(o0, t00);
      store<f32>(o0, t01, 4);
      store<f32>(o0, t02, 8);
      store<f32>(o0, t03, 12);
      store<f32>(o1, t10);
      store<f32>(o1, t11, 4);
      store<f32>(o1, t12, 8);
      store<f32>(o1, t13, 12);
    }
    if (m < M) matvec_f32(out + <usize>m * ((<usize>N) << 2), w, a + <usize>m * row, K, n, n + 4);
  }
  for (; n < n1; n++)
    for (let m = 0; m < M; m++) put(out, m * N + n, dot_f32(a + <usize>m * row, w + <usize>n * row, K));
}

// Reads n floats as fast as the core can (the bandwidth yardstick for matvec); returns their sum.
export function stream_sum_f32(p: usize, n: i32): f32 {
  let s0 = f32x4.splat(0),
    s1 = f32x4.splat(0),
    s2 = f32x4.splat(0),
    s3 = f32x4.splat(0);
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
