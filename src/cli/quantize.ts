import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SMOOTHQUANT_PRESETS, quantizeLlama, saveQuantized, table, UserError } from '../index.js';
import { type ModelOptions, addModelOptions, openModel, positiveInt } from './model-options.js';
import { stagedProgress } from './progress.js';

interface QuantizeFlags extends ModelOptions {
  method: string;
  wBit: string;
  groupSize: string;
  calib?: string;
  calibSamples: string;
  calibSeqlen: string;
  output: string;
  format: string;
  alpha: string;
  act: string;
  weight: string;
  preset?: string;
  json?: boolean;
}

const METHODS = ['rtn', 'awq', 'w8a8', 'smoothquant'] as const;

export function registerQuantize(program: Command): void {
  const command = program
    .command('quantize')
    .description(
      'weight quantization to a model folder: group-wise int4 / int3 (RTN, AWQ) or W8A8 int8 (plain, or SmoothQuant)',
    )
    .argument('<model>', 'an f32 / f16 model: GGUF file, Hugging Face folder or llama2.c checkpoint')
    .requiredOption('-o, --output <dir>', 'folder to write (config.json, model.safetensors, tokenizer)')
    .option('--method <method>', METHODS.join(', '), 'awq')
    .option('--w-bit <n>', 'weight bits, 2 to 4', '4')
    .option('--group-size <n>', 'input columns per group; 0 = per channel', '128')
    .option('--alpha <x>', 'SmoothQuant migration strength, 0 to 1', '0.5')
    .option(
      '--act <mode>',
      'W8A8 activations: per-token (dynamic), per-tensor (dynamic) or static',
      'per-token',
    )
    .option('--weight <mode>', 'W8A8 weights: per-channel or per-tensor', 'per-channel')
    .option(
      '--preset <level>',
      "SmoothQuant's O1, O2 or O3 (per-tensor weights; per-token / per-tensor / static activations)",
    )
    .option('--calib <file>', 'calibration text (AWQ, SmoothQuant, static activation scales)')
    .option('--calib-samples <n>', 'calibration blocks', '128')
    .option('--calib-seqlen <n>', 'tokens per calibration block', '512')
    .option(
      '--format <format>',
      'effml (any bits and groups) or autoawq (AutoAWQ GEMM layout: 4-bit, whole groups)',
      'effml',
    )
    .option('--json', 'print the report as JSON');
  addModelOptions(command).action(async (model: string, f: QuantizeFlags) => {
    const method = METHODS.find((m) => m === f.method);
    if (!method) throw new UserError(`--method must be one of ${METHODS.join(', ')}, got ${f.method}`);
    const w8 = w8a8Flags(f);
    const group = Number(f.groupSize);
    if (!Number.isInteger(group) || group < 0)
      throw new UserError(`--group-size must be an integer >= 0 (0: per channel), got ${f.groupSize}`);
    const bits = positiveInt('--w-bit', f.wBit) as number;
    if (bits < 2 || bits > 4) throw new UserError(`--w-bit must be 2 to 4 (int storage), got ${bits}`);
    if ((method === 'awq' || method === 'smoothquant' || w8.act === 'static') && f.calib === undefined)
      throw new UserError(
        `--method ${method}${w8.act === 'static' ? ' with static activations' : ''} needs --calib <file>`,
      );
    if (f.format !== 'effml' && f.format !== 'autoawq')
      throw new UserError(`--format must be effml or autoawq, got ${f.format}`);
    if (f.format === 'autoawq' && bits !== 4) throw new UserError('--format autoawq needs --w-bit 4');
    const calibText = f.calib === undefined ? undefined : readFileSync(f.calib, 'utf8');
    const loaded = await openModel(model, f);
    try {
      const stages = stagedProgress();
      const report = quantizeLlama(loaded.model, loaded.tokenizer, {
        method,
        ...w8,
        bits,
        groupSize: group,
        calibText,
        calibration: {
          samples: positiveInt('--calib-samples', f.calibSamples),
          seqLen: positiveInt('--calib-seqlen', f.calibSeqlen),
        },
        onStage: (stage, done, total) => stages.update(stage, done, total),
      });
      stages.done();
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
      const layout = report.w8a8
        ? `W8A8 (weights per ${report.w8a8.weight}, activations ${report.w8a8.act}${report.w8a8.alpha === undefined ? '' : `, alpha ${report.w8a8.alpha}`})`
        : `int${report.bits}, group ${report.groupSize || 'per channel'}`;
      console.log(
        `${f.output}: ${report.method.toUpperCase()} ${layout}` +
          (report.calibrationTokens ? `, calibrated on ${report.calibrationTokens} tokens` : '') +
          `, ${report.seconds.toFixed(1)} s`,
      );
    } finally {
      loaded.dispose();
    }
  });
}

/** --preset wins over --weight / --act; names as the CLI spells them, values as the library takes them. */
function w8a8Flags(f: QuantizeFlags): {
  weight: 'channel' | 'tensor';
  act: 'token' | 'tensor' | 'static';
  alpha: number;
} {
  const alpha = Number(f.alpha);
  if (!(alpha >= 0 && alpha <= 1)) throw new UserError(`--alpha must lie in [0, 1], got ${f.alpha}`);
  if (f.preset !== undefined) {
    const preset = SMOOTHQUANT_PRESETS[f.preset as 'O1'];
    if (!preset) throw new UserError(`--preset must be O1, O2 or O3, got ${f.preset}`);
    return { ...preset, alpha };
  }
  const act = { 'per-token': 'token', 'per-tensor': 'tensor', static: 'static' }[f.act] as
    'token' | undefined;
  if (!act) throw new UserError(`--act must be per-token, per-tensor or static, got ${f.act}`);
  const weight = { 'per-channel': 'channel', 'per-tensor': 'tensor' }[f.weight] as 'channel' | undefined;
  if (!weight) throw new UserError(`--weight must be per-channel or per-tensor, got ${f.weight}`);
  return { weight, act, alpha };
}
