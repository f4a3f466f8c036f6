/**
 * EIE's storage of a fully-connected layer (Han et al., ISCA 2016): rows interleaved over N
 * processing elements (row i belongs to PE i mod N, as its local row floor(i / N)); each PE keeps its
 * rows in compressed sparse column form. An entry is one byte: the 4-bit codebook index v (low
 * nibble) and the 4-bit count z of zero rows before it in the column (high nibble). A run of more
 * than 15 zeros takes a filler entry (z = 15, v = 0, and codebook[0] = 0).
 */
import { kmeans1d, nearest } from '../compress/kmeans.js';
import type { EieWeights } from '../kernels/backend.js';
import { thresholdForFraction } from '../compress/prune.js';
import { UserError } from '../errors.js';

export const EIE_CODEBOOK = 16;
const MAX_RUN = 15;

/** The kernels' EieWeights (rows = outputs, cols = inputs) and the layer's bias. */
export interface EieLayer extends EieWeights {
  bias: Float32Array | null;
}

/** Rows a PE owns: ceil((rows - k) / N). */
export const peRows = (rows: number, pes: number, k: number): number => Math.ceil((rows - k) / pes);

/**
 * Builds the EIE form of a weight-shared matrix: codes[rows·cols] row-major, 0 = zero weight, else
 * an index into codebook (at most 16 entries, codebook[0] = 0).
 */
export function buildEie(
  codes: Uint8Array,
  codebook: Float32Array,
  rows: number,
  cols: number,
  pes: number,
  bias: Float32Array | null = null,
): EieLayer {
  if (codebook.length > EIE_CODEBOOK || codebook[0] !== 0)
    throw new UserError(`an EIE codebook has at most 16 entries with entry 0 = 0, got ${codebook.length}`);
  if (!(Number.isInteger(pes) && pes >= 1)) throw new UserError(`PEs must be a positive integer, got ${pes}`);
  if (codes.length !== rows * cols)
    throw new RangeError(`${codes.length} codes for a ${rows} x ${cols} matrix`);
  const pointers = new Uint32Array(pes * (cols + 1));
  const peStart = new Uint32Array(pes + 1);
  const entries: number[] = [];
  for (let k = 0; k < pes; k++) {
    peStart[k] = entries.length;
    const base = entries.length;
    for (let j = 0; j < cols; j++) {
      pointers[k * (cols + 1) + j] = entries.length - base;
      let zeros = 0;
      for (let i = k; i < rows; i += pes) {
        const v = codes[i * cols + j];
        if (v === 0) {
          zeros++;
          continue;
        }
        for (; zeros > MAX_RUN; zeros -= MAX_RUN + 1) entries.push(MAX_RUN << 4);
        entries.push(v | (zeros << 4));
        zeros = 0;
      }
    }
    pointers[k * (cols + 1) + cols] = entries.length - base;
  }
  peStart[pes] = entries.length;
  const cb = new Float32Array(EIE_CODEBOOK);
  cb.set(codebook);
  return { rows, cols, pes, codebook: cb, pointers, peStart, entries: Uint8Array.from(entries), bias };
}

/** A matrix of codebook indices (0 = zero weight) and its codebook: what buildEie stores. */
export interface SharedMatrix {
  rows: number;
  cols: number;
  codes: Uint8Array;
  codebook: Float32Array;
}

/**
 * Pruning and weight sharing for a dense matrix: keep the `density` largest weights by magnitude
 * and share them among 15 centroids (k-means, linear initialization).
 */
export function shareForEie(w: Float32Array, rows: number, cols: number, density: number): SharedMatrix {
  if (!(density > 0 && density <= 1)) throw new UserError(`density must lie in (0, 1], got ${density}`);
  const threshold = thresholdForFraction(w, density);
  const alive = w.filter((x) => Math.abs(x) > threshold);
  const centroids = kmeans1d(alive, EIE_CODEBOOK - 1);
  const codes = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) if (Math.abs(w[i]) > threshold) codes[i] = 1 + nearest(centroids, w[i]);
  return { rows, cols, codes, codebook: Float32Array.from([0, ...centroids]) };
}

/** shareForEie, then buildEie over `pes` PEs. */
export function eieFromDense(
  w: Float32Array,
  rows: number,
  cols: number,
  options: { density: number; pes: number; bias?: Float32Array | null },
): EieLayer {
  const s = shareForEie(w, rows, cols, options.density);
  return buildEie(s.codes, s.codebook, rows, cols, options.pes, options.bias ?? null);
}

/** The codebook indices an EIE layer stores, row-major (fillers leave 0). */
export function eieCodes(l: EieLayer): SharedMatrix {
  const codes = new Uint8Array(l.rows * l.cols);
  forEachEntry(l, (i, j, v) => (codes[i * l.cols + j] = v));
  return { rows: l.rows, cols: l.cols, codes, codebook: l.codebook };
}

/** The dense matrix an EIE layer stands for. */
export function eieToDense(l: EieLayer): Float32Array {
  const w = new Float32Array(l.rows * l.cols);
  forEachEntry(l, (i, j, v) => (w[i * l.cols + j] = l.codebook[v]));
  return w;
}

/** Calls fn(row, col, codebook index) for every entry, fillers included (their index is 0). */
export function forEachEntry(l: EieLayer, fn: (row: number, col: number, v: number) => void): void {
  for (let k = 0; k < l.pes; k++)
    for (let j = 0; j < l.cols; j++) {
      let r = -1;
      const p = l.peStart[k];
      for (let e = p + l.pointers[k * (l.cols + 1) + j]; e < p + l.pointers[k * (l.cols + 1) + j + 1]; e++) {
        r += (l.entries[e] >> 4) + 1;
        fn(r * l.pes + k, j, l.entries[e] & 15);
      }
    }
}

/** Entries (fillers included) each PE does for each column: the work the simulator schedules. */
export function workPerColumn(l: EieLayer): Uint32Array[] {
  return Array.from({ length: l.pes }, (_, k) =>
    Uint32Array.from(
      { length: l.cols },
      (_, j) => l.pointers[k * (l.cols + 1) + j + 1] - l.pointers[k * (l.cols + 1) + j],
    ),
  );
}
