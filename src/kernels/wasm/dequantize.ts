// Stored element types to f32 (src/tensor/blocks.ts defines the block layouts).
import { F32_BLOCK_BYTES, Q4_0_BYTES, Q4_0_QS, Q4_1_BYTES, Q4_1_QS, Q8_0_BYTES, Q8_0_QS, QK } from './layout';
import { f16_to_f32, put } from './simd';

export function dequantize_f16(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) put(dst, i, f16_to_f32(<u32>load<u16>(src + ((<usize>i) << 1))));
}

export function dequantize_bf16(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++)
    store<u32>(dst + ((<usize>i) << 2), (<u32>load<u16>(src + ((<usize>i) << 1))) << 16);
}

// block_q8_0 { f16 d; i8 qs[32]; }: x = d * q
export function dequantize_q8_0(dst: usize, src: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const blk = src + <usize>b * Q8_0_BYTES;
    const d = f32x4.splat(f16_to_f32(<u32>load<u16>(blk)));
    const o = dst + <usize>b * F32_BLOCK_BYTES;
    // two halves of 16 weights: 16 bytes of q each, 64 bytes of f32 each
    for (let h = 0; h < 2; h++) {
      const q = v128.load(blk + Q8_0_QS + ((<usize>h) << 4));
      const lo = i16x8.extend_low_i8x16_s(q),
        hi = i16x8.extend_high_i8x16_s(q);
      const oh = o + ((<usize>h) << 6);
      v128.store(oh, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d));
      v128.store(oh, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), 16);
      v128.store(oh, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), 32);
      v128.store(oh, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), 48);
    }
  }
}

// block_q4_0 { f16 d; u8 qs[16]; }: x = d * (q - 8), low nibbles first
export function dequantize_q4_0(dst: usize, src: usize, blocks: i32): void {
  const half = QK >> 1;
  for (let b = 0; b < blocks; b++) {
    const blk = src + <usize>b * Q4_0_BYTES;
    const d = f16_to_f32(<u32>load<u16>(blk));
    const o = dst + <usize>b * F32_BLOCK_BYTES;
    for (let j = 0; j < half; j++) {
      const q = <i32>load<u8>(blk + Q4_0_QS + j);
      put(o, j, d * <f32>((q & 15) - 8));
      put(o, j + half, d * <f32>((q >> 4) - 8));
    }
  }
}

// block_q4_1 { f16 d; f16 m; u8 qs[16]; }: x = d * q + m, low nibbles first
export function dequantize_q4_1(dst: usize, src: usize, blocks: i32): void {
  const half = QK >> 1;
  for (let b = 0; b < blocks; b++) {
    const blk = src + <usize>b * Q4_1_BYTES;
    const d = f16_to_f32(<u32>load<u16>(blk));
    const m = f16_to_f32(<u32>load<u16>(blk, 2));
    const o = dst + <usize>b * F32_BLOCK_BYTES;
    for (let j = 0; j < half; j++) {
      const q = <i32>load<u8>(blk + Q4_1_QS + j);
      put(o, j, d * <f32>(q & 15) + m);
      put(o, j + half, d * <f32>(q >> 4) + m);
    }
  }
}
