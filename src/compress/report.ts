/** The report of a Deep Compression run as report.md text and report.json. */
import { percent } from '../report/percent.js';
import { table } from '../report/table.js';
import type { DeepCompressionReport } from './deep-compression.js';

/** deepCompression's report and what saving the file measured. */
export interface CompressionSummary extends DeepCompressionReport {
  fileBytes: number;
  /** originalBytes / fileBytes */
  ratio: number;
  /** test accuracy of the network read back from the file */
  decodedAccuracy: number;
  wallSeconds: number;
}

/** decimal kilobytes, as the paper counts */
const kb = (b: number) => `${(b / 1000).toFixed(1)} KB`;

/** Everything but the weight distributions (they are the plots). */
export function compressionReportJson(r: CompressionSummary): string {
  return JSON.stringify({ ...r, distributions: undefined }, null, 2);
}

export function formatCompressionReport(
  r: CompressionSummary,
  examples: { train: number; test: number },
): string {
  const rows = r.layers.map((l) => [
    l.name,
    l.weights,
    percent(l.kept),
    l.weightBits,
    l.indexBits,
    l.huffmanWeightBits.toFixed(2),
    l.huffmanIndexBits.toFixed(2),
    l.fillers,
    kb(l.bytes),
  ]);
  const totalWeights = r.layers.reduce((a, l) => a + l.weights, 0);
  const kept = r.layers.reduce((a, l) => a + l.kept * l.weights, 0);
  rows.push(['total', totalWeights, percent(kept / totalWeights), '', '', '', '', '', kb(r.payloadBytes)]);
  const a = r.accuracy;
  return [
    `# Deep Compression of ${r.network} (${examples.train} training / ${examples.test} test images)`,
    '',
    table(
      ['layer', '#weights', 'kept', 'w bits', 'idx bits', 'huff w', 'huff idx', 'fillers', 'bytes'],
      rows,
    ),
    '',
    `original (f32) ${kb(r.originalBytes)} -> file ${kb(r.fileBytes)} (payload ${kb(r.payloadBytes)}): ${r.ratio.toFixed(1)}x smaller`,
    `test accuracy: baseline ${percent(a.baseline)}, pruned ${percent(a.pruned)}, shared ${percent(a.quantized)}, fine-tuned ${percent(a.finetuned)}, decoded from the file ${percent(r.decodedAccuracy)}`,
    `accuracy change vs baseline: ${((a.finetuned - a.baseline) * 100).toFixed(2)} points`,
    `time: ${Object.entries(r.seconds)
      .map(([k, s]) => `${k} ${s.toFixed(1)}s`)
      .join(', ')}; whole run ${r.wallSeconds.toFixed(1)}s`,
  ].join('\n');
}
