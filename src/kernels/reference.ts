/** The plain TypeScript backend: the definition of correct that every other backend is tested against. */
import type { DType } from '../tensor/dtype.js';
import { QK } from '../tensor/blocks.js';
import { Tensor } from '../tensor/tensor.js';
import {
  type AttentionShape,
  type Backend,
  type EieWeights,
  type HeapArray,
  type Int8Weights,
  type Int4Weights,
  type PatchShape,
  type RopeStyle,
  convOutSize,
} from './backend.js';
import { UserError } from '../errors.js';

export class ReferenceBackend implements Backend {
  readonly name: string = 'reference';
  readonly threads: number = 1;

  allocF32(n: number): Float32Array {
    return new Float32Array(n);
  }

  allocBytes(n: number): Uint8Array {
    return new Uint8Array(n);
  }

  free(_a: HeapArray): void {} // the garbage collector's job here

  dispose(): void {}

  matmulQuantized(
    out: Float32Array,
    a: Float32Array,
    w: Uint8Array,
    dtype: 'q8_0',
    M: number,
    N: number,
    K: number,
  ): void {
    if (dtype !== 'q8_0' || K % QK !== 0)
      throw new RangeError(`matmulQuantized supports q8_0 with K a multiple of ${QK}`);
    const weights = new Float32Array(N * K);
    this.dequantize(weights, w, dtype, N * K);
    this.matmul(out, q8RoundTrip(a, M * K), weights, M, N, K);
  }

  matmulInt4(out: Float32Array, a: Float32Array, w: Int4Weights, M: number, N: number, K: number): void {
    const groups = Math.ceil(K / w.groupSize);
    const rowBytes = Math.ceil(K / 2);
    const weights = new Float32Array(N * K);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) {
        const b = w.packed[n * rowBytes + (k >> 1)];
        const g = n * groups + Math.floor(k / w.groupSize);
        weights[n * K + k] = ((k & 1 ? b >> 4 : b & 15) - w.zeros[g]) * w.scales[g];
      }
    this.matmul(out, int4UsesQ8(K, w.groupSize) ? q8RoundTrip(a, M * K) : a, weights, M, N, K);
  }

  matmul(out: Float32Array, a: Float32Array, w: Float32Array, M: number, N: number, K: number): void {
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * w[n * K + k];
        out[m * N + n] = s;
      }
  }

  matvec(out: Float32Array, w: Float32Array, x: Float32Array, N: number, K: number): void {
    this.matmul(out, x, w, 1, N, K);
  }

  add(out: Float32Array, a: Float32Array, b: Float32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
  }

  mul(out: Float32Array, a: Float32Array, b: Float32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i];
  }

  silu(out: Float32Array, x: Float32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = x[i] / (1 + Math.exp(-x[i]));
  }

  rmsnorm(
    out: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void {
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let ss = 0;
      for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
      const scale = 1 / Math.sqrt(ss / dim + eps);
      for (let i = 0; i < dim; i++) out[o + i] = x[o + i] * scale * weight[i];
    }
  }

  rope(
    x: Float32Array,
    heads: number,
    headDim: number,
    pos: number,
    invFreq: Float32Array,
    style: RopeStyle,
  ): void {
    const half = headDim / 2;
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i];
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const [i0, i1] = style === 'halves' ? [i, i + half] : [2 * i, 2 * i + 1];
      for (let h = 0; h < heads; h++) {
        const v0 = x[h * headDim + i0];
        const v1 = x[h * headDim + i1];
        x[h * headDim + i0] = v0 * c - v1 * s;
        x[h * headDim + i1] = v0 * s + v1 * c;
      }
    }
  }

  attention(
    out: Float32Array,
    q: Float32Array,
    keys: Float32Array,
    values: Float32Array,
    s: AttentionShape,
    qSink?: Float32Array,
  ): void {
    const { tokens, pos0, heads, kvHeads, headDim } = s;
    const sinks = s.sinks ?? 0;
    if (sinks > 0 && !qSink) throw new RangeError('attention with sinks needs qSink');
    const kvDim = kvHeads * headDim;
    const group = heads / kvHeads;
    const scale = 1 / Math.sqrt(headDim);
    const scores = new Float32Array(pos0 + tokens);
    for (let t = 0; t < tokens; t++) {
      const n = pos0 + t + 1;
      for (let h = 0; h < heads; h++) {
        const qo = (t * heads + h) * headDim;
        const kvo = Math.floor(h / group) * headDim;
        for (let j = 0; j < n; j++) {
          const query = j < sinks ? (qSink as Float32Array) : q;
          let dot = 0;
          for (let i = 0; i < headDim; i++) dot += query[qo + i] * keys[j * kvDim + kvo + i];
          scores[j] = dot * scale;
        }
        softmax(scores, n);
        out.fill(0, qo, qo + headDim);
        for (let j = 0; j < n; j++)
          for (let i = 0; i < headDim; i++) out[qo + i] += scores[j] * values[j * kvDim + kvo + i];
      }
    }
  }

  embedding(out: Float32Array, table: Float32Array, ids: ArrayLike<number>, dim: number): void {
    const vocab = table.length / dim;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= vocab)
        throw new UserError(`token id ${id} outside the vocabulary (${vocab})`);
      out.set(table.subarray(id * dim, (id + 1) * dim), i * dim);
    }
  }

  matmulInt8(out: Float32Array, a: Float32Array, w: Int8Weights, M: number, N: number, K: number): void {
    const f32 = Math.fround;
    const { xq, xs } = quantizeRowsInt8(a, M, K, w.act);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += xq[m * K + k] * w.q[n * K + k];
        out[m * N + n] = f32(f32(acc) * f32(xs[m] * w.scales[n]));
      }
  }

  spmvEie(out: Float32Array, w: EieWeights, a: Float32Array, bias: Float32Array | null): void {
    const { rows, cols, pes, codebook, pointers, peStart, entries } = w;
    const sums = new Float32Array(rows);
    for (let j = 0; j < cols; j++) {
      const aj = a[j];
      if (aj === 0) continue;
      for (let k = 0; k < pes; k++) {
        let i = k - pes;
        const p = peStart[k] + pointers[k * (cols + 1) + j];
        const end = peStart[k] + pointers[k * (cols + 1) + j + 1];
        for (let e = p; e < end; e++) {
          i += ((entries[e] >> 4) + 1) * pes;
          sums[i] += Math.fround(codebook[entries[e] & 15] * aj);
        }
      }
    }
    for (let i = 0; i < rows; i++) out[i] = (bias ? bias[i] : 0) + sums[i];
  }

  transpose(out: Float32Array, a: Float32Array, rows: number, cols: number): void {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  }

  im2col(cols: Float32Array, x: Float32Array, s: PatchShape): void {
    forEachPatchTap(s, (at, from) => (cols[at] = from < 0 ? 0 : x[from]));
  }

  col2im(dx: Float32Array, cols: Float32Array, s: PatchShape): void {
    dx.fill(0, 0, s.batch * s.height * s.width * s.channels);
    forEachPatchTap(s, (at, from) => {
      if (from >= 0) dx[from] += cols[at];
    });
  }

  dequantize(out: Float32Array, src: Uint8Array | Uint16Array, dtype: DType, n: number): void {
    const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    out.set(Tensor.fromBytes(dtype, [n], bytes).toFloat32().subarray(0, n));
  }
}

/** x[0, n) = exp(x - max) / sum, in place. */
function softmax(x: Float32Array, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[i]);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    x[i] = Math.exp(x[i] - max);
    sum += x[i];
  }
  for (let i = 0; i < n; i++) x[i] /= sum;
}

/** Activation rows to int8 with their scales, as matmulInt8 defines it (f32 arithmetic throughout). */
export function quantizeRowsInt8(
  a: Float32Array,
  M: number,
  K: number,
  act: Int8Weights['act'],
): { xq: Int16Array; xs: Float32Array } {
  const f32 = Math.fround;
  const absMax = (from: number, to: number) => {
    let m = 0;
    for (let i = from; i < to; i++) m = Math.max(m, Math.abs(a[i]));
    return m;
  };
  const whole = act === 'tensor' ? f32(absMax(0, M * K) / 127) : 0;
  const xq = new Int16Array(M * K);
  const xs = new Float32Array(M);
  for (let m = 0; m < M; m++) {
    const s = act === 'token' ? f32(absMax(m * K, (m + 1) * K) / 127) : act === 'tensor' ? whole : f32(act);
    xs[m] = s;
    const inv = s !== 0 ? f32(1 / s) : 0;
    for (let k = 0; k < K; k++) {
      const v = f32(a[m * K + k] * inv);
      const r = Math.trunc(f32(v + (v < 0 || Object.is(v, -0) ? -0.5 : 0.5)));
      xq[m * K + k] = Math.max(-127, Math.min(127, r));
    }
  }
  return { xq, xs };
}

/** Calls fn(index in cols, index in x or -1 outside the image) for every element im2col writes. */
function forEachPatchTap(s: PatchShape, fn: (at: number, from: number) => void): void {
  const { batch, height: H, width: W, channels: C, kernel: k, stride, pad } = s;
  const OH = convOutSize(H, k, stride, pad);
  const OW = convOutSize(W, k, stride, pad);
  let at = 0;
  for (let b = 0; b < batch; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let kh = 0; kh < k; kh++)
          for (let kw = 0; kw < k; kw++) {
            const ih = oh * stride + kh - pad;
            const iw = ow * stride + kw - pad;
            const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            for (let c = 0; c < C; c++, at++) fn(at, inside ? ((b * H + ih) * W + iw) * C + c : -1);
          }
}

/** Whether int4 matmuls quantize their activations to q8 blocks (the block grid must fit the groups). */
export function int4UsesQ8(K: number, groupSize: number): boolean {
  return K % QK === 0 && groupSize % QK === 0;
}

/**
 * Activations through q8_0 and back, as the quantized kernels see them (ggml's quantize_row_q8_0:
 * d = max|x| / 127 per block of 32, q rounded half away from zero; d kept in f32).
 */
function q8RoundTrip(a: Float32Array, n: number): Float32Array {
  const f32 = Math.fround;
  const out = new Float32Array(n);
  for (let b = 0; b < n / QK; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(a[b * QK + j]));
    const d = f32(amax / 127);
    const id = d ? f32(1 / d) : 0;
    for (let j = 0; j < QK; j++) {
      const v = f32(a[b * QK + j] * id);
      out[b * QK + j] = Math.sign(v) * Math.floor(Math.abs(v) + 0.5) * d;
    }
  }
  return out;
}
