/**
 * The row-parallel jobs the thread pool runs, and the control block they are posted through: an
 * Int32Array over a SharedArrayBuffer that the main thread and the workers synchronize on with
 * Atomics (no message passing on the hot path).
 */
import type { KernelExports } from './kernel-exports.js';

export const CTRL = { GEN: 0, DONE: 1, OP: 2, ROWS: 3, GRAIN: 4, ARGS: 5 } as const;
export const CTRL_INTS = 24;
export const OP = {
  EXIT: 0,
  MATVEC: 1,
  MATVEC_STREAM: 2,
  MATMUL: 3,
  ATTENTION: 4,
  MATMUL_Q8_0: 5,
  MATMUL_INT4: 6,
  EIE_SPMV: 7,
  MATMUL_I8: 8,
} as const;

/** Rows [r0, r1) of `rows` for thread `index` of `threads`, cut at multiples of `grain` (a kernel's tile height). */
export function sliceRows(rows: number, index: number, threads: number, grain: number): [number, number] {
  const cut = (t: number) =>
    t === threads ? rows : Math.min(rows, Math.floor((rows * t) / threads / grain) * grain);
  return [cut(index), cut(index + 1)];
}

export function runSlice(k: KernelExports, ctrl: Int32Array, index: number, threads: number): void {
  const [r0, r1] = sliceRows(ctrl[CTRL.ROWS], index, threads, ctrl[CTRL.GRAIN]);
  if (r0 >= r1) return;
  const a = CTRL.ARGS;
  switch (ctrl[CTRL.OP]) {
    case OP.MATVEC:
      k.matvec_f32(ctrl[a], ctrl[a + 1], ctrl[a + 2], ctrl[a + 3], r0, r1);
      break;
    case OP.MATVEC_STREAM:
      k.matvec_stream_f32(ctrl[a], ctrl[a + 1], ctrl[a + 2], ctrl[a + 3], r0, r1);
      break;
    case OP.MATMUL:
      k.matmul_f32(ctrl[a], ctrl[a + 1], ctrl[a + 2], ctrl[a + 3], ctrl[a + 4], ctrl[a + 5], r0, r1);
      break;
    case OP.MATMUL_Q8_0: {
      // args: out, aq, xq, xd, w, scratch (one stride per thread), stride, M, N, K
      const scratch = ctrl[a + 5] + index * ctrl[a + 6];
      k.matmul_q8_0(
        ctrl[a],
        ctrl[a + 1],
        ctrl[a + 2],
        ctrl[a + 3],
        ctrl[a + 4],
        scratch,
        ctrl[a + 7],
        ctrl[a + 8],
        ctrl[a + 9],
        r0,
        r1,
      );
      break;
    }
    case OP.MATMUL_INT4: {
      // args: out, a, xq, xd, sums, w, scales, zeros, scratch (one stride per thread), stride, M, N, K, groupSize
      const scratch = ctrl[a + 8] + index * ctrl[a + 9];
      const [out, act, xq, xd, sums, w, scales, zeros] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ctrl[a + i]);
      const [M, N, K, groupSize] = [10, 11, 12, 13].map((i) => ctrl[a + i]);
      k.matmul_int4(out, act, xq, xd, sums, w, scales, zeros, scratch, M, N, K, groupSize, r0, r1);
      break;
    }
    case OP.MATMUL_I8:
      // args: out, xq, xs, w, ws, M, N, K
      k.matmul_i8(
        ctrl[a],
        ctrl[a + 1],
        ctrl[a + 2],
        ctrl[a + 3],
        ctrl[a + 4],
        ctrl[a + 5],
        ctrl[a + 6],
        ctrl[a + 7],
        r0,
        r1,
      );
      break;
    case OP.EIE_SPMV: {
      // args: y, idx, val, nnz, pointers, peStart, entries, codebook, scratch (128 bytes per thread), acc, rows, cols, pes
      const [y, idx, val, nnz, pointers, peStart, entries, codebook] = [0, 1, 2, 3, 4, 5, 6, 7].map(
        (i) => ctrl[a + i],
      );
      const scratch = ctrl[a + 8] + index * 128;
      const [acc, rows, cols, pes] = [9, 10, 11, 12].map((i) => ctrl[a + i]);
      k.eie_spmv(
        y,
        idx,
        val,
        nnz,
        pointers,
        peStart,
        entries,
        codebook,
        scratch,
        acc,
        rows,
        cols,
        pes,
        r0,
        r1,
      );
      break;
    }
    case OP.ATTENTION: {
      // args: out, q, qs, keys, values, scores (one stride of scratch per thread), stride, T, pos0, heads, kvHeads, headDim, sinks
      const scores = ctrl[a + 5] + index * ctrl[a + 6];
      const [out, q, qs, keys, values] = [ctrl[a], ctrl[a + 1], ctrl[a + 2], ctrl[a + 3], ctrl[a + 4]];
      const [T, pos0, heads, kvHeads, headDim, sinks] = [7, 8, 9, 10, 11, 12].map((i) => ctrl[a + i]);
      k.attention_f32(out, q, qs, keys, values, scores, T, pos0, heads, kvHeads, headDim, sinks, r0, r1);
      break;
    }
  }
}

/** Busy-waits a little before sleeping: a decode step posts jobs microseconds apart. */
export const SPIN_ITERATIONS = 20000;

export function waitWhileEqual(ctrl: Int32Array, slot: number, value: number): void {
  for (let i = 0; i < SPIN_ITERATIONS; i++) if (Atomics.load(ctrl, slot) !== value) return;
  while (Atomics.load(ctrl, slot) === value) Atomics.wait(ctrl, slot, value);
}
