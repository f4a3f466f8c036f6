import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import OpenAI from 'openai';
import { Chat } from '../../src/llm/chat.js';
import { loadModel } from '../../src/llm/load.js';
import { REPO } from '../helpers.js';
import { health, post, readEvents, startServer, waitForHealth } from './helpers.js';

const CLI = `${REPO}dist/src/cli/main.js`;
const loaded = await loadModel(undefined, { threads: 2 }); // the bundled stories260K
after(() => loaded.dispose());

// stories260K, whole context: the API as clients see it
const { url } = await startServer(loaded, { parallel: 4, queue: 64 });
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
const MODEL = 'stories260K';

// stories260K with a StreamingLLM cache never runs out of context and never samples EOS, so a
// request with a huge max_tokens holds its slot until it is aborted: deterministic busy slots
const holding = await startServer(loaded, {
  parallel: 2,
  queue: 2,
  maxTokens: 1_000_000,
  cache: { policy: 'sink', sinks: 4 },
});
const HOLD = { model: MODEL, prompt: 'Once upon a time', max_tokens: 1_000_000, stream: true };

test('the openai client lists the model and completes; the text equals `effml generate` with the same seed', async () => {
  const models = await client.models.list();
  assert.deepEqual(
    models.data.map((m) => m.id),
    [MODEL],
  );
  assert.equal((await client.models.retrieve(MODEL)).id, MODEL);

  const cli = spawnSync(
    process.execPath,
    [CLI, 'generate', '-p', 'Once upon a time', '--seed', '42', '--temp', '0.9', '-n', '40', '--json'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(cli.status, 0, cli.stderr);
  const expected = JSON.parse(cli.stdout) as { text: string; generatedTokens: number; promptTokens: number };

  const completion = await client.completions.create({
    model: MODEL,
    prompt: 'Once upon a time',
    seed: 42,
    temperature: 0.9,
    max_tokens: 40,
  });
  assert.equal(completion.object, 'text_completion');
  assert.equal(completion.choices[0].text, expected.text);
  assert.equal(completion.choices[0].finish_reason, 'length');
  assert.deepEqual(completion.usage, {
    prompt_tokens: expected.promptTokens,
    completion_tokens: expected.generatedTokens,
    total_tokens: expected.promptTokens + expected.generatedTokens,
  });
});

test('chat completions: whole and streamed give the text of a library Chat with the same seed', async () => {
  const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'Tell me a story.' }] };
  const sampling = { seed: 7, temperature: 0.8, max_tokens: 48 };
  const chat = new Chat(loaded.model, loaded.tokenizer);
  const expected = await chat.send('Tell me a story.', { seed: 7, temperature: 0.8, maxTokens: 48 });

  const whole = await client.chat.completions.create({ ...request, ...sampling });
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices[0].message.role, 'assistant');
  assert.equal(whole.choices[0].message.content, expected.text);
  assert.equal(whole.usage?.completion_tokens, expected.tokens.length);
  assert.equal(whole.usage?.prompt_tokens, expected.promptTokens);

  const stream = await client.chat.completions.create({
    ...request,
    ...sampling,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  const roles: string[] = [];
  const ids = new Set<string>();
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    ids.add(chunk.id);
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta.role) roles.push(choice.delta.role);
    text += choice.delta.content ?? '';
    finish = choice.finish_reason ?? finish;
  }
  assert.deepEqual(roles, ['assistant']);
  assert.equal(ids.size, 1);
  assert.match([...ids][0], /^chatcmpl-/);
  assert.equal(text, expected.text);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(usage, whole.usage);
});

test('stop strings end the text before them; a prompt past the context is refused', async () => {
  const free = await client.completions.create({
    model: MODEL,
    prompt: 'Once upon a time',
    temperature: 0,
    max_tokens: 40,
  });
  const cut = free.choices[0].text.indexOf('Lily');
  assert.ok(cut > 0, free.choices[0].text);
  const stopped = await client.completions.create({
    model: MODEL,
    prompt: 'Once upon a time',
    temperature: 0,
    max_tokens: 40,
    stop: ['Lily'],
  });
  assert.equal(stopped.choices[0].text, free.choices[0].text.slice(0, cut));
  assert.equal(stopped.choices[0].finish_reason, 'stop');

  await assert.rejects(
    client.completions.create({ model: MODEL, prompt: 'Once upon a time '.repeat(200), max_tokens: 10 }),
    (err: InstanceType<typeof OpenAI.APIError>) =>
      err.status === 400 && err.code === 'context_length_exceeded' && /512 tokens/.test(err.message),
  );
});

test('32 concurrent streams interleave and each gets the text and token count it gets alone', async () => {
  const N = 32;
  const requests = Array.from({ length: N }, (_, i) => ({
    model: MODEL,
    prompt: ['Once upon a time', 'The cat', 'Tom and Sue'][i % 3],
    seed: i,
    temperature: 0.9,
    max_tokens: 24 + (i % 5) * 8,
  }));
  const before = (await health(url)).decode;
  const streamed = await Promise.all(
    requests.map(async (r) => {
      const stream = await client.completions.create({
        ...r,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        const piece = chunk.choices[0]?.text ?? '';
        if (piece) chunks++;
        text += piece;
      }
      return { text, chunks, usage };
    }),
  );
  // the slots decoded together: 4 tokens per forward pass most of the time
  const during = (await health(url)).decode;
  const meanBatch = (during.tokens - before.tokens) / (during.steps - before.steps);
  assert.ok(meanBatch > 2.5, `mean batch ${meanBatch}`);
  for (let i = 0; i < N; i++) {
    const alone = await client.completions.create(requests[i]);
    const s = streamed[i];
    assert.equal(s.text, alone.choices[0].text, `request ${i}`);
    assert.deepEqual(s.usage, alone.usage, `request ${i}`);
    assert.ok(s.chunks <= (s.usage?.completion_tokens ?? 0));
  }
  const after = await waitForHealth(url, (h) => h.slots.busy === 0);
  assert.deepEqual(after.slots, { total: 4, busy: 0 });
  assert.deepEqual(after.queue, { waiting: 0, size: 64 });
});

test('malformed requests get 4xx with an OpenAI error object', async () => {
  const ok = { model: MODEL, prompt: 'Hi', max_tokens: 2 };
  const cases: [string, string, unknown, number, string | null][] = [
    ['/v1/completions', 'bad JSON', '{"model": "stories260K", "prompt": ', 400, null],
    ['/v1/completions', 'not an object', '[1, 2]', 400, null],
    ['/v1/completions', 'no prompt', { model: MODEL }, 400, 'prompt'],
    ['/v1/completions', 'no model', { prompt: 'Hi' }, 400, 'model'],
    ['/v1/completions', 'unknown model', { ...ok, model: 'gpt-4' }, 404, 'model'],
    ['/v1/completions', 'string temperature', { ...ok, temperature: 'hot' }, 400, 'temperature'],
    ['/v1/completions', 'temperature > 2', { ...ok, temperature: 3 }, 400, 'temperature'],
    ['/v1/completions', 'fractional max_tokens', { ...ok, max_tokens: 2.5 }, 400, 'max_tokens'],
    ['/v1/completions', 'zero max_tokens', { ...ok, max_tokens: 0 }, 400, 'max_tokens'],
    ['/v1/completions', 'max_tokens over the cap', { ...ok, max_tokens: 5000 }, 400, 'max_tokens'],
    ['/v1/completions', 'max_tokens past the context', { ...ok, max_tokens: 1000 }, 400, 'messages'],
    ['/v1/completions', 'n = 2', { ...ok, n: 2 }, 400, 'n'],
    ['/v1/completions', 'five stops', { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop'],
    ['/v1/completions', 'numeric prompt', { ...ok, prompt: 5 }, 400, 'prompt'],
    ['/v1/chat/completions', 'no messages', { model: MODEL }, 400, 'messages'],
    ['/v1/chat/completions', 'empty messages', { model: MODEL, messages: [] }, 400, 'messages'],
    [
      '/v1/chat/completions',
      'tool role',
      { model: MODEL, messages: [{ role: 'tool', content: 'x' }] },
      400,
      'messages[0].role',
    ],
    [
      '/v1/chat/completions',
      'content number',
      { model: MODEL, messages: [{ role: 'user', content: 1 }] },
      400,
      'messages[0].content',
    ],
    [
      '/v1/chat/completions',
      'stream not boolean',
      { model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: 'yes' },
      400,
      'stream',
    ],
    ['/v1/completions', 'oversized body', { ...ok, prompt: 'a'.repeat(2 << 20) }, 413, null],
  ];
  for (const [path, what, body, status, param] of cases) {
    const response = await post(url, path, body);
    assert.equal(response.status, status, what);
    const error = ((await response.json()) as { error: Record<string, unknown> }).error;
    assert.equal(typeof error.message, 'string', what);
    assert.equal(typeof error.type, 'string', what);
    assert.equal(error.param, param, what);
  }
  const plain = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'model=stories260K',
  });
  assert.equal(plain.status, 415);
  const missing = await fetch(`${url}/v1/nothing`);
  assert.equal(missing.status, 404);
  assert.ok(((await missing.json()) as { error: { message: string } }).error.message.includes('/v1/nothing'));
  assert.equal((await health(url)).status, 'ok');
});

test('a burst beyond the queue gets 429s; a client gone from the queue leaves it', async () => {
  const url = holding.url;
  const aborts = Array.from({ length: 4 }, () => new AbortController());
  // two requests generate, two wait
  const running = aborts.slice(0, 2).map(async (a) => {
    const response = await post(url, '/v1/completions', HOLD, a.signal);
    await readEvents(response).catch(() => null);
  });
  await waitForHealth(url, (h) => h.slots.busy === 2);
  const queued = aborts.slice(2).map((a) => post(url, '/v1/completions', HOLD, a.signal).catch(() => null));
  await waitForHealth(url, (h) => h.queue.waiting === 2);

  const burst = await Promise.all(Array.from({ length: 6 }, () => post(url, '/v1/completions', HOLD)));
  for (const response of burst) {
    assert.equal(response.status, 429);
    const { error } = (await response.json()) as { error: { code: string; type: string } };
    assert.equal(error.code, 'queue_full');
  }

  aborts[3].abort(); // a waiting client leaves: its place in the queue is free again
  await waitForHealth(url, (h) => h.queue.waiting === 1);
  aborts.forEach((a) => a.abort());
  await Promise.all([...running, ...queued]);
  await waitForHealth(url, (h) => h.slots.busy === 0 && h.queue.waiting === 0);
});

test('10 clients that disconnect mid-stream free their slots at once', async () => {
  const lines: string[] = [];
  const { url } = await startServer(loaded, {
    parallel: 10,
    queue: 0,
    maxTokens: 1_000_000,
    cache: { policy: 'sink', sinks: 4 },
    log: (line) => lines.push(line),
  });
  const heapBefore = process.memoryUsage().heapUsed;
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const abort = new AbortController();
        const body = {
          model: MODEL,
          messages: [{ role: 'user', content: `Story number ${i}` }],
          max_tokens: 1_000_000,
          stream: true,
        };
        const response = await post(url, '/v1/chat/completions', body, abort.signal);
        let chunks = 0;
        await readEvents(response, () => ++chunks < 5 + i);
        abort.abort();
      }),
    );
    await waitForHealth(url, (h) => h.slots.busy === 0, 2000);
  }
  const aborted = lines.filter((l) => l.endsWith('aborted'));
  assert.equal(aborted.length, 30, lines.join('\n'));
  for (const line of aborted) {
    const tokens = Number(/\+ (\d+) tokens/.exec(line)?.[1]);
    assert.ok(tokens < 10_000, line); // stopped long before its million tokens
  }
  // every slot is usable again
  const after = await Promise.all(
    Array.from({ length: 10 }, () =>
      post(url, '/v1/completions', { model: MODEL, prompt: 'Hi', max_tokens: 4 }),
    ),
  );
  assert.deepEqual(
    after.map((r) => r.status),
    Array(10).fill(200),
  );
  global.gc?.();
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 << 20);
});

test('close() ends running streams with finish_reason "length" and [DONE], and refuses queued requests', async () => {
  const { server, url } = await startServer(loaded, {
    parallel: 1,
    queue: 4,
    maxTokens: 1_000_000,
    cache: { policy: 'sink', sinks: 4 },
  });
  const events: unknown[] = [];
  const running = post(url, '/v1/completions', { ...HOLD, stream_options: { include_usage: true } }).then(
    (r) => readEvents(r, (e) => void events.push(e)),
  );
  await waitForHealth(url, (h) => h.slots.busy === 1);
  const queued = post(url, '/v1/completions', HOLD);
  await waitForHealth(url, (h) => h.queue.waiting === 1);
  await server.close(50);
  await running;
  assert.equal((await queued).status, 503);
  assert.equal(events.at(-1), '[DONE]');
  const usage = events.at(-2) as { usage: { completion_tokens: number } };
  const last = events.at(-3) as { choices: { finish_reason: string }[] };
  assert.equal(last.choices[0].finish_reason, 'length');
  assert.ok(usage.usage.completion_tokens > 0 && usage.usage.completion_tokens < 1_000_000);
});

test('`effml serve` serves the chat page and exits 0 on SIGTERM', async () => {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--parallel', '2'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      const m = / at (http:\/\/127\.0\.0\.1:\d+) /.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  const page = await fetch(`${address}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  const html = await page.text();
  assert.match(html, /effml chat/);
  assert.match(html, /\/v1\/chat\/completions/); // the script is inlined
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//); // nothing from a CDN
  assert.equal((await health(address)).slots.total, 2);

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stream = await post(address, '/v1/completions', {
    model: MODEL,
    prompt: 'Once',
    max_tokens: 400,
    stream: true,
  });
  child.kill('SIGTERM');
  const events = await readEvents(stream);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /SIGTERM: shutting down/);
  await assert.rejects(fetch(`${address}/health`), { name: 'TypeError', message: 'fetch failed' });
});

test('`effml serve` with bad flags prints one line and exits 1', () => {
  for (const [flags, message] of [
    [['--port', '70000'], /--port must be an integer in \[0, 65535\]/],
    [['--grace', 'soon'], /--grace must be a number/],
    [['--queue', '-1'], /queue must be an integer >= 0/],
    [['--parallel', '0'], /--parallel must be a positive integer/],
    [['--ctx', '1000'], /--ctx 1000 is more than the model's context of 512 tokens/],
  ] as const) {
    const r = spawnSync(process.execPath, [CLI, 'serve', ...flags], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
