/**
 * One-dimensional k-means (Lloyd) for weight sharing. Deep Compression's best initialization is
 * linear: centroids spaced evenly between the smallest and largest weight. On sorted values each
 * cluster is a contiguous range, so an iteration costs O(k log n) with prefix sums.
 */
export function kmeans1d(values: Float32Array, k: number, maxIterations = 100): Float32Array {
  if (values.length === 0) return new Float32Array(k);
  const sorted = Float32Array.from(values).sort();
  const prefix = new Float64Array(sorted.length + 1);
  for (let i = 0; i < sorted.length; i++) prefix[i + 1] = prefix[i] + sorted[i];
  const [lo, hi] = [sorted[0], sorted[sorted.length - 1]];
  const c = Float64Array.from({ length: k }, (_, i) =>
    k === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (k - 1),
  );
  for (let it = 0; it < maxIterations; it++) {
    let moved = false;
    let start = 0;
    for (let j = 0; j < k; j++) {
      const end = j === k - 1 ? sorted.length : lowerBound(sorted, (c[j] + c[j + 1]) / 2);
      if (end > start) {
        const mean = (prefix[end] - prefix[start]) / (end - start);
        if (mean !== c[j]) moved = true;
        c[j] = mean;
      }
      start = Math.max(start, end);
    }
    if (!moved) break;
  }
  return Float32Array.from(c);
}

/** Index of the nearest of the sorted centroids. */
export function nearest(centroids: Float32Array, v: number): number {
  let lo = 0;
  let hi = centroids.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v > (centroids[mid] + centroids[mid + 1]) / 2) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is >= v (values sorted ascending). */
function lowerBound(values: Float32Array, v: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
