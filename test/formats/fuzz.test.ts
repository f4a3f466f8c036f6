/**
 * Mutation fuzzing of every reader on real files: each mutated or truncated input must either
 * parse (and then every tensor must read) or throw FormatError, never anything else, and the
 * reader may not read more than the input warrants.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decodeTensor, encodeDense, encodeShared } from '../../src/compress/codec.js';
import { readEffml, writeEffml } from '../../src/formats/effml.js';
import { FormatError } from '../../src/formats/errors.js';
import { eieToTensor } from '../../src/sparse/eie-codec.js';
import { buildEie } from '../../src/sparse/eie-layer.js';
import { readGGUF } from '../../src/formats/gguf.js';
import { readIdx } from '../../src/formats/idx.js';
import { readLlama2cCheckpoint, readLlama2cTokenizer } from '../../src/formats/llama2c.js';
import { readSafetensors, writeSafetensors } from '../../src/formats/safetensors.js';
import { MemorySource } from '../../src/formats/source.js';
import type { TensorFile } from '../../src/formats/tensor-file.js';
import { SHARED, STORIES, rng, tempDir } from '../helpers.js';

const CASES_PER_SEED = 1500;

/** A MemorySource that counts the bytes handed out. */
class CountingSource extends MemorySource {
  bytesRead = 0;
  override read(offset: number, length: number, shared?: boolean): Uint8Array {
    const out = super.read(offset, length, shared);
    this.bytesRead += length;
    return out;
  }
}

const INTERESTING = [0, 1, 2, 7, 8, 31, 32, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff];

/** One random mutation, mostly inside the first `hot` bytes where the headers live. */
function mutate(seed: Uint8Array, hot: number, random: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n);
  const where = () => (random() < 0.9 ? pick(Math.min(hot, seed.byteLength)) : pick(seed.byteLength));
  const b = seed.slice();
  switch (pick(7)) {
    case 0: {
      const at = where();
      b[at] ^= 1 << pick(8);
      return b;
    }
    case 1: {
      b[where()] = INTERESTING[pick(INTERESTING.length)] & 0xff;
      return b;
    }
    case 2: {
      const at = Math.min(where(), b.byteLength - 8);
      const v = BigInt(INTERESTING[pick(INTERESTING.length)]) << BigInt(pick(2) * 32);
      new DataView(b.buffer).setBigUint64(Math.max(0, at), v, true);
      return b;
    }
    case 3:
      return b.slice(0, where());
    case 4: {
      const at = where();
      const n = 1 + pick(16);
      return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]);
    }
    case 5: {
      const at = where();
      const extra = Array.from({ length: 1 + pick(16) }, () => pick(256));
      const out = new Uint8Array(b.byteLength + extra.length);
      out.set(b.subarray(0, at));
      out.set(extra, at);
      out.set(b.subarray(at), at + extra.length);
      return out;
    }
    default: {
      for (let i = 0; i < 1 + pick(8); i++) b[where()] = pick(256);
      return b;
    }
  }
}

function readEveryTensor(f: TensorFile): void {
  for (const t of f.tensors) if (t.dtype) f.read(t.name).toFloat32();
}

function fuzz(
  name: string,
  seedBytes: Uint8Array,
  hot: number,
  parse: (s: CountingSource) => void,
  seed: number,
): void {
  const random = rng(seed);
  let parsed = 0;
  for (let i = 0; i < CASES_PER_SEED; i++) {
    const input = mutate(seedBytes, hot, random);
    const source = new CountingSource(input, `${name}#${i}`);
    try {
      parse(source);
      parsed++;
    } catch (err) {
      if (!(err instanceof FormatError))
        assert.fail(`${name} case ${i}: ${String((err as Error)?.stack ?? err)}`);
      assert.equal(err.path, `${name}#${i}`);
    }
    assert.ok(
      source.bytesRead <= 3 * input.byteLength + (1 << 16),
      `${name} case ${i}: read ${source.bytesRead} bytes of a ${input.byteLength}-byte input`,
    );
  }
  // The mutations must leave some inputs valid, or the fuzzer tests only the first check.
  assert.ok(parsed > 0 && parsed < CASES_PER_SEED, `${name}: ${parsed} of ${CASES_PER_SEED} parsed`);
}

const file = (...p: string[]) => new Uint8Array(readFileSync(join(...p)));

test('GGUF v1 and v3 readers survive mutated stories260K files', () => {
  for (const [name, seed] of [
    ['v1.gguf', 'tinyllamas-stories-260k-f32.gguf'],
    ['v3.gguf', 'stories260K.v3.derived.gguf'],
  ])
    fuzz(name, file(STORIES, seed), 11500, (s) => readEveryTensor(readGGUF(s)), name.length);
});

test('safetensors reader survives mutated files', () => {
  const gguf = readGGUF(join(STORIES, 'stories260K.v3.derived.gguf'));
  const path = join(tempDir(), 'stories.safetensors');
  writeSafetensors(
    path,
    gguf.tensors.slice(0, 12).map((t) => [t.name, gguf.read(t.name)] as const),
    { format: 'pt' },
  );
  const bytes = file(path);
  fuzz('model.safetensors', bytes, 1200, (s) => readEveryTensor(readSafetensors(s)), 11);
});

test('llama2.c checkpoint and tokenizer readers survive mutated files', () => {
  fuzz(
    'stories260K.bin',
    file(STORIES, 'stories260K.bin'),
    28,
    (s) => readEveryTensor(readLlama2cCheckpoint(s)),
    5,
  );
  fuzz('tok512.bin', file(STORIES, 'tok512.bin'), 6227, (s) => void readLlama2cTokenizer(s), 6);
});

test('IDX reader survives mutated plain and gzipped files', () => {
  const gz = file(SHARED, 'datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz');
  fuzz('labels.gz', gz, 64, (s) => void readIdx(s), 8);
  fuzz('labels', new Uint8Array(gunzipSync(gz)), 16, (s) => void readIdx(s), 9);
});

test('.effml reader and decoders survive mutated files', () => {
  const random = rng(21);
  const codes = Uint8Array.from({ length: 60 * 40 }, () =>
    random() < 0.15 ? 1 + Math.floor(random() * 15) : 0,
  );
  const codebook = Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? 0 : i / 8 - 1));
  const path = join(tempDir(), 'fuzz.effml');
  writeEffml(path, {
    meta: { network: { name: 'fuzz' } },
    tensors: [
      encodeShared('a.weight', [60, 40], { codebook, codes, bits: 4 }, 4),
      eieToTensor('b.weight', buildEie(codes, codebook, 60, 40, 3)),
      encodeDense('a.bias', [15], codebook.subarray(0, 15)),
    ],
  });
  fuzz('m.effml', file(path), 700, (s) => readEffml(s).tensors.forEach((t) => decodeTensor(t, s.path)), 12);
});
