/**
 * Element types. Plain types store one element per `bytes`; block-quantized types (the ggml
 * layouts, see blocks.ts) store `blockSize` elements in `bytes` bytes.
 */
export type PlainDType = 'f64' | 'f32' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i16' | 'i8' | 'u8';
export type BlockDType = 'q8_0' | 'q4_0' | 'q4_1';
export type DType = PlainDType | BlockDType;

export interface DTypeInfo {
  /** elements per block (1 for plain types) */
  blockSize: number;
  /** bytes per block */
  bytes: number;
}

export const DTYPES: Record<DType, DTypeInfo> = {
  f64: { blockSize: 1, bytes: 8 },
  f32: { blockSize: 1, bytes: 4 },
  f16: { blockSize: 1, bytes: 2 },
  bf16: { blockSize: 1, bytes: 2 },
  i64: { blockSize: 1, bytes: 8 },
  i32: { blockSize: 1, bytes: 4 },
  i16: { blockSize: 1, bytes: 2 },
  i8: { blockSize: 1, bytes: 1 },
  u8: { blockSize: 1, bytes: 1 },
  q8_0: { blockSize: 32, bytes: 34 },
  q4_0: { blockSize: 32, bytes: 18 },
  q4_1: { blockSize: 32, bytes: 20 },
};

export function isBlockDType(dtype: DType): dtype is BlockDType {
  return DTYPES[dtype].blockSize > 1;
}

/** Product of the dims, or NaN when a dim is not a non-negative safe integer or the product overflows. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return NaN;
    n *= d;
    if (!Number.isSafeInteger(n)) return NaN;
  }
  return n;
}

/**
 * Bytes needed for `shape` in `dtype`; NaN when the shape is invalid or, for block types, the
 * innermost dim is not a whole number of blocks.
 */
export function byteSizeOf(dtype: DType, shape: readonly number[]): number {
  const n = numelOf(shape);
  const { blockSize, bytes } = DTYPES[dtype];
  if (Number.isNaN(n)) return NaN;
  if (blockSize > 1) {
    const inner = shape.length === 0 ? 1 : shape[shape.length - 1];
    if (inner % blockSize !== 0) return NaN;
  }
  const size = (n / blockSize) * bytes;
  return Number.isSafeInteger(size) ? size : NaN;
}
