import { registerTensorDecoder } from '../compress/codec.js';
import type { EieTensor } from '../formats/effml.js';
import { FormatError } from '../formats/errors.js';
import { type EieLayer, eieToDense, peRows } from './eie-layer.js';

// loadCompressed (src/compress) reads a file with EIE tensors as a dense network
registerTensorDecoder('eie', (t, path) => eieToDense(eieFromTensor(t, path)));

const bytesOf = (a: Uint32Array | Float32Array | Uint8Array) =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function eieToTensor(name: string, l: EieLayer): EieTensor {
  return {
    encoding: 'eie',
    name,
    shape: [l.rows, l.cols],
    pes: l.pes,
    codebook: bytesOf(l.codebook),
    pointers: bytesOf(l.pointers),
    peStart: bytesOf(l.peStart),
    entries: l.entries,
  };
}

/**
 * The layer a tensor stores, checked so that the kernels stay inside their arrays: pointers
 * rising within each PE's entries and every column's zero runs inside the PE's rows.
 */
export function eieFromTensor(t: EieTensor, path: string, bias: Float32Array | null = null): EieLayer {
  const fail = (reason: string): never => {
    throw new FormatError(path, `${t.name}: ${reason}`);
  };
  const [rows, cols] = t.shape;
  const u32 = (b: Uint8Array) => new Uint32Array(b.slice().buffer);
  const l: EieLayer = {
    rows,
    cols,
    pes: t.pes,
    codebook: new Float32Array(t.codebook.slice().buffer),
    pointers: u32(t.pointers),
    peStart: u32(t.peStart),
    entries: t.entries.slice(),
    bias,
  };
  if (l.codebook[0] !== 0) fail('codebook[0] must be the zero weight');
  if (l.peStart[0] !== 0) fail('the first PE does not start at entry 0');
  for (let k = 0; k < l.pes; k++) {
    const span = l.peStart[k + 1] - l.peStart[k];
    if (l.peStart[k + 1] < l.peStart[k]) fail(`PE ${k} ends before it starts`);
    const ptr = l.pointers.subarray(k * (cols + 1), (k + 1) * (cols + 1));
    if (ptr[0] !== 0 || ptr[cols] !== span) fail(`PE ${k}'s column pointers do not span its ${span} entries`);
    const height = peRows(rows, l.pes, k);
    for (let j = 0; j < cols; j++) {
      if (ptr[j + 1] < ptr[j]) fail(`PE ${k}'s column ${j} ends before it starts`);
      let r = -1;
      for (let e = l.peStart[k] + ptr[j]; e < l.peStart[k] + ptr[j + 1]; e++) r += (l.entries[e] >> 4) + 1;
      if (r >= height) fail(`PE ${k}'s column ${j} reaches local row ${r}, past its ${height} rows`);
    }
  }
  return l;
}
