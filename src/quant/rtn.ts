/**
 * Round-to-nearest group-wise asymmetric quantization, as llm-awq's pseudo_quantize_tensor: per
 * output row and group of `groupSize` input columns (the last group may be partial),
 * scale = (max - min) / (2^bits - 1), zero = clamp(round(-min / scale), 0, 2^bits - 1),
 * q = clamp(round(w / scale) + zero, 0, 2^bits - 1), and w ≈ (q - zero) · scale. Scales are stored
 * in f16 (and q computed with the stored scale), zeros are small integers.
 */
import { f16ToF32, f32ToF16 } from '../tensor/half.js';
import { UserError } from '../errors.js';

export interface QuantConfig {
  /** 2..8; 4 and 3 are the main cases */
  bits: number;
  /** columns per group; 0 = one group per row (per-channel) */
  groupSize: number;
}

/** A [rows, cols] matrix in group-wise integer form (q unpacked, one byte per weight). */
export interface GroupQuantized {
  bits: number;
  groupSize: number;
  rows: number;
  cols: number;
  q: Uint8Array;
  /** [rows, groups], values exactly representable in f16 */
  scales: Float32Array;
  /** [rows, groups] */
  zeros: Float32Array;
}

export function groupsOf(cols: number, groupSize: number): number {
  return groupSize > 0 ? Math.ceil(cols / groupSize) : 1;
}

export function checkQuantConfig(c: QuantConfig): void {
  if (!Number.isInteger(c.bits) || c.bits < 2 || c.bits > 8)
    throw new UserError(`bits must be 2..8, got ${c.bits}`);
  if (!Number.isInteger(c.groupSize) || c.groupSize < 0)
    throw new UserError(`group size must be >= 0, got ${c.groupSize}`);
}

/**
 * Quantizes w [rows, cols]. `clip`, if given ([rows, groups]), clamps each group to
 * [-clip, clip] first (AWQ's auto-clip).
 */
export function quantizeRTN(
  w: Float32Array,
  rows: number,
  cols: number,
  c: QuantConfig,
  clip?: Float32Array,
): GroupQuantized {
  checkQuantConfig(c);
  const g = c.groupSize > 0 ? c.groupSize : cols;
  const groups = groupsOf(cols, c.groupSize);
  const maxInt = 2 ** c.bits - 1;
  const q = new Uint8Array(rows * cols);
  const scales = new Float32Array(rows * groups);
  const zeros = new Float32Array(rows * groups);
  for (let r = 0; r < rows; r++)
    for (let gi = 0; gi < groups; gi++) {
      const start = r * cols + gi * g;
      const end = r * cols + Math.min((gi + 1) * g, cols);
      const limit = clip ? clip[r * groups + gi] : Infinity;
      let min = Infinity;
      let max = -Infinity;
      for (let i = start; i < end; i++) {
        const v = Math.max(-limit, Math.min(limit, w[i]));
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const scale = f16ToF32(f32ToF16(Math.max(max - min, 1e-5) / maxInt));
      const zero = Math.max(0, Math.min(maxInt, -Math.round(min / scale)));
      scales[r * groups + gi] = scale;
      zeros[r * groups + gi] = zero;
      for (let i = start; i < end; i++) {
        const v = Math.max(-limit, Math.min(limit, w[i]));
        q[i] = Math.max(0, Math.min(maxInt, Math.round(v / scale) + zero));
      }
    }
  return { bits: c.bits, groupSize: c.groupSize, rows, cols, q, scales, zeros };
}

export function dequantizeGroups(m: GroupQuantized, out = new Float32Array(m.rows * m.cols)): Float32Array {
  const g = m.groupSize > 0 ? m.groupSize : m.cols;
  const groups = groupsOf(m.cols, m.groupSize);
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++) {
      const gi = r * groups + Math.floor(c / g);
      out[r * m.cols + c] = (m.q[r * m.cols + c] - m.zeros[gi]) * m.scales[gi];
    }
  return out;
}

/** w quantized and dequantized again: what the model computes with after RTN. */
export function fakeQuantize(
  w: Float32Array,
  rows: number,
  cols: number,
  c: QuantConfig,
  clip?: Float32Array,
): Float32Array {
  return dequantizeGroups(quantizeRTN(w, rows, cols, c, clip));
}
