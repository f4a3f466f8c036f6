/** The plots of a Deep Compression run: pruning sensitivity and each layer's weight distribution. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { histogram, lineChartSvg } from '../report/svg-chart.js';
import type { DeepCompressionReport } from './deep-compression.js';

/** sensitivity.svg (when the sweep ran) and weights-<layer>.svg into `dir`. */
export function writeCompressionPlots(dir: string, r: DeepCompressionReport): void {
  if (r.sensitivity.length && r.sensitivity[0].points.length)
    writeFileSync(
      join(dir, 'sensitivity.svg'),
      lineChartSvg({
        title: `${r.network}: pruning sensitivity (one layer pruned, no retraining)`,
        xLabel: 'fraction of weights kept',
        yLabel: 'test accuracy',
        series: r.sensitivity.map((s) => ({ name: s.layer, points: s.points })),
      }),
    );
  for (const d of r.distributions) {
    let [lo, hi] = [Infinity, -Infinity];
    for (const v of d.dense) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    writeFileSync(
      join(dir, `weights-${d.layer}.svg`),
      lineChartSvg({
        title: `${r.network} ${d.layer}: weight distribution`,
        xLabel: 'weight value',
        yLabel: 'count',
        series: [
          { name: 'dense', points: histogram(d.dense, 100, lo, hi) },
          { name: 'after pruning', points: histogram(d.pruned, 100, lo, hi) },
        ],
        markers: { name: 'shared weights', xs: [...d.codebook] },
      }),
    );
  }
}
