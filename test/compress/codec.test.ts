import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeTensor, encodeDense, encodeShared } from '../../src/compress/codec.js';
import { canonicalCodes, huffmanDecode, huffmanEncode, huffmanLengths } from '../../src/compress/huffman.js';
import { kmeans1d, nearest } from '../../src/compress/kmeans.js';
import { decodeRelative, encodeRelative } from '../../src/compress/relative-index.js';
import { FormatError } from '../../src/formats/errors.js';
import { readEffml, writeEffml } from '../../src/formats/effml.js';
import { MemorySource } from '../../src/formats/source.js';
import { rng, tempDir } from '../helpers.js';

test('Huffman: optimal lengths on a textbook case, canonical codes, round trips', () => {
  // counts 45 13 12 16 9 5 (CLRS): lengths 1 3 3 3 4 4, 224 bits
  const lengths = huffmanLengths([45, 13, 12, 16, 9, 5]);
  assert.deepEqual([...lengths], [1, 3, 3, 3, 4, 4]);
  assert.deepEqual([...canonicalCodes(lengths)], [0b0, 0b100, 0b101, 0b110, 0b1110, 0b1111]);
  const symbols = [0, 0, 5, 3, 1, 4, 2, 0];
  const h = huffmanEncode(symbols, 6);
  assert.deepEqual([...huffmanDecode(h, symbols.length, 'test')], symbols);

  const random = rng(1);
  const skewed = Uint8Array.from({ length: 5000 }, () => Math.min(31, Math.floor(-Math.log(random()) * 3)));
  const hs = huffmanEncode(skewed, 32);
  assert.deepEqual(huffmanDecode(hs, skewed.length, 'test'), Uint16Array.from(skewed));
  assert.ok(hs.bits < skewed.length * 5, 'shorter than the fixed 5-bit code');
  // one symbol only: one bit each
  const one = huffmanEncode([7, 7, 7], 8);
  assert.equal(one.bits, 3);
  assert.deepEqual([...huffmanDecode(one, 3, 'test')], [7, 7, 7]);
  // corrupt streams are errors, not hangs
  assert.throws(() => huffmanDecode({ ...h, bits: 3 }, symbols.length, 'w'), {
    name: 'RangeError',
    message: /w: bit stream ends/,
  });
  assert.throws(() => huffmanDecode({ ...h, lengths: new Uint8Array(6).fill(1) }, 1, 'w'), {
    name: 'RangeError',
    message: /prefix code/,
  });
});

test('k-means: linear initialization between min and max, converges to the cluster means', () => {
  const values = Float32Array.from([-1, -0.9, -1.1, 0.02, -0.02, 2, 2.2]);
  const c = kmeans1d(values, 3);
  assert.ok(Math.abs(c[0] + 1) < 1e-6 && Math.abs(c[1]) < 1e-6 && Math.abs(c[2] - 2.1) < 1e-6, `${c}`);
  assert.equal(nearest(c, 0.9), 1);
  assert.equal(nearest(c, 1.2), 2);
  assert.equal(nearest(c, -5), 0);
});

test('relative indices: zero runs longer than the width get filler entries', () => {
  const codes = new Uint8Array(40);
  codes[0] = 3; // no zeros before
  codes[8] = 1; // 7 zeros: the largest 3-bit gap
  codes[17] = 2; // 8 zeros: one filler, then a gap of 0
  codes[39] = 5; // 21 zeros: two fillers and a gap of 5
  const e = encodeRelative(codes, 3);
  assert.deepEqual([...e.gaps], [0, 7, 7, 0, 7, 7, 5]);
  assert.deepEqual([...e.codes], [3, 1, 0, 2, 0, 0, 5]);
  assert.deepEqual(decodeRelative(e, 40, 3), codes);
  assert.throws(() => decodeRelative(e, 39, 3), { name: 'RangeError', message: /past the 39 weights/ });
  // trailing zeros: up to one gap implicit, longer runs end in fillers
  const tail = new Uint8Array(30);
  tail[2] = 4;
  const t = encodeRelative(tail, 3);
  assert.deepEqual([...t.gaps], [2, 7, 7, 7]);
  assert.deepEqual(decodeRelative(t, 30, 3), tail);
  assert.throws(() => decodeRelative(t, 40, 3), { name: 'RangeError', message: /trailing zeros/ });
});

test('.effml: a shared sparse layer and a dense one round trip; corrupt files are FormatErrors', () => {
  const dir = tempDir();
  const random = rng(3);
  const codes = Uint8Array.from({ length: 300 * 20 }, () =>
    random() < 0.1 ? 1 + Math.floor(random() * 15) : 0,
  );
  const codebook = Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? 0 : i / 10 - 0.8));
  const shared = encodeShared('fc.weight', [20, 300], { codebook, codes, bits: 4 }, 3);
  const bias = encodeDense(
    'fc.bias',
    [20],
    Float32Array.from({ length: 20 }, (_, i) => i / 3),
  );
  const path = join(dir, 'm.effml');
  const bytes = writeEffml(path, { meta: { hello: 1 }, tensors: [shared, bias] });
  const file = readEffml(path);
  assert.deepEqual(file.meta, { hello: 1 });
  const w = decodeTensor(file.tensors[0], path);
  assert.deepEqual(
    w,
    Float32Array.from(codes, (c) => codebook[c]),
  );
  assert.deepEqual(
    decodeTensor(file.tensors[1], path),
    Float32Array.from({ length: 20 }, (_, i) => i / 3),
  );

  const good = new Uint8Array(readFileSync(path));
  assert.equal(good.byteLength, bytes);
  const bad = (mutate: (b: Uint8Array) => Uint8Array, message: RegExp) => {
    const b = mutate(Uint8Array.from(good));
    assert.throws(
      () => {
        const f = readEffml(new MemorySource(b, 'bad.effml'));
        for (const t of f.tensors) decodeTensor(t, 'bad.effml');
      },
      (err: Error) => err instanceof FormatError && message.test(err.message),
    );
  };
  bad((b) => b.subarray(0, 10), /too short/);
  bad((b) => (b.set([0x41], 0), b), /not an effml file/);
  bad((b) => (new DataView(b.buffer).setUint32(12, 1e9, true), b), /runs past the end/);
  bad((b) => b.subarray(0, b.byteLength - 40), /lies|bytes, expected|offset|length/);
  const headerLen = new DataView(good.buffer).getUint32(12, true);
  const editHeader = (edit: (h: string) => string) => (b: Uint8Array) => {
    const h = edit(new TextDecoder().decode(b.subarray(16, 16 + headerLen)));
    const hb = new TextEncoder().encode(h);
    const out = new Uint8Array(16 + hb.byteLength + b.byteLength - 16 - headerLen);
    out.set(b.subarray(0, 16));
    new DataView(out.buffer).setUint32(12, hb.byteLength, true);
    out.set(hb, 16);
    out.set(b.subarray(16 + headerLen), 16 + hb.byteLength);
    return out;
  };
  bad(
    editHeader((h) => h.replace('"entries":', '"entries":1e12,"x":')),
    /entries/,
  );
  bad(
    editHeader((h) => h.replace('[20,300]', '[20,3000000000]')),
    /2\^31/,
  );
  bad(
    editHeader((h) => h.replace('[20,300]', '[20,30000]')),
    /cannot cover/,
  );
  bad(
    editHeader((h) => h.replace('"sparse-shared"', '"zip"')),
    /unknown encoding/,
  );
  bad(
    editHeader((h) => h.replace(/"bits":(\d+)/, (_, n) => `"bits":${Number(n) + 64}`)),
    /bytes, expected/,
  );
  bad(
    editHeader((h) => h.slice(0, -2)),
    /not valid JSON/,
  );
  // flipped bits in the code streams: decoded, detected, or a clean error, never a crash
  for (let i = 0; i < 200; i++) {
    const b = Uint8Array.from(good);
    const at = 16 + headerLen + Math.floor(random() * (b.byteLength - 16 - headerLen));
    b[at] ^= 1 << Math.floor(random() * 8);
    try {
      const f = readEffml(new MemorySource(b, 'flip.effml'));
      for (const t of f.tensors) decodeTensor(t, 'flip.effml');
    } catch (err) {
      assert.ok(err instanceof FormatError, String(err));
    }
  }
});
