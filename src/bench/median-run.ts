/**
 * Picking the representative one of repeated measurements: the run (or reading) whose figure is
 * the median, rather than the median of the figures, so that everything reported for it (p50,
 * p99, mean, rate) comes from one actual measurement. With an even count it is the lower of the
 * two middle ones; src/util/stats.ts median is the plain median of numbers.
 */
export function atMedian<T>(items: readonly T[], key: (item: T) => number): T | undefined {
  const sorted = items.filter((x) => Number.isFinite(key(x))).sort((a, b) => key(a) - key(b));
  return sorted.length === 0 ? undefined : sorted[(sorted.length - 1) >> 1];
}
