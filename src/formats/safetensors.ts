/**
 * safetensors: u64 header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {string: string}}, then the data section; offsets are relative to it.
 * Sharded checkpoints add model.safetensors.index.json: {"metadata": {...}, "weight_map": {name: file}}.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type DType, byteSizeOf } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { type ChunkWriter, writeFileAtomic } from './atomic-write.js';
import { FormatError } from './errors.js';
import { type ByteSource, openReader, openSource } from './source.js';
import {
  type NamedTensors,
  type TensorFile,
  type TensorInfo,
  type TensorLike,
  checkNoOverlap,
} from './tensor-file.js';
import { UserError } from '../errors.js';

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const DTYPE_OF: Record<string, DType> = {
  F64: 'f64',
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  I64: 'i64',
  I32: 'i32',
  I16: 'i16',
  I8: 'i8',
  U8: 'u8',
};
const NAME_OF = Object.fromEntries(Object.entries(DTYPE_OF).map(([k, v]) => [v, k])) as Partial<
  Record<DType, string>
>;

export class SafetensorsFile implements TensorFile {
  readonly format = 'safetensors';
  readonly version = undefined;
  readonly path: string;
  readonly metadata: Record<string, string>;
  readonly tensors: TensorInfo[];
  private readonly byName: Map<string, TensorInfo>;

  constructor(private readonly source: ByteSource) {
    this.path = source.path;
    const fail = (reason: string): never => {
      throw new FormatError(source.path, reason);
    };
    if (source.size < 8) fail(`too short for a safetensors header (${source.size} bytes)`);
    const headerLen = new DataView(source.read(0, 8).buffer).getBigUint64(0, true);
    if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, source.size - 8)))
      fail(
        `header length ${headerLen} exceeds the file (${source.size} bytes) or the ${MAX_HEADER_BYTES}-byte limit`,
      );
    const dataStart = 8 + Number(headerLen);
    let header: unknown;
    try {
      header = JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(source.read(8, Number(headerLen))),
      );
    } catch (err) {
      fail(`header is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(header)) fail('header is not a JSON object');

    this.metadata = {};
    this.tensors = [];
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (!isObject(entry)) fail('__metadata__ is not an object');
        for (const [k, v] of Object.entries(entry as object)) {
          if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
          this.metadata[k] = v as string;
        }
        continue;
      }
      this.tensors.push(parseEntry(name, entry, dataStart, source.size, fail));
    }
    checkNoOverlap(this.tensors, fail);
    this.byName = new Map(this.tensors.map((t) => [t.name, t]));
  }

  read(name: string, options: { shared?: boolean } = {}): Tensor {
    const info = this.byName.get(name);
    if (!info) throw new FormatError(this.path, `no tensor named ${name}`);
    return Tensor.fromBytes(
      info.dtype as DType,
      info.shape,
      this.source.read(info.offset, info.byteLength, options.shared),
    );
  }

  close(): void {
    this.source.close();
  }
}

function parseEntry(
  name: string,
  entry: unknown,
  dataStart: number,
  fileSize: number,
  fail: (reason: string) => never,
): TensorInfo {
  if (!isObject(entry)) fail(`tensor ${name}: entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string') return fail(`tensor ${name}: dtype missing`);
  const ours = DTYPE_OF[dtype];
  if (!ours)
    fail(`tensor ${name}: unsupported dtype ${dtype} (supported: ${Object.keys(DTYPE_OF).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    fail(`tensor ${name}: shape must be an array of non-negative integers`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  )
    fail(`tensor ${name}: data_offsets must be [begin, end] with 0 <= begin <= end`);
  const [begin, end] = offsets as [number, number];
  const bytes = byteSizeOf(ours, shape as number[]);
  if (bytes !== end - begin)
    fail(
      `tensor ${name}: ${end - begin} bytes of data but shape [${(shape as number[]).join(', ')}] ${dtype} needs ${bytes}`,
    );
  if (dataStart + end > fileSize)
    fail(
      `tensor ${name}: data ends at byte ${dataStart + end}, past the end of the file (${fileSize} bytes)`,
    );
  return {
    name,
    type: dtype,
    dtype: ours,
    shape: shape as number[],
    offset: dataStart + begin,
    byteLength: end - begin,
  };
}

/** Several shard files seen as one, through model.safetensors.index.json. */
export class ShardedSafetensors implements TensorFile {
  readonly format = 'safetensors-sharded';
  readonly version = undefined;
  readonly metadata: Record<string, unknown>;
  readonly tensors: TensorInfo[] = [];
  readonly shards: SafetensorsFile[] = [];
  private readonly shardOf = new Map<string, SafetensorsFile>();

  constructor(readonly path: string) {
    const fail = (reason: string): never => {
      throw new FormatError(path, reason);
    };
    if (statSync(path).size > MAX_HEADER_BYTES) fail('index file is larger than 100 MiB');
    let index: unknown;
    try {
      index = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      fail(`not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(index) || !isObject((index as Record<string, unknown>).weight_map))
      fail('missing "weight_map" object');
    const { weight_map: weightMap, metadata } = index as {
      weight_map: Record<string, unknown>;
      metadata?: unknown;
    };
    this.metadata = isObject(metadata) ? (metadata as Record<string, unknown>) : {};
    const byFile = new Map<string, SafetensorsFile>();
    try {
      for (const [name, file] of Object.entries(weightMap)) {
        if (typeof file !== 'string' || file !== basename(file))
          fail(`weight_map.${name} must be a file name in the same folder`);
        let shard = byFile.get(file as string);
        if (!shard) {
          shard = new SafetensorsFile(openSource(join(dirname(path), file as string)));
          byFile.set(file as string, shard);
          this.shards.push(shard);
        }
        const info = shard.tensors.find((t) => t.name === name);
        if (!info) fail(`weight_map says ${name} is in ${file}, but that shard does not hold it`);
        this.tensors.push(info as TensorInfo);
        this.shardOf.set(name, shard);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  read(name: string, options: { shared?: boolean } = {}): Tensor {
    const shard = this.shardOf.get(name);
    if (!shard) throw new FormatError(this.path, `no tensor named ${name}`);
    return shard.read(name, options);
  }

  close(): void {
    for (const shard of this.shards) shard.close();
  }
}

export function readSafetensors(pathOrSource: string | ByteSource): SafetensorsFile {
  return openReader(pathOrSource, (source) => new SafetensorsFile(source));
}

function encodeHeader(tensors: NamedTensors, metadata: Record<string, string>): Uint8Array {
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const dtype = NAME_OF[t.dtype];
    if (!dtype) throw new UserError(`safetensors cannot store dtype ${t.dtype} (tensor ${name})`);
    json[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  let text = JSON.stringify(json);
  text += ' '.repeat((8 - ((8 + Buffer.byteLength(text)) % 8)) % 8);
  return new TextEncoder().encode(text);
}

function writeSafetensorsTo(
  write: ChunkWriter,
  tensors: NamedTensors,
  metadata: Record<string, string>,
): void {
  const header = encodeHeader(tensors, metadata);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(header.byteLength), true);
  write(len);
  write(header);
  for (const [, t] of tensors) write(t.bytes);
}

export function writeSafetensors(
  path: string,
  tensors: NamedTensors,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, (write) => writeSafetensorsTo(write, tensors, metadata));
}

/**
 * Splits tensors over shards of at most `maxShardBytes` of data (a larger tensor gets a shard of
 * its own) named model-0000i-of-0000n.safetensors, plus model.safetensors.index.json.
 */
export function writeSafetensorsSharded(
  dir: string,
  tensors: NamedTensors,
  maxShardBytes: number,
  metadata: Record<string, string> = {},
): string[] {
  const shards: [string, TensorLike][][] = [[]];
  let size = 0;
  for (const entry of tensors) {
    const last = shards[shards.length - 1];
    if (last.length > 0 && size + entry[1].byteLength > maxShardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push([entry[0], entry[1]]);
    size += entry[1].byteLength;
  }
  const pad = (i: number) => String(i).padStart(5, '0');
  const names = shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    writeSafetensors(join(dir, names[i]), shard, metadata);
    for (const [name] of shard) weightMap[name] = names[i];
  });
  const totalSize = tensors.reduce((s, [, t]) => s + t.byteLength, 0);
  const index = JSON.stringify(
    { metadata: { ...metadata, total_size: totalSize }, weight_map: weightMap },
    null,
    2,
  );
  writeFileAtomic(join(dir, 'model.safetensors.index.json'), (write) =>
    write(new TextEncoder().encode(index + '\n')),
  );
  return names;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A Hugging Face model folder's weights: model.safetensors.index.json if present, else model.safetensors. */
export function resolveSafetensorsFolder(dir: string): string {
  for (const name of ['model.safetensors.index.json', 'model.safetensors'])
    if (existsSync(join(dir, name))) return join(dir, name);
  const found = readdirSync(dir).filter((n) => n.endsWith('.safetensors'));
  throw new FormatError(
    dir,
    `no model.safetensors or model.safetensors.index.json${found.length ? ` (found ${found.join(', ')})` : ''}`,
  );
}

/** A single file, or the shards a model.safetensors.index.json names. */
export function openSafetensors(path: string): SafetensorsFile | ShardedSafetensors {
  return path.endsWith('.index.json') ? new ShardedSafetensors(path) : readSafetensors(path);
}
