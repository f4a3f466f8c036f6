import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/errors.js';
import { readGGUF } from '../../src/formats/gguf.js';
import {
  readLlama2cCheckpoint,
  readLlama2cTokenizer,
  writeLlama2cCheckpoint,
  writeLlama2cTokenizer,
} from '../../src/formats/llama2c.js';
import { MemorySource } from '../../src/formats/source.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { SHARED, STORIES, maxAbsDiff, tempDir } from '../helpers.js';

const BIN = join(STORIES, 'stories260K.bin');

test('the llama2.c checkpoint holds the same weights as the GGUF, under Meta names', () => {
  const ckpt = readLlama2cCheckpoint(BIN);
  assert.deepEqual(ckpt.config, {
    dim: 64,
    hiddenDim: 172,
    nLayers: 5,
    nHeads: 8,
    nKvHeads: 4,
    vocabSize: 512,
    seqLen: 512,
    sharedClassifier: true,
  });
  assert.equal(ckpt.tensors.length, 1 + 9 * 5 + 1);
  const gguf = readGGUF(join(STORIES, 'tinyllamas-stories-260k-f32.gguf'));
  const pairs: [string, string][] = [
    ['tok_embeddings.weight', 'token_embd.weight'],
    ['norm.weight', 'output_norm.weight'],
  ];
  for (let l = 0; l < 5; l++)
    for (const [meta, gg] of [
      ['attention_norm', 'attn_norm'],
      ['attention.wq', 'attn_q'],
      ['attention.wk', 'attn_k'],
      ['attention.wv', 'attn_v'],
      ['attention.wo', 'attn_output'],
      ['ffn_norm', 'ffn_norm'],
      ['feed_forward.w1', 'ffn_gate'],
      ['feed_forward.w2', 'ffn_down'],
      ['feed_forward.w3', 'ffn_up'],
    ])
      pairs.push([`layers.${l}.${meta}.weight`, `blk.${l}.${gg}.weight`]);
  for (const [meta, gg] of pairs) {
    const a = ckpt.read(meta);
    const b = gguf.read(gg);
    assert.deepEqual(a.shape, b.shape, meta);
    assert.deepEqual(a.data, b.data, meta);
  }
  ckpt.close();
  gguf.close();
});

test('checkpoint round trip: identical weights and bytes, freq_cis recomputed within 1e-7', () => {
  const path = join(tempDir(), 'copy.bin');
  const ckpt = readLlama2cCheckpoint(BIN);
  const tensors = new Map<string, Tensor>(ckpt.tensors.map((t) => [t.name, ckpt.read(t.name)]));
  writeLlama2cCheckpoint(path, ckpt.config, tensors);
  const original = readFileSync(BIN);
  const copy = readFileSync(path);
  assert.equal(copy.byteLength, original.byteLength);
  const freqStart = ckpt.tensors.at(-1)!.offset + ckpt.tensors.at(-1)!.byteLength;
  assert.ok(copy.subarray(0, freqStart).equals(original.subarray(0, freqStart)));
  const f32 = (b: Buffer) =>
    new Float32Array(b.buffer.slice(b.byteOffset + freqStart, b.byteOffset + b.byteLength));
  assert.ok(maxAbsDiff(f32(copy), f32(original)) < 1e-7);
  ckpt.close();
});

test('a separate classifier (negative vocab_size) is read as output.weight', () => {
  const path = join(tempDir(), 'cls.bin');
  const ckpt = readLlama2cCheckpoint(BIN);
  const tensors = new Map<string, Tensor>(ckpt.tensors.map((t) => [t.name, ckpt.read(t.name)]));
  tensors.set('output.weight', tensors.get('tok_embeddings.weight')!);
  writeLlama2cCheckpoint(path, { ...ckpt.config, sharedClassifier: false }, tensors);
  const back = readLlama2cCheckpoint(path);
  assert.equal(back.config.sharedClassifier, false);
  assert.equal(new DataView(readFileSync(path).buffer.slice(0, 28)).getInt32(20, true), -512);
  assert.deepEqual(back.read('output.weight').data, tensors.get('output.weight')!.data);
  back.close();
  ckpt.close();
});

test('checkpoint headers that do not match the file are FormatErrors', () => {
  const good = new Uint8Array(readFileSync(BIN));
  const withHeader = (index: number, value: number) => {
    const b = good.slice();
    new DataView(b.buffer).setInt32(index * 4, value, true);
    return b;
  };
  const cases: [Uint8Array, RegExp][] = [
    [good.slice(0, 20), /too short/],
    [good.slice(0, good.byteLength - 4), /implies 1056540 bytes/],
    [withHeader(0, 0x616b3432), /versioned/],
    [withHeader(3, 7), /not a multiple of n_heads/],
    [withHeader(4, 3), /not a multiple of n_kv_heads/],
    [withHeader(2, 2 ** 31 - 1), /implies/],
    [withHeader(1, -5), /hidden_dim = -5/],
  ];
  for (const [bytes, reason] of cases)
    assert.throws(
      () => readLlama2cCheckpoint(new MemorySource(bytes, 'bad.bin')),
      (err: unknown) => err instanceof FormatError && reason.test(err.reason),
      String(reason),
    );
});

test('tok512.bin holds the GGUF vocabulary with llama2.c spacing, and round-trips byte for byte', () => {
  const tok = readLlama2cTokenizer(join(STORIES, 'tok512.bin'));
  const ref = JSON.parse(readFileSync(join(STORIES, 'tok512.from_gguf.json'), 'utf8')) as {
    tokens: string[];
    scores: number[];
  };
  assert.equal(tok.vocabSize, 512);
  assert.equal(tok.maxTokenLength, 7);
  for (let i = 0; i < 512; i++) {
    const expected = i === 1 ? '\n<s>\n' : i === 2 ? '\n</s>\n' : ref.tokens[i].replaceAll('▁', ' ');
    assert.equal(tok.piece(i), expected, `token ${i}`);
    assert.equal(tok.scores[i], Math.fround(ref.scores[i]));
  }
  const path = join(tempDir(), 'tok.bin');
  writeLlama2cTokenizer(path, tok.maxTokenLength, tok.pieces, tok.scores);
  assert.ok(readFileSync(path).equals(readFileSync(join(STORIES, 'tok512.bin'))));
});

test('the 32,000-token Llama 2 tokenizer.bin reads whole', () => {
  const tok = readLlama2cTokenizer(join(SHARED, 'models/llama2-tokenizer/tokenizer.bin'));
  assert.equal(tok.vocabSize, 32000);
  assert.equal(tok.piece(3), '<0x00>');
  assert.throws(
    () =>
      readLlama2cTokenizer(new MemorySource(new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0]), 't.bin')),
    { name: 'FormatError', message: /length 100/ },
  );
});
