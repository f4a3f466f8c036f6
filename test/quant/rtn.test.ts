import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packInt4, unpackInt4 } from '../../src/quant/pack-int4.js';
import { dequantizeGroups, fakeQuantize, quantizeRTN } from '../../src/quant/rtn.js';
import { f16ToF32, f32ToF16 } from '../../src/tensor/half.js';
import { maxAbsDiff, randomF32, rng } from '../helpers.js';

test('RTN: per group, min and max map to 0 and 2^bits - 1, error within half a step, partial last group', () => {
  const random = rng(5);
  const [rows, cols] = [3, 172];
  const w = randomF32(rows * cols, random, 2);
  for (const bits of [3, 4, 8])
    for (const groupSize of [0, 64, 128]) {
      const m = quantizeRTN(w, rows, cols, { bits, groupSize });
      const groups = groupSize ? Math.ceil(cols / groupSize) : 1;
      assert.equal(m.scales.length, rows * groups);
      const back = dequantizeGroups(m);
      for (let r = 0; r < rows; r++)
        for (let g = 0; g < groups; g++) {
          const size = groupSize || cols;
          const [start, end] = [r * cols + g * size, r * cols + Math.min((g + 1) * size, cols)];
          const slice = (a: Float32Array) => a.subarray(start, end);
          const sliceQ = (a: Uint8Array) => a.subarray(start, end);
          const scale = m.scales[r * groups + g];
          assert.equal(f16ToF32(f32ToF16(scale)), scale, 'scales are f16 values');
          const [wg, qg] = [slice(w), sliceQ(m.q)];
          const at = (v: number) => qg[wg.indexOf(v)];
          assert.equal(at(Math.min(...wg)), 0, `${bits}b g${groupSize}: the minimum maps to 0`);
          assert.equal(
            at(Math.max(...wg)),
            2 ** bits - 1,
            `${bits}b g${groupSize}: the maximum maps to 2^bits - 1`,
          );
          assert.ok(Math.max(...qg) <= 2 ** bits - 1);
          assert.ok(
            maxAbsDiff(slice(w), slice(back)) <= scale * 0.5 + 1e-6 + Math.abs(scale * 2 ** bits * 1e-3),
            `${bits}b g${groupSize}`,
          );
        }
    }
  assert.throws(() => quantizeRTN(w, rows, cols, { bits: 9, groupSize: 128 }), {
    name: 'UserError',
    message: /bits must be 2..8/,
  });
});

test('clipping narrows the range a group is quantized over', () => {
  const w = Float32Array.from([-1, -0.1, 0, 0.1, 0.2, 5]);
  const plain = fakeQuantize(w, 1, 6, { bits: 4, groupSize: 0 });
  const clipped = fakeQuantize(w, 1, 6, { bits: 4, groupSize: 0 }, Float32Array.from([1]));
  assert.ok(Math.abs(clipped[5] - 1) < 0.1); // the outlier is clamped
  assert.ok(
    maxAbsDiff(w.subarray(0, 5), clipped.subarray(0, 5)) < maxAbsDiff(w.subarray(0, 5), plain.subarray(0, 5)),
  );
});

test('int4 packing round-trips, odd lengths included', () => {
  const q = Uint8Array.from({ length: 3 * 7 }, (_, i) => (i * 7) % 16);
  const packed = packInt4(q, 3, 7);
  assert.equal(packed.length, 3 * 4);
  assert.equal(packed[0], q[0] | (q[1] << 4));
  assert.deepEqual(unpackInt4(packed, 3, 7), q);
  assert.throws(() => packInt4(Uint8Array.from([16]), 1, 1), { name: 'RangeError', message: /4 bits/ });
});
