/** stories260K against llama2.c's run.c (../shared/golden): logits, greedy ids, from every file format and both backends. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ReferenceBackend, WasmBackend } from '../../src/kernels/index.js';
import { loadModel } from '../../src/llm/load.js';
import { argmax } from '../../src/llm/sampler.js';
import { SHARED, STORIES } from '../helpers.js';

const GOLDEN = join(SHARED, 'golden/stories260K');
const golden = JSON.parse(readFileSync(join(GOLDEN, 'logits_tom_and_lily.json'), 'utf8')) as {
  ids: number[];
  logits: number[][];
};
const greedy = JSON.parse(readFileSync(join(GOLDEN, 'greedy_once_upon_a_time_40.json'), 'utf8')) as {
  prompt_ids: number[];
  greedy_ids: number[];
};

const wasm = await WasmBackend.create({ threads: 2 });
after(() => wasm.dispose());

const FILES = ['tinyllamas-stories-260k-f32.gguf', 'stories260K.v3.derived.gguf', 'stories260K.bin'];

for (const file of FILES)
  for (const backend of [wasm, new ReferenceBackend()]) {
    test(`${file} on ${backend.name}: logits within 1e-4 of run.c at every position`, async () => {
      const { model } = await loadModel(join(STORIES, file), { backend });
      // token by token (decode path) and as one batch (prefill path) must both match
      const cache = model.newCache();
      let worst = 0;
      golden.ids.forEach((id, p) => {
        const logits = model.forward([id], cache);
        golden.logits[p].forEach((v, i) => (worst = Math.max(worst, Math.abs(v - logits[i]))));
      });
      assert.ok(worst < 1e-4, `decode: max error ${worst}`);
      const all = model.forward(golden.ids, model.newCache(), true);
      worst = 0;
      golden.logits.forEach((row, p) =>
        row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - all[p * 512 + i])))),
      );
      assert.ok(worst < 1e-4, `prefill: max error ${worst}`);
    });
  }

test('greedy continuation of "Once upon a time" equals run.c exactly', async () => {
  for (const file of FILES) {
    const { model, tokenizer } = await loadModel(join(STORIES, file), { backend: wasm });
    assert.deepEqual(tokenizer.encode('Once upon a time'), greedy.prompt_ids);
    const cache = model.newCache();
    let logits = model.forward(greedy.prompt_ids, cache);
    const out: number[] = [];
    for (let i = 0; i < greedy.greedy_ids.length; i++) {
      const next = argmax(logits);
      out.push(next);
      logits = model.forward([next], cache);
    }
    assert.deepEqual(out, greedy.greedy_ids, file);
  }
});
