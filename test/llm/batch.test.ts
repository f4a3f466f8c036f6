import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DecodeBatcher } from '../../src/llm/batcher.js';
import type { CacheOptions } from '../../src/llm/kv-cache.js';
import { loadModel } from '../../src/llm/load.js';
import { Session } from '../../src/llm/session.js';
import { quantizeModel } from '../../src/quant/quantize-model.js';
import { quantizeW8A8 } from '../../src/quant/smoothquant.js';

const loaded = await loadModel(undefined, { threads: 2 }); // the bundled stories260K
after(() => loaded.dispose());
const { model, tokenizer } = loaded;

test('forwardBatch gives each row the logits its sequence gets alone, evicting caches included', () => {
  const setups: [string, CacheOptions][] = [
    ['Once upon a time', {}],
    ['The little dog ran to the park and', {}],
    ['Lily', { policy: 'sink', sinks: 4, capacity: 12 }], // evicts from the 13th token on
    ['Tom had a big red ball. He', { policy: 'window', capacity: 16 }],
  ];
  const batched = setups.map(([, o]) => model.newCache(o));
  const alone = setups.map(([, o]) => model.newCache(o));
  const next = setups.map(([p], i) => {
    const tokens = tokenizer.encode(p);
    model.forward(tokens, batched[i]);
    model.forward(tokens, alone[i]);
    return 100 + i;
  });
  const V = model.config.vocabSize;
  for (let step = 0; step < 20; step++) {
    const logits = Float32Array.from(model.forwardBatch(next, batched));
    next.forEach((token, i) => {
      const expected = model.forward([token], alone[i]);
      assert.deepEqual(logits.subarray(i * V, (i + 1) * V), expected, `row ${i}, step ${step}`);
      assert.equal(batched[i].position, alone[i].position);
      next[i] = (token * 7 + step + i) % V; // any tokens will do
    });
  }
  assert.throws(() => model.forwardBatch([1, 2], [batched[0], batched[0]]), {
    name: 'RangeError',
    message: /its own cache/,
  });
  assert.throws(() => model.forwardBatch([1], []), RangeError);
});

test('sessions sharing a DecodeBatcher decode in one pass per token and give the text they give alone', async () => {
  const prompts = ['Once upon a time', 'The dog', 'Lily and Tom', 'One day'].map((p) => tokenizer.encode(p));
  const options = (i: number) => ({ seed: i, temperature: 0.9, maxTokens: 24 + 4 * i });
  const alone: string[] = [];
  for (const [i, p] of prompts.entries())
    alone.push((await new Session(model, tokenizer).generate(p, options(i))).text);

  const batcher = new DecodeBatcher(model);
  const together = await Promise.all(
    prompts.map((p, i) => new Session(model, tokenizer, {}, batcher).generate(p, options(i))),
  );
  assert.deepEqual(
    together.map((r) => r.text),
    alone,
  );
  // 24 + 28 + 32 + 36 tokens; all four sessions share a pass until the shortest ends
  const decoded = together.reduce((n, r) => n + r.tokens.length - 1, 0);
  assert.equal(batcher.tokens, decoded);
  assert.ok(batcher.steps <= 36, `${batcher.steps} passes for ${decoded} tokens`);
  assert.throws(() => new Session(model, tokenizer, {}, new DecodeBatcher({} as typeof model)), {
    name: 'RangeError',
    message: /different model/,
  });
});

test('batched rows equal rows alone on int4 (RTN) and W8A8 (per-token) models too', async () => {
  for (const quantize of [
    (m: typeof model) => quantizeModel(m, { bits: 4, groupSize: 32 }),
    (m: typeof model) => quantizeW8A8(m, { weight: 'channel', act: 'token' }, null),
  ]) {
    const q = await loadModel(undefined, { threads: 2 });
    after(() => q.dispose());
    quantize(q.model);
    const prompts = ['Once upon a time', 'The little dog', 'Lily', 'Tom had a big red ball.', 'One day'];
    const batched = prompts.map(() => q.model.newCache());
    const alone = prompts.map(() => q.model.newCache());
    prompts.forEach((p, i) => {
      q.model.forward(q.tokenizer.encode(p), batched[i]);
      q.model.forward(q.tokenizer.encode(p), alone[i]);
    });
    const V = q.model.config.vocabSize;
    for (let step = 0; step < 5; step++) {
      const next = prompts.map((_, i) => 100 + 7 * step + i);
      const logits = Float32Array.from(q.model.forwardBatch(next, batched));
      next.forEach((token, i) => {
        assert.deepEqual(logits.subarray(i * V, (i + 1) * V), q.model.forward([token], alone[i]), `row ${i}`);
      });
    }
  }
});
