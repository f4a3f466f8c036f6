import { type DType, DTYPES, byteSizeOf, numelOf } from './dtype.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';
import {
  dequantizeRowQ4_0,
  dequantizeRowQ4_1,
  dequantizeRowQ8_0,
  quantizeRowQ4_0,
  quantizeRowQ4_1,
  quantizeRowQ8_0,
} from './blocks.js';

export type TensorData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/**
 * An n-dimensional array: shape (row-major, outermost first), dtype, and data as a typed-array view
 * over an ArrayBuffer or a SharedArrayBuffer. f16 / bf16 data is a Uint16Array of raw bits; block
 * types (q8_0, q4_0, q4_1) are a Uint8Array of raw blocks.
 */
export class Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;

  constructor(dtype: DType, shape: readonly number[], data: TensorData) {
    const bytes = byteSizeOf(dtype, shape);
    if (Number.isNaN(bytes)) throw new RangeError(`invalid shape [${shape.join(', ')}] for dtype ${dtype}`);
    if (data.byteLength !== bytes)
      throw new RangeError(
        `data has ${data.byteLength} bytes, shape [${shape.join(', ')}] ${dtype} needs ${bytes}`,
      );
    this.dtype = dtype;
    this.shape = [...shape];
    this.data = data;
  }

  /** A zero-filled tensor; `shared` puts it in a SharedArrayBuffer for worker threads. */
  static zeros(dtype: DType, shape: readonly number[], shared = false): Tensor {
    const bytes = byteSizeOf(dtype, shape);
    if (Number.isNaN(bytes)) throw new RangeError(`invalid shape [${shape.join(', ')}] for dtype ${dtype}`);
    const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    return new Tensor(dtype, shape, viewAs(dtype, new Uint8Array(buffer)));
  }

  /** Wraps raw little-endian bytes (copied only if misaligned for the element type). */
  static fromBytes(dtype: DType, shape: readonly number[], bytes: Uint8Array): Tensor {
    return new Tensor(dtype, shape, viewAs(dtype, bytes));
  }

  static fromFloat32(shape: readonly number[], values: Float32Array | readonly number[]): Tensor {
    return new Tensor('f32', shape, values instanceof Float32Array ? values : Float32Array.from(values));
  }

  get numel(): number {
    return numelOf(this.shape);
  }

  get byteLength(): number {
    return this.data.byteLength;
  }

  get bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  /** The values as f32: a view for f32, otherwise converted or dequantized into a new array. */
  toFloat32(): Float32Array {
    if (this.data instanceof Float32Array) return this.data;
    const n = this.numel;
    const out = new Float32Array(n);
    const src = this.data;
    switch (this.dtype) {
      case 'f16':
        for (let i = 0; i < n; i++) out[i] = f16ToF32((src as Uint16Array)[i]);
        break;
      case 'bf16':
        for (let i = 0; i < n; i++) out[i] = bf16ToF32((src as Uint16Array)[i]);
        break;
      case 'q8_0':
        dequantizeRowQ8_0(src as Uint8Array, out, n);
        break;
      case 'q4_0':
        dequantizeRowQ4_0(src as Uint8Array, out, n);
        break;
      case 'q4_1':
        dequantizeRowQ4_1(src as Uint8Array, out, n);
        break;
      case 'i64':
        for (let i = 0; i < n; i++) out[i] = Number((src as BigInt64Array)[i]);
        break;
      default:
        for (let i = 0; i < n; i++) out[i] = (src as Float64Array | Int32Array | Int16Array | Int8Array)[i];
    }
    return out;
  }

  /** Converts (or quantizes) to another dtype through f32. */
  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    const values = this.toFloat32();
    if (dtype === 'f32') return new Tensor('f32', this.shape, values);
    const out = Tensor.zeros(dtype, this.shape);
    const n = this.numel;
    const dst = out.data;
    switch (dtype) {
      case 'f16':
        for (let i = 0; i < n; i++) (dst as Uint16Array)[i] = f32ToF16(values[i]);
        break;
      case 'bf16':
        for (let i = 0; i < n; i++) (dst as Uint16Array)[i] = f32ToBf16(values[i]);
        break;
      case 'q8_0':
        quantizeRowQ8_0(values, dst as Uint8Array, n);
        break;
      case 'q4_0':
        quantizeRowQ4_0(values, dst as Uint8Array, n);
        break;
      case 'q4_1':
        quantizeRowQ4_1(values, dst as Uint8Array, n);
        break;
      case 'i64':
        for (let i = 0; i < n; i++) (dst as BigInt64Array)[i] = BigInt(Math.round(values[i]));
        break;
      default:
        (dst as Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array).set(values);
    }
    return out;
  }
}

const ELEMENT_VIEW: Record<
  DType,
  new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TensorData
> = {
  f64: Float64Array,
  f32: Float32Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  i64: BigInt64Array,
  i32: Int32Array,
  i16: Int16Array,
  i8: Int8Array,
  u8: Uint8Array,
  q8_0: Uint8Array,
  q4_0: Uint8Array,
  q4_1: Uint8Array,
};

/** The typed-array view of `bytes` for `dtype`; misaligned bytes are copied to an aligned buffer. */
export function viewAs(dtype: DType, bytes: Uint8Array): TensorData {
  const align = DTYPES[dtype].blockSize > 1 ? 1 : DTYPES[dtype].bytes;
  if (bytes.byteOffset % align !== 0 || bytes.byteLength % align !== 0) {
    if (bytes.byteLength % align !== 0)
      throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype}`);
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    bytes = copy;
  }
  return new ELEMENT_VIEW[dtype](bytes.buffer, bytes.byteOffset, bytes.byteLength / align);
}
