/**
 * The AutoAWQ "GEMM" checkpoint layout, so the same quantized model can be served by other runtimes.
 * For a linear of `out` rows and `in` columns, groups of g input columns:
 *   qweight  I32 [in, out / 8]      eight 4-bit values of eight consecutive output rows per int32,
 *                                   interleaved in the order [0, 2, 4, 6, 1, 3, 5, 7] (nibble i holds row 8c + ORDER[i])
 *   qzeros   I32 [in / g, out / 8]  the integer zero points, packed the same way
 *   scales   F16 [in / g, out]
 * with w[row, col] = (q - zero) · scale, and config.json's quantization_config
 * {"quant_method": "awq", "version": "gemm", "bits": 4, "group_size": g, "zero_point": true}.
 * effml's int4 form ([out, ...] rows, two columns per byte) maps to it one to one when in is a
 * multiple of g and out a multiple of 8.
 */
import type { Int4Weights } from '../kernels/backend.js';
import { packInt4, unpackInt4 } from './pack-int4.js';

export const AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7];

export interface AutoAwqTensors {
  qweight: Int32Array;
  qzeros: Int32Array;
  scales: Float32Array;
}

export function checkAutoAwqShape(rows: number, cols: number, groupSize: number, name: string): void {
  if (!(groupSize > 0) || cols % groupSize !== 0)
    throw new RangeError(
      `${name}: AutoAWQ needs in_features (${cols}) to be a multiple of the group size (${groupSize})`,
    );
  if (rows % 8 !== 0)
    throw new RangeError(`${name}: AutoAWQ needs out_features (${rows}) to be a multiple of 8`);
}

/** Packs values v[k][n] ([inner, rows] with rows % 8 == 0) into [inner, rows / 8] int32s in AWQ order. */
function packAwq(value: (k: number, n: number) => number, inner: number, rows: number): Int32Array {
  const out = new Int32Array((inner * rows) / 8);
  for (let k = 0; k < inner; k++)
    for (let c = 0; c < rows / 8; c++) {
      let word = 0;
      for (let i = 0; i < 8; i++) word |= (value(k, c * 8 + AWQ_ORDER[i]) & 15) << (4 * i);
      out[k * (rows / 8) + c] = word;
    }
  return out;
}

function unpackAwq(packed: Int32Array, k: number, n: number, rows: number): number {
  const word = packed[k * (rows / 8) + Math.floor(n / 8)];
  return (word >>> (4 * AWQ_ORDER.indexOf(n % 8))) & 15;
}

export function toAutoAwq(w: Int4Weights, rows: number, cols: number): AutoAwqTensors {
  const g = w.groupSize;
  const groups = cols / g;
  for (const z of w.zeros)
    if (!Number.isInteger(z) || z < 0 || z > 15)
      throw new RangeError(`zero point ${z} is not a 4-bit integer`);
  const q = unpackInt4(w.packed, rows, cols);
  return {
    qweight: packAwq((k, n) => q[n * cols + k], cols, rows),
    qzeros: packAwq((gi, n) => w.zeros[n * groups + gi], groups, rows),
    scales: Float32Array.from(
      { length: groups * rows },
      (_, i) => w.scales[(i % rows) * groups + Math.floor(i / rows)],
    ),
  };
}

export function fromAutoAwq(
  t: AutoAwqTensors,
  rows: number,
  cols: number,
  groupSize: number,
): Omit<Int4Weights, 'groupSize'> {
  const groups = cols / groupSize;
  const q = new Uint8Array(rows * cols);
  for (let n = 0; n < rows; n++)
    for (let k = 0; k < cols; k++) q[n * cols + k] = unpackAwq(t.qweight, k, n, rows);
  const zeros = new Float32Array(rows * groups);
  const scales = new Float32Array(rows * groups);
  for (let n = 0; n < rows; n++)
    for (let gi = 0; gi < groups; gi++) {
      zeros[n * groups + gi] = unpackAwq(t.qzeros, gi, n, rows);
      scales[n * groups + gi] = t.scales[gi * rows + n];
    }
  return { packed: packInt4(q, rows, cols), scales, zeros };
}
