/**
 * IDX (the MNIST / Fashion-MNIST format), plain or gzipped: two zero bytes, a type code, the
 * number of dims, dims as big-endian u32, then big-endian data. Read into a little-endian Tensor.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic-write.js';
import { FormatError } from './errors.js';
import { type ByteSource, openSource } from './source.js';
import { UserError } from '../errors.js';

const TYPES: Record<number, DType> = {
  0x08: 'u8',
  0x09: 'i8',
  0x0b: 'i16',
  0x0c: 'i32',
  0x0d: 'f32',
  0x0e: 'f64',
};
const CODE_OF = Object.fromEntries(
  Object.entries(TYPES).map(([code, dtype]) => [dtype, Number(code)]),
) as Record<string, number>;
/** deflate cannot expand data by more than about 1032:1, so a larger output is not a real file. */
const MAX_DEFLATE_RATIO = 1032;

export function isGzip(head: Uint8Array): boolean {
  return head.byteLength >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

export function readIdx(pathOrSource: string | ByteSource): Tensor {
  const source = openSource(pathOrSource);
  const path = source.path;
  const fail = (reason: string): never => {
    throw new FormatError(path, reason);
  };
  let bytes: Uint8Array;
  try {
    bytes = source.read(0, source.size);
  } finally {
    source.close();
  }
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes, {
        maxOutputLength: Math.min(bytes.byteLength * MAX_DEFLATE_RATIO + 1024, 2 ** 31 - 1),
      });
    } catch (err) {
      fail(`gzip data is corrupt: ${(err as Error).message}`);
    }
  }
  if (bytes.byteLength < 4 || bytes[0] !== 0 || bytes[1] !== 0)
    fail('not an IDX file (does not start with two zero bytes)');
  const dtype = TYPES[bytes[2]];
  if (!dtype) fail(`unknown IDX type code 0x${bytes[2].toString(16)}`);
  const nDims = bytes[3];
  if (nDims === 0) fail('IDX file with zero dimensions');
  const dataStart = 4 + 4 * nDims;
  if (bytes.byteLength < dataStart) fail(`truncated: header needs ${dataStart} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: nDims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const elemBytes = dtype === 'u8' || dtype === 'i8' ? 1 : dtype === 'i16' ? 2 : dtype === 'f64' ? 8 : 4;
  const expected = shape.reduce((a, b) => a * b, elemBytes);
  if (dataStart + expected !== bytes.byteLength)
    fail(
      `shape [${shape.join(', ')}] ${dtype} needs ${expected} data bytes, the file has ${bytes.byteLength - dataStart}`,
    );
  const data = bytes.slice(dataStart);
  swapBytes(data, elemBytes);
  return Tensor.fromBytes(dtype, shape, data);
}

export function writeIdx(path: string, tensor: Tensor, options: { gzip?: boolean } = {}): void {
  const code = CODE_OF[tensor.dtype];
  if (code === undefined) throw new UserError(`IDX cannot store dtype ${tensor.dtype}`);
  const header = new Uint8Array(4 + 4 * tensor.shape.length);
  const view = new DataView(header.buffer);
  header[2] = code;
  header[3] = tensor.shape.length;
  tensor.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const data = tensor.bytes.slice();
  swapBytes(data, tensor.data.BYTES_PER_ELEMENT);
  const file = new Uint8Array(header.byteLength + data.byteLength);
  file.set(header);
  file.set(data, header.byteLength);
  writeFileAtomic(path, (write) => write(options.gzip ? gzipSync(file) : file));
}

/** Big-endian <-> little-endian in place. */
function swapBytes(data: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < data.byteLength; i += width) data.subarray(i, i + width).reverse();
}
