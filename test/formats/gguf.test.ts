import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/errors.js';
import { GGUFType, type GGUFValue, readGGUF, writeGGUF } from '../../src/formats/gguf.js';
import { MemorySource } from '../../src/formats/source.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { STORIES, maxAbsDiff, randomF32, rng, tempDir } from '../helpers.js';

const V1 = join(STORIES, 'tinyllamas-stories-260k-f32.gguf');
const V3 = join(STORIES, 'stories260K.v3.derived.gguf');

test('reads the real stories260K GGUF v1 and its v3 re-encoding alike', () => {
  for (const [path, version] of [
    [V1, 1],
    [V3, 3],
  ] as const) {
    const f = readGGUF(path);
    assert.equal(f.version, version);
    assert.equal(f.tensors.length, 48);
    assert.equal(f.metadata.size, 18);
    assert.equal(f.get('general.architecture'), 'llama');
    assert.equal(f.get('llama.context_length'), 512);
    assert.equal(f.get('llama.attention.head_count_kv'), 4);
    assert.equal(f.get('tokenizer.ggml.model'), 'llama');
    const tokens = f.get('tokenizer.ggml.tokens') as string[];
    assert.equal(tokens.length, 512);
    assert.deepEqual(tokens.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
    const ffnGate = f.tensors.find((t) => t.name === 'blk.0.ffn_gate.weight');
    assert.deepEqual(ffnGate?.shape, [172, 64]); // GGUF stores [64, 172] innermost first
    assert.equal(f.dataOffset, version === 1 ? 11456 : f.dataOffset);
    const embd = f.read('token_embd.weight');
    assert.deepEqual(embd.shape, [512, 64]);
    assert.deepEqual(f.read('output.weight').data, embd.data);
    f.close();
  }
});

test('writing the v1 file back as v1 and as v3 reproduces both real files byte for byte', () => {
  const dir = tempDir();
  const f = readGGUF(V1);
  const tensors = f.tensors.map((t) => [t.name, f.read(t.name)] as const);
  for (const [version, original] of [
    [1, V1],
    [3, V3],
  ] as const) {
    const out = join(dir, `v${version}.gguf`);
    writeGGUF(out, f.metadata, tensors, { version });
    assert.ok(readFileSync(out).equals(readFileSync(original)), `v${version} differs`);
  }
  f.close();
});

test('every metadata value type and F16 / BF16 / Q8_0 / Q4_0 / Q4_1 tensors round-trip', () => {
  const dir = tempDir();
  const random = rng(7);
  const metadata = new Map<string, GGUFValue>([
    ['u8', { type: GGUFType.UINT8, value: 255 }],
    ['i8', { type: GGUFType.INT8, value: -128 }],
    ['u16', { type: GGUFType.UINT16, value: 65535 }],
    ['i16', { type: GGUFType.INT16, value: -32768 }],
    ['u32', { type: GGUFType.UINT32, value: 4294967295 }],
    ['i32', { type: GGUFType.INT32, value: -2147483648 }],
    ['f32', { type: GGUFType.FLOAT32, value: 0.5 }],
    ['bool', { type: GGUFType.BOOL, value: true }],
    ['str', { type: GGUFType.STRING, value: 'héllo ▁wörld' }],
    ['u64', { type: GGUFType.UINT64, value: 2n ** 64n - 1n }],
    ['i64', { type: GGUFType.INT64, value: -(2n ** 63n) }],
    ['f64', { type: GGUFType.FLOAT64, value: Math.PI }],
    ['arr', { type: GGUFType.ARRAY, value: { itemType: GGUFType.STRING, items: ['a', '', 'ccc'] } }],
    [
      'nested',
      {
        type: GGUFType.ARRAY,
        value: { itemType: GGUFType.ARRAY, items: [{ itemType: GGUFType.INT32, items: [1, -2, 3] }] },
      },
    ],
    ['general.alignment', { type: GGUFType.UINT32, value: 64 }],
  ]);
  const base = Tensor.fromFloat32([3, 64], randomF32(192, random));
  const tensors = (['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1'] as const).map(
    (d) => [d, base.to(d)] as const,
  );
  for (const version of [1, 2, 3] as const) {
    const path = join(dir, `all-v${version}.gguf`);
    writeGGUF(path, metadata, tensors, { version });
    const f = readGGUF(path);
    assert.equal(f.version, version);
    assert.deepEqual(f.metadata, metadata);
    assert.equal(f.alignment, 64);
    for (const [name, t] of tensors) {
      const back = f.read(name);
      assert.equal(back.dtype, t.dtype);
      assert.deepEqual(back.shape, [3, 64]);
      assert.deepEqual(back.bytes, t.bytes);
      assert.equal(f.tensors.find((i) => i.name === name)!.offset % 64, 0);
    }
    assert.ok(maxAbsDiff(f.read('q8_0').toFloat32(), base.toFloat32()) < 0.01);
    f.close();
  }
});

test('corrupt headers are FormatErrors that say what is wrong', () => {
  const good = new Uint8Array(readFileSync(V3));
  const patched = (offset: number, bytes: number[]) => {
    const b = good.slice();
    b.set(bytes, offset);
    return b;
  };
  const u64 = (v: bigint) => [...new Uint8Array(new BigUint64Array([v]).buffer)];
  const cases: [Uint8Array, RegExp][] = [
    [new TextEncoder().encode('GGML not really'), /magic/],
    [patched(4, [4, 0, 0, 0]), /unsupported GGUF version 4/],
    [patched(4, [0, 0, 0, 3]), /big-endian/],
    [patched(8, u64(2n ** 62n)), /tensor count/],
    [patched(16, u64(10n ** 9n)), /metadata count/],
    [good.slice(0, 5000), /truncated|outside/],
    [good.slice(0, good.byteLength - 1), /past the end/],
  ];
  for (const [bytes, reason] of cases) {
    assert.throws(
      () => readGGUF(new MemorySource(bytes, 'bad.gguf')),
      (err: unknown) => err instanceof FormatError && err.path === 'bad.gguf' && reason.test(err.reason),
      String(reason),
    );
  }
});

test('a tensor type effml cannot read yet is listed and named on read', () => {
  const dir = tempDir();
  const path = join(dir, 'q4k.gguf');
  writeGGUF(path, new Map(), [['w', Tensor.fromFloat32([256], new Float32Array(256)).to('q8_0')]]);
  const bytes = new Uint8Array(readFileSync(path));
  // turn Q8_0 (8) into Q4_K (12): 256 elements of Q4_K take 144 bytes, fewer than the Q8_0 data
  const typeAt = 24 + (8 + 1) + 4 + 8; // header, name "w", n_dims, one dim
  assert.equal(bytes[typeAt], 8);
  bytes[typeAt] = 12;
  const f = readGGUF(new MemorySource(bytes, 'q4k.gguf'));
  assert.equal(f.tensors[0].type, 'Q4_K');
  assert.equal(f.tensors[0].dtype, null);
  assert.throws(() => f.read('w'), { name: 'FormatError', message: /Q4_K, which effml cannot read yet/ });
});
