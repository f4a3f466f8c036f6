import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/tensor/half.js';

test('every f16 value survives f16 -> f32 -> f16', () => {
  for (let h = 0; h < 65536; h++) {
    const exp = (h >> 10) & 0x1f;
    if (exp === 31 && h & 0x3ff) continue; // NaN payloads need not survive
    assert.equal(f32ToF16(f16ToF32(h)), h, `0x${h.toString(16)}`);
  }
});

test('f32 -> f16 rounds to nearest even, saturates to infinity and flushes below the subnormals', () => {
  assert.equal(f16ToF32(f32ToF16(1 + 2 ** -11)), 1); // tie, rounds to even
  assert.equal(f16ToF32(f32ToF16(1 + 3 * 2 ** -11)), 1 + 2 ** -9); // tie, rounds up to even
  assert.equal(f16ToF32(f32ToF16(65504)), 65504);
  assert.equal(f16ToF32(f32ToF16(65520)), Infinity);
  assert.equal(f16ToF32(f32ToF16(2 ** -24)), 2 ** -24);
  assert.equal(f16ToF32(f32ToF16(2 ** -26)), 0);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
  assert.equal(f16ToF32(f32ToF16(-0.333251953125)), -0.333251953125);
});

test('bf16 keeps the top 16 bits with round to nearest even', () => {
  assert.equal(bf16ToF32(f32ToBf16(1)), 1);
  assert.equal(bf16ToF32(f32ToBf16(1 + 2 ** -8)), 1); // tie to even
  assert.equal(bf16ToF32(f32ToBf16(1 + 3 * 2 ** -8)), 1 + 2 ** -6);
  assert.equal(bf16ToF32(f32ToBf16(-3.140625)), -3.140625);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
});
