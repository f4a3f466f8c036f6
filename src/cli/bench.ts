import type { Command } from 'commander';
import { measureSpeed } from '../index.js';
import { type ModelOptions, addModelOptions, openModel, positiveInt } from './model-options.js';

interface BenchFlags extends ModelOptions {
  n: string;
  json?: boolean;
}

export function registerBench(program: Command): void {
  const command = program
    .command('bench')
    .description(
      'prefill tok/s (128 and 512 prompt tokens), decode tok/s, time to first token and peak RSS of a model',
    )
    .argument(
      '[model]',
      'GGUF file, Hugging Face folder or llama2.c checkpoint (default: the bundled stories260K)',
    )
    .option('-n <tokens>', 'tokens to decode', '64')
    .option('--json', 'print JSON');
  addModelOptions(command).action(async (model: string | undefined, f: BenchFlags) => {
    const loaded = await openModel(model, f);
    try {
      const r = measureSpeed(loaded.model, { decode: positiveInt('-n', f.n) });
      if (f.json) {
        console.log(JSON.stringify({ model: loaded.path, threads: loaded.backend.threads, ...r }, null, 2));
        return;
      }
      console.log(`${loaded.path} (${loaded.backend.name}, ${loaded.backend.threads} threads)`);
      for (const p of r.prefill)
        console.log(`prefill ${String(p.tokens).padStart(4)} tokens  ${p.tokensPerSecond.toFixed(1)} tok/s`);
      console.log(
        `decode   ${String(r.decodeTokens).padStart(4)} tokens  ${r.decodeTokensPerSecond.toFixed(1)} tok/s`,
      );
      console.log(
        `time to first token  ${r.timeToFirstTokenMs.toFixed(1)} ms (${r.prefill[0]?.tokens ?? 1}-token prompt)`,
      );
      console.log(`peak RSS  ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
    } finally {
      loaded.dispose();
    }
  });
}
