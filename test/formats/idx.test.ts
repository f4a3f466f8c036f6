import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FormatError } from '../../src/formats/errors.js';
import { readIdx, writeIdx } from '../../src/formats/idx.js';
import { MemorySource } from '../../src/formats/source.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { SHARED, tempDir } from '../helpers.js';

const FASHION = join(SHARED, 'datasets/fashion-mnist');

test('reads the real Fashion-MNIST test set (gzipped IDX)', () => {
  const images = readIdx(join(FASHION, 't10k-images-idx3-ubyte.gz'));
  const labels = readIdx(join(FASHION, 't10k-labels-idx1-ubyte.gz'));
  assert.deepEqual(images.shape, [10000, 28, 28]);
  assert.equal(images.dtype, 'u8');
  assert.deepEqual(labels.shape, [10000]);
  const counts = new Array(10).fill(0);
  for (const l of labels.data as Uint8Array) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(1000)); // the test set is balanced
  assert.equal(Math.max(...(images.data as Uint8Array).subarray(0, 784)), 255);
});

test('IDX round trip, plain and gzipped, big-endian data included', () => {
  const dir = tempDir();
  const ints = Tensor.fromBytes(
    'i32',
    [2, 3],
    new Uint8Array(new Int32Array([1, -2, 3, 2 ** 30, -(2 ** 31), 0]).buffer),
  );
  const floats = Tensor.fromFloat32([4], [0.5, -1, 3.25, 1e-8]);
  for (const [name, t] of [
    ['ints', ints],
    ['floats', floats],
  ] as const)
    for (const gzip of [false, true]) {
      const path = join(dir, `${name}${gzip ? '.gz' : ''}`);
      writeIdx(path, t, { gzip });
      const back = readIdx(path);
      assert.deepEqual(back.shape, t.shape);
      assert.deepEqual(back.data, t.data);
    }
  const raw = readFileSync(join(dir, 'ints'));
  assert.deepEqual([...raw.subarray(0, 12)], [0, 0, 0x0c, 2, 0, 0, 0, 2, 0, 0, 0, 3]);
  assert.deepEqual([...raw.subarray(12, 16)], [0, 0, 0, 1]); // big-endian 1
});

test('bad IDX files are FormatErrors', () => {
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([1, 2, 3, 4]), /two zero bytes/],
    [new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), /unknown IDX type code 0x7/],
    [new Uint8Array([0, 0, 0x08, 2, 0, 0, 0, 1]), /truncated/],
    [new Uint8Array([0, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff, 5]), /needs 4294967295 data bytes/],
    [gzipSync(new Uint8Array([0, 0, 0x08, 1, 0, 0, 0, 2, 5])), /needs 2 data bytes, the file has 1/],
    [new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]), /gzip data is corrupt/],
  ];
  for (const [bytes, reason] of cases)
    assert.throws(
      () => readIdx(new MemorySource(bytes, 'bad-idx')),
      (err: unknown) => err instanceof FormatError && err.path === 'bad-idx' && reason.test(err.reason),
      String(reason),
    );
});
