/**
 * GGUF v1, v2 and v3 (little-endian): "GGUF", u32 version, tensor count, metadata KV count, the KV
 * pairs, the tensor infos, padding to `general.alignment` (default 32), then the tensor data.
 * v1 writes counts and string / array lengths as u32, v2 and v3 as u64 (v3 only adds big-endian
 * files, which we reject by name). Tensor dims are stored innermost first; TensorInfo.shape is
 * outermost first like every other format here.
 */
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { type ChunkWriter, writeFileAtomic } from './atomic-write.js';
import { Cursor } from './cursor.js';
import { FormatError } from './errors.js';
import { type ByteSource, openReader } from './source.js';
import { type NamedTensors, type TensorFile, type TensorInfo, checkNoOverlap } from './tensor-file.js';
import { UserError } from '../errors.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4;
const MAX_ARRAY_NESTING = 8;

export const GGUFType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GGUFType = (typeof GGUFType)[keyof typeof GGUFType];

const TYPE_NAME = Object.fromEntries(Object.entries(GGUFType).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;
/** Bytes of each fixed-size scalar type. */
const SCALAR_BYTES: Partial<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

export type GGUFScalar = number | bigint | boolean | string;
export interface GGUFArray {
  itemType: GGUFType;
  items: (GGUFScalar | GGUFArray)[];
}
/** A metadata value with its stored type, so that writing it back gives the same bytes. */
export interface GGUFValue {
  type: GGUFType;
  value: GGUFScalar | GGUFArray;
}

/** ggml tensor types: id -> name, elements per block, bytes per block, and our dtype when we read it. */
interface GGMLType {
  name: string;
  blockSize: number;
  bytes: number;
  dtype: DType | null;
}
const T = (name: string, blockSize: number, bytes: number, dtype: DType | null = null): GGMLType => ({
  name,
  blockSize,
  bytes,
  dtype,
});
export const GGML_TYPES: Record<number, GGMLType> = {
  0: T('F32', 1, 4, 'f32'),
  1: T('F16', 1, 2, 'f16'),
  2: T('Q4_0', 32, 18, 'q4_0'),
  3: T('Q4_1', 32, 20, 'q4_1'),
  6: T('Q5_0', 32, 22),
  7: T('Q5_1', 32, 24),
  8: T('Q8_0', 32, 34, 'q8_0'),
  9: T('Q8_1', 32, 36),
  10: T('Q2_K', 256, 84),
  11: T('Q3_K', 256, 110),
  12: T('Q4_K', 256, 144),
  13: T('Q5_K', 256, 176),
  14: T('Q6_K', 256, 210),
  15: T('Q8_K', 256, 292),
  16: T('IQ2_XXS', 256, 66),
  17: T('IQ2_XS', 256, 74),
  18: T('IQ3_XXS', 256, 98),
  19: T('IQ1_S', 256, 50),
  20: T('IQ4_NL', 32, 18),
  21: T('IQ3_S', 256, 110),
  22: T('IQ2_S', 256, 82),
  23: T('IQ4_XS', 256, 136),
  24: T('I8', 1, 1, 'i8'),
  25: T('I16', 1, 2, 'i16'),
  26: T('I32', 1, 4, 'i32'),
  27: T('I64', 1, 8, 'i64'),
  28: T('F64', 1, 8, 'f64'),
  29: T('IQ1_M', 256, 56),
  30: T('BF16', 1, 2, 'bf16'),
  34: T('TQ1_0', 256, 54),
  35: T('TQ2_0', 256, 66),
  39: T('MXFP4', 32, 17),
};
const GGML_TYPE_OF_DTYPE = Object.fromEntries(
  Object.entries(GGML_TYPES)
    .filter(([, t]) => t.dtype)
    .map(([id, t]) => [t.dtype, Number(id)]),
) as Record<DType, number>;
const READABLE = Object.values(GGML_TYPES)
  .filter((t) => t.dtype)
  .map((t) => t.name)
  .join(', ');

export interface GGUFTensorInfo extends TensorInfo {
  ggmlType: number;
}

export class GGUFFile implements TensorFile {
  readonly format = 'gguf';
  readonly path: string;
  readonly version: number;
  readonly metadata = new Map<string, GGUFValue>();
  readonly tensors: GGUFTensorInfo[] = [];
  readonly alignment: number;
  readonly dataOffset: number;
  private readonly byName = new Map<string, GGUFTensorInfo>();

  constructor(private readonly source: ByteSource) {
    this.path = source.path;
    const c = new Cursor(source);
    if (source.size < 8 || c.u32('magic') !== GGUF_MAGIC) c.fail('not a GGUF file (magic is not "GGUF")');
    const version = c.u32('version');
    if (version >= 0x10000 && [1, 2, 3].includes(swap32(version)))
      c.fail(`big-endian GGUF (version ${swap32(version)}) is not supported`);
    if (version < 1 || version > 3) c.fail(`unsupported GGUF version ${version} (supported: 1, 2, 3)`);
    this.version = version;
    const wide = version >= 2;
    const count = (what: string, minBytesEach: number) => {
      const limit = Math.floor(c.remaining / minBytesEach);
      const n = wide ? c.u64AsNumber(what, limit) : c.u32(what);
      if (n > limit) c.fail(`${what} is ${n}, more than the ${c.remaining} remaining bytes can hold`);
      return n;
    };
    const lenBytes = wide ? 8 : 4;
    const tensorCount = count('tensor count', lenBytes + 4 + 4 + 8);
    const kvCount = count('metadata count', lenBytes + 4 + 1);

    const readString = (what: string) => c.utf8(count(`${what} length`, 1), what);
    const readValue = (type: number, key: string, depth: number): GGUFScalar | GGUFArray => {
      switch (type) {
        case GGUFType.UINT8:
          return c.u8(key);
        case GGUFType.INT8:
          return c.i8(key);
        case GGUFType.UINT16:
          return c.u16(key);
        case GGUFType.INT16:
          return c.i16(key);
        case GGUFType.UINT32:
          return c.u32(key);
        case GGUFType.INT32:
          return c.i32(key);
        case GGUFType.FLOAT32:
          return c.f32(key);
        case GGUFType.UINT64:
          return c.u64(key);
        case GGUFType.INT64:
          return c.i64(key);
        case GGUFType.FLOAT64:
          return c.f64(key);
        case GGUFType.BOOL: {
          const b = c.u8(key);
          if (b > 1) c.fail(`${key}: bool value is ${b}, not 0 or 1`);
          return b === 1;
        }
        case GGUFType.STRING:
          return readString(key);
        case GGUFType.ARRAY: {
          if (depth >= MAX_ARRAY_NESTING) c.fail(`${key}: arrays nested deeper than ${MAX_ARRAY_NESTING}`);
          const itemType = c.u32(`${key} array type`);
          if (!(itemType in TYPE_NAME)) c.fail(`${key}: unknown array item type ${itemType}`);
          const n = count(`${key} array length`, SCALAR_BYTES[itemType] ?? 4);
          const items: (GGUFScalar | GGUFArray)[] = new Array(n);
          for (let i = 0; i < n; i++) items[i] = readValue(itemType, key, depth + 1);
          return { itemType: itemType as GGUFType, items };
        }
        default:
          return c.fail(`${key}: unknown metadata value type ${type}`);
      }
    };

    for (let i = 0; i < kvCount; i++) {
      const key = readString(`metadata key ${i}`);
      const type = c.u32(`${key} type`);
      if (!(type in TYPE_NAME)) c.fail(`metadata ${key}: unknown value type ${type}`);
      if (this.metadata.has(key)) c.fail(`metadata key ${key} appears twice`);
      this.metadata.set(key, { type: type as GGUFType, value: readValue(type, key, 0) });
    }

    const alignment = this.metadata.get('general.alignment');
    if (alignment && (alignment.type !== GGUFType.UINT32 || !isPowerOfTwo(alignment.value as number)))
      c.fail(`general.alignment must be a u32 power of two, got ${String(alignment.value)}`);
    this.alignment = alignment ? (alignment.value as number) : DEFAULT_ALIGNMENT;

    const infos: { name: string; dims: number[]; ggmlType: number; offset: number }[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = readString(`tensor ${i} name`);
      const nDims = c.u32(`${name} dimension count`);
      if (nDims > MAX_DIMS) c.fail(`tensor ${name} has ${nDims} dimensions (at most ${MAX_DIMS})`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++)
        dims.push(wide ? c.u64AsNumber(`${name} dim ${d}`) : c.u32(`${name} dim ${d}`));
      const ggmlType = c.u32(`${name} type`);
      const offset = c.u64AsNumber(`${name} offset`);
      infos.push({ name, dims, ggmlType, offset });
    }
    this.dataOffset = alignUp(c.pos, this.alignment);
    const dataBytes = source.size - this.dataOffset;

    for (const { name, dims, ggmlType, offset } of infos) {
      const t = GGML_TYPES[ggmlType];
      if (!t) c.fail(`tensor ${name} has unknown ggml type ${ggmlType}`);
      if (this.byName.has(name)) c.fail(`tensor name ${name} appears twice`);
      let numel = 1;
      for (const d of dims) {
        numel *= d;
        if (!Number.isSafeInteger(numel)) c.fail(`tensor ${name} shape [${dims.join(', ')}] is too large`);
      }
      if (dims.length > 0 && dims[0] % t.blockSize !== 0)
        c.fail(
          `tensor ${name}: row of ${dims[0]} elements is not a whole number of ${t.name} blocks (${t.blockSize})`,
        );
      const byteLength = (numel / t.blockSize) * t.bytes;
      if (offset % this.alignment !== 0)
        c.fail(`tensor ${name}: offset ${offset} is not a multiple of the alignment ${this.alignment}`);
      if (offset + byteLength > dataBytes)
        c.fail(
          `tensor ${name}: data ${offset}..${offset + byteLength} lies past the end of the data section (${Math.max(0, dataBytes)} bytes)`,
        );
      const info: GGUFTensorInfo = {
        name,
        type: t.name,
        dtype: t.dtype,
        shape: [...dims].reverse(),
        offset: this.dataOffset + offset,
        byteLength,
        ggmlType,
      };
      this.tensors.push(info);
      this.byName.set(name, info);
    }
    checkNoOverlap(this.tensors, (reason) => c.fail(reason));
  }

  /** A metadata value as plain JS (arrays as arrays, u64 / i64 as number when safe). */
  get(key: string): unknown {
    const v = this.metadata.get(key);
    return v === undefined ? undefined : plain(v.value);
  }

  read(name: string, options: { shared?: boolean } = {}): Tensor {
    const info = this.byName.get(name);
    if (!info) throw new FormatError(this.path, `no tensor named ${name}`);
    if (!info.dtype)
      throw new FormatError(
        this.path,
        `tensor ${name} is ${info.type}, which effml cannot read yet (readable: ${READABLE})`,
      );
    return Tensor.fromBytes(
      info.dtype,
      info.shape,
      this.source.read(info.offset, info.byteLength, options.shared),
    );
  }

  close(): void {
    this.source.close();
  }
}

export function readGGUF(pathOrSource: string | ByteSource): GGUFFile {
  return openReader(pathOrSource, (source) => new GGUFFile(source));
}

function plain(v: GGUFScalar | GGUFArray): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (typeof v === 'object') return v.items.map(plain);
  return v;
}

export interface GGUFWriteOptions {
  version?: 1 | 2 | 3;
}

/** Writes GGUF (v3 unless told): tensors are written in their dtype (F32, F16, BF16, Q8_0, Q4_0, Q4_1, I8..I64, F64). */
export function writeGGUF(
  path: string,
  metadata: ReadonlyMap<string, GGUFValue>,
  tensors: NamedTensors,
  options: GGUFWriteOptions = {},
): void {
  writeFileAtomic(path, (write) => writeGGUFTo(write, metadata, tensors, options.version ?? 3));
}

function writeGGUFTo(
  write: ChunkWriter,
  metadata: ReadonlyMap<string, GGUFValue>,
  tensors: NamedTensors,
  version: number,
): void {
  const alignEntry = metadata.get('general.alignment');
  const alignment = alignEntry ? Number(alignEntry.value) : DEFAULT_ALIGNMENT;
  const w = new HeaderWriter(version >= 2);
  w.u32(GGUF_MAGIC);
  w.u32(version);
  w.count(tensors.length);
  w.count(metadata.size);
  for (const [key, { type, value }] of metadata) {
    w.string(key);
    w.u32(type);
    w.value(type, value);
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    const ggmlType = GGML_TYPE_OF_DTYPE[t.dtype];
    if (ggmlType === undefined) throw new UserError(`GGUF cannot store dtype ${t.dtype} (tensor ${name})`);
    w.string(name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.count(d);
    w.u32(ggmlType);
    w.u64(BigInt(offset));
    offset = alignUp(offset + t.byteLength, alignment);
  }
  const header = w.finish();
  write(header);
  write(new Uint8Array(alignUp(header.byteLength, alignment) - header.byteLength));
  for (const [, t] of tensors) {
    write(t.bytes);
    write(new Uint8Array(alignUp(t.byteLength, alignment) - t.byteLength));
  }
}

class HeaderWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  constructor(private readonly wide: boolean) {}

  private room(n: number): number {
    if (this.pos + n > this.buf.byteLength) {
      const bigger = new Uint8Array(Math.max(this.buf.byteLength * 2, this.pos + n));
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u32(v: number): void {
    this.put(4, (d, at) => d.setUint32(at, v, true));
  }
  u64(v: bigint): void {
    this.put(8, (d, at) => d.setBigUint64(at, v, true));
  }
  count(n: number): void {
    if (this.wide) this.u64(BigInt(n));
    else this.u32(n);
  }
  string(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.count(bytes.byteLength);
    const at = this.room(bytes.byteLength);
    this.buf.set(bytes, at);
  }
  /** Reserves `bytes` first, then writes through the (possibly regrown) view. */
  private put(bytes: number, set: (view: DataView, at: number) => void): void {
    const at = this.room(bytes);
    set(this.view, at);
  }
  value(type: number, v: GGUFScalar | GGUFArray): void {
    switch (type) {
      case GGUFType.UINT8:
        return this.put(1, (d, at) => d.setUint8(at, v as number));
      case GGUFType.INT8:
        return this.put(1, (d, at) => d.setInt8(at, v as number));
      case GGUFType.UINT16:
        return this.put(2, (d, at) => d.setUint16(at, v as number, true));
      case GGUFType.INT16:
        return this.put(2, (d, at) => d.setInt16(at, v as number, true));
      case GGUFType.UINT32:
        return this.put(4, (d, at) => d.setUint32(at, v as number, true));
      case GGUFType.INT32:
        return this.put(4, (d, at) => d.setInt32(at, v as number, true));
      case GGUFType.FLOAT32:
        return this.put(4, (d, at) => d.setFloat32(at, v as number, true));
      case GGUFType.UINT64:
        return this.put(8, (d, at) => d.setBigUint64(at, BigInt(v as bigint), true));
      case GGUFType.INT64:
        return this.put(8, (d, at) => d.setBigInt64(at, BigInt(v as bigint), true));
      case GGUFType.FLOAT64:
        return this.put(8, (d, at) => d.setFloat64(at, v as number, true));
      case GGUFType.BOOL:
        return this.put(1, (d, at) => d.setUint8(at, v ? 1 : 0));
      case GGUFType.STRING:
        return this.string(v as string);
      case GGUFType.ARRAY: {
        const { itemType, items } = v as GGUFArray;
        this.u32(itemType);
        this.count(items.length);
        for (const item of items) this.value(itemType, item);
        return;
      }
      default:
        throw new RangeError(`unknown GGUF value type ${type}`);
    }
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
