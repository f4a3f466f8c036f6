/**
 * effml's compressed-network container (`.effml`, documented in docs/effml-format.md):
 *
 *   "EFFMLNET" | u32 version | u32 header bytes | JSON header | data
 *
 * The JSON header holds opaque `meta` (what the network is) and a table of tensors; each tensor
 * names its encoding and the byte ranges [offset, length] of its parts within the data section.
 * This module only checks and slices the bytes; src/compress turns the parts into weights.
 */
import { writeFileAtomic } from './atomic-write.js';
import { FormatError } from './errors.js';
import { type ByteSource, openReader } from './source.js';

export const EFFML_MAGIC = 'EFFMLNET';
export const EFFML_VERSION = 1;
const PREFIX = 16;

/** A dense f32 tensor. */
export interface DenseTensor {
  encoding: 'f32';
  name: string;
  shape: number[];
  data: Uint8Array;
}

/** Canonical Huffman codes of a symbol stream: a code length per symbol of the alphabet, then the bits. */
export interface HuffmanPart {
  lengths: Uint8Array;
  bits: number;
  data: Uint8Array;
}

/**
 * Deep Compression's form: `entries` sparse entries in flat order, each a codebook index (Huffman
 * coded, `weightBits` wide before coding) and the count of zeros before it (`indexBits` wide).
 */
export interface SparseSharedTensor {
  encoding: 'sparse-shared';
  name: string;
  shape: number[];
  weightBits: number;
  indexBits: number;
  entries: number;
  /** 2^weightBits f32 values; index 0 is the zero weight */
  codebook: Uint8Array;
  codes: HuffmanPart;
  gaps: HuffmanPart;
}

/**
 * EIE's form of a [rows, cols] matrix (src/sparse/eie-layer.ts): rows interleaved over `pes`
 * processing elements, each in compressed sparse column form with one-byte entries.
 */
export interface EieTensor {
  encoding: 'eie';
  name: string;
  shape: number[];
  pes: number;
  /** 16 f32 */
  codebook: Uint8Array;
  /** pes · (cols + 1) u32: per PE, the start of each column in its entries */
  pointers: Uint8Array;
  /** pes + 1 u32: the start of each PE's entries */
  peStart: Uint8Array;
  /** codebook index | zero run << 4 */
  entries: Uint8Array;
}

export type EffmlTensor = DenseTensor | SparseSharedTensor | EieTensor;

export interface EffmlFile {
  meta: unknown;
  tensors: EffmlTensor[];
}

type Range = [number, number];

export function writeEffml(path: string, file: EffmlFile): number {
  const blobs: Uint8Array[] = [];
  let size = 0;
  const put = (bytes: Uint8Array): Range => {
    blobs.push(bytes);
    size += bytes.byteLength;
    return [size - bytes.byteLength, bytes.byteLength];
  };
  const huffman = (h: HuffmanPart) => ({ lengths: put(h.lengths), bits: h.bits, data: put(h.data) });
  const tensors = file.tensors.map((t) => {
    switch (t.encoding) {
      case 'f32':
        return { ...t, data: put(t.data) };
      case 'sparse-shared':
        return { ...t, codebook: put(t.codebook), codes: huffman(t.codes), gaps: huffman(t.gaps) };
      case 'eie':
        return {
          ...t,
          codebook: put(t.codebook),
          pointers: put(t.pointers),
          peStart: put(t.peStart),
          entries: put(t.entries),
        };
    }
  });
  const header = new TextEncoder().encode(JSON.stringify({ meta: file.meta, tensors }));
  const prefix = new Uint8Array(PREFIX);
  prefix.set(new TextEncoder().encode(EFFML_MAGIC));
  const view = new DataView(prefix.buffer);
  view.setUint32(8, EFFML_VERSION, true);
  view.setUint32(12, header.byteLength, true);
  writeFileAtomic(path, (write) => {
    write(prefix);
    write(header);
    for (const b of blobs) write(b);
  });
  return PREFIX + header.byteLength + size;
}

export function readEffml(pathOrSource: string | ByteSource): EffmlFile {
  return openReader(pathOrSource, (source) => {
    const path = source.path;
    const fail = (reason: string): never => {
      throw new FormatError(path, reason);
    };
    if (source.size < PREFIX) fail(`${source.size} bytes is too short for an effml file`);
    const bytes = source.read(0, source.size);
    source.close();
    if (new TextDecoder().decode(bytes.subarray(0, 8)) !== EFFML_MAGIC)
      fail(`not an effml file (no ${EFFML_MAGIC} magic)`);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const version = view.getUint32(8, true);
    if (version !== EFFML_VERSION)
      fail(`effml version ${version}; this reader knows version ${EFFML_VERSION}`);
    const headerBytes = view.getUint32(12, true);
    if (PREFIX + headerBytes > bytes.byteLength)
      fail(`header of ${headerBytes} bytes runs past the end of the file (${bytes.byteLength} bytes)`);
    let header: unknown;
    try {
      header = JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerBytes)),
      );
    } catch (err) {
      fail(`header is not valid JSON: ${(err as Error).message}`);
    }
    const data = bytes.subarray(PREFIX + headerBytes);
    const h = header as { meta?: unknown; tensors?: unknown };
    if (typeof h !== 'object' || h === null || !Array.isArray(h.tensors)) fail('header has no tensor table');
    const tensors = (h.tensors as unknown[]).map((t, i) => parseTensor(t, i, data, fail));
    return { meta: h.meta ?? null, tensors };
  });
}

function parseTensor(raw: unknown, i: number, data: Uint8Array, fail: (r: string) => never): EffmlTensor {
  const t = raw as Record<string, unknown>;
  const what = `tensor ${i}${typeof t?.name === 'string' ? ` (${t.name})` : ''}`;
  const bad = (reason: string): never => fail(`${what}: ${reason}`);
  if (typeof t !== 'object' || t === null || typeof t.name !== 'string') bad('has no name');
  const shape = t.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d > 0))
    bad(`shape ${JSON.stringify(shape)} is not a list of positive integers`);
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (size > 2 ** 31) bad(`shape [${shape as number[]}] has more than 2^31 elements`);
  const int = (v: unknown, name: string, lo: number, hi: number): number =>
    Number.isSafeInteger(v) && (v as number) >= lo && (v as number) <= hi
      ? (v as number)
      : bad(`${name} ${JSON.stringify(v)} is not an integer in ${lo}..${hi}`);
  const slice = (r: unknown, name: string, expected?: number): Uint8Array => {
    if (!Array.isArray(r) || r.length !== 2) bad(`${name} is not an [offset, length] pair`);
    const [offset, length] = r as number[];
    int(offset, `${name} offset`, 0, data.byteLength);
    int(length, `${name} length`, 0, data.byteLength - offset);
    if (expected !== undefined && length !== expected)
      bad(`${name} has ${length} bytes, expected ${expected}`);
    return data.subarray(offset, offset + length);
  };
  const huffman = (r: unknown, name: string, alphabet: number, count: number): HuffmanPart => {
    const p = r as Record<string, unknown>;
    if (typeof p !== 'object' || p === null) bad(`${name} is missing`);
    const bits = int(p.bits, `${name} bits`, 0, count * 31);
    return {
      lengths: slice(p.lengths, `${name} lengths`, alphabet),
      bits,
      data: slice(p.data, `${name} data`, Math.ceil(bits / 8)),
    };
  };
  const name = t.name as string;
  if (t.encoding === 'f32')
    return { encoding: 'f32', name, shape: shape as number[], data: slice(t.data, 'data', size * 4) };
  if (t.encoding === 'eie') {
    if ((shape as number[]).length !== 2) bad(`an EIE tensor is a matrix, got shape [${shape as number[]}]`);
    const cols = (shape as number[])[1];
    const pes = int(t.pes, 'pes', 1, 65536); // more PEs than rows leaves some empty, as EIE's 64 PEs on a 10-row layer
    const peStart = slice(t.peStart, 'peStart', 4 * (pes + 1));
    const entries = new DataView(peStart.buffer, peStart.byteOffset).getUint32(4 * pes, true);
    return {
      encoding: 'eie',
      name,
      shape: shape as number[],
      pes,
      codebook: slice(t.codebook, 'codebook', 64),
      pointers: slice(t.pointers, 'pointers', 4 * pes * (cols + 1)),
      peStart,
      entries: slice(t.entries, 'entries', entries),
    };
  }
  if (t.encoding !== 'sparse-shared') bad(`unknown encoding ${JSON.stringify(t.encoding)}`);
  const weightBits = int(t.weightBits, 'weightBits', 1, 8);
  const indexBits = int(t.indexBits, 'indexBits', 1, 8);
  // every entry moves at least one position forward, so there are at most `size` of them
  const entries = int(t.entries, 'entries', 0, size);
  // and at most one gap's width of zeros follows the last, so the entries bound the size
  if (size > (entries + 1) * 2 ** indexBits)
    bad(`${entries} entries of ${indexBits}-bit gaps cannot cover ${size} weights`);
  const codes = huffman(t.codes, 'codes', 2 ** weightBits, entries);
  const gaps = huffman(t.gaps, 'gaps', 2 ** indexBits, entries);
  // every symbol takes at least one bit (so the entries are bounded by the file size too)
  if (codes.bits < entries || gaps.bits < entries)
    bad(`${entries} entries need at least ${entries} bits per stream`);
  return {
    encoding: 'sparse-shared',
    name,
    shape: shape as number[],
    weightBits,
    indexBits,
    entries,
    codebook: slice(t.codebook, 'codebook', 4 * 2 ** weightBits),
    codes,
    gaps,
  };
}
