import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../../src/kernels/reference.js';
import { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { buildEie, eieFromDense, eieToDense, forEachEntry } from '../../src/sparse/eie-layer.js';
import { randomF32, rng } from '../helpers.js';

/** Codes with the given density, one all-zero column and one long all-zero run per PE. */
function randomCodes(rows: number, cols: number, density: number, random: () => number): Uint8Array {
  const codes = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      if (j !== 3 && !(j === 5 && i < rows - 2) && random() < density)
        codes[i * cols + j] = 1 + Math.floor(random() * 15);
  return codes;
}

/** y = W a + b in f64 from the dense matrix, for the reference's own check. */
function denseProduct(
  w: Float32Array,
  a: Float32Array,
  bias: Float32Array,
  rows: number,
  cols: number,
): Float64Array {
  return Float64Array.from({ length: rows }, (_, i) => {
    let s = bias[i];
    for (let j = 0; j < cols; j++) s += w[i * cols + j] * a[j];
    return s;
  });
}

test('EIE storage: interleaved rows, 4-bit runs with fillers, decodes to the matrix it was built from', () => {
  // 1 column, 2 PEs, rows 0..39: PE 0 owns rows 0, 2, 4, ... (local rows 0..19)
  const codes = new Uint8Array(40);
  codes[0] = 2; // PE 0, local row 0: z = 0
  codes[36] = 5; // PE 0, local row 18: 17 zeros -> a filler (z 15) then z = 1
  codes[39] = 7; // PE 1, local row 19: 19 zeros -> a filler then z = 3
  const cb = Float32Array.from({ length: 8 }, (_, i) => i / 2);
  const l = buildEie(codes, cb, 40, 1, 2);
  assert.deepEqual([...l.entries], [2 | (0 << 4), 0 | (15 << 4), 5 | (1 << 4), 0 | (15 << 4), 7 | (3 << 4)]);
  assert.deepEqual([...l.peStart], [0, 3, 5]);
  assert.deepEqual([...l.pointers], [0, 3, 0, 2]);
  assert.deepEqual(
    eieToDense(l),
    Float32Array.from(codes, (c) => (c ? cb[c] : 0)),
  );
  let count = 0;
  forEachEntry(l, () => count++);
  assert.equal(count, 5);
  assert.throws(() => buildEie(codes, new Float32Array(17), 40, 1, 2), {
    name: 'UserError',
    message: /at most 16 entries/,
  });
});

test('EIE SpMV: WASM (1 and 2 threads) equals the reference exactly; the reference equals W a + b', async () => {
  const random = rng(11);
  const ref = new ReferenceBackend();
  const wasm1 = await WasmBackend.create({ threads: 1 });
  const wasm2 = await WasmBackend.create({ threads: 2 });
  for (const [rows, cols, pes, density] of [
    [37, 29, 1, 0.3],
    [300, 784, 4, 0.1],
    [513, 260, 64, 0.05],
    [1000, 700, 2, 0.04],
    [20, 10, 3, 0.9],
  ]) {
    const codes = randomCodes(rows, cols, density, random);
    const cb = Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? 0 : random() * 2 - 1));
    const bias = randomF32(rows, random);
    const l = buildEie(codes, cb, rows, cols, pes);
    const w = eieToDense(l);
    for (const actDensity of [1, 0.5, 0]) {
      const a = randomF32(cols, random).map((v) => (random() < actDensity ? v : 0));
      const expected = new Float32Array(rows);
      ref.spmvEie(expected, l, a, bias);
      const exact = denseProduct(w, a, bias, rows, cols);
      for (let i = 0; i < rows; i++)
        assert.ok(Math.abs(expected[i] - exact[i]) < 1e-4, `${rows}x${cols} row ${i}`);
      for (const be of [wasm1, wasm2]) {
        const out = new Float32Array(rows).fill(9);
        be.spmvEie(out, l, a, bias);
        assert.deepEqual(
          out,
          expected,
          `${rows}x${cols}/${pes} PEs, activations ${actDensity}, ${be.threads} threads`,
        );
      }
      const noBias = new Float32Array(rows).fill(9);
      wasm2.spmvEie(noBias, l, a, null);
      if (actDensity === 0) assert.ok(noBias.every((v) => v === 0));
    }
  }
  wasm1.dispose();
  wasm2.dispose();
});

test('eieFromDense keeps the largest weights at the given density, on 15 shared values', () => {
  const random = rng(2);
  const w = randomF32(200 * 50, random);
  const l = eieFromDense(w, 200, 50, { density: 0.1, pes: 8 });
  const d = eieToDense(l);
  const kept = d.filter((v) => v !== 0);
  assert.equal(kept.length, 1000);
  assert.ok(new Set(kept).size <= 15);
  const smallestKept = Math.min(...w.filter((_, i) => d[i] !== 0).map(Math.abs));
  const largestDropped = Math.max(...w.filter((_, i) => d[i] === 0).map(Math.abs));
  assert.ok(smallestKept >= largestDropped);
});
