import type { Command } from 'commander';
import { type SamplingOptions, Session } from '../index.js';
import {
  type CacheFlags,
  type ModelOptions,
  addCacheOptions,
  addModelOptions,
  cacheFrom,
  numberOption,
  openModel,
  positiveInt,
} from './model-options.js';

export interface SamplingFlags {
  temp?: string;
  topK?: string;
  topP?: string;
  minP?: string;
  repeatPenalty?: string;
  seed?: string;
}

export function addSamplingOptions(command: Command): Command {
  return command
    .option('--temp <t>', 'temperature; 0 = greedy (default 0.8)')
    .option('--top-k <k>', 'keep the k most likely tokens; 0 = all (default 40)')
    .option('--top-p <p>', 'nucleus sampling mass (default 0.95)')
    .option('--min-p <p>', 'drop tokens below p x the top probability (default 0.05)')
    .option('--repeat-penalty <r>', 'penalty on the last 64 tokens; 1 = off (default 1)')
    .option('--seed <n>', 'random seed: the same seed gives the same text');
}

export function samplingFrom(f: SamplingFlags): SamplingOptions {
  const options: SamplingOptions = {
    temperature: numberOption('--temp', f.temp),
    topK: numberOption('--top-k', f.topK),
    topP: numberOption('--top-p', f.topP),
    minP: numberOption('--min-p', f.minP),
    repetitionPenalty: numberOption('--repeat-penalty', f.repeatPenalty),
    seed: numberOption('--seed', f.seed),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

interface GenerateFlags extends ModelOptions, SamplingFlags, CacheFlags {
  prompt: string;
  n: string;
  stop?: string[];
  json?: boolean;
}

export function registerGenerate(program: Command): void {
  const command = program
    .command('generate')
    .description(
      'continue a prompt, streaming the text to stdout as it is made (default model: the bundled stories260K)',
    )
    .argument('[model]', 'GGUF file, Hugging Face folder or llama2.c checkpoint')
    .option('-p, --prompt <text>', 'the text to continue (empty: start from BOS)', '')
    .option('-n <tokens>', 'most tokens to generate', '128')
    .option('--stop <text...>', 'stop before any of these strings')
    .option('--json', 'print one JSON object with the text, token counts and timings instead of streaming');
  addCacheOptions(addSamplingOptions(addModelOptions(command))).action(
    async (model: string | undefined, f: GenerateFlags) => {
      const maxTokens = positiveInt('-n', f.n);
      const sampling = samplingFrom(f);
      const cache = cacheFrom(f);
      const loaded = await openModel(model, f);
      try {
        const session = new Session(loaded.model, loaded.tokenizer, cache);
        const prompt = loaded.tokenizer.encode(f.prompt);
        if (!f.json) process.stdout.write(f.prompt);
        const abort = new AbortController();
        const onSigint = () => abort.abort();
        process.once('SIGINT', onSigint);
        const result = await session.generate(prompt, {
          ...sampling,
          maxTokens,
          stop: f.stop,
          signal: abort.signal,
          onText: f.json ? undefined : (text) => process.stdout.write(text),
        });
        process.off('SIGINT', onSigint);
        const stats = {
          promptTokens: result.promptTokens,
          generatedTokens: result.tokens.length,
          stopReason: result.stopReason,
          prefillTokensPerSecond: result.promptTokens / result.prefillSeconds,
          decodeTokensPerSecond: result.tokens.length / result.decodeSeconds,
        };
        if (f.json)
          console.log(
            JSON.stringify({ prompt: f.prompt, text: result.text, tokens: result.tokens, ...stats }, null, 2),
          );
        else {
          process.stdout.write('\n');
          if (process.stderr.isTTY)
            process.stderr.write(
              `[${stats.generatedTokens} tokens, ${stats.decodeTokensPerSecond.toFixed(1)} tok/s, stopped: ${stats.stopReason}]\n`,
            );
        }
      } finally {
        loaded.dispose();
      }
    },
  );
}
