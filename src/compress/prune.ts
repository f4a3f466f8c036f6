import type { Param } from '../nn/param.js';

/** Standard deviation of a layer's surviving weights. */
export function weightStd(p: Param): number {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < p.size; i++) {
    if (p.mask && !p.mask[i]) continue;
    n++;
    sum += p.data[i];
    sq += p.data[i] * p.data[i];
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}

/** Removes every weight with |w| <= threshold; pruned weights stay pruned. */
export function pruneBelow(p: Param, threshold: number): void {
  const mask = p.mask ?? new Uint8Array(p.size).fill(1);
  for (let i = 0; i < p.size; i++) if (Math.abs(p.data[i]) <= threshold) mask[i] = 0;
  p.mask = mask;
  p.applyMask();
}

/** The magnitude at or below which all but the `keep` fraction of the values lie (-1: keep all). */
export function thresholdForFraction(values: Float32Array, keep: number): number {
  const mags = Float32Array.from(values, Math.abs).sort();
  const drop = Math.round((1 - keep) * mags.length);
  return drop === 0 ? -1 : mags[drop - 1];
}
