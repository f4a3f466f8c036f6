/**
 * A multilayer perceptron (linear and ReLU layers) run entirely through EIE: every linear layer in
 * EIE's form, one SpMV per layer and image, ReLU between them (which is what makes the next
 * layer's activations sparse).
 */
import { decodeShared } from '../compress/codec.js';
import { type CompressedMeta } from '../compress/load.js';
import { type EffmlFile, type EffmlTensor, readEffml } from '../formats/effml.js';
import { FormatError } from '../formats/errors.js';
import type { Backend } from '../kernels/backend.js';
import type { ImageDataset } from '../nn/dataset.js';
import { eieFromTensor, eieToTensor } from './eie-codec.js';
import { EIE_CODEBOOK, type EieLayer, buildEie } from './eie-layer.js';

export interface EieNetwork {
  name: string;
  /** linear layers in order; a ReLU follows every one but the last */
  layers: EieLayer[];
  /** their names */
  names: string[];
}

/** Reads a compressed network: EIE tensors as stored, Deep Compression ones (at most 4-bit) rebuilt over `pes` PEs. */
export function loadEieNetwork(path: string, pes: number): EieNetwork {
  return eieNetworkOf(readEffml(path), path, pes);
}

/** The same file with every linear weight in EIE's form (biases and meta as they were). */
export function toEieFile(file: EffmlFile, net: EieNetwork): EffmlFile {
  const byName = new Map(net.names.map((n, i) => [`${n}.weight`, net.layers[i]]));
  const tensors = file.tensors.map((t) => {
    const l = byName.get(t.name);
    return l ? eieToTensor(t.name, l) : t;
  });
  return { meta: file.meta, tensors };
}

/** loadEieNetwork on a file already read; `path` names it in errors. */
export function eieNetworkOf(file: EffmlFile, path: string, pes: number): EieNetwork {
  const meta = file.meta as CompressedMeta;
  const spec = meta?.network;
  if (!spec || !Array.isArray(spec.layers)) throw new FormatError(path, 'meta has no network description');
  const kinds = spec.layers.filter((l) => l.type !== 'dropout' && l.type !== 'flatten');
  kinds.forEach((l, i) => {
    const expected = i % 2 === 0 ? 'linear' : 'relu';
    if (l.type !== expected)
      throw new FormatError(
        path,
        `EIE runs linear / ReLU networks; ${spec.name} has ${l.type} where ${expected} is expected`,
      );
  });
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const get = (name: string): EffmlTensor => byName.get(name) ?? fail(path, `no tensor ${name}`);
  const layers = spec.layers.flatMap((l) => {
    if (l.type !== 'linear') return [];
    const w = get(`${l.name}.weight`);
    const b = get(`${l.name}.bias`);
    if (b.encoding !== 'f32') fail(path, `${b.name} is not stored as f32`);
    const bias = new Float32Array(b.data.slice().buffer);
    if (w.encoding === 'eie') return [eieFromTensor(w, path, bias)];
    if (w.encoding !== 'sparse-shared') return fail(path, `${w.name} is stored dense, not pruned and shared`);
    if (w.weightBits > 4)
      fail(
        path,
        `${w.name} has ${2 ** w.weightBits - 1} shared weights; EIE holds ${EIE_CODEBOOK - 1} (compress with --bits fc=4)`,
      );
    const [rows, cols] = w.shape;
    const s = decodeShared(w, path);
    return [buildEie(s.codes, s.codebook, rows, cols, pes, bias)];
  });
  const names = spec.layers.flatMap((l) => (l.type === 'linear' ? [l.name] : []));
  return { name: spec.name, layers, names };
}

function fail(path: string, reason: string): never {
  throw new FormatError(path, reason);
}

/** The predicted class of every image, each one a chain of SpMVs on the backend. */
export function predictEie(net: EieNetwork, data: ImageDataset, backend: Backend): Uint8Array {
  const layers = net.layers.map((l) => placeOnBackend(l, backend));
  const widest = Math.max(data.shape[0] * data.shape[1] * data.shape[2], ...layers.map((l) => l.rows));
  const bufs = [backend.allocF32(widest), backend.allocF32(widest)];
  const size = layers[0].cols;
  const out = new Uint8Array(data.count);
  try {
    for (let n = 0; n < data.count; n++) {
      let x = bufs[0].subarray(0, size);
      x.set(data.images.subarray(n * size, (n + 1) * size));
      layers.forEach((l, i) => {
        const y = bufs[(i + 1) % 2].subarray(0, l.rows);
        backend.spmvEie(y, l, x, l.bias);
        if (i < layers.length - 1) for (let r = 0; r < l.rows; r++) if (y[r] < 0) y[r] = 0;
        x = y;
      });
      let best = 0;
      for (let c = 1; c < x.length; c++) if (x[c] > x[best]) best = c;
      out[n] = best;
    }
  } finally {
    for (const b of bufs) backend.free(b);
    for (const l of layers) freeOnBackend(l, backend);
  }
  return out;
}

/** A copy of the layer's arrays in the backend's memory, so the kernels read them in place; the caller frees it (freeOnBackend). */
export function placeOnBackend(l: EieLayer, backend: Backend): EieLayer {
  const f32 = (a: Float32Array) => {
    const b = backend.allocF32(a.length);
    b.set(a);
    return b;
  };
  const u32 = (a: Uint32Array) => {
    const b = backend.allocBytes(a.byteLength);
    b.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return new Uint32Array(b.buffer, b.byteOffset, a.length);
  };
  const entries = backend.allocBytes(l.entries.length);
  entries.set(l.entries);
  return {
    ...l,
    codebook: f32(l.codebook),
    pointers: u32(l.pointers),
    peStart: u32(l.peStart),
    entries,
    bias: l.bias && f32(l.bias),
  };
}

/** Gives back the arrays placeOnBackend copied into the backend. */
export function freeOnBackend(l: EieLayer, backend: Backend): void {
  for (const a of [l.codebook, l.pointers, l.peStart, l.entries, l.bias]) if (a) backend.free(a);
}
