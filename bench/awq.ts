/**
 * AWQ vs RTN quality on real weights: stories260K, perplexity (each non-empty line one sequence) on
 * the first 2,200 lines of the TinyStories sample, calibrated on the remaining lines (disjoint), at
 * W4 and W3 with groups of 64 and 32. Reports how much of RTN's gap to FP32 AWQ closes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from '../src/report/table.js';
import { perplexity } from '../src/eval/perplexity.js';
import { defaultThreads } from '../src/kernels/index.js';
import { DEFAULT_MODEL, loadModel } from '../src/llm/load.js';
import { quantizeLlama } from '../src/quant/quantize.js';

const TEXT = join(
  fileURLToPath(new URL('../../', import.meta.url)),
  '../shared/datasets/tinystories/tinystories_validation_head.txt',
);
const SETTINGS: [number, number][] = [
  [4, 64],
  [4, 32],
  [3, 64],
  [3, 32],
];

export interface AwqRow {
  bits: number;
  groupSize: number;
  rtn: number;
  awq: number;
  /** share of RTN's perplexity gap to FP32 that AWQ closes */
  gapClosed: number;
}

export async function benchAwq(
  log: (line: string) => void,
): Promise<{ fp32: number; evalTokens: number; rows: AwqRow[] }> {
  const lines = readFileSync(TEXT, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const evalText = lines.slice(0, 2200).join('\n');
  const calibText = lines.slice(2200).join('\n');
  const threads = defaultThreads();
  const fp = await loadModel(DEFAULT_MODEL, { threads });
  const base = perplexity(fp.model, fp.tokenizer, evalText, { perLine: true });
  fp.dispose();
  const rows: AwqRow[] = [];
  for (const [bits, groupSize] of SETTINGS) {
    const ppl: Record<string, number> = {};
    for (const method of ['rtn', 'awq'] as const) {
      const m = await loadModel(DEFAULT_MODEL, { threads });
      quantizeLlama(m.model, m.tokenizer, { method, bits, groupSize, calibText });
      ppl[method] = perplexity(m.model, m.tokenizer, evalText, { perLine: true }).perplexity;
      m.dispose();
      log(`w${bits} g${groupSize} ${method}: ${ppl[method].toFixed(4)}`);
    }
    rows.push({
      bits,
      groupSize,
      rtn: ppl.rtn,
      awq: ppl.awq,
      gapClosed: (ppl.rtn - ppl.awq) / (ppl.rtn - base.perplexity),
    });
  }
  return { fp32: base.perplexity, evalTokens: base.tokens, rows };
}

export function formatAwqReport(r: { fp32: number; evalTokens: number; rows: AwqRow[] }): string {
  return [
    `stories260K, perplexity on ${r.evalTokens} tokens (first 2,200 lines; calibration on the rest): FP32 ${r.fp32.toFixed(4)}`,
    table(
      ['setting', 'RTN', 'AWQ', 'gap closed'],
      r.rows.map((x) => [
        `W${x.bits} g${x.groupSize}`,
        x.rtn.toFixed(4),
        x.awq.toFixed(4),
        `${(x.gapClosed * 100).toFixed(0)}%`,
      ]),
    ),
  ].join('\n');
}
