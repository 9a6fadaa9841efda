/** Text pieces that the HTML and the text report both print, so the two say the same thing. */
import { histogramQuantile } from '../quantile.js';
import { fmtCount, fmtNs } from '../util/format.js';
import type { Histogram, HotItem } from './types.js';

export function pct(f: number): string {
  return `${(f * 100).toFixed(1)}%`;
}

const UNIT_NS: Record<string, number> = { ns: 1, µs: 1e3, us: 1e3, ms: 1e6, s: 1e9 };

/** "3712 µs waited" -> "3.71 ms waited"; other units -> "1.2k faults". */
export function fmtHotValue(it: HotItem): string {
  const m = /^(ns|µs|us|ms|s)(\b.*|)$/.exec(it.unit);
  if (m) return `${fmtNs(it.value * UNIT_NS[m[1]!]!)}${m[2]}`;
  return `${fmtCount(it.value)} ${it.unit}`;
}

/** "12k samples · p50 … · p99.9 …": the quantiles every report shows for a histogram. */
export function histSummary(h: Histogram): string {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return 'no samples';
  const q = (x: number) => fmtNs(histogramQuantile(h, x));
  return `${fmtCount(total)} samples · p50 ${q(0.5)} · p90 ${q(0.9)} · p99 ${q(0.99)} · p99.9 ${q(0.999)}`;
}
