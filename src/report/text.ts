/** The terminal report of `devpager profile`: verdict, thread time shares, hot spots, latency. */
import { histogramQuantile } from '../quantile.js';
import { fmtCount, fmtNs } from '../util/format.js';
import { sweepSeries, sweepTasks } from './line-chart.js';
import { fmtHotValue, histSummary, pct, traceSummaryText } from './summary.js';
import { threadTimeFractions, TIME_PARTS } from './thread-time-chart.js';
import type { Histogram, HotItem, ProfileReport } from './types.js';

function pad(s: string, n: number, right = false): string {
  const len = [...s].length;
  if (len >= n) return s;
  return right ? ' '.repeat(n - len) + s : s + ' '.repeat(n - len);
}

function clip(s: string, n: number): string {
  const cs = [...s];
  return cs.length <= n ? s : cs.slice(0, n - 1).join('') + '…';
}

/** ASCII/Unicode bar histogram, one line per bucket over the populated range. */
export function asciiHistogram(h: Histogram, width = 40): string {
  const nb = Math.min(h.counts.length, h.boundsNs.length - 1);
  const total = h.counts.slice(0, nb).reduce((a, b) => a + b, 0);
  if (!(total > 0)) return '  (no samples)\n';
  let first = h.counts.findIndex((c) => c > 0);
  let last = nb - 1;
  while (last > first && !(h.counts[last]! > 0)) last--;
  const max = Math.max(...h.counts.slice(first, last + 1));
  const p50 = histogramQuantile(h, 0.5);
  const p99 = histogramQuantile(h, 0.99);
  let out = '';
  for (let i = first; i <= last; i++) {
    const lo = h.boundsNs[i]!;
    const hi = h.boundsNs[i + 1]!;
    const c = h.counts[i]!;
    const w = (c / max) * width;
    const full = Math.floor(w);
    const bar = '#'.repeat(full) + (c > 0 && full === 0 ? '.' : '');
    const marks = [p50 >= lo && p50 < hi ? 'p50' : '', p99 >= lo && p99 < hi ? 'p99' : ''].filter(Boolean).join(',');
    out += `  ${pad(fmtNs(lo), 9, true)} - ${pad(fmtNs(hi), 9)} |${pad(bar, width)}| ${pad(String(c), 8, true)} ${pad(pct(c / total), 6, true)}${marks ? ' <- ' + marks : ''}\n`;
  }
  out += `  ${histSummary(h)}\n`;
  return out;
}

/** A terminal summary: verdict, per-thread time shares, hottest pages/queues, latency histogram. */
export function renderTextReport(r: ProfileReport): string {
  const lines: string[] = [];
  lines.push(r.title, `generated ${r.generatedAt}`, '');
  lines.push(`VERDICT: ${r.verdict}`);
  if (r.findings && r.findings.length > 1) {
    lines.push('Also found:');
    for (const f of r.findings.slice(1)) lines.push(`  - ${f}`);
  }
  if (r.breakdown && r.breakdown !== r.verdict) lines.push(`Round trip: ${r.breakdown}`);
  if (r.shootdowns) lines.push(`TLB shootdowns: ${r.shootdowns}`);
  if (r.overhead) lines.push(r.overhead.text.replace(/^./, (c) => c.toUpperCase()));
  if (r.trace) lines.push(traceSummaryText(r.trace).replace(/^./, (c) => c.toUpperCase()));
  else if (r.trace === null) lines.push('Trace: tracing was off (Runtime.create({ trace: true })): no hot pages and no timeline');
  lines.push('');

  lines.push("Where each thread's time goes (% of wall time)");
  const nameW = Math.min(36, Math.max(6, ...r.threadTimes.map((t) => [...t.thread].length)));
  const heads = TIME_PARTS.map((p) => p.label);
  const colW = Math.max(8, ...heads.map((h) => h.length + 1));
  lines.push(`  ${pad('thread', nameW)} ${pad('role', 7)} ${pad('total', 9, true)}${heads.map((h) => pad(h, colW, true)).join('')}`);
  for (const t of r.threadTimes) {
    const fr = threadTimeFractions(t);
    lines.push(
      `  ${pad(clip(t.thread, nameW), nameW)} ${pad(t.role, 7)} ${pad(fmtNs(t.totalNs), 9, true)}${fr.map((f) => pad(f.frac > 0 ? pct(f.frac) : '-', colW, true)).join('')}`,
    );
  }
  if (r.threadTimes.length === 0) lines.push('  (none)');
  lines.push('');

  const hot = (title: string, items: HotItem[]) => {
    lines.push(title);
    if (items.length === 0) lines.push('  (none)');
    const lw = Math.min(48, Math.max(5, ...items.map((i) => [...i.label].length)));
    items.slice(0, 10).forEach((it, i) => {
      lines.push(`  ${pad(String(i + 1), 2, true)}. ${pad(clip(it.label, lw), lw)}  ${fmtHotValue(it)}`);
    });
    lines.push('');
  };
  hot('Hottest pages', r.hotPages);
  hot('Hottest queues', r.hotQueues);

  lines.push(`Latency: ${r.latency.name}`);
  lines.push(asciiHistogram(r.latency).replace(/\n$/, ''));
  for (const h of r.extraHistograms ?? []) lines.push(`  ${h.name}: ${histSummary(h)}`);
  lines.push('');

  if (r.sweep.length) {
    lines.push(`Throughput vs ${sweepTasks(r.sweep)} (faults/s)`);
    const procs = [...new Set(r.sweep.map((p) => p.procs))].sort((a, b) => a - b);
    const series = sweepSeries(r.sweep);
    const sw = Math.max(8, ...series.map((s) => s.name.length));
    lines.push(`  ${pad('series', sw)}${procs.map((p) => pad(`${p}p`, 8, true)).join('')}`);
    for (const s of series) {
      lines.push(`  ${pad(s.name, sw)}${procs.map((p) => pad(s.points.find((q) => q.x === p) ? fmtCount(s.points.find((q) => q.x === p)!.y) : '-', 8, true)).join('')}`);
    }
    lines.push('');
  }
  return lines.join('\n') + '\n';
}
