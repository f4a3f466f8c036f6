/**
 * SmoothQuant: (1) quality: perplexity of stories260K and of its outlier-injected twin (exactly the
 * same function in fp; `effml outliers`) in FP32, naive W8A8 and SmoothQuant W8A8, each line of the
 * first 2,200 of the TinyStories sample one sequence, calibrated on the remaining lines; (2) speed:
 * prefill (and decode) tok/s of the same model with f32 and with W8A8 int8 linears, on synthetic
 * SmolLM2-135M and TinyLlama-1.1B shapes, in this run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from '../src/report/table.js';
import { perplexity } from '../src/eval/perplexity.js';
import { measureSpeed } from '../src/eval/speed.js';
import { defaultThreads } from '../src/kernels/index.js';
import { DEFAULT_MODEL, type LoadedModel, loadModel } from '../src/llm/load.js';
import { injectOutliers } from '../src/quant/outliers.js';
import { quantizeLlama } from '../src/quant/quantize.js';
import { quantizeW8A8 } from '../src/quant/smoothquant.js';
import { syntheticModel } from './models.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TEXT = join(REPO, '../shared/datasets/tinystories/tinystories_validation_head.txt');
/** [preset, layers kept: an f32 TinyLlama does not fit the 4 GiB WASM heap, so fewer of its identical layers] */
const SPEED_CASES: [string, number | undefined][] = [
  ['smollm2-135m', undefined],
  ['tinyllama-1.1b', 8],
];
const PROMPTS = [128, 512];

export interface SmoothQuantReport {
  evalTokens: number;
  quality: { model: string; fp32: number; w8a8: number; smoothquant: number }[];
  speed: {
    model: string;
    layers: number;
    f32: number[];
    int8: number[];
    decodeF32: number;
    decodeInt8: number;
  }[];
}

export async function benchSmoothQuant(log: (line: string) => void): Promise<SmoothQuantReport> {
  const threads = defaultThreads();
  const lines = readFileSync(TEXT, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const evalText = lines.slice(0, 2200).join('\n');
  const calibText = lines.slice(2200).join('\n');
  const quality: SmoothQuantReport['quality'] = [];
  let evalTokens = 0;
  for (const twin of [false, true]) {
    const ppl: Record<string, number> = {};
    for (const method of ['fp32', 'w8a8', 'smoothquant'] as const) {
      const loaded = await loadModel(DEFAULT_MODEL, { threads });
      if (twin) injectOutliers(loaded.model);
      if (method !== 'fp32')
        quantizeLlama(loaded.model, loaded.tokenizer, {
          method,
          bits: 8,
          groupSize: 0,
          alpha: 0.5,
          calibText,
        });
      const r = perplexity(loaded.model, loaded.tokenizer, evalText, { perLine: true });
      ppl[method] = r.perplexity;
      evalTokens = r.tokens;
      loaded.dispose();
      log(`${twin ? 'outlier twin' : 'stories260K'} ${method}: ${r.perplexity.toFixed(4)}`);
    }
    quality.push({
      model: twin ? 'stories260K outlier twin' : 'stories260K',
      fp32: ppl.fp32,
      w8a8: ppl.w8a8,
      smoothquant: ppl.smoothquant,
    });
  }

  const speed: SmoothQuantReport['speed'] = [];
  for (const [like, layers] of SPEED_CASES) {
    const path = syntheticModel(like, 'f16', log, layers);
    const loaded: LoadedModel = await loadModel(path, { threads });
    const f32 = measureSpeed(loaded.model, { prompts: PROMPTS, decode: 16 });
    quantizeW8A8(loaded.model, { weight: 'channel', act: 'token' }, null);
    const int8 = measureSpeed(loaded.model, { prompts: PROMPTS, decode: 16 });
    speed.push({
      model: like,
      layers: loaded.config.nLayers,
      f32: f32.prefill.map((p) => p.tokensPerSecond),
      int8: int8.prefill.map((p) => p.tokensPerSecond),
      decodeF32: f32.decodeTokensPerSecond,
      decodeInt8: int8.decodeTokensPerSecond,
    });
    log(
      `${like}: prefill ${PROMPTS[1]} f32 ${f32.prefill[1].tokensPerSecond.toFixed(1)}, int8 ${int8.prefill[1].tokensPerSecond.toFixed(1)} tok/s`,
    );
    loaded.dispose();
  }
  return { evalTokens, quality, speed };
}

export function formatSmoothQuantReport(r: SmoothQuantReport): string {
  const pct = (x: number, base: number) =>
    `${x.toFixed(4)} (${x >= base ? '+' : ''}${(((x - base) / base) * 100).toFixed(2)}%)`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  return [
    `perplexity, ${r.evalTokens} tokens (each line one sequence), W8A8 = int8 weights per channel, int8 activations per token`,
    table(
      ['model', 'FP32', 'naive W8A8', 'SmoothQuant W8A8 (alpha 0.5)'],
      r.quality.map((q) => [q.model, q.fp32.toFixed(4), pct(q.w8a8, q.fp32), pct(q.smoothquant, q.fp32)]),
    ),
    '',
    'speed, tok/s (synthetic weights, real shapes; f32 and int8 linears of the same model)',
    table(
      [
        'model',
        ...PROMPTS.flatMap((n) => [`prefill ${n} f32`, 'int8', 'ratio']),
        'decode f32',
        'int8',
        'ratio',
      ],
      r.speed.map((s) => [
        `${s.model} (${s.layers} layers)`,
        ...PROMPTS.flatMap((_, i) => [s.f32[i].toFixed(1), s.int8[i].toFixed(1), ratio(s.int8[i], s.f32[i])]),
        s.decodeF32.toFixed(1),
        s.decodeInt8.toFixed(1),
        ratio(s.decodeInt8, s.decodeF32),
      ]),
    ),
  ].join('\n');
}
