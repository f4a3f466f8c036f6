import type { Command } from 'commander';
import { injectOutliers, saveQuantizedModel } from '../index.js';
import { type ModelOptions, addModelOptions, openModel, positiveInt } from './model-options.js';

export function registerOutliers(program: Command): void {
  const command = program
    .command('outliers')
    .description(
      'write an outlier-injected twin of an f32 model, equal in floating point: a few RMSNorm channels x factor, ' +
        'the next linears’ columns / factor (for studying W8A8 and SmoothQuant)',
    )
    .argument(
      '[model]',
      'an f32 / f16 model: GGUF file, Hugging Face folder or llama2.c checkpoint (default: the bundled stories260K)',
    )
    .requiredOption('-o, --output <dir>', 'model folder to write')
    .option('--channels <n>', 'channels per norm', '4')
    .option('--factor <n>', 'a power of two (exact scaling)', '64')
    .option('--seed <n>', 'which channels', '1');
  addModelOptions(command).action(
    async (
      model: string,
      f: ModelOptions & { output: string; channels: string; factor: string; seed: string },
    ) => {
      const loaded = await openModel(model, f);
      try {
        const picked = injectOutliers(loaded.model, {
          channels: positiveInt('--channels', f.channels),
          factor: positiveInt('--factor', f.factor),
          seed: positiveInt('--seed', f.seed),
        });
        saveQuantizedModel(f.output, loaded.model, loaded.tokenizer, null);
        console.log(
          `${f.output}: channels x${f.factor} per layer: ${picked.map((p, l) => `${l}: ${p.join(' ')}`).join('; ')}`,
        );
      } finally {
        loaded.dispose();
      }
    },
  );
}
