import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { quantizeLlama, saveQuantized } from '../quant/quantize.js';
import { type ModelOptions, addModelOptions, openModel, positiveInt } from './model-options.js';
import { progress } from './progress.js';
import { table } from './table.js';

interface QuantizeFlags extends ModelOptions {
  method: string;
  wBit: string;
  groupSize: string;
  calib?: string;
  calibSamples: string;
  calibSeqlen: string;
  output: string;
  format: string;
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
    .option('--w-bit <n>', 'weight bits, 2 to 4', '4')
    .option('--group-size <n>', 'input columns per group; 0 = per channel', '128')
    .option('--calib <file>', 'calibration text (AWQ)')
    .option('--calib-samples <n>', 'calibration blocks', '128')
    .option('--calib-seqlen <n>', 'tokens per calibration block', '512')
    .option(
      '--format <format>',
      'effml (any bits and groups) or autoawq (AutoAWQ GEMM layout: 4-bit, whole groups)',
      'effml',
    )
    .option('--json', 'print the report as JSON');
  addModelOptions(command).action(async (model: string, f: QuantizeFlags) => {
    if (f.method !== 'rtn' && f.method !== 'awq')
      throw new RangeError(`--method must be rtn or awq, got ${f.method}`);
    const group = Number(f.groupSize);
    if (!Number.isInteger(group) || group < 0)
      throw new RangeError(`--group-size must be an integer >= 0 (0: per channel), got ${f.groupSize}`);
    const bits = positiveInt('--w-bit', f.wBit) as number;
    if (bits < 2 || bits > 4) throw new RangeError(`--w-bit must be 2 to 4 (int storage), got ${bits}`);
    if (f.method === 'awq' && f.calib === undefined)
      throw new RangeError('--method awq needs --calib <file>');
    if (f.format !== 'effml' && f.format !== 'autoawq')
      throw new RangeError(`--format must be effml or autoawq, got ${f.format}`);
    if (f.format === 'autoawq' && bits !== 4) throw new RangeError('--format autoawq needs --w-bit 4');
    const calibText = f.calib === undefined ? undefined : readFileSync(f.calib, 'utf8');
    const loaded = await openModel(model, f);
    try {
      const bars = new Map<string, ReturnType<typeof progress>>();
      const report = quantizeLlama(loaded.model, loaded.tokenizer, {
        method: f.method,
        bits,
        groupSize: group,
        calibText,
        calibration: {
          samples: positiveInt('--calib-samples', f.calibSamples),
          seqLen: positiveInt('--calib-seqlen', f.calibSeqlen),
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
      saveQuantized(f.output, loaded.model, loaded.tokenizer, report, f.format);
      if (f.json) {
        console.log(JSON.stringify({ model, output: f.output, ...report }, null, 2));
        return;
      }
      console.log(
        table(
          [
            'layer',
            'weight error',
            ...(report.ratios ? ['alpha qkv', 'alpha o', 'alpha gate/up', 'alpha down'] : []),
          ],
          report.layerErrors.map((e, l) => {
            const r = report.ratios?.[l];
            const alpha = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
            return [
              String(l),
              e.toExponential(3),
              ...(r ? [alpha(r.qkv), alpha(r.o), alpha(r.gateUp), alpha(r.down)] : []),
            ];
          }),
        ),
      );
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
