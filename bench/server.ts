/**
 * The server under concurrent load: N clients stream completions at once from effml's server
 * (HTTP on loopback), with the slots decoding in one batched pass per token and with them taking
 * turns (`--no-batch`); the peer is llama.cpp decoding N sequences of one context, which
 * node-llama-cpp batches the same way (in process, no HTTP). All in one run, on synthetic models
 * (real shapes, random weights). Reported: generated tokens per second over all clients.
 */
import type { Token } from 'node-llama-cpp';
import { table } from '../src/report/table.js';
import { defaultThreads } from '../src/kernels/index.js';
import { type LoadedModel, loadModel } from '../src/llm/load.js';
import type { SynthDType } from '../src/llm/synth.js';
import { EffmlServer } from '../src/server/server.js';
import { syntheticModel } from './models.js';

const CASES: [string, SynthDType][] = [
  ['smollm2-135m', 'f32'],
  ['smollm2-135m', 'q8_0'],
  ['tinyllama-1.1b', 'q8_0'],
  ['tinyllama-1.1b', 'q4_0'], // loaded as effml's int4, as an AWQ model is
];
const CLIENTS = [1, 2, 4, 8];
const TOKENS = 64;
const PROMPT = 'Once upon a time, in a small town by the sea, there lived';

export interface ServerRow {
  model: string;
  clients: number;
  /** generated tokens per second, all clients together */
  batched: number;
  turns: number;
  llamaCpp: number | null;
}

export interface ServerReport {
  threads: number;
  tokensPerClient: number;
  rows: ServerRow[];
}

/** N clients at once, each streaming one completion; tokens per second over all of them. */
async function effmlRate(loaded: LoadedModel, clients: number, batch: boolean): Promise<number> {
  const server = new EffmlServer(loaded, { parallel: clients, queue: 0, batch, modelId: 'm' });
  const url = await server.listen('127.0.0.1', 0);
  const one = async () => {
    const response = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'm',
        prompt: PROMPT,
        max_tokens: TOKENS,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const events = (await response.text()).split('\n\n').filter((e) => e.includes('"usage"'));
    if (response.status !== 200 || events.length !== 1) throw new Error(`request failed: ${response.status}`);
    return (JSON.parse(events[0].slice(6)) as { usage: { completion_tokens: number } }).usage
      .completion_tokens;
  };
  try {
    await one(); // warm-up
    const t0 = performance.now();
    const generated = await Promise.all(Array.from({ length: clients }, one));
    return generated.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
  } finally {
    await server.close(0);
  }
}

async function llamaCppRate(
  llama: import('node-llama-cpp').Llama,
  path: string,
  prompt: number[],
  clients: number,
  threads: number,
): Promise<number> {
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 2048, sequences: clients, threads });
  const sequences = Array.from({ length: clients }, () => context.getSequence());
  const one = async (sequence: (typeof sequences)[0]) => {
    await sequence.clearHistory();
    let generated = 0;
    for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
      void token;
      if (++generated >= TOKENS) break;
    }
    return generated;
  };
  try {
    await one(sequences[0]); // warm-up
    const t0 = performance.now();
    const generated = await Promise.all(sequences.map(one));
    return generated.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

export async function benchServer(log: (line: string) => void): Promise<ServerReport> {
  const threads = defaultThreads();
  let llama: import('node-llama-cpp').Llama | null = null;
  try {
    const { getLlama } = await import('node-llama-cpp');
    llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  } catch (err) {
    log(`llama.cpp unavailable: ${(err as Error).message}`);
  }
  const rows: ServerRow[] = [];
  for (const [like, dtype] of CASES) {
    const path = syntheticModel(like, dtype, log);
    const loaded = await loadModel(path, { threads });
    const prompt = loaded.tokenizer.encode(PROMPT);
    for (const clients of CLIENTS) {
      log(`${like} ${dtype}, ${clients} clients`);
      // ABBA order, averaged: neither mode gains from running second
      const b1 = await effmlRate(loaded, clients, true);
      const t1 = await effmlRate(loaded, clients, false);
      const t2 = await effmlRate(loaded, clients, false);
      const b2 = await effmlRate(loaded, clients, true);
      const [batched, turns] = [(b1 + b2) / 2, (t1 + t2) / 2];
      const llamaCpp = llama ? await llamaCppRate(llama, path, prompt, clients, threads) : null;
      rows.push({ model: `${like} ${dtype}`, clients, batched, turns, llamaCpp });
    }
    loaded.dispose();
  }
  await llama?.dispose();
  return { threads, tokensPerClient: TOKENS, rows };
}

export function formatServerReport(r: ServerReport): string {
  const f = (v: number | null) => (v === null ? '-' : v.toFixed(1));
  const ratio = (a: number, b: number | null) => (b === null ? '-' : `${(a / b).toFixed(2)}x`);
  return [
    `threads: ${r.threads}; each client streams ${r.tokensPerClient} tokens (greedy); generated tok/s over all clients`,
    table(
      [
        'model (random weights)',
        'clients',
        'effml batched',
        'effml turns',
        'batched / turns',
        'llama.cpp',
        'batched / llama.cpp',
      ],
      r.rows.map((row) => [
        row.model,
        String(row.clients),
        f(row.batched),
        f(row.turns),
        ratio(row.batched, row.turns),
        f(row.llamaCpp),
        ratio(row.batched, row.llamaCpp),
      ]),
    ),
  ].join('\n');
}
