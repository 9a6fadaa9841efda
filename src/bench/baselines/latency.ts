/**
 * Latency summary shared by every baseline (and by the C programs, which use the same rule).
 *
 * Percentiles are nearest-rank on the sorted samples: pXX = sorted[ceil(XX/100 * n) - 1].
 * No interpolation, so every reported figure is a latency that was actually observed.
 */

export interface LatencySummary {
  p50Ns: number;
  p99Ns: number;
  p999Ns: number;
  meanNs: number;
}

function rank(sorted: Float64Array, n: number, q: number): number {
  const i = Math.ceil(q * n) - 1;
  return sorted[i < 0 ? 0 : i >= n ? n - 1 : i]!;
}

/**
 * Summarise the first `n` entries of `samples` (nanoseconds in, nanoseconds out).
 * `samples` is not modified (a sorted copy is made; this runs once, after the timed section).
 * With n === 0 every field is NaN: there is nothing to summarise and 0 would be a lie.
 */
export function percentiles(samples: Float64Array, n: number): LatencySummary {
  if (!Number.isInteger(n) || n < 0 || n > samples.length) {
    throw new RangeError(`percentiles: n must be an integer in [0, ${samples.length}], got ${n}`);
  }
  if (n === 0) return { p50Ns: NaN, p99Ns: NaN, p999Ns: NaN, meanNs: NaN };
  const sorted = samples.slice(0, n).sort(); // typed-array sort is numeric
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    p50Ns: rank(sorted, n, 0.5),
    p99Ns: rank(sorted, n, 0.99),
    p999Ns: rank(sorted, n, 0.999),
    meanNs: sum / n,
  };
}
