import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/tensor/tensor.js';
import { maxAbsDiff, randomF32, rng } from '../helpers.js';

test("quantizing to q8_0 / q4_0 / q4_1 stays within the format's error bound per block", () => {
  const random = rng(1);
  const values = randomF32(4 * 64, random, 3);
  const t = Tensor.fromFloat32([4, 64], values);
  // q8_0 and q4_1 round to the nearest level (half a step); q4_0 has 16 levels -8..7 of amax / 8,
  // so the end opposite the max magnitude is clamped and can be off by a whole step.
  const bounds = {
    q8_0: (amax: number) => amax / 127 / 2,
    q4_0: (amax: number) => amax / 8,
    q4_1: (_: number, range: number) => range / 15 / 2,
  };
  for (const dtype of ['q8_0', 'q4_0', 'q4_1'] as const) {
    const q = t.to(dtype);
    assert.equal(q.byteLength, (256 / 32) * { q8_0: 34, q4_0: 18, q4_1: 20 }[dtype]);
    const back = q.toFloat32();
    for (let b = 0; b < 8; b++) {
      const block = values.subarray(b * 32, b * 32 + 32);
      const amax = Math.max(...block.map(Math.abs));
      const bound = bounds[dtype](amax, Math.max(...block) - Math.min(...block)) + amax * 2e-3; // f16 scale rounding
      const err = maxAbsDiff(block, back.subarray(b * 32, b * 32 + 32));
      assert.ok(err <= bound, `${dtype} block ${b}: error ${err} > ${bound}`);
    }
  }
});

test('q4_0 matches ggml on a hand-checked block', () => {
  // max magnitude -8 gives d = 1, so q = x + 8 exactly
  const values = Float32Array.from({ length: 32 }, (_, i) => (i % 16) - 8);
  const q = Tensor.fromFloat32([32], values).to('q4_0');
  assert.deepEqual([...q.bytes.subarray(0, 2)], [0x00, 0x3c]); // f16 1.0
  assert.equal(q.bytes[2], 0x00); // elements 0 and 16 are both -8 -> q 0
  assert.deepEqual([...q.toFloat32()], [...values]);
});

test('f16 / bf16 conversions and shared buffers', () => {
  const t = Tensor.fromFloat32([2, 3], [1, -2, 0.5, 65504, -0.25, 3]);
  assert.deepEqual([...t.to('f16').toFloat32()], [...t.data]);
  assert.deepEqual([...t.to('bf16').toFloat32()], [1, -2, 0.5, 65536, -0.25, 3]);
  const s = Tensor.zeros('f32', [4, 4], true);
  assert.ok(s.data.buffer instanceof SharedArrayBuffer);
  assert.throws(() => new Tensor('f32', [3], new Float32Array(4)), RangeError);
  assert.throws(() => Tensor.zeros('q4_0', [31]), RangeError);
});

test('misaligned bytes are copied into an aligned view', () => {
  const raw = new Uint8Array(9);
  new DataView(raw.buffer).setFloat32(1, 1.5, true);
  const t = Tensor.fromBytes('f32', [2], raw.subarray(1, 9));
  assert.equal((t.data as Float32Array)[0], 1.5);
});
