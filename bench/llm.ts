/**
 * effml vs llama.cpp (through node-llama-cpp's prebuilt binaries) on the same GGUF files, same
 * thread count, in one run: prefill tok/s at 128 and 512 prompt tokens and decode tok/s. The
 * models are synthetic (real shapes, random weights: `effml synth`), written once to bench-results/.
 */
import type { Token } from 'node-llama-cpp';
import { table } from '../src/report/table.js';
import { measureSpeed } from '../src/eval/speed.js';
import { defaultThreads } from '../src/kernels/index.js';
import { loadModel } from '../src/llm/load.js';
import type { SynthDType } from '../src/llm/synth.js';
import { syntheticModel } from './models.js';

const CASES: [string, SynthDType][] = [
  ['smollm2-135m', 'f32'],
  ['smollm2-135m', 'q8_0'],
  ['tinyllama-1.1b', 'q8_0'],
  // effml loads Q4_0 as its group-wise int4 (group 32, zero point 8) without re-quantizing
  ['tinyllama-1.1b', 'q4_0'],
];
const PROMPTS = [128, 512];
const DECODE = 64;

interface Speeds {
  prefill: number[];
  decode: number;
}

export interface LlmRow {
  model: string;
  dtype: string;
  effml: Speeds;
  llamaCpp: Speeds | null;
}

export interface LlmReport {
  threads: number;
  peer: string;
  rows: LlmRow[];
}

/** The same pseudo-random prompt for both engines (effml's measureSpeed draws its own; only lengths matter). */
function tokens(n: number, vocab: number): Token[] {
  return Array.from({ length: n }, (_, i) => ((i * 7919 + 13) % vocab) as unknown as Token);
}

export async function benchLlm(log: (line: string) => void): Promise<LlmReport> {
  const threads = defaultThreads();
  let llama: import('node-llama-cpp').Llama | null = null;
  let peer = 'node-llama-cpp not installed';
  try {
    const { getLlama } = await import('node-llama-cpp');
    llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    const features = llama.systemInfo.match(/AVX512_VNNI = 1|AVX512 = 1|AVX2 = 1/g)?.join(', ') ?? '';
    peer = `llama.cpp (${llama.llamaCppRelease.repo} ${llama.llamaCppRelease.release}) via node-llama-cpp, prebuilt CPU build: ${features}`;
  } catch (err) {
    peer = `llama.cpp unavailable: ${(err as Error).message}`;
  }

  const rows: LlmRow[] = [];
  for (const [like, dtype] of CASES) {
    const path = syntheticModel(like, dtype, log);
    log(`effml ${like} ${dtype}`);
    const loaded = await loadModel(path, { threads });
    const r = measureSpeed(loaded.model, { prompts: PROMPTS, decode: DECODE });
    loaded.dispose();
    const effml = { prefill: r.prefill.map((p) => p.tokensPerSecond), decode: r.decodeTokensPerSecond };

    let peerSpeeds: Speeds | null = null;
    if (llama) {
      log(`llama.cpp ${like} ${dtype}`);
      const model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ contextSize: 1024, threads, batchSize: 512 });
      const sequence = context.getSequence();
      const V = loaded.config.vocabSize;
      await sequence.evaluateWithoutGeneratingNewTokens(tokens(16, V)); // warm-up
      const prefill: number[] = [];
      for (const n of PROMPTS) {
        await sequence.clearHistory();
        const t0 = performance.now();
        await sequence.evaluateWithoutGeneratingNewTokens(tokens(n, V));
        prefill.push(n / ((performance.now() - t0) / 1000));
      }
      await sequence.clearHistory();
      await sequence.evaluateWithoutGeneratingNewTokens(tokens(PROMPTS[0], V));
      const t0 = performance.now();
      let generated = 0;
      for await (const token of sequence.evaluate(tokens(1, V), { temperature: 0 })) {
        void token;
        if (++generated >= DECODE) break;
      }
      peerSpeeds = { prefill, decode: DECODE / ((performance.now() - t0) / 1000) };
      await context.dispose();
      await model.dispose();
    }
    rows.push({ model: like, dtype, effml, llamaCpp: peerSpeeds });
  }
  await llama?.dispose();
  return { threads, peer, rows };
}

export function formatLlmReport(r: LlmReport): string {
  const f = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
  const ratio = (a: number, b: number | undefined) => (b === undefined ? '-' : `${(a / b).toFixed(2)}x`);
  const headers = ['model (random weights)', 'dtype'];
  for (const n of PROMPTS) headers.push(`prefill ${n} effml`, 'llama.cpp', 'ratio');
  headers.push('decode effml', 'llama.cpp', 'ratio');
  return [
    `threads: ${r.threads}; peer: ${r.peer}; tok/s, ratio = effml / llama.cpp`,
    table(
      headers,
      r.rows.map((row) => [
        row.model,
        row.dtype,
        ...PROMPTS.flatMap((_, i) => [
          f(row.effml.prefill[i]),
          f(row.llamaCpp?.prefill[i]),
          ratio(row.effml.prefill[i], row.llamaCpp?.prefill[i]),
        ]),
        f(row.effml.decode),
        f(row.llamaCpp?.decode),
        ratio(row.effml.decode, row.llamaCpp?.decode),
      ]),
    ),
  ].join('\n');
}
