import { basename } from 'node:path';
import { writeFileAtomic } from '../formats/atomic-write.js';
import { lineChartSvg } from '../report/svg-chart.js';
import type { StreamPerplexityResult } from './stream-perplexity.js';

/** <prefix>.json (the results), <prefix>.csv (mean NLL per bucket) and <prefix>.svg (its plot). */
export function writeStreamReport(prefix: string, model: string, results: StreamPerplexityResult[]): void {
  const write = (path: string, text: string) =>
    writeFileAtomic(path, (w) => w(new TextEncoder().encode(text)));
  write(`${prefix}.json`, JSON.stringify({ model, results }, null, 2) + '\n');
  const rows = results.flatMap((r) =>
    r.buckets.map((b) =>
      [r.policy, b.end, b.meanNll.toFixed(6), Math.exp(b.meanNll).toFixed(4), b.rssBytes].join(','),
    ),
  );
  write(`${prefix}.csv`, ['policy,tokens,mean_nll,perplexity,rss_bytes', ...rows].join('\n') + '\n');
  write(
    `${prefix}.svg`,
    lineChartSvg({
      title: `${basename(model)}: log perplexity while streaming`,
      xLabel: 'tokens processed',
      yLabel: 'log perplexity (mean NLL per bucket)',
      series: results.map((r) => ({
        name: r.policy === 'sink' ? `sink ${r.sinks}+${r.capacity - r.sinks}` : `${r.policy} ${r.capacity}`,
        points: r.buckets.map((b) => [b.end, b.meanNll] as [number, number]),
      })),
    }),
  );
}
