/**
 * The ggml block-quantized layouts, declared once (reference scalar code; the WASM kernels in
 * src/kernels/wasm/ implement the same layouts):
 *   block_q8_0 { f16 d; i8 qs[32]; }            x = d * q
 *   block_q4_0 { f16 d; u8 qs[16]; }            x = d * (q - 8); element j in the low nibble of qs[j], j+16 in the high
 *   block_q4_1 { f16 d; f16 m; u8 qs[16]; }     x = d * q + m;   same nibble order
 */
import { f16ToF32, f32ToF16 } from './half.js';

export const QK = 32;

export function dequantizeRowQ8_0(src: Uint8Array, dst: Float32Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * 34;
    const d = f16ToF32(src[o] | (src[o + 1] << 8));
    for (let j = 0; j < QK; j++) dst[b * QK + j] = d * ((src[o + 2 + j] << 24) >> 24);
  }
}

export function dequantizeRowQ4_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let b = 0; b < n / QK; b++) {
    const o = b * 18;
    const d = f16ToF32(view.getUint16(o, true));
    for (let j = 0; j < QK / 2; j++) {
      const q = src[o + 2 + j];
      dst[b * QK + j] = d * ((q & 0x0f) - 8);
      dst[b * QK + j + QK / 2] = d * ((q >> 4) - 8);
    }
  }
}

export function dequantizeRowQ4_1(src: Uint8Array, dst: Float32Array, n: number): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let b = 0; b < n / QK; b++) {
    const o = b * 20;
    const d = f16ToF32(view.getUint16(o, true));
    const m = f16ToF32(view.getUint16(o + 2, true));
    for (let j = 0; j < QK / 2; j++) {
      const q = src[o + 4 + j];
      dst[b * QK + j] = d * (q & 0x0f) + m;
      dst[b * QK + j + QK / 2] = d * (q >> 4) + m;
    }
  }
}

/** ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d). */
export function quantizeRowQ8_0(src: Float32Array, dst: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[b * QK + j]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    const o = b * 34;
    const h = f32ToF16(d);
    dst[o] = h & 0xff;
    dst[o + 1] = h >> 8;
    for (let j = 0; j < QK; j++) dst[o + 2 + j] = roundHalfAway(src[b * QK + j] * id) & 0xff;
  }
}

/** ggml's quantize_row_q4_0_ref: d = (signed value of max magnitude) / -8, q = min(15, trunc(x / d + 8.5)). */
export function quantizeRowQ4_0(src: Float32Array, dst: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[b * QK + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = max / -8;
    const id = d ? 1 / d : 0;
    const o = b * 18;
    const h = f32ToF16(d);
    dst[o] = h & 0xff;
    dst[o + 1] = h >> 8;
    for (let j = 0; j < QK / 2; j++) {
      const lo = Math.min(15, Math.trunc(src[b * QK + j] * id + 8.5));
      const hi = Math.min(15, Math.trunc(src[b * QK + j + QK / 2] * id + 8.5));
      dst[o + 2 + j] = lo | (hi << 4);
    }
  }
}

/** ggml's quantize_row_q4_1_ref: d = (max - min) / 15, m = min, q = min(15, trunc((x - m) / d + 0.5)). */
export function quantizeRowQ4_1(src: Float32Array, dst: Uint8Array, n: number): void {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let b = 0; b < n / QK; b++) {
    let min = Infinity;
    let max = -Infinity;
    for (let j = 0; j < QK; j++) {
      min = Math.min(min, src[b * QK + j]);
      max = Math.max(max, src[b * QK + j]);
    }
    const d = (max - min) / 15;
    const id = d ? 1 / d : 0;
    const o = b * 20;
    view.setUint16(o, f32ToF16(d), true);
    view.setUint16(o + 2, f32ToF16(min), true);
    for (let j = 0; j < QK / 2; j++) {
      const lo = Math.min(15, Math.trunc((src[b * QK + j] - min) * id + 0.5));
      const hi = Math.min(15, Math.trunc((src[b * QK + j + QK / 2] - min) * id + 0.5));
      dst[o + 4 + j] = lo | (hi << 4);
    }
  }
}

/** C's roundf: halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}
