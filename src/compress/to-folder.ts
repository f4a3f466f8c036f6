import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeEffml } from '../formats/effml.js';
import { accuracy } from '../nn/train.js';
import { type DeepCompressionOptions, deepCompression } from './deep-compression.js';
import { loadCompressed } from './load.js';
import { writeCompressionPlots } from './plots.js';
import { type CompressionSummary, compressionReportJson, formatCompressionReport } from './report.js';

/**
 * Deep Compression into `dir`: model.effml, read back to check that it gives exactly the test
 * accuracy measured before saving, then report.json, report.md and the plots.
 */
export function compressToFolder(dir: string, options: DeepCompressionOptions): CompressionSummary {
  const t0 = performance.now();
  const { report, file, net } = deepCompression(options);
  net.dispose();
  mkdirSync(dir, { recursive: true });
  const modelPath = join(dir, 'model.effml');
  const fileBytes = writeEffml(modelPath, file);
  const decoded = loadCompressed(modelPath, options.backend).net;
  const decodedAccuracy = accuracy(decoded, options.test);
  decoded.dispose();
  const summary: CompressionSummary = {
    ...report,
    fileBytes,
    ratio: report.originalBytes / fileBytes,
    decodedAccuracy,
    wallSeconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(join(dir, 'report.json'), compressionReportJson(summary) + '\n');
  const examples = { train: options.train.count, test: options.test.count };
  writeFileSync(join(dir, 'report.md'), formatCompressionReport(summary, examples) + '\n');
  writeCompressionPlots(dir, report);
  if (decodedAccuracy !== report.accuracy.finetuned)
    throw new Error(
      `decoded accuracy ${decodedAccuracy} differs from ${report.accuracy.finetuned} measured before saving`,
    );
  return summary;
}
