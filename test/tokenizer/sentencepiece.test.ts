import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readGGUF } from '../../src/formats/gguf.js';
import { readLlama2cTokenizer } from '../../src/formats/llama2c.js';
import { tokenizerFromGGUF, tokenizerFromLlama2c } from '../../src/tokenizer/load.js';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { SHARED, STORIES } from '../helpers.js';

const GOLDEN = join(SHARED, 'golden/stories260K');
const cases = JSON.parse(readFileSync(join(GOLDEN, 'encode.json'), 'utf8')) as {
  text: string;
  ids_with_bos: number[];
}[];

const sources: [string, () => Tokenizer][] = [
  ['tok512.bin', () => tokenizerFromLlama2c(readLlama2cTokenizer(join(STORIES, 'tok512.bin')))],
  ['GGUF v1', () => tokenizerFromGGUF(readGGUF(join(STORIES, 'tinyllamas-stories-260k-f32.gguf')))],
  ['GGUF v3', () => tokenizerFromGGUF(readGGUF(join(STORIES, 'stories260K.v3.derived.gguf')))],
];

for (const [name, load] of sources) {
  test(`${name}: encodes exactly as llama2.c (encode.json) and decodes back`, () => {
    const tok = load();
    assert.equal(tok.vocabSize, 512);
    assert.equal(tok.bos, 1);
    assert.equal(tok.eos, 2);
    for (const { text, ids_with_bos } of cases) {
      assert.deepEqual(tok.encode(text), ids_with_bos, JSON.stringify(text));
      assert.deepEqual(tok.encode(text, { bos: false }), ids_with_bos.slice(1));
      assert.equal(tok.decode(ids_with_bos), text, `decode ${JSON.stringify(text)}`);
    }
  });
}

test('greedy golden continuation decodes to its text, streamed token by token', () => {
  const golden = JSON.parse(readFileSync(join(GOLDEN, 'greedy_once_upon_a_time_40.json'), 'utf8')) as {
    prompt_ids: number[];
    greedy_ids: number[];
    text: string;
  };
  const tok = tokenizerFromLlama2c(readLlama2cTokenizer(join(STORIES, 'tok512.bin')));
  const d = tok.decoder(golden.prompt_ids.at(-1));
  assert.equal(golden.greedy_ids.map((id) => d.push(id)).join(''), golden.text);
});

test('multi-byte characters split over byte tokens stream out whole', () => {
  const tok = tokenizerFromLlama2c(readLlama2cTokenizer(join(STORIES, 'tok512.bin')));
  const ids = tok.encode('😀', { bos: false });
  const d = tok.decoder(tok.bos!);
  const pieces = ids.map((id) => d.push(id));
  assert.deepEqual(
    pieces.filter((p) => p !== ''),
    ['😀'],
  );
});

test('the 32,000-token Llama 2 vocabulary encodes long text quickly and round-trips', () => {
  const tok = tokenizerFromLlama2c(
    readLlama2cTokenizer(join(SHARED, 'models/llama2-tokenizer/tokenizer.bin')),
  );
  const text = readFileSync(
    join(SHARED, 'datasets/tinystories/tinystories_validation_head.txt'),
    'utf8',
  ).slice(0, 200_000);
  const ids = tok.encode(text);
  assert.ok(ids.length > 40_000 && ids.length < 60_000, `${ids.length} tokens`);
  assert.equal(tok.decode(ids), text);
  assert.deepEqual(tok.encode('Hello world'), [1, 15043, 3186]); // as sentencepiece encodes it
});
