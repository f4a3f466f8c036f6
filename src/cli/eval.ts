import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type StreamPerplexityResult,
  perplexity,
  streamPerplexityPolicies,
  table,
  writeStreamReport,
} from '../index.js';
import {
  type CacheFlags,
  type ModelOptions,
  addModelOptions,
  cacheFrom,
  openModel,
  positiveInt,
} from './model-options.js';
import { progress, stagedProgress } from './progress.js';

interface PplFlags extends ModelOptions {
  text: string;
  ctx?: string;
  stride?: string;
  perLine?: boolean;
  json?: boolean;
}

export function registerEval(program: Command): void {
  const evalCommand = program.command('eval').description('evaluate a model');
  registerStreamPpl(evalCommand);
  const ppl = evalCommand
    .command('ppl')
    .description('perplexity of a model on a text file')
    .argument('<model>', 'GGUF file, Hugging Face folder or llama2.c checkpoint')
    .requiredOption('--text <file>', 'UTF-8 text to score')
    .option('--ctx <n>', 'tokens per window or sequence (default: the model context)')
    .option('--stride <n>', 'sliding window step (default: ctx)')
    .option('--per-line', 'each non-empty line is one sequence: [BOS] + its tokens, truncated to ctx')
    .option('--json', 'print JSON');
  addModelOptions(ppl).action(async (model: string, f: PplFlags) => {
    const text = readFileSync(f.text, 'utf8');
    const loaded = await openModel(model, f);
    const bar = progress('perplexity');
    try {
      const t0 = performance.now();
      const r = perplexity(loaded.model, loaded.tokenizer, text, {
        ctx: positiveInt('--ctx', f.ctx),
        stride: positiveInt('--stride', f.stride),
        perLine: f.perLine,
        onProgress: (done, total) => bar.update(done, total),
      });
      bar.done();
      const seconds = (performance.now() - t0) / 1000;
      if (f.json) console.log(JSON.stringify({ model, text: f.text, ...r, seconds }, null, 2));
      else
        console.log(
          `perplexity ${r.perplexity.toFixed(4)} (mean NLL ${r.meanNll.toFixed(6)} over ${r.tokens} tokens, ${r.sequences} sequences, ${seconds.toFixed(1)} s)`,
        );
    } finally {
      bar.done();
      loaded.dispose();
    }
  });
}

interface StreamFlags extends ModelOptions, CacheFlags {
  text: string;
  tokens?: string;
  recomputeTokens: string;
  bucket: string;
  out?: string;
  json?: boolean;
}

function registerStreamPpl(evalCommand: Command): void {
  const command = evalCommand
    .command('stream-ppl')
    .description(
      'StreamingLLM evaluation: feed a text one token at a time far past the context under each cache policy; ' +
        'NLL per position bucket, speed and memory; writes <out>.csv, <out>.json and an <out>.svg plot',
    )
    .argument('<model>', 'GGUF file, Hugging Face folder or llama2.c checkpoint')
    .requiredOption('--text <file>', 'UTF-8 text (repeated to reach --tokens)')
    .option(
      '--cache <policies>',
      'comma-separated: full, window, sink, recompute',
      'full,window,sink,recompute',
    )
    .option('--sink-tokens <n>', 'attention sinks for the sink policy', '4')
    .option('--window <n>', 'recent tokens kept (default: the context minus the sinks)')
    .option('--tokens <n>', 'tokens to stream (default: the text once)')
    .option(
      '--recompute-tokens <n>',
      'at most this many tokens for recompute, which costs a whole window per token',
      '2000',
    )
    .option('--bucket <n>', 'positions per NLL bucket', '1000')
    .option('--out <prefix>', 'write <prefix>.csv, <prefix>.json and <prefix>.svg')
    .option('--json', 'print JSON');
  addModelOptions(command).action(async (model: string, f: StreamFlags) => {
    const text = readFileSync(f.text, 'utf8');
    const tokens = positiveInt('--tokens', f.tokens);
    const recomputeTokens = positiveInt('--recompute-tokens', f.recomputeTokens) as number;
    const policies = f.cache?.split(',').map((p) => p.trim()) ?? [];
    const caches = policies.map((p) => cacheFrom(f, p)); // validates every policy before the long run
    const bucket = positiveInt('--bucket', f.bucket);
    const loaded = await openModel(model, f);
    const stages = stagedProgress();
    let results: StreamPerplexityResult[];
    try {
      results = streamPerplexityPolicies(loaded.model, loaded.tokenizer, text, {
        caches,
        tokens,
        recomputeTokens,
        bucket,
        onProgress: (i, done, total) => stages.update(policies[i], done, total),
      });
    } finally {
      stages.done();
      loaded.dispose();
    }
    if (f.out) writeStreamReport(f.out, model, results);
    if (f.json) {
      console.log(JSON.stringify({ model, text: f.text, results }, null, 2));
      return;
    }
    console.log(`${model}, context ${loaded.config.contextLength}, text ${f.text}`);
    console.log(
      table(
        ['policy', 'cache', 'tokens', 'perplexity', 'tok/s', 'peak RSS MiB'],
        results.map((r) => [
          r.policy,
          r.policy === 'sink' ? `${r.sinks} + ${r.capacity - r.sinks}` : String(r.capacity),
          String(r.tokens),
          r.perplexity.toFixed(3),
          r.tokensPerSecond.toFixed(1),
          (r.peakRssBytes / 2 ** 20).toFixed(0),
        ]),
      ),
    );
    if (f.out) console.log(`wrote ${f.out}.csv, ${f.out}.json, ${f.out}.svg`);
  });
}
