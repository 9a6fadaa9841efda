/**
 * Summary statistics over plain arrays of measurements (repeated runs, alternated rounds).
 * Latency histograms have their own estimator (src/stats.ts); this is for lists of figures.
 */

/** The median of the finite values: the middle one, or the mean of the two middle ones; NaN if none. */
export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Median with the smallest and largest finite value, for "median [min–max]" reporting. */
export function spread(xs: readonly number[]): { median: number; min: number; max: number; n: number } {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return { median: median(v), min: v.length ? Math.min(...v) : NaN, max: v.length ? Math.max(...v) : NaN, n: v.length };
}
