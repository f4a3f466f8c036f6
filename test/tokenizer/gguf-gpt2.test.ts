/** GPT-2-style byte-level BPE from GGUF metadata (tokenizer.ggml.model = "gpt2"), on a small hand-made vocabulary. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { GGUFType, type GGUFValue, readGGUF, writeGGUF } from '../../src/formats/gguf.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { tokenizerFromGGUF } from '../../src/tokenizer/load.js';
import { TokenType } from '../../src/tokenizer/sentencepiece-bpe.js';
import { tempDir } from '../helpers.js';

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards. */
function byteChars(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

test('a GGUF gpt2 vocabulary encodes with its merges, handles any byte, and parses special tokens', () => {
  const merges = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or', 'Ġwor l', 'Ġworl d'];
  const tokens = [...byteChars(), ...merges.map((m) => m.replace(' ', '')), '<|endoftext|>'];
  const types = tokens.map((_, i) => (i === tokens.length - 1 ? TokenType.CONTROL : TokenType.NORMAL));
  const array = (itemType: GGUFType, items: (string | number)[]): GGUFValue => ({
    type: GGUFType.ARRAY,
    value: { itemType, items },
  });
  const path = join(tempDir(), 'gpt2.gguf');
  writeGGUF(
    path,
    new Map<string, GGUFValue>([
      ['tokenizer.ggml.model', { type: GGUFType.STRING, value: 'gpt2' }],
      ['tokenizer.ggml.pre', { type: GGUFType.STRING, value: 'gpt2' }],
      ['tokenizer.ggml.tokens', array(GGUFType.STRING, tokens)],
      ['tokenizer.ggml.token_type', array(GGUFType.INT32, types)],
      ['tokenizer.ggml.merges', array(GGUFType.STRING, merges)],
      ['tokenizer.ggml.eos_token_id', { type: GGUFType.UINT32, value: tokens.length - 1 }],
    ]),
    [['dummy', Tensor.fromFloat32([1], [0])]],
  );
  const tok = tokenizerFromGGUF(readGGUF(path));
  const id = (t: string) => tokens.indexOf(t);
  assert.equal(tok.bos, null);
  assert.equal(tok.eos, id('<|endoftext|>'));
  assert.deepEqual(tok.encode('hello world'), [id('hello'), id('Ġworld')]);
  assert.equal(tok.decode(tok.encode('hello world')), 'hello world');
  const odd = 'héllo\n\tworld 😀';
  assert.equal(tok.decode(tok.encode(odd)), odd);
  assert.deepEqual(tok.encode('hello<|endoftext|>', { special: true }), [id('hello'), id('<|endoftext|>')]);
  const d = tok.decoder();
  assert.equal([...tok.encode('😀 hello')].map((t) => d.push(t)).join(''), '😀 hello');
});
