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
