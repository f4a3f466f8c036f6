// Layout ops of the nn/ layers (training): transpose, and the patch matrices of a convolution.
import { at, put } from './simd';

// out[cols, rows] = a[rows, cols]ᵀ in 16 x 16 tiles
export function transpose_f32(out: usize, a: usize, rows: i32, cols: i32): void {
  for (let r0 = 0; r0 < rows; r0 += 16) {
    const r1 = min(r0 + 16, rows);
    for (let c0 = 0; c0 < cols; c0 += 16) {
      const c1 = min(c0 + 16, cols);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) put(out, c * rows + r, at(a, r * cols + c));
    }
  }
}

// Channels-last patches: row (b, oh, ow) of cols[B·OH·OW, k·k·C] is the receptive field [kh, kw, c]
// of x[B, H, W, C] (zeros outside the image). col2im is its adjoint: dx += each row scattered back.
export function im2col_f32(
  cols: usize,
  x: usize,
  B: i32,
  H: i32,
  W: i32,
  C: i32,
  k: i32,
  s: i32,
  p: i32,
  OH: i32,
  OW: i32,
): void {
  const rowLen = k * k * C;
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const row = cols + ((<usize>(((b * OH + oh) * OW + ow) * rowLen)) << 2);
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * s + kh - p;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * s + kw - p;
            const dst = row + ((<usize>((kh * k + kw) * C)) << 2);
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) memory.fill(dst, 0, (<usize>C) << 2);
            else memory.copy(dst, x + ((<usize>(((b * H + ih) * W + iw) * C)) << 2), (<usize>C) << 2);
          }
        }
      }
}

export function col2im_f32(
  dx: usize,
  cols: usize,
  B: i32,
  H: i32,
  W: i32,
  C: i32,
  k: i32,
  s: i32,
  p: i32,
  OH: i32,
  OW: i32,
): void {
  memory.fill(dx, 0, (<usize>(B * H * W * C)) << 2);
  const rowLen = k * k * C;
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const row = ((b * OH + oh) * OW + ow) * rowLen;
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * s + kh - p;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * s + kw - p;
            if (iw < 0 || iw >= W) continue;
            const src = row + (kh * k + kw) * C;
            const dst = ((b * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) put(dx, dst + c, at(dx, dst + c) + at(cols, src + c));
          }
        }
      }
}
