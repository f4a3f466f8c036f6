import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { perplexity } from '../eval/perplexity.js';
import { type ModelOptions, addModelOptions, openModel, positiveInt } from './model-options.js';
import { progress } from './progress.js';

interface PplFlags extends ModelOptions {
  text: string;
  ctx?: string;
  stride?: string;
  perLine?: boolean;
  json?: boolean;
}

export function registerEval(program: Command): void {
  const evalCommand = program.command('eval').description('evaluate a model');
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
