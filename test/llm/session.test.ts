import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { perplexity } from '../../src/eval/perplexity.js';
import { Chat } from '../../src/llm/chat.js';
import { ContextOverflowError } from '../../src/llm/kv-cache.js';
import { loadModel } from '../../src/llm/load.js';
import { Session } from '../../src/llm/session.js';
import { SHARED } from '../helpers.js';

const GREEDY_TEXT =
  ', there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.';

const loaded = await loadModel(undefined, { threads: 2 }); // the bundled stories260K
after(() => loaded.dispose());
const { model, tokenizer } = loaded;

/** Counts the tokens the model is fed. */
function countFed(): () => number {
  let fed = 0;
  const forward = model.forward.bind(model);
  model.forward = (tokens, cache, all) => {
    fed += tokens.length;
    return forward(tokens, cache, all);
  };
  after(() => (model.forward = forward));
  return () => fed;
}

test('greedy generation reproduces run.c; streamed pieces add up to the text', async () => {
  const session = new Session(model, tokenizer);
  const pieces: string[] = [];
  const r = await session.generate(tokenizer.encode('Once upon a time'), {
    temperature: 0,
    maxTokens: 40,
    onText: (t) => pieces.push(t),
  });
  assert.equal(r.text, GREEDY_TEXT);
  assert.equal(pieces.join(''), r.text);
  assert.equal(r.tokens.length, 40);
  assert.equal(r.stopReason, 'length');
});

test('stop strings end the text before them, even when split across tokens', async () => {
  const session = new Session(model, tokenizer);
  const pieces: string[] = [];
  const r = await session.generate(tokenizer.encode('Once upon a time'), {
    temperature: 0,
    stop: ['named Li'],
    onText: (t) => pieces.push(t),
  });
  assert.equal(r.text, ', there was a little girl ');
  assert.equal(pieces.join(''), r.text);
  assert.equal(r.stopReason, 'stop');
});

test('the same seed gives the same text; an aborted generation stops', async () => {
  const run = (seed: number) => new Session(model, tokenizer).generate([1], { seed, maxTokens: 30 });
  assert.equal((await run(5)).text, (await run(5)).text);
  const abort = new AbortController();
  const r = await new Session(model, tokenizer).generate([1], {
    maxTokens: 100,
    signal: abort.signal,
    onText: () => abort.abort(),
  });
  assert.equal(r.stopReason, 'aborted');
  assert.ok(r.tokens.length < 5);
});

test('a session feeds only what the cache does not hold; a diverging prompt rewinds', async () => {
  const fed = countFed();
  const session = new Session(model, tokenizer);
  const prompt = tokenizer.encode('Once upon a time');
  const first = await session.generate(prompt, { temperature: 0, maxTokens: 10 });
  const before = fed();
  const more = [...prompt, ...first.tokens, ...tokenizer.encode(' The end', { bos: false })];
  const second = await session.generate(more, { temperature: 0, maxTokens: 5 });
  // the new prompt re-feeds only its tail (the last generated token was never fed, plus " The end")
  const tail = more.length - (prompt.length + first.tokens.length - 1);
  assert.equal(fed() - before, tail + second.tokens.length - 1);
  // and the cached continuation equals a fresh computation
  const fresh = await new Session(model, tokenizer).generate(more, { temperature: 0, maxTokens: 5 });
  assert.deepEqual(second.tokens, fresh.tokens);
});

test('chat keeps the conversation in the cache and reports the context limit', async () => {
  const fed = countFed();
  const chat = new Chat(model, tokenizer);
  await chat.send('Hello', { temperature: 0, maxTokens: 20 });
  const afterFirst = fed();
  await chat.send('Tell me a story', { temperature: 0, maxTokens: 20 });
  const conversation = chat.session.history.length;
  assert.ok(
    fed() - afterFirst < conversation / 1.5,
    `second turn fed ${fed() - afterFirst} of ${conversation} tokens`,
  );
  assert.equal(chat.messages.length, 4);
  await assert.rejects(chat.send('word '.repeat(600), { maxTokens: 5 }), ContextOverflowError);
  assert.equal(chat.messages.length, 4); // the failed turn is not kept
  chat.reset();
  assert.equal((await chat.send('Hi', { temperature: 0, maxTokens: 5 })).tokens.length, 5);
});

test('perplexity per line reproduces run.c: 4.1857 on the first 100 lines, 5.3886 on the whole file', () => {
  const text = readFileSync(join(SHARED, 'datasets/tinystories/tinystories_validation_head.txt'), 'utf8');
  const head = text
    .split('\n')
    .filter((l) => l !== '')
    .slice(0, 100)
    .join('\n');
  const r100 = perplexity(model, tokenizer, head, { perLine: true });
  assert.equal(r100.tokens, 9619);
  assert.equal(r100.meanNll.toFixed(6), '1.431670');
  const all = perplexity(model, tokenizer, text, { perLine: true });
  assert.equal(all.sequences, 4358);
  assert.equal(all.tokens, 381526);
  assert.equal(all.meanNll.toFixed(6), '1.684285');
  assert.equal(all.perplexity.toFixed(4), '5.3886');
});

test('sliding-window perplexity scores every token once (disjoint windows: all but their first)', () => {
  const text = 'Once upon a time there was a dog. '.repeat(40);
  const tokens = tokenizer.encode(text).length;
  for (const stride of [64, 100, 127])
    assert.equal(perplexity(model, tokenizer, text, { ctx: 128, stride }).tokens, tokens - 1);
  const disjoint = perplexity(model, tokenizer, text, { ctx: 128 });
  assert.equal(disjoint.tokens, tokens - disjoint.sequences);
  assert.throws(() => perplexity(model, tokenizer, text, { ctx: 1000 }), {
    name: 'UserError',
    message: /ctx must be/,
  });
});

test('sessions on one model interleave token by token and each gives the text it gives alone', async () => {
  const prompts = ['Once upon a time', 'The dog', 'Lily and Tom'].map((p) => tokenizer.encode(p));
  const options = (i: number) => ({ seed: i, temperature: 0.9, maxTokens: 30 });
  const alone: string[] = [];
  for (const [i, p] of prompts.entries())
    alone.push((await new Session(model, tokenizer).generate(p, options(i))).text);
  const order: number[] = [];
  const together = await Promise.all(
    prompts.map((p, i) =>
      new Session(model, tokenizer).generate(p, { ...options(i), onText: () => order.push(i) }),
    ),
  );
  assert.deepEqual(
    together.map((r) => r.text),
    alone,
  );
  assert.notDeepEqual(order, [...order].sort()); // they did take turns
});

test('a long prompt is fed in chunks of the batch, between which an abort is seen', async () => {
  const small = await loadModel(undefined, { threads: 2, maxBatch: 8 });
  after(() => small.dispose());
  const prompt = tokenizer.encode(
    'Once upon a time, there was a little girl named Lily. She loved to play outside.',
  );
  assert.ok(prompt.length > 3 * 8);
  const options = { temperature: 0, maxTokens: 20 };
  const whole = await new Session(model, tokenizer).generate(prompt, options);
  const chunked = await new Session(small.model, small.tokenizer).generate(prompt, options);
  assert.equal(chunked.text, whole.text);

  const abort = new AbortController();
  const session = new Session(small.model, small.tokenizer);
  const pending = session.generate(prompt, { ...options, signal: abort.signal });
  abort.abort(); // after the first chunk: the rest of the prompt is never fed
  const r = await pending;
  assert.equal(r.stopReason, 'aborted');
  assert.equal(r.tokens.length, 0);
  assert.equal(session.cache.position, 8);
});

test('a disposed session gives its KV cache back to the heap and refuses to generate', async () => {
  // where the next allocation lands: it would climb if caches were never given back
  const heapTop = () => {
    const probe = model.backend.allocF32(1);
    model.backend.free(probe);
    return probe.byteOffset;
  };
  const first = new Session(model, tokenizer);
  first.dispose();
  const top = heapTop();
  for (let i = 0; i < 50; i++) new Session(model, tokenizer).dispose();
  assert.equal(heapTop(), top);
  await assert.rejects(first.generate(tokenizer.encode('Hi'), { maxTokens: 2 }), {
    name: 'Error',
    message: /disposed/,
  });
});
