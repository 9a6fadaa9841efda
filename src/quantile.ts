/**
 * The one quantile estimator for latency histograms: rt.stats(), the text report, the HTML report
 * and the bench all read p50/p99 through it, so one histogram shows one p50 everywhere.
 *
 * Rank: the nearest-rank quantile, the smallest value with at least ceil(q * n) samples at or
 * below it. The estimate interpolates geometrically inside the bucket holding that rank (linearly
 * in a bucket whose lower bound is 0), by the fraction of the bucket's samples below the rank.
 *
 * Error bound: the exact nearest-rank value lies in the same bucket as the estimate, so the error
 * is less than one bucket width. With the log-linear buckets of src/stats.ts (exact below 16 ns,
 * then 8 sub-buckets per power of two) that is < 1 ns below 16 ns and < 12.5 % of the value above.
 * Inside that bound, interpolation lands much closer than the bucket midpoint on smooth latency
 * distributions; test/quantile.test.ts measures both against exact quantiles and keeps this one.
 */

/** Relative error bound of a quantile above 16 ns with src/stats.ts's buckets (1/8). */
export const QUANTILE_REL_ERROR = 0.125;

/**
 * Quantile q (0..1) of a histogram: `counts[i]` values in [bounds[i], bounds[i + 1]), so
 * `bounds.length === counts.length + 1`. NaN when the histogram is empty.
 */
export function bucketQuantile(counts: ArrayLike<number>, bounds: ArrayLike<number>, q: number): number {
  const n = Math.min(counts.length, bounds.length - 1);
  let total = 0;
  for (let i = 0; i < n; i++) total += counts[i];
  if (!(total > 0)) return NaN;
  const rank = Math.max(1, Math.ceil(Math.min(Math.max(q, 0), 1) * total));
  let cum = 0;
  for (let i = 0; i < n; i++) {
    const c = counts[i];
    if (c > 0 && cum + c >= rank) {
      const lo = bounds[i];
      const hi = bounds[i + 1];
      // The rank-th sample is the k-th of this bucket's c: spread them evenly over the bucket.
      const f = (rank - cum - 0.5) / c;
      return lo > 0 && hi > lo ? lo * (hi / lo) ** f : lo + (hi - lo) * f;
    }
    cum += c;
  }
  return bounds[n];
}

/** bucketQuantile rounded to whole nanoseconds: the figure every report prints. */
export function quantileNs(counts: ArrayLike<number>, bounds: ArrayLike<number>, q: number): number {
  const v = bucketQuantile(counts, bounds, q);
  return Number.isFinite(v) ? Math.round(v) : v;
}

/** The quantile of a report histogram ({ counts, boundsNs }), in whole nanoseconds. */
export function histogramQuantile(h: { counts: ArrayLike<number>; boundsNs: ArrayLike<number> }, q: number): number {
  return quantileNs(h.counts, h.boundsNs, q);
}
