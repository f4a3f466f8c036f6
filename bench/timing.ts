/** Seconds per call of `fn`: the median of repeated timings, run for at least `budget` seconds after a warm-up. */
export function secondsPerCall(fn: () => void, budget = 0.5, minRuns = 3): number {
  fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || performance.now() - start < budget * 1000) {
    const t = performance.now();
    fn();
    samples.push((performance.now() - t) / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells
    .map((r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  '))
    .join('\n');
}
