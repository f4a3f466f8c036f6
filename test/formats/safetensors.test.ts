import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/errors.js';
import {
  ShardedSafetensors,
  readSafetensors,
  writeSafetensors,
  writeSafetensorsSharded,
} from '../../src/formats/safetensors.js';
import { MemorySource } from '../../src/formats/source.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { randomF32, rng, tempDir } from '../helpers.js';

function sampleTensors(): [string, Tensor][] {
  const random = rng(3);
  const f = Tensor.fromFloat32([5, 7], randomF32(35, random));
  return [
    ['f32', f],
    ['f16', f.to('f16')],
    ['bf16', f.to('bf16')],
    ['f64', f.to('f64')],
    ['i64', Tensor.fromBytes('i64', [2], new Uint8Array(new BigInt64Array([-(2n ** 62n), 5n]).buffer))],
    ['i32', Tensor.fromBytes('i32', [3], new Uint8Array(new Int32Array([-1, 0, 2 ** 31 - 1]).buffer))],
    ['i16', Tensor.fromBytes('i16', [1], new Uint8Array(new Int16Array([-300]).buffer))],
    ['i8', Tensor.fromBytes('i8', [2], new Uint8Array([255, 1]))],
    ['u8', Tensor.fromBytes('u8', [3], new Uint8Array([0, 128, 255]))],
    ['scalar', Tensor.fromFloat32([], [42])],
    ['empty', Tensor.fromFloat32([0, 3], [])],
  ];
}

test('every dtype and the metadata round-trip through one file', () => {
  const path = join(tempDir(), 'model.safetensors');
  const tensors = sampleTensors();
  writeSafetensors(path, tensors, { format: 'pt', note: 'ünïcode' });
  const f = readSafetensors(path);
  assert.deepEqual(f.metadata, { format: 'pt', note: 'ünïcode' });
  assert.deepEqual(
    f.tensors.map((t) => t.name),
    tensors.map(([n]) => n),
  );
  for (const [name, t] of tensors) {
    const back = f.read(name, { shared: true });
    assert.equal(back.dtype, t.dtype);
    assert.deepEqual(back.shape, t.shape);
    assert.deepEqual(back.bytes, t.bytes);
    assert.ok(back.data.buffer instanceof SharedArrayBuffer);
  }
  // the data section starts 8-byte aligned, as the reference writer leaves it
  const headerLen = Number(readFileSync(path).readBigUInt64LE(0));
  assert.equal((8 + headerLen) % 8, 0);
  f.close();
});

test('sharded checkpoints are written with an index and read back as one', () => {
  const dir = tempDir();
  const tensors = sampleTensors();
  const names = writeSafetensorsSharded(dir, tensors, 200);
  assert.ok(names.length > 1);
  assert.deepEqual(
    readdirSync(dir)
      .filter((n) => n.endsWith('.safetensors'))
      .sort(),
    [...names].sort(),
  );
  const f = new ShardedSafetensors(join(dir, 'model.safetensors.index.json'));
  assert.equal(f.shards.length, names.length);
  for (const [name, t] of tensors) assert.deepEqual(f.read(name).bytes, t.bytes);
  f.close();
});

test('a failed write leaves the existing file untouched and no temporary file behind', () => {
  const dir = tempDir();
  const path = join(dir, 'keep.safetensors');
  writeFileSync(path, 'precious');
  const bad = Tensor.zeros('q4_0', [32]); // safetensors has no q4_0
  assert.throws(
    () =>
      writeSafetensors(path, [
        ['ok', Tensor.fromFloat32([1], [1])],
        ['bad', bad],
      ]),
    { name: 'UserError', message: /safetensors cannot store dtype q4_0 \(tensor bad\)/ },
  );
  assert.equal(readFileSync(path, 'utf8'), 'precious');
  assert.deepEqual(readdirSync(dir), ['keep.safetensors']);
});

test('corrupt files are FormatErrors naming the problem', () => {
  const header = (json: unknown, dataBytes = 0, declared?: bigint) => {
    const text = new TextEncoder().encode(JSON.stringify(json));
    const out = new Uint8Array(8 + text.byteLength + dataBytes);
    new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(text.byteLength), true);
    out.set(text, 8);
    return out;
  };
  const entry = (dtype: string, shape: number[], offsets: number[]) => ({
    dtype,
    shape,
    data_offsets: offsets,
  });
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(3), /too short/],
    [header({}, 0, 2n ** 63n), /header length/],
    [header({}, 0, 1000n), /header length/],
    [new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 123, 123]), /not valid JSON/],
    [header([1, 2]), /not a JSON object/],
    [header({ w: entry('F8_E4M3', [2], [0, 2]) }, 2), /unsupported dtype F8_E4M3/],
    [header({ w: entry('F32', [2, 2], [0, 12]) }, 12), /needs 16/],
    [header({ w: entry('F32', [-1], [0, 4]) }, 4), /non-negative/],
    [header({ w: entry('F32', [1], [4, 0]) }, 4), /data_offsets/],
    [header({ w: entry('F32', [4], [0, 16]) }, 8), /past the end/],
    [header({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, 12), /overlap/],
    [header({ __metadata__: { n: 1 } }), /not a string/],
  ];
  for (const [bytes, reason] of cases)
    assert.throws(
      () => readSafetensors(new MemorySource(bytes, 'bad.safetensors')),
      (err: unknown) =>
        err instanceof FormatError && err.path === 'bad.safetensors' && reason.test(err.reason),
      String(reason),
    );
});
