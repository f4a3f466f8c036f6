import type { Command } from 'commander';
import {
  DEFAULT_VOCABULARY,
  SYNTH_PRESETS,
  type SynthDType,
  readLlama2cTokenizer,
  synthesize,
  tokenizerFromLlama2c,
  UserError,
} from '../index.js';
import { positiveInt } from './model-options.js';
import { progress } from './progress.js';

const DTYPES = ['f32', 'f16', 'q8_0', 'q4_0'];

export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description(
      "write a model with a real architecture's exact shapes and RANDOM weights, for speed measurements",
    )
    .requiredOption('--like <name>', `shapes of: ${Object.keys(SYNTH_PRESETS).join(', ')}`)
    .requiredOption('-o, --output <path>', 'GGUF file, or folder for --format hf')
    .option('--format <format>', 'gguf or hf', 'gguf')
    .option('--dtype <dtype>', DTYPES.join(', '), 'f32')
    .option(
      '--vocab <tokenizer.bin>',
      'a real llama2.c vocabulary, padded with unused tokens to the model size (default: the bundled 512-token one)',
    )
    .option('--seed <n>', 'random seed', '0')
    .option('--ctx <n>', 'cap the context length')
    .option('--layers <n>', 'fewer layers than the real model (same shapes per layer)')
    .action(
      (o: {
        like: string;
        output: string;
        format: string;
        dtype: string;
        vocab?: string;
        seed: string;
        ctx?: string;
        layers?: string;
      }) => {
        if (o.format !== 'gguf' && o.format !== 'hf')
          throw new UserError(`--format must be gguf or hf, got ${o.format}`);
        if (!DTYPES.includes(o.dtype))
          throw new UserError(`--dtype must be one of ${DTYPES.join(', ')}, got ${o.dtype}`);
        const vocabFile = o.vocab ?? DEFAULT_VOCABULARY;
        const vocab = tokenizerFromLlama2c(readLlama2cTokenizer(vocabFile)).vocab;
        const bar = progress('writing');
        const r = synthesize(o.output, {
          like: o.like,
          format: o.format,
          dtype: o.dtype as SynthDType,
          vocab,
          seed: Number(o.seed),
          contextLength: positiveInt('--ctx', o.ctx),
          layers: positiveInt('--layers', o.layers),
          onTensor: (done, total) => bar.update(done, total),
        });
        bar.done();
        console.log(
          `${r.path}: ${o.like} shapes, ${r.parameters.toLocaleString('en-US')} parameters, ${o.dtype}, RANDOM weights (seed ${o.seed}); ` +
            `vocabulary ${vocab.pieces.length} real tokens from ${vocabFile} + ${r.paddedTokens} unused. Its text is meaningless: use it for speed only.`,
        );
      },
    );
}
