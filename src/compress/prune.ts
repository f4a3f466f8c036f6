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

/** The magnitude below which all but `keep` of the layer's weights lie. */
export function thresholdForFraction(p: Param, keep: number): number {
  const mags = Float32Array.from(p.data, Math.abs).sort();
  const drop = Math.round((1 - keep) * mags.length);
  return drop === 0 ? -1 : mags[drop - 1];
}

export function keptFraction(p: Param): number {
  if (!p.mask) return 1;
  let kept = 0;
  for (let i = 0; i < p.size; i++) kept += p.mask[i];
  return kept / p.size;
}
