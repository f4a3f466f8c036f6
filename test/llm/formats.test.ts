/** The same weights through a Hugging Face folder (rotate-half RoPE) give the run.c logits; bad model input gives clear errors. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { WasmBackend } from '../../src/kernels/index.js';
import { ContextOverflowError } from '../../src/llm/kv-cache.js';
import { loadModel } from '../../src/llm/load.js';
import { SHARED, STORIES, tempDir } from '../helpers.js';
import { writeStoriesAsHF } from './hf-fixture.js';

const GOLDEN = join(SHARED, 'golden/stories260K');
const golden = JSON.parse(readFileSync(join(GOLDEN, 'logits_tom_and_lily.json'), 'utf8')) as {
  ids: number[];
  logits: number[][];
};
const encodeCases = JSON.parse(readFileSync(join(GOLDEN, 'encode.json'), 'utf8')) as {
  text: string;
  ids_with_bos: number[];
}[];
const backend = await WasmBackend.create({ threads: 2 });
after(() => backend.dispose());

test('a Hugging Face folder (rotate-half Q/K, tokenizer.json) gives the run.c logits and tokens', async () => {
  const dir = tempDir();
  writeStoriesAsHF(dir);
  const { model, tokenizer, config } = await loadModel(dir, { backend });
  assert.equal(config.ropeStyle, 'halves');
  const all = model.forward(golden.ids, model.newCache(), true);
  let worst = 0;
  golden.logits.forEach((row, p) =>
    row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - all[p * 512 + i])))),
  );
  assert.ok(worst < 1e-4, `max error ${worst}`);
  // tokenizer.json (merges derived from the SentencePiece scores) encodes as llama2.c does
  for (const { text, ids_with_bos } of encodeCases) {
    assert.deepEqual(tokenizer.encode(text), ids_with_bos, JSON.stringify(text));
    assert.equal(tokenizer.decode(ids_with_bos), text);
  }
});

test('sharded folders load; a missing shard is a clear error', async () => {
  const dir = tempDir();
  writeStoriesAsHF(dir, { shardBytes: 300_000 });
  const { model } = await loadModel(dir, { backend });
  assert.equal(model.forward([1, 403], model.newCache()).length, 512);
  rmSync(join(dir, 'model-00002-of-00004.safetensors'));
  await assert.rejects(loadModel(dir, { backend }), {
    name: 'FormatError',
    message: /model-00002-of-00004\.safetensors: no such file/,
  });
});

test('a llama2.c checkpoint without a tokenizer, an unknown architecture, context overflow: clear errors', async () => {
  const dir = tempDir();
  copyFileSync(join(STORIES, 'stories260K.bin'), join(dir, 'stories260K.bin'));
  await assert.rejects(loadModel(join(dir, 'stories260K.bin'), { backend }), {
    name: 'TokenizerError',
    message: /carry no tokenizer; give one with --tokenizer/,
  });
  const ok = await loadModel(join(dir, 'stories260K.bin'), {
    backend,
    tokenizer: join(STORIES, 'tok512.bin'),
  });
  const cache = ok.model.newCache();
  ok.model.forward(new Array(500).fill(5), cache);
  assert.throws(() => ok.model.forward(new Array(13).fill(5), cache), ContextOverflowError);
  assert.throws(() => ok.model.forward([], cache), { name: 'RangeError', message: /at least one token/ });

  const hf = join(dir, 'hf');
  mkdirSync(hf);
  writeStoriesAsHF(hf);
  const config = JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8')) as Record<string, unknown>;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(hf, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt_neox' }));
  await assert.rejects(loadModel(hf, { backend }), {
    name: 'ModelConfigError',
    message: /architecture gpt_neox is not supported \(supported: llama, mistral, qwen2\)/,
  });
  rmSync(join(hf, 'tokenizer.json'));
  writeFileSync(join(hf, 'config.json'), JSON.stringify(config));
  await assert.rejects(loadModel(hf, { backend }), { name: 'TokenizerError', message: /no tokenizer\.json/ });
});
