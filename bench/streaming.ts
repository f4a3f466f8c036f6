/**
 * StreamingLLM at real shapes: greedy decoding of synthetic SmolLM2-135M (random weights, Q8_0)
 * with the attention-sink cache (4 + 1020 slots) far past its window, against the full cache of
 * the same size, which stops there. Reports decode tok/s over each stretch and resident memory at
 * 1k, 10k and 100k generated tokens.
 */
import { table } from '../src/report/table.js';
import { defaultThreads } from '../src/kernels/index.js';
import { loadModel } from '../src/llm/load.js';
import { argmax } from '../src/llm/sampler.js';
import { Session } from '../src/llm/session.js';
import { syntheticModel } from './models.js';

/** 4 sinks + 1020 recent tokens, the paper's cache for Falcon, Pythia and MPT */
const CAPACITY = 1024;
const CHECKPOINTS = (process.env.EFFML_STREAM_CHECKPOINTS ?? '1000,10000,100000').split(',').map(Number);

export interface StreamRow {
  policy: string;
  generated: number;
  /** decode tok/s over the stretch since the previous checkpoint */
  tokensPerSecond: number;
  rssMiB: number;
  cacheSlots: number;
  stopped: string | null;
}

export async function benchStreaming(
  log: (line: string) => void,
): Promise<{ model: string; rows: StreamRow[] }> {
  const path = syntheticModel('smollm2-135m', 'q8_0', log);
  const loaded = await loadModel(path, { threads: defaultThreads() });
  const rows: StreamRow[] = [];
  for (const policy of ['sink', 'full'] as const) {
    const session = new Session(loaded.model, loaded.tokenizer, { policy, capacity: CAPACITY });
    let logits = session.append([1]);
    let generated = 0;
    let t0 = performance.now();
    let since = 0;
    for (const checkpoint of CHECKPOINTS) {
      let stopped: string | null = null;
      while (generated < checkpoint) {
        if (policy === 'full' && session.cache.full) {
          stopped = `context full at ${session.cache.position} tokens`;
          break;
        }
        logits = session.append([argmax(logits)]);
        generated++;
      }
      const seconds = (performance.now() - t0) / 1000;
      rows.push({
        policy,
        generated,
        tokensPerSecond: (generated - since) / seconds,
        rssMiB: process.memoryUsage().rss / 2 ** 20,
        cacheSlots: session.cache.length,
        stopped,
      });
      log(`${policy} ${generated}: ${rows[rows.length - 1].tokensPerSecond.toFixed(1)} tok/s`);
      if (stopped) break;
      t0 = performance.now();
      since = generated;
    }
    session.dispose();
  }
  loaded.dispose();
  return { model: `${path} (synthetic SmolLM2-135M shapes, random weights, Q8_0)`, rows };
}

export function formatStreamingReport(r: { model: string; rows: StreamRow[] }): string {
  return [
    r.model,
    table(
      ['policy', 'generated', 'tok/s (stretch)', 'RSS MiB', 'cache slots', 'note'],
      r.rows.map((row) => [
        row.policy,
        row.generated,
        row.tokensPerSecond.toFixed(1),
        row.rssMiB.toFixed(0),
        row.cacheSlots,
        row.stopped ?? '',
      ]),
    ),
  ].join('\n');
}
