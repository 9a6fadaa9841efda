/** Text pieces that the HTML and the text report both print, so the two say the same thing. */
import { histogramQuantile } from '../quantile.js';
import { fmtCount, fmtNs } from '../util/format.js';
import type { Histogram, HotItem, TraceSummary } from './types.js';

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

function fmtBytes(b: number): string {
  return b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${Math.round(b)} B`;
}

/** How large the trace is per second of run, and what the rings kept. */
export function traceSummaryText(t: TraceSummary): string {
  const perSec = t.eventsPerSec;
  const file = `${fmtBytes(perSec * t.fileBytesPerEvent)}/s as a trace file (${Math.round(t.fileBytesPerEvent)} bytes per event${t.fileBytesEstimated ? ', estimated' : ''})`;
  const kept = `${fmtCount(t.keptEvents)} events kept (the latest ${fmtCount(t.ringEvents)} per thread)`;
  const lost = t.lostEvents > 0 ? `, ${fmtCount(t.lostEvents)} older ones overwritten` : ', none overwritten';
  const written = t.file ? `; wrote ${t.file}, ${fmtBytes(t.fileBytes ?? 0)}` : '';
  const which = t.sample > 1 ? `1 burst of ${t.burst} requests in ${t.sample} traced` : 'every request traced';
  return `trace (${which}): ${kept}${lost}; ${fmtCount(perSec)} events per second of run = ${fmtBytes(perSec * t.memoryBytesPerEvent)}/s of ring, ${file}${written}`;
}
