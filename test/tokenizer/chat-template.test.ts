import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readLlama2cTokenizer } from '../../src/formats/llama2c.js';
import { renderChat } from '../../src/llm/chat.js';
import { tokenizerFromLlama2c } from '../../src/tokenizer/load.js';
import { SentencePieceBPE, TokenType } from '../../src/tokenizer/sentencepiece-bpe.js';
import { STORIES } from '../helpers.js';

const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

test('a chat template renders with Jinja and its control tokens become single ids', () => {
  const base = tokenizerFromLlama2c(readLlama2cTokenizer(join(STORIES, 'tok512.bin'))).vocab;
  const tok = new SentencePieceBPE({
    ...base,
    pieces: [...base.pieces, '<|im_start|>', '<|im_end|>'],
    scores: [...Array.from(base.scores), 0, 0],
    types: [...Array.from(base.types), TokenType.CONTROL, TokenType.CONTROL],
    stopIds: [513],
    chatTemplate: CHATML,
  });
  const rendered = renderChat(tok, [
    { role: 'system', content: 'Be kind.' },
    { role: 'user', content: 'Hi' },
  ]);
  assert.equal(
    rendered.text,
    '<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  );
  const ids = tok.encode(rendered.text, { bos: false, special: true });
  assert.equal(ids[0], 512);
  assert.equal(ids.filter((i) => i === 512).length, 3);
  assert.equal(ids.filter((i) => i === 513).length, 2);
  // text after a control token gets the SentencePiece space prefix again, as llama.cpp does
  assert.deepEqual(
    ids.slice(1, 1 + tok.encode('system', { bos: false }).length),
    tok.encode('system', { bos: false }),
  );
  assert.ok(tok.stopIds.has(513));
  // without `special`, the same text is plain text
  assert.ok(!tok.encode(rendered.text, { bos: false }).includes(512));
});

test('without a template, chat falls back to User: / Assistant: turns with stop strings', () => {
  const tok = tokenizerFromLlama2c(readLlama2cTokenizer(join(STORIES, 'tok512.bin')));
  const r = renderChat(tok, [{ role: 'user', content: 'Hello' }]);
  assert.equal(r.text, 'User: Hello\nAssistant:');
  assert.deepEqual(r.stop, ['\nUser:', '\nSystem:']);
});
