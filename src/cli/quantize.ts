import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { quantizeLlama, saveQuantized } from '../quant/quantize.js';
import { type ModelOptions, addModelOptions, openModel, positiveInt } from './model-options.js';
import { progress } from './progress.js';

interface QuantizeFlags extends ModelOptions {
  method: string;
  bits: string;
  group: string;
  calib?: string;
  samples: string;
  seqLen: string;
  output: string;
  json?: boolean;
}

export function registerQuantize(program: Command): void {
  const command = program
    .command('quantize')
    .description(
      'group-wise weight quantization (RTN, or AWQ with calibration) to int4 / int3, saved as a model folder',
    )
    .argument('<model>', 'an f32 / f16 model: GGUF file, Hugging Face folder or llama2.c checkpoint')
    .requiredOption('-o, --output <dir>', 'folder to write (config.json, model.safetensors, tokenizer)')
    .option('--method <method>', 'rtn or awq', 'awq')
    .option('--bits <n>', 'weight bits, 2 to 4', '4')
    .option('--group <n>', 'input columns per group; 0 = per channel', '128')
    .option('--calib <file>', 'calibration text (AWQ)')
    .option('--samples <n>', 'calibration blocks', '128')
    .option('--seq-len <n>', 'tokens per calibration block', '512')
    .option('--json', 'print the report as JSON');
  addModelOptions(command).action(async (model: string, f: QuantizeFlags) => {
    if (f.method !== 'rtn' && f.method !== 'awq')
      throw new RangeError(`--method must be rtn or awq, got ${f.method}`);
    const group = Number(f.group);
    if (!Number.isInteger(group) || group < 0)
      throw new RangeError(`--group must be an integer >= 0, got ${f.group}`);
    const calibText = f.calib === undefined ? undefined : readFileSync(f.calib, 'utf8');
    const loaded = await openModel(model, f);
    try {
      const bars = new Map<string, ReturnType<typeof progress>>();
      const report = quantizeLlama(loaded.model, loaded.tokenizer, {
        method: f.method,
        bits: positiveInt('--bits', f.bits) as number,
        groupSize: group,
        calibText,
        calibration: {
          samples: positiveInt('--samples', f.samples),
          seqLen: positiveInt('--seq-len', f.seqLen),
        },
        onStage: (stage, done, total) => {
          if (!bars.has(stage)) {
            for (const bar of bars.values()) bar.done();
            bars.set(stage, progress(stage));
          }
          bars.get(stage)?.update(done, total);
        },
      });
      for (const bar of bars.values()) bar.done();
      saveQuantized(f.output, loaded.model, loaded.tokenizer, report);
      if (f.json) console.log(JSON.stringify({ model, output: f.output, ...report }, null, 2));
      else
        console.log(
          `${f.output}: ${report.method.toUpperCase()} int${report.bits}, group ${report.groupSize || 'per channel'}` +
            (report.method === 'awq' ? `, calibrated on ${report.calibrationTokens} tokens` : '') +
            `, ${report.seconds.toFixed(1)} s`,
        );
    } finally {
      loaded.dispose();
    }
  });
}
