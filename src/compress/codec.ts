import { FormatError } from '../formats/errors.js';
import type { EffmlTensor, SparseSharedTensor } from '../formats/effml.js';
import { huffmanDecode, huffmanEncode } from './huffman.js';
import { decodeRelative, encodeRelative } from './relative-index.js';
import type { SharedWeights } from './weight-sharing.js';

/** A weight-shared layer as stored: relative indices, then both symbol streams Huffman coded. */
export function encodeShared(
  name: string,
  shape: number[],
  s: SharedWeights,
  indexBits: number,
): SparseSharedTensor {
  const e = encodeRelative(s.codes, indexBits);
  const codebook = new Float32Array(2 ** s.bits);
  codebook.set(s.codebook);
  return {
    encoding: 'sparse-shared',
    name,
    shape,
    weightBits: s.bits,
    indexBits,
    entries: e.codes.length,
    codebook: new Uint8Array(codebook.buffer),
    codes: huffmanEncode(e.codes, 2 ** s.bits),
    gaps: huffmanEncode(e.gaps, 2 ** indexBits),
  };
}

export function encodeDense(name: string, shape: number[], values: Float32Array): EffmlTensor {
  return { encoding: 'f32', name, shape, data: new Uint8Array(Float32Array.from(values).buffer) };
}

type Encoding = EffmlTensor['encoding'];
type TensorOf<E extends Encoding> = Extract<EffmlTensor, { encoding: E }>;
type Decoder = (t: EffmlTensor, path: string) => Float32Array;

/**
 * Decoders of the encodings that layers built on Deep Compression define (src/sparse registers
 * EIE's), so that compress, which they import, never imports them.
 */
const decoders = new Map<Encoding, Decoder>();

export function registerTensorDecoder<E extends Encoding>(
  encoding: E,
  decode: (t: TensorOf<E>, path: string) => Float32Array,
): void {
  decoders.set(encoding, decode as Decoder);
}

/** The tensor's values in f32; a stream that does not decode is a FormatError naming `path`. */
export function decodeTensor(t: EffmlTensor, path: string): Float32Array {
  if (t.encoding === 'f32') return new Float32Array(t.data.slice().buffer);
  if (t.encoding === 'sparse-shared') {
    const { codes, codebook } = decodeShared(t, path);
    return Float32Array.from(codes, (c) => codebook[c]);
  }
  const decode = decoders.get(t.encoding);
  if (!decode) throw new Error(`no decoder registered for ${t.encoding} tensors: import src/sparse`);
  return decode(t, path);
}

/** A Deep Compression tensor back as its codebook and the codebook index of every weight (0 = zero). */
export function decodeShared(t: SparseSharedTensor, path: string): SharedWeights {
  const size = t.shape.reduce((a, b) => a * b, 1);
  try {
    const codes = huffmanDecode(t.codes, t.entries, `${t.name} weight codes`);
    const gaps = huffmanDecode(t.gaps, t.entries, `${t.name} relative indices`);
    for (let i = 0; i < t.entries; i++)
      if (codes[i] >= 2 ** t.weightBits || gaps[i] >= 2 ** t.indexBits)
        throw new RangeError(`${t.name}: entry ${i} is out of range`);
    const relative = { gaps: Uint8Array.from(gaps), codes: Uint8Array.from(codes) };
    return {
      codes: decodeRelative(relative, size, t.indexBits),
      codebook: new Float32Array(t.codebook.slice().buffer),
      bits: t.weightBits,
    };
  } catch (err) {
    if (err instanceof RangeError) throw new FormatError(path, err.message);
    throw err;
  }
}

/** Bytes a tensor takes in the data section. */
export function payloadBytes(t: EffmlTensor): number {
  if (t.encoding === 'f32') return t.data.byteLength;
  if (t.encoding === 'eie')
    return t.codebook.byteLength + t.pointers.byteLength + t.peStart.byteLength + t.entries.byteLength;
  return (
    t.codebook.byteLength +
    [t.codes, t.gaps].reduce((a, h) => a + h.lengths.byteLength + h.data.byteLength, 0)
  );
}
