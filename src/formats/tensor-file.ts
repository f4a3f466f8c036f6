import { type DType, byteSizeOf } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

export interface TensorInfo {
  name: string;
  /** the format's own name for the stored type (F32, Q4_K, ...) */
  type: string;
  /** effml's dtype, or null when the stored type cannot be read yet (read() then throws FormatError) */
  dtype: DType | null;
  /** row-major, outermost first, in every format */
  shape: number[];
  /** the byte offset of the tensor's data within its file */
  offset: number;
  byteLength: number;
}

/** What a writer needs of a tensor: a Tensor, or a LazyTensor made only when its bytes are written. */
export type TensorLike = Pick<Tensor, 'dtype' | 'shape' | 'byteLength' | 'bytes'>;

/** Tensors to write, in file order. */
export type NamedTensors = ReadonlyArray<readonly [string, TensorLike]>;

/** A tensor computed when a writer asks for its bytes, so that a large file never sits in memory whole. */
export class LazyTensor implements TensorLike {
  readonly byteLength: number;

  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    private readonly make: () => Tensor,
  ) {
    this.byteLength = byteSizeOf(dtype, shape);
    if (Number.isNaN(this.byteLength))
      throw new RangeError(`invalid shape [${shape.join(', ')}] for dtype ${dtype}`);
  }

  get bytes(): Uint8Array {
    const t = this.make();
    if (t.dtype !== this.dtype || t.shape.join() !== this.shape.join())
      throw new RangeError(
        `lazy tensor made ${t.dtype} [${t.shape}], promised ${this.dtype} [${this.shape}]`,
      );
    return t.bytes;
  }
}

/** A parsed model file: its tensor table is in memory, tensor data is read on demand. */
export interface TensorFile {
  readonly format: string;
  readonly path: string;
  readonly version: number | undefined;
  readonly tensors: readonly TensorInfo[];
  /** Reads one tensor's bytes from the file; `shared` puts it in a SharedArrayBuffer. */
  read(name: string, options?: { shared?: boolean }): Tensor;
  close(): void;
}

/** Tensor data ranges must not overlap: that also bounds what reading every tensor can cost to the file size. */
export function checkNoOverlap(tensors: readonly TensorInfo[], fail: (reason: string) => never): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].byteLength)
      fail(`tensors ${sorted[i - 1].name} and ${sorted[i].name} overlap`);
}
