/** Every WASM kernel against the reference backend, on random inputs at awkward and real model shapes, 1 and 2 threads. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  type Backend,
  ReferenceBackend,
  WasmBackend,
  convOutSize,
  ropeInvFreq,
} from '../../src/kernels/index.js';
import { int4UsesQ8 } from '../../src/kernels/reference.js';
import { packInt4 } from '../../src/quant/pack-int4.js';
import { dequantizeGroups, quantizeRTN } from '../../src/quant/rtn.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { maxAbsDiff, randomF32, rng } from '../helpers.js';

const ref = new ReferenceBackend();
const random = rng(42);

function close(actual: Float32Array, expected: Float32Array, tolerance: number, what: string): void {
  const err = maxAbsDiff(actual, expected);
  assert.ok(err <= tolerance, `${what}: max error ${err} > ${tolerance}`);
}

for (const threads of [1, 2]) {
  describe(`wasm backend, ${threads} thread(s)`, async () => {
    const wasm: Backend = await WasmBackend.create({ threads });
    after(() => wasm.dispose());

    const SHAPES: [number, number, number][] = [
      [1, 1, 1],
      [1, 7, 13],
      [1, 576, 1536],
      [2, 5, 3],
      [3, 9, 17],
      [5, 1, 33],
      [7, 130, 77],
      [64, 64, 64],
      [17, 257, 4099],
    ];

    test('matmul and matvec match the reference (heap arrays and plain arrays)', () => {
      for (const [M, N, K] of SHAPES) {
        const a = randomF32(M * K, random);
        const w = randomF32(N * K, random);
        const expected = new Float32Array(M * N);
        ref.matmul(expected, a, w, M, N, K);
        const tol = 2e-6 * Math.sqrt(K) + 1e-6;
        const out = new Float32Array(M * N);
        wasm.matmul(out, a, w, M, N, K);
        close(out, expected, tol, `matmul ${M}x${N}x${K}`);
        // the same through arrays that already live in the backend's heap
        const [ha, hw, ho] = [wasm.allocF32(M * K), wasm.allocF32(N * K), wasm.allocF32(M * N)];
        ha.set(a);
        hw.set(w);
        wasm.matmul(ho, ha, hw, M, N, K);
        close(ho, expected, tol, `heap matmul ${M}x${N}x${K}`);
        if (M === 1) {
          const y = new Float32Array(N);
          wasm.matvec(y, w, a, N, K);
          close(y, expected, tol, `matvec ${N}x${K}`);
        }
      }
    });

    test('q8_0 matmul (ggml q8_0 x q8_0 semantics) matches the reference on decode and prefill paths', () => {
      for (const [M, N, K] of [
        [1, 1, 32],
        [1, 37, 64],
        [3, 129, 96],
        [4, 9, 32],
        [6, 37, 64],
        [15, 20, 96],
        [17, 64, 2048],
        [64, 130, 576],
        [2, 2048, 5632], // TinyLlama's w2 in a decode batch
      ]) {
        const a = randomF32(M * K, random);
        const w = Tensor.fromFloat32([N, K], randomF32(N * K, random)).to('q8_0').data as Uint8Array;
        const [e, o] = [new Float32Array(M * N), new Float32Array(M * N)];
        ref.matmulQuantized(e, a, w, 'q8_0', M, N, K);
        wasm.matmulQuantized(o, a, w, 'q8_0', M, N, K);
        close(o, e, 2e-6 * Math.sqrt(K), `q8_0 ${M}x${N}x${K}`);
      }
      assert.throws(
        () =>
          wasm.matmulQuantized(
            new Float32Array(1),
            new Float32Array(33),
            new Uint8Array(34),
            'q8_0',
            1,
            1,
            33,
          ),
        { name: 'RangeError', message: /matmulQuantized supports q8_0 with K a multiple of 32/ },
      );
    });

    test('freed heap arrays are reused, merged with their neighbours, and give back the top', () => {
      const a = wasm.allocF32(100_000);
      wasm.free(a);
      const b = wasm.allocF32(100_000);
      assert.equal(b.byteOffset, a.byteOffset); // the freed block (or the top it gave back)
      const c = wasm.allocBytes(12_345);
      const d = wasm.allocF32(50_000);
      let heapBytes = 0;
      for (let round = 0; round < 100; round++) {
        // free in an order that leaves holes, then allocate them again in other sizes
        wasm.free(b);
        wasm.free(d);
        wasm.free(c);
        const e = wasm.allocF32(150_000);
        const f = wasm.allocBytes(3 * 12_345);
        assert.ok(e.byteOffset >= a.byteOffset);
        wasm.free(f);
        wasm.free(e);
        // the same three arrays again, at the same places
        const [b2, c2, d2] = [wasm.allocF32(100_000), wasm.allocBytes(12_345), wasm.allocF32(50_000)];
        assert.deepEqual(
          [b2.byteOffset, c2.byteOffset, d2.byteOffset],
          [b.byteOffset, c.byteOffset, d.byteOffset],
        );
        if (round === 0) heapBytes = d2.buffer.byteLength;
      }
      assert.equal(wasm.allocF32(1).buffer.byteLength, heapBytes); // the heap never grew after round 0
      wasm.free(d);
      assert.throws(() => wasm.free(d), { name: 'RangeError', message: /free: the array was already freed/ });
      wasm.free(new Float32Array(10)); // not in the heap: nothing to do
    });

    test("arrays from allocF32 / allocBytes start zeroed, where a freed array or a call's scratch was", () => {
      const used = wasm.allocF32(4096);
      used.fill(7);
      wasm.free(used);
      assert.ok(wasm.allocF32(4096).every((v) => v === 0));
      // a q8_0 matmul of plain arrays copies them into scratch above the heap top, then drops it
      const [N, K] = [64, 256];
      const w = Tensor.fromFloat32([N, K], randomF32(N * K, random)).to('q8_0').data as Uint8Array;
      wasm.matmulQuantized(new Float32Array(N), randomF32(K, random), w, 'q8_0', 1, N, K);
      assert.ok(wasm.allocBytes(w.length * 4).every((v) => v === 0));
    });

    if (wasm instanceof WasmBackend)
      test('streamSum adds every element, the tail past a multiple of 16 included', () => {
        for (const n of [0, 1, 15, 16, 17, 33, 1000])
          assert.equal(wasm.streamSum(new Float32Array(n).fill(1)), n, `${n} ones`);
      });

    test('decode batches: each row of a matmul of up to 11 rows equals that row alone, bit for bit (f32, q8_0, int4)', () => {
      const [N, K] = [37, 96];
      const wf = randomF32(N * K, random);
      const wq = Tensor.fromFloat32([N, K], wf).to('q8_0').data as Uint8Array;
      const qm = quantizeRTN(wf, N, K, { bits: 4, groupSize: 32 });
      const w4 = { packed: packInt4(qm.q, N, K), scales: qm.scales, zeros: qm.zeros, groupSize: 32 };
      const kernels: [string, (out: Float32Array, a: Float32Array, M: number) => void][] = [
        ['f32', (out, a, M) => wasm.matmul(out, a, wf, M, N, K)],
        ['q8_0', (out, a, M) => wasm.matmulQuantized(out, a, wq, 'q8_0', M, N, K)],
        ['int4', (out, a, M) => wasm.matmulInt4(out, a, w4, M, N, K)],
      ];
      for (let M = 2; M <= 11; M++) {
        const a = randomF32(M * K, random);
        for (const [name, matmul] of kernels) {
          const batch = new Float32Array(M * N);
          matmul(batch, a, M);
          for (let m = 0; m < M; m++) {
            const alone = new Float32Array(N);
            matmul(alone, a.subarray(m * K, (m + 1) * K), 1);
            assert.deepEqual(batch.subarray(m * N, (m + 1) * N), alone, `${name} row ${m} of ${M}`);
          }
        }
      }
    });

    test('int4 group-wise matmul matches the reference (partial groups, odd K, decode and prefill)', () => {
      for (const [M, N, K, groupSize] of [
        [1, 5, 64, 128],
        [1, 7, 172, 64],
        [3, 9, 33, 16],
        [6, 9, 96, 32],
        [15, 20, 64, 64],
        [17, 40, 200, 32],
        [64, 130, 576, 128],
        [3, 2048, 5632, 128], // TinyLlama's w2 in a decode batch
        [12, 576, 1536, 64], // SmolLM2's w2, the first prefill row count
      ]) {
        const a = randomF32(M * K, random);
        const qm = quantizeRTN(randomF32(N * K, random), N, K, { bits: 4, groupSize });
        const w = { packed: packInt4(qm.q, N, K), scales: qm.scales, zeros: qm.zeros, groupSize };
        const [e, o, d] = [new Float32Array(M * N), new Float32Array(M * N), new Float32Array(M * N)];
        ref.matmulInt4(e, a, w, M, N, K);
        wasm.matmulInt4(o, a, w, M, N, K);
        close(o, e, 2e-6 * Math.sqrt(K), `int4 ${M}x${N}x${K} g${groupSize}`);
        // against the f32 product of the dequantized weights: exact, or within q8 activation rounding
        // (each activation moves by at most half its block's step d = max|a| / 127)
        const wd = dequantizeGroups(qm);
        ref.matmul(d, a, wd, M, N, K);
        const q8 = int4UsesQ8(K, groupSize);
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let bound = 1e-6 * Math.sqrt(K);
            for (let b = 0; q8 && b < K / 32; b++) {
              let [amax, wsum] = [0, 0];
              for (let k = b * 32; k < b * 32 + 32; k++) {
                amax = Math.max(amax, Math.abs(a[m * K + k]));
                wsum += Math.abs(wd[n * K + k]);
              }
              bound += (amax / 127 / 2) * wsum * (1 + 1e-5);
            }
            const err = Math.abs(e[m * N + n] - d[m * N + n]);
            assert.ok(
              err <= bound,
              `int4 reference vs dequantized ${M}x${N}x${K} [${m}, ${n}]: ${err} > ${bound}`,
            );
          }
      }
    });

    test('int8 W8A8 matmul equals the integer reference exactly (per-token, per-tensor and static scales)', () => {
      for (const [M, K, N] of SHAPES)
        for (const act of ['token', 'tensor', 0.02] as const) {
          const a = randomF32(M * K, random, 3);
          if (M > 1) a.fill(0, 0, K); // an all-zero token
          const w = {
            q: Int8Array.from({ length: N * K }, () => Math.floor(random() * 255) - 127),
            scales: randomF32(N, random, 0.01).map(Math.abs),
            act,
          };
          const [e, o] = [new Float32Array(M * N), new Float32Array(M * N).fill(5)];
          ref.matmulInt8(e, a, w, M, N, K);
          wasm.matmulInt8(o, a, w, M, N, K);
          assert.deepEqual(o, e, `${M}x${K}x${N} ${act}`);
        }
      // against the definition: one output by hand
      const a = Float32Array.from([0.5, -1.27, 0.02]);
      const w = { q: Int8Array.from([2, -3, 100]), scales: Float32Array.from([0.5]), act: 'token' as const };
      const out = new Float32Array(1);
      wasm.matmulInt8(out, a, w, 1, 1, 3);
      // s = 1.27 / 127 = 0.01: q(a) = [50, -127, 2]; acc = 100 + 381 + 200 = 681
      assert.equal(out[0], Math.fround(681 * Math.fround(Math.fround(1.27 / 127) * 0.5)));
    });

    test('large matvecs (cached tile and DRAM streaming paths) cover every row once', () => {
      for (const [N, K] of [
        [1003, 2048],
        [2053, 2049], // > 16 MiB of weights: one read stream per thread
      ]) {
        const w = randomF32(N * K, random);
        const x = randomF32(K, random);
        const expected = new Float32Array(N);
        const out = new Float32Array(N).fill(NaN);
        ref.matvec(expected, w, x, N, K);
        wasm.matvec(out, w, x, N, K);
        close(out, expected, 1e-4, `matvec ${N}x${K}`);
      }
    });

    test('rmsnorm and rope match the reference', () => {
      for (const [rows, dim] of [
        [1, 1],
        [1, 64],
        [3, 7],
        [4, 576],
        [5, 2048],
      ]) {
        const x = randomF32(rows * dim, random, 3);
        const weight = randomF32(dim, random);
        const [e, o] = [new Float32Array(rows * dim), new Float32Array(rows * dim)];
        ref.rmsnorm(e, x, weight, rows, dim, 1e-5);
        wasm.rmsnorm(o, x, weight, rows, dim, 1e-5);
        close(o, e, 1e-5, `rmsnorm ${rows}x${dim}`);
      }
      for (const style of ['adjacent', 'halves'] as const)
        for (const [heads, headDim, pos] of [
          [1, 2, 0],
          [8, 8, 5],
          [4, 64, 511],
          [9, 64, 100000],
        ]) {
          const x1 = randomF32(heads * headDim, random);
          const x2 = x1.slice();
          const invFreq = ropeInvFreq(headDim, 10000);
          ref.rope(x1, heads, headDim, pos, invFreq, style);
          wasm.rope(x2, heads, headDim, pos, invFreq, style);
          close(x2, x1, 1e-5, `rope ${style} ${heads}x${headDim}@${pos}`);
        }
    });

    test('attention matches the reference (prefill and decode, grouped-query)', () => {
      for (const [tokens, pos0, heads, kvHeads, headDim] of [
        [1, 0, 1, 1, 1],
        [5, 0, 8, 4, 8],
        [1, 37, 8, 4, 8],
        [3, 200, 9, 3, 64],
        [64, 64, 4, 4, 16],
      ]) {
        const n = pos0 + tokens;
        const q = randomF32(tokens * heads * headDim, random);
        const keys = randomF32(n * kvHeads * headDim, random);
        const values = randomF32(n * kvHeads * headDim, random);
        const [e, o] = [new Float32Array(q.length), new Float32Array(q.length)];
        const shape = { tokens, pos0, heads, kvHeads, headDim };
        ref.attention(e, q, keys, values, shape);
        wasm.attention(o, q, keys, values, shape);
        close(o, e, 1e-5, `attention ${JSON.stringify(shape)}`);
        // attention sinks: the first keys scored against another query
        const qSink = randomF32(q.length, random);
        const sinks = { ...shape, sinks: Math.min(4, n) };
        ref.attention(e, q, keys, values, sinks, qSink);
        wasm.attention(o, q, keys, values, sinks, qSink);
        close(o, e, 1e-5, `attention with sinks ${JSON.stringify(shape)}`);
      }
    });

    test('dequantization of f16, bf16, q8_0, q4_0 and q4_1 matches the reference exactly', () => {
      const values = Tensor.fromFloat32([4, 96], randomF32(384, random, 4));
      for (const dtype of ['f16', 'bf16', 'q8_0', 'q4_0', 'q4_1'] as const) {
        const t = values.to(dtype);
        const [e, o] = [new Float32Array(384), new Float32Array(384)];
        ref.dequantize(e, t.data as Uint8Array, dtype, 384);
        wasm.dequantize(o, t.data as Uint8Array, dtype, 384);
        assert.deepEqual(o, e, dtype);
      }
    });

    test('add, mul and silu match the reference exactly or within 1e-6; embedding copies rows', () => {
      // 5632: TinyLlama's hidden size; 37 and 3: tails past a multiple of 4
      for (const n of [1, 3, 37, 576, 5632]) {
        const x = randomF32(n, random, 4);
        const y = randomF32(n, random);
        for (const op of ['add', 'mul'] as const) {
          const [e, o] = [new Float32Array(n), new Float32Array(n)];
          ref[op](e, x, y);
          wasm[op](o, x, y);
          assert.deepEqual(o, e, `${op} ${n}`);
        }
        const [e, o] = [new Float32Array(n), new Float32Array(n)];
        ref.silu(e, x);
        wasm.silu(o, x);
        close(o, e, 1e-6, `silu ${n}`);
        // in place, as the model's residual add and SwiGLU product run
        const inPlace = wasm.allocF32(n);
        inPlace.set(x);
        wasm.add(inPlace, inPlace, y);
        assert.deepEqual(
          inPlace,
          Float32Array.from(x, (v, i) => v + y[i]),
          `add in place ${n}`,
        );
        wasm.free(inPlace);
      }
      const table = randomF32(10 * 4, random);
      const emb = new Float32Array(8);
      wasm.embedding(emb, table, [3, 9], 4);
      assert.deepEqual([...emb], [...table.subarray(12, 16), ...table.subarray(36, 40)]);
      assert.throws(() => wasm.embedding(emb, table, [10], 4), {
        name: 'UserError',
        message: /outside the vocabulary/,
      });
    });

    test('transpose, im2col and col2im agree with the reference; col2im is the adjoint of im2col', () => {
      const a = randomF32(37 * 19, random);
      const [te, to] = [new Float32Array(37 * 19), new Float32Array(37 * 19)];
      ref.transpose(te, a, 37, 19);
      wasm.transpose(to, a, 37, 19);
      assert.deepEqual(to, te);
      assert.equal(te[5 * 37 + 2], a[2 * 19 + 5]);

      const shape = { batch: 2, height: 9, width: 8, channels: 3, kernel: 3, stride: 2, pad: 1 };
      const [oh, ow] = [convOutSize(9, 3, 2, 1), convOutSize(8, 3, 2, 1)];
      const rows = 2 * oh * ow;
      const x = randomF32(2 * 9 * 8 * 3, random);
      const [ce, co] = [new Float32Array(rows * 27), new Float32Array(rows * 27).fill(7)];
      ref.im2col(ce, x, shape);
      wasm.im2col(co, x, shape);
      assert.deepEqual(co, ce);
      // a convolution through im2col equals the definition written out by hand at one output
      const weight = randomF32(4 * 27, random);
      const conv = new Float32Array(rows * 4);
      ref.matmul(conv, ce, weight, rows, 4, 27);
      let s = 0;
      for (let ky = 0; ky < 3; ky++)
        for (let kx = 0; kx < 3; kx++)
          for (let c = 0; c < 3; c++) {
            const [iy, ix] = [2 * 2 + ky - 1, 2 * 1 + kx - 1];
            s += x[((1 * 9 + iy) * 8 + ix) * 3 + c] * weight[1 * 27 + (ky * 3 + kx) * 3 + c];
          }
      assert.ok(Math.abs(conv[((1 * oh + 2) * ow + 1) * 4 + 1] - s) < 1e-5);

      const g = randomF32(rows * 27, random);
      const [de, dw] = [new Float32Array(x.length), new Float32Array(x.length).fill(3)];
      ref.col2im(de, g, shape);
      wasm.col2im(dw, g, shape);
      close(dw, de, 1e-6, 'col2im');
      // <im2col(x), g> = <x, col2im(g)>
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < g.length; i++) lhs += ce[i] * g[i];
      for (let i = 0; i < x.length; i++) rhs += x[i] * de[i];
      assert.ok(Math.abs(lhs - rhs) < 1e-3, `${lhs} vs ${rhs}`);
    });

    test('shape mismatches are RangeErrors, not reads outside the arrays', () => {
      assert.throws(
        () => wasm.matmul(new Float32Array(4), new Float32Array(4), new Float32Array(3), 2, 2, 2),
        { name: 'RangeError', message: 'matmul w has 3 elements, needs 4' },
      );
      assert.throws(() => wasm.matvec(new Float32Array(1), new Float32Array(4), new Float32Array(2), 2, 2), {
        name: 'RangeError',
        message: 'matvec out has 1 elements, needs 2',
      });
    });
  });
}
