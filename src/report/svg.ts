/**
 * Small dependency-free SVG chart builders for the profile report.
 *
 * Every builder returns one `<svg class="chart" id="...">` string with a
 * `<title>` (so screen readers and tests can find it) and escapes all text it
 * is given. Hover tooltips use SVG `<title>` children, which browsers show
 * natively: no script is needed.
 */
import type { Histogram, SpanKind, SweepPoint, ThreadInfo, ThreadTime, TraceEvent, WaitStrategy } from './types.js';

// ---------------------------------------------------------------- helpers

/** Escapes text for use in XML/HTML element content and attribute values. */
export function esc(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Formats a duration given in nanoseconds: "850 ns", "1.2 µs", "3.4 ms", "2.01 s". */
export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const a = Math.abs(ns);
  if (a < 1e3) return `${trim(ns, a < 10 ? 1 : 0)} ns`;
  if (a < 1e6) return `${trim(ns / 1e3, a < 1e4 ? 2 : a < 1e5 ? 1 : 0)} µs`;
  if (a < 1e9) return `${trim(ns / 1e6, a < 1e7 ? 2 : a < 1e8 ? 1 : 0)} ms`;
  return `${trim(ns / 1e9, 2)} s`;
}

/** Formats a duration given in microseconds. */
export function fmtUs(us: number): string {
  return fmtNs(us * 1e3);
}

/** Compact number: 950, 1.2k, 34k, 1.5M, 2.1G. */
export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a < 1e3) return trim(n, a < 10 && !Number.isInteger(n) ? 2 : 0);
  if (a < 1e6) return `${trim(n / 1e3, a < 1e4 ? 1 : 0)}k`;
  if (a < 1e9) return `${trim(n / 1e6, a < 1e7 ? 1 : 0)}M`;
  return `${trim(n / 1e9, 1)}G`;
}

function trim(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A coordinate rounded to 0.1 px, so the SVG stays small. */
function n1(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** "Nice" linear ticks covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  const start = Math.ceil(min / step - 1e-9) * step;
  for (let v = start; v <= max + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

const FONT = 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif';

/** Rough rendered width of sans-serif text (DejaVu Sans is on the wide side). */
export function textWidth(s: string, fontSize = 12): number {
  let w = 0;
  for (const ch of s) w += /[il.,:;'|!]/.test(ch) ? 0.32 : /[mwMW@%]/.test(ch) ? 0.9 : /[A-Z0-9_]/.test(ch) ? 0.68 : 0.6;
  return w * fontSize;
}

function svgOpen(id: string, title: string, width: number, height: number, heading = true): string {
  const tid = `${id}-title`;
  return (
    `<svg class="chart" id="${esc(id)}"` +
    ` width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${esc(tid)}"` +
    ` font-family='${FONT}' font-size="12">` +
    `<title id="${esc(tid)}">${esc(title)}</title>` +
    `<rect class="bg" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>` +
    (heading ? `<text class="heading" x="12" y="20" font-size="14" font-weight="600" fill="#222">${esc(title)}</text>` : '')
  );
}

/**
 * The builders emit SVG for inlining in HTML, where no namespace declaration
 * is needed (and the page stays free of URLs). This adds the SVG namespace and
 * an XML prolog so a chart can be saved as a standalone .svg file.
 */
export function standaloneSvg(svg: string): string {
  const withNs = /^<svg\b[^>]*\bxmlns=/.test(svg) ? svg : svg.replace(/^<svg\b/, '<svg xmlns="http://www.w3.org/2000/svg"');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${withNs}\n`;
}

function noData(id: string, title: string, width: number, height: number, heading = true): string {
  return (
    svgOpen(id, title, width, height, heading) +
    `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#888">no data</text></svg>`
  );
}

/** Colors of the wait strategies, shared by the charts and the HTML legend. */
export const WAIT_COLORS: Record<WaitStrategy, string> = {
  spin: '#e15759',
  park: '#4e79a7',
  adaptive: '#59a14f',
};

/** Colors of the timeline span kinds. */
export const SPAN_COLORS: Record<SpanKind, string> = {
  fault: '#4e79a7',
  queue: '#b07aa1',
  serve: '#59a14f',
  dmmap: '#f28e2b',
  pmap: '#edc948',
  spin: '#e15759',
  park: '#bab0ac',
};

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

// ---------------------------------------------------------------- line chart

export interface SeriesPoint {
  x: number;
  y: number;
  /** Tooltip text for the marker; defaults to "x, y". */
  label?: string;
}
export interface Series {
  name: string;
  points: SeriesPoint[];
  color?: string;
  /** SVG stroke-dasharray, e.g. "6 3". */
  dash?: string;
}
export interface LineChartOptions {
  /** Draw the title as a visible heading inside the chart (default true; the `<title>` element is always there). */
  heading?: boolean;
  id?: string;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Log2 x axis (falls back to linear when some x <= 0). */
  logX?: boolean;
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

/**
 * A line chart, one polyline (with point markers) per series, with a legend,
 * axis ticks and labels. Defaults suit throughput vs processes:
 * id "throughput", log2 x.
 */
export function lineChart(series: Series[], opts: LineChartOptions = {}): string {
  const id = opts.id ?? 'throughput';
  const title = opts.title ?? 'Throughput vs processes';
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const xFmt = opts.xFormat ?? ((v: number) => fmtCount(v));
  const yFmt = opts.yFormat ?? ((v: number) => fmtCount(v));
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const hd = opts.heading !== false;
  const off = hd ? 0 : 22;
  if (pts.length === 0) return noData(id, title, W, H, hd);

  const legendRows = Math.ceil(series.length / 4);
  const m = { l: 64, r: 20, t: 34 + legendRows * 18 - off, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = pts.map((p) => p.x);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  const logX = (opts.logX ?? true) && xMin > 0;
  const tx = logX ? (v: number) => Math.log2(v) : (v: number) => v;
  let lo = tx(xMin);
  let hi = tx(xMax);
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const padX = (hi - lo) * 0.04;
  lo -= padX;
  hi += padX;
  const X = (v: number) => m.l + ((tx(v) - lo) / (hi - lo)) * pw;
  const yMaxData = Math.max(...pts.map((p) => p.y), 0);
  const yTicks = niceTicks(0, yMaxData > 0 ? yMaxData * 1.05 : 1, 5);
  const yMax = Math.max(yTicks[yTicks.length - 1]!, yMaxData) || 1;
  const Y = (v: number) => m.t + ph - (v / yMax) * ph;

  let xTicks: number[];
  const distinct = [...new Set(xs)].sort((a, b) => a - b);
  if (distinct.length <= 12) xTicks = distinct;
  else if (logX) {
    xTicks = [];
    for (let e = Math.floor(Math.log2(xMin)); e <= Math.ceil(Math.log2(xMax)); e++) {
      const v = 2 ** e;
      if (v >= xMin && v <= xMax) xTicks.push(v);
    }
  } else xTicks = niceTicks(xMin, xMax, 8);

  let out = svgOpen(id, title, W, H, hd);
  // grid + y axis
  out += '<g class="axis y" fill="#555" font-size="11">';
  for (const t of yTicks) {
    const y = n1(Y(t));
    out += `<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`;
    out += `<text x="${m.l - 6}" y="${y}" dy="0.32em" text-anchor="end">${esc(yFmt(t))}</text>`;
  }
  out += '</g><g class="axis x" fill="#555" font-size="11">';
  for (const t of xTicks) {
    const x = n1(X(t));
    out += `<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#f0f0f0"/>`;
    out += `<line x1="${x}" x2="${x}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#888"/>`;
    out += `<text x="${x}" y="${m.t + ph + 16}" text-anchor="middle">${esc(xFmt(t))}</text>`;
  }
  out += '</g>';
  out += `<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#888"/>`;
  out += `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#888"/>`;
  if (opts.xLabel)
    out += `<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle" fill="#333">${esc(opts.xLabel)}${logX ? ' (log₂ scale)' : ''}</text>`;
  if (opts.yLabel)
    out += `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(opts.yLabel)}</text>`;

  // series
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const sp = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (sp.length === 0) return;
    out += `<g class="series" data-series="${esc(s.name)}">`;
    out += `<polyline fill="none" stroke="${esc(color)}" stroke-width="2.2"${s.dash ? ` stroke-dasharray="${esc(s.dash)}"` : ''} points="${sp.map((p) => `${n1(X(p.x))},${n1(Y(p.y))}`).join(' ')}"/>`;
    for (const p of sp) {
      out += `<circle cx="${n1(X(p.x))}" cy="${n1(Y(p.y))}" r="3.5" fill="#fff" stroke="${esc(color)}" stroke-width="2"><title>${esc(p.label ?? `${s.name}: x=${xFmt(p.x)}, y=${yFmt(p.y)}`)}</title></circle>`;
    }
    out += '</g>';
  });

  // legend
  out += '<g class="legend" font-size="12" fill="#333">';
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const col = i % 4;
    const row = Math.floor(i / 4);
    const lx = m.l + col * Math.max(120, pw / 4);
    const ly = 36 - off + row * 18;
    out += `<line x1="${n1(lx)}" x2="${n1(lx + 22)}" y1="${ly}" y2="${ly}" stroke="${esc(color)}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${esc(s.dash)}"` : ''}/>`;
    out += `<text x="${n1(lx + 28)}" y="${ly}" dy="0.32em">${esc(s.name)}</text>`;
  });
  out += '</g></svg>';
  return out;
}

/**
 * Groups sweep points into line series: one per wait strategy (and per
 * workload / pager count when the sweep has several), x = processes,
 * y = faults/s. Colors follow the wait strategy; workloads get dash patterns.
 */
export function sweepSeries(sweep: SweepPoint[]): Series[] {
  const workloads = [...new Set(sweep.map((p) => p.workload))];
  const pagerCounts = [...new Set(sweep.map((p) => p.pagers))];
  const groups = new Map<string, { wait: WaitStrategy; workload: string; pts: SweepPoint[] }>();
  for (const p of sweep) {
    const parts: string[] = [p.wait];
    if (workloads.length > 1) parts.push(p.workload);
    if (pagerCounts.length > 1) parts.push(`${p.pagers} pager${p.pagers === 1 ? '' : 's'}`);
    const key = parts.join(' · ');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { wait: p.wait, workload: p.workload, pts: [] }));
    g.pts.push(p);
  }
  const order: WaitStrategy[] = ['spin', 'park', 'adaptive'];
  return [...groups.entries()]
    .sort((a, b) => order.indexOf(a[1].wait) - order.indexOf(b[1].wait) || a[0].localeCompare(b[0]))
    .map(([name, g]) => ({
      name,
      color: WAIT_COLORS[g.wait] ?? PALETTE[0],
      dash: DASHES[workloads.indexOf(g.workload) % DASHES.length] || undefined,
      points: g.pts.map((p) => ({
        x: p.procs,
        y: p.faultsPerSec,
        label: `${name}: ${p.procs} procs, ${p.pagers} pager(s), ${fmtCount(p.faultsPerSec)} faults/s, p50 ${fmtNs(p.p50Ns)}, p99 ${fmtNs(p.p99Ns)}`,
      })),
    }));
}

// ---------------------------------------------------------------- histogram

/**
 * Estimates quantile q (0..1) of a histogram, interpolating geometrically
 * inside the bucket (linearly when its lower bound is 0). NaN when empty.
 */
export function histogramQuantile(h: Histogram, q: number): number {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return NaN;
  const target = Math.min(Math.max(q, 0), 1) * total;
  let cum = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i]!;
    if (c > 0 && cum + c >= target) {
      const lo = h.boundsNs[i]!;
      const hi = h.boundsNs[i + 1]!;
      const f = Math.min(Math.max((target - cum) / c, 0), 1);
      return lo > 0 && hi > lo ? lo * (hi / lo) ** f : lo + (hi - lo) * f;
    }
    cum += c;
  }
  return h.boundsNs[h.boundsNs.length - 1]!;
}

export interface HistogramChartOptions {
  /** Draw the title as a visible heading inside the chart (default true; the `<title>` element is always there). */
  heading?: boolean;
  id?: string;
  title?: string;
  width?: number;
  height?: number;
  /** Quantile markers to draw; default p50 and p99. */
  quantiles?: { label: string; q: number }[];
  color?: string;
}

/** Bars over a log-scale x axis of bucket bounds, with labelled quantile markers. */
export function histogramChart(h: Histogram, opts: HistogramChartOptions = {}): string {
  const id = opts.id ?? 'latency';
  const title = opts.title ?? `${h.name} histogram`;
  const W = opts.width ?? 640;
  const H = opts.height ?? 300;
  const nb = Math.min(h.counts.length, h.boundsNs.length - 1);
  const total = h.counts.slice(0, nb).reduce((a, b) => a + b, 0);
  const hd = opts.heading !== false;
  if (nb <= 0 || !(total > 0)) return noData(id, title, W, H, hd);

  // Show the populated range only.
  let first = h.counts.findIndex((c) => c > 0);
  let last = nb - 1;
  while (last > first && !(h.counts[last]! > 0)) last--;
  first = Math.max(0, first);
  const bound = (i: number) => {
    const b = h.boundsNs[i]!;
    if (b > 0) return b;
    const next = h.boundsNs[i + 1]!;
    return next > 0 ? next / 2 : 1;
  };
  const xLo = Math.log10(bound(first));
  let xHi = Math.log10(Math.max(bound(last + 1), bound(first) * 1.0001));
  if (xHi <= xLo) xHi = xLo + 1;

  const m = { l: 64, r: 24, t: hd ? 46 : 34, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const X = (ns: number) => m.l + ((Math.log10(Math.max(ns, 1e-9)) - xLo) / (xHi - xLo)) * pw;
  const cMax = Math.max(...h.counts.slice(first, last + 1));
  const yTicks = niceTicks(0, cMax * 1.05, 4);
  const yMax = Math.max(yTicks[yTicks.length - 1]!, cMax) || 1;
  const Y = (c: number) => m.t + ph - (c / yMax) * ph;

  let out = svgOpen(id, title, W, H, hd);
  out += `<text x="${W - m.r}" y="${hd ? 20 : 12}" text-anchor="end" fill="#666" font-size="11">${esc(`${fmtCount(total)} samples`)}</text>`;
  out += '<g class="axis y" fill="#555" font-size="11">';
  for (const t of yTicks) {
    const y = n1(Y(t));
    out += `<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`;
    out += `<text x="${m.l - 6}" y="${y}" dy="0.32em" text-anchor="end">${esc(fmtCount(t))}</text>`;
  }
  out += '</g>';

  // x ticks: decades, plus 2 and 5 when the range is narrow.
  const decades = xHi - xLo;
  const mult = decades < 1.5 ? [1, 2, 5] : decades < 3.5 ? [1, 3] : [1];
  out += '<g class="axis x" fill="#555" font-size="11">';
  for (let e = Math.floor(xLo); e <= Math.ceil(xHi); e++) {
    for (const k of mult) {
      const v = k * 10 ** e;
      const lv = Math.log10(v);
      if (lv < xLo - 1e-9 || lv > xHi + 1e-9) continue;
      const x = n1(X(v));
      out += `<line x1="${x}" x2="${x}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#888"/>`;
      out += `<text x="${x}" y="${m.t + ph + 16}" text-anchor="middle">${esc(fmtNs(v))}</text>`;
    }
  }
  out += '</g>';

  const color = opts.color ?? '#4e79a7';
  out += `<g class="bars" fill="${esc(color)}">`;
  for (let i = first; i <= last; i++) {
    const c = h.counts[i]!;
    const x0 = X(bound(i));
    const x1 = X(bound(i + 1));
    const w = Math.max(1, x1 - x0 - (x1 - x0 > 4 ? 1 : 0));
    const y = Y(c);
    out += `<rect x="${n1(x0)}" y="${n1(y)}" width="${n1(w)}" height="${n1(m.t + ph - y)}"><title>${esc(`[${fmtNs(h.boundsNs[i]!)}, ${fmtNs(h.boundsNs[i + 1]!)}): ${c} (${((100 * c) / total).toFixed(1)}%)`)}</title></rect>`;
  }
  out += '</g>';
  out += `<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#888"/>`;
  out += `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#888"/>`;
  out += `<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle" fill="#333">${esc('latency (log scale)')}</text>`;
  out += `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">count</text>`;

  // quantile markers; labels alternate sides when they would collide
  const qs = opts.quantiles ?? [
    { label: 'p50', q: 0.5 },
    { label: 'p99', q: 0.99 },
  ];
  out += '<g class="markers" font-size="11" font-weight="600">';
  // Each label goes right of its line (left near the right edge); a label that
  // would overlap one already placed moves down a row.
  const placed: { x0: number; x1: number; row: number }[] = [];
  for (const { label, q } of qs) {
    const v = histogramQuantile(h, q);
    if (!Number.isFinite(v)) continue;
    const x = Math.min(Math.max(X(v), m.l), m.l + pw);
    const text = `${label} ${fmtNs(v)}`;
    const tw = textWidth(text, 11);
    const right = x + 4 + tw <= W - 2;
    const x0 = right ? x + 4 : x - 4 - tw;
    const x1 = x0 + tw;
    let row = 0;
    while (placed.some((p) => p.row === row && x0 < p.x1 + 4 && p.x0 < x1 + 4)) row++;
    placed.push({ x0, x1, row });
    const ty = m.t - 8 + row * 13;
    out += `<g class="marker" data-q="${q}"><line x1="${n1(x)}" x2="${n1(x)}" y1="${ty - 4}" y2="${m.t + ph}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="4 3"/>`;
    out += `<text x="${n1(right ? x + 4 : x - 4)}" y="${ty}" text-anchor="${right ? 'start' : 'end'}" fill="#d62728" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(text)}</text></g>`;
  }
  out += '</g></svg>';
  return out;
}

// ---------------------------------------------------------------- timeline

export interface TimelineOptions {
  /** Draw the title as a visible heading inside the chart (default true; the `<title>` element is always there). */
  heading?: boolean;
  id?: string;
  title?: string;
  width?: number;
  /** Upper bound on drawn span rectangles (default 5000). */
  maxSpans?: number;
  /** Height of one nesting row inside a lane. */
  rowHeight?: number;
  /** Maximum nesting rows per lane; deeper spans share the last row. */
  maxDepth?: number;
}

export interface TimelineStats {
  totalSpans: number;
  drawnSpans: number;
  /** Spans folded into a neighbour of the same kind less than a pixel away. */
  mergedSpans: number;
  /** Rectangles dropped, shortest first, to stay under maxSpans. */
  droppedRects: number;
  caption: string;
}

interface Rect {
  lane: number;
  depth: number;
  kind: SpanKind;
  ts: number;
  end: number;
  n: number;
  busy: number;
}

const SPAN_KINDS: SpanKind[] = ['fault', 'queue', 'serve', 'dmmap', 'pmap', 'spin', 'park'];
const isSpan = (e: TraceEvent): e is TraceEvent & { kind: SpanKind; durUs: number } =>
  (SPAN_KINDS as string[]).includes(e.kind) && typeof e.durUs === 'number' && Number.isFinite(e.durUs) && Number.isFinite(e.tsUs);

/**
 * A per-thread timeline: one lane per thread, spans as colored rectangles
 * (nested spans on their own rows), wake-ups as ticks, counters as step lines,
 * a legend and a time axis in µs. Returns the SVG; `timelineLayout` gives the
 * statistics that the caption states.
 */
export function timelineChart(threads: ThreadInfo[], events: TraceEvent[], opts: TimelineOptions = {}): string {
  return timelineLayout(threads, events, opts).svg;
}

export function timelineLayout(
  threads: ThreadInfo[],
  events: TraceEvent[],
  opts: TimelineOptions = {},
): { svg: string; stats: TimelineStats } {
  const id = opts.id ?? 'timeline';
  const title = opts.title ?? 'Per-thread timeline';
  const W = opts.width ?? 1200;
  const maxSpans = Math.max(1, opts.maxSpans ?? 5000);
  const rowH = opts.rowHeight ?? 11;
  const maxDepth = Math.max(1, opts.maxDepth ?? 3);

  // Lanes: known threads sorted host, pagers, processes; unknown thread ids get a lane too.
  const roleOrder = { host: 0, pager: 1, process: 2 } as const;
  const known = new Map(threads.map((t) => [t.index, t]));
  for (const e of events) {
    if (!known.has(e.thread)) known.set(e.thread, { index: e.thread, name: `thread ${e.thread}`, role: 'process' });
  }
  const lanes = [...known.values()].sort((a, b) => roleOrder[a.role] - roleOrder[b.role] || a.index - b.index);
  const laneOf = new Map(lanes.map((t, i) => [t.index, i]));

  const spans = events.filter(isSpan);
  const instants = events.filter((e) => (e.kind === 'wake' || e.kind === 'post') && Number.isFinite(e.tsUs));
  const counters = events.filter((e) => e.kind === 'counter' && Number.isFinite(e.tsUs) && Number.isFinite(e.value));
  // One lane per counter track: a name that several threads use gets one lane per thread.
  const threadsOf = new Map<string, Set<number>>();
  for (const c of counters) {
    const n = c.name ?? 'counter';
    let set = threadsOf.get(n);
    if (!set) threadsOf.set(n, (set = new Set()));
    set.add(c.thread);
  }
  const trackOf = (c: TraceEvent) => {
    const n = c.name ?? 'counter';
    return threadsOf.get(n)!.size > 1 ? `${n} · ${known.get(c.thread)!.name}` : n;
  };
  const counterNames = [...new Set(counters.map(trackOf))].sort();

  const labelW = 150;
  const hd = opts.heading !== false;
  const off = hd ? 0 : 22;
  const m = { l: labelW, r: 16, t: 56 - off };
  const pw = W - m.l - m.r;
  const stats: TimelineStats = { totalSpans: spans.length, drawnSpans: 0, mergedSpans: 0, droppedRects: 0, caption: '' };
  if (spans.length === 0 && instants.length === 0 && counters.length === 0) {
    stats.caption = 'no timeline events';
    return { svg: noData(id, title, W, 160, hd), stats };
  }

  let t0 = Infinity;
  let t1 = -Infinity;
  for (const e of spans) {
    t0 = Math.min(t0, e.tsUs);
    t1 = Math.max(t1, e.tsUs + Math.max(0, e.durUs));
  }
  for (const e of [...instants, ...counters]) {
    t0 = Math.min(t0, e.tsUs);
    t1 = Math.max(t1, e.tsUs);
  }
  if (!(t1 > t0)) t1 = t0 + 1;
  const usPerPx = (t1 - t0) / pw;
  const X = (us: number) => m.l + ((us - t0) / (t1 - t0)) * pw;

  // Nesting depth per thread (spans sorted by start, longer first).
  const byLane = new Map<number, (typeof spans)[number][]>();
  for (const s of spans) {
    const l = laneOf.get(s.thread)!;
    let a = byLane.get(l);
    if (!a) byLane.set(l, (a = []));
    a.push(s);
  }
  const laneDepth = new Array<number>(lanes.length).fill(1);
  let rects: Rect[] = [];
  for (const [lane, arr] of byLane) {
    arr.sort((a, b) => a.tsUs - b.tsUs || b.durUs - a.durUs);
    const stack: number[] = [];
    // Merge per (depth, kind): extend the open rect when the next span starts within a pixel.
    const open = new Map<string, Rect>();
    for (const s of arr) {
      const end = s.tsUs + Math.max(0, s.durUs);
      while (stack.length && stack[stack.length - 1]! <= s.tsUs) stack.pop();
      const depth = Math.min(stack.length, maxDepth - 1);
      stack.push(end);
      laneDepth[lane] = Math.max(laneDepth[lane]!, depth + 1);
      const key = `${depth}:${s.kind}`;
      const cur = open.get(key);
      if (cur && s.tsUs - cur.end < usPerPx) {
        cur.end = Math.max(cur.end, end);
        cur.n++;
        cur.busy += Math.max(0, s.durUs);
        stats.mergedSpans++;
      } else {
        const r: Rect = { lane, depth, kind: s.kind, ts: s.tsUs, end, n: 1, busy: Math.max(0, s.durUs) };
        open.set(key, r);
        rects.push(r);
      }
    }
  }
  if (rects.length > maxSpans) {
    stats.droppedRects = rects.length - maxSpans;
    rects = rects.sort((a, b) => b.end - b.ts - (a.end - a.ts)).slice(0, maxSpans);
  }
  stats.drawnSpans = rects.length;

  // Vertical layout.
  const laneGap = 7;
  const laneY: number[] = [];
  let y = m.t;
  for (let i = 0; i < lanes.length; i++) {
    laneY.push(y);
    y += laneDepth[i]! * rowH + laneGap;
  }
  const counterH = 30;
  const counterY = y + 4;
  y = counterY + counterNames.length * (counterH + laneGap);
  const axisY = y + 2;
  const H = axisY + 56;

  let out = svgOpen(id, title, W, H, hd);

  // legend
  const kindsPresent = SPAN_KINDS.filter((k) => spans.some((s) => s.kind === k));
  out += '<g class="legend" font-size="11" fill="#333">';
  let lx = m.l;
  for (const k of kindsPresent) {
    out += `<rect x="${lx}" y="${30 - off}" width="12" height="10" fill="${SPAN_COLORS[k]}"/><text x="${lx + 16}" y="${39 - off}">${esc(k)}</text>`;
    lx += 28 + textWidth(k, 11);
  }
  if (instants.some((e) => e.kind === 'wake')) {
    out += `<line x1="${lx + 6}" x2="${lx + 6}" y1="${29 - off}" y2="${41 - off}" stroke="#111" stroke-width="1.5"/><text x="${lx + 12}" y="${39 - off}">wake</text>`;
    lx += 50;
  }
  if (instants.some((e) => e.kind === 'post')) {
    out += `<path d="M${lx + 2},${30 - off} L${lx + 10},${35 - off} L${lx + 2},${40 - off} Z" fill="#555"/><text x="${lx + 14}" y="${39 - off}">post</text>`;
    lx += 50;
  }
  out += '</g>';

  // lanes
  out += '<g class="lanes" font-size="11">';
  lanes.forEach((t, i) => {
    const ly = laneY[i]!;
    const lh = laneDepth[i]! * rowH;
    out += `<rect class="lane" x="${m.l}" y="${ly}" width="${pw}" height="${lh}" fill="${i % 2 ? '#fafafa' : '#f3f4f6'}"/>`;
    const roleColor = t.role === 'pager' ? '#2f6b2a' : t.role === 'host' ? '#555' : '#2a4f7a';
    out += `<text x="${m.l - 8}" y="${n1(ly + lh / 2)}" dy="0.32em" text-anchor="end" fill="${roleColor}">${esc(t.name)}</text>`;
  });
  out += '</g>';

  // spans
  out += '<g class="spans">';
  rects.sort((a, b) => a.lane - b.lane || a.depth - b.depth || a.ts - b.ts);
  for (const r of rects) {
    const x0 = X(r.ts);
    const w = Math.max(0.6, X(r.end) - x0);
    const ry = laneY[r.lane]! + r.depth * rowH + 0.5;
    const tip = r.n === 1 ? `${r.kind} ${fmtUs(r.end - r.ts)} at ${fmtUs(r.ts - t0)}` : `${r.kind} ×${r.n}, ${fmtUs(r.busy)} busy over ${fmtUs(r.end - r.ts)} at ${fmtUs(r.ts - t0)}`;
    out += `<rect x="${n1(x0)}" y="${n1(ry)}" width="${n1(w)}" height="${rowH - 1}" fill="${SPAN_COLORS[r.kind]}"><title>${esc(tip)}</title></rect>`;
  }
  out += '</g>';

  // instants, deduplicated per pixel column and lane
  out += '<g class="instants">';
  const seen = new Set<string>();
  for (const e of instants) {
    const lane = laneOf.get(e.thread)!;
    const px = Math.round(X(e.tsUs));
    const key = `${lane}:${px}:${e.kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const ly = laneY[lane]!;
    if (e.kind === 'wake') out += `<line x1="${px}" x2="${px}" y1="${ly - 3}" y2="${ly}" stroke="#222" stroke-width="1" stroke-opacity="0.7"/>`;
    else out += `<path d="M${px - 1.5},${ly - 3} L${px + 1.5},${ly - 1.5} L${px - 1.5},${ly} Z" fill="#666"/>`;
  }
  out += '</g>';

  // counters as step lines
  out += '<g class="counters" font-size="11">';
  counterNames.forEach((name, i) => {
    const cy = counterY + i * (counterH + laneGap);
    const cs = counters.filter((c) => trackOf(c) === name).sort((a, b) => a.tsUs - b.tsUs);
    const vmax = Math.max(1, ...cs.map((c) => c.value!));
    out += `<rect x="${m.l}" y="${cy}" width="${pw}" height="${counterH}" fill="#fbf7ee"/>`;
    out += `<text x="${m.l - 8}" y="${cy + counterH / 2}" dy="0.32em" text-anchor="end" fill="#7a5a12">${esc(name)}</text>`;
    out += `<text x="${m.l + 3}" y="${cy + 9}" fill="#a07a20" font-size="9">max ${esc(fmtCount(vmax))}</text>`;
    const CY = (v: number) => cy + counterH - (v / vmax) * (counterH - 2);
    // keep the max per pixel column so peaks survive downsampling
    const cols = new Map<number, number>();
    for (const c of cs) {
      const px = Math.round(X(c.tsUs));
      cols.set(px, Math.max(cols.get(px) ?? -Infinity, c.value!));
    }
    const colPts = [...cols.entries()].sort((a, b) => a[0] - b[0]);
    let d = '';
    let prev: number | undefined;
    for (const [px, v] of colPts) {
      if (prev !== undefined) d += ` ${px},${n1(CY(prev))}`;
      d += ` ${px},${n1(CY(v))}`;
      prev = v;
    }
    if (prev !== undefined) d += ` ${m.l + pw},${n1(CY(prev))}`;
    out += `<polyline fill="none" stroke="#c08a1a" stroke-width="1.2" points="${d.trim()}"><title>${esc(`${name}, max ${vmax}`)}</title></polyline>`;
  });
  out += '</g>';

  // time axis
  out += '<g class="axis x" fill="#555" font-size="11">';
  out += `<line x1="${m.l}" x2="${m.l + pw}" y1="${axisY}" y2="${axisY}" stroke="#888"/>`;
  for (const t of niceTicks(0, t1 - t0, 10)) {
    const x = n1(X(t0 + t));
    out += `<line x1="${x}" x2="${x}" y1="${axisY}" y2="${axisY + 4}" stroke="#888"/>`;
    out += `<text x="${x}" y="${axisY + 16}" text-anchor="middle">${esc(fmtCount(t))}</text>`;
  }
  out += `<text x="${m.l + pw / 2}" y="${axisY + 32}" text-anchor="middle" fill="#333">time since first event (µs)</text>`;
  out += '</g>';

  const parts = [`${stats.drawnSpans.toLocaleString('en-US')} rectangles for ${stats.totalSpans.toLocaleString('en-US')} spans`];
  if (stats.mergedSpans) parts.push(`${stats.mergedSpans.toLocaleString('en-US')} merged into a same-kind neighbour under 1 px away`);
  if (stats.droppedRects) parts.push(`the ${stats.droppedRects.toLocaleString('en-US')} shortest rectangles dropped to stay under ${maxSpans.toLocaleString('en-US')}`);
  stats.caption = parts.join('; ') + '.';
  out += `<text class="caption" x="${m.l}" y="${H - 6}" fill="#666" font-size="11">${esc(stats.caption)}</text>`;
  out += '</svg>';
  return { svg: out, stats };
}

// ---------------------------------------------------------------- stacked bars

/** The time categories of a ThreadTime, in drawing order. */
export const TIME_PARTS: { key: keyof ThreadTime & `${string}Ns`; label: string; color: string }[] = [
  { key: 'servingNs', label: 'serving', color: '#59a14f' },
  { key: 'dmmapNs', label: 'd_mmap', color: '#f28e2b' },
  { key: 'faultWaitNs', label: 'fault wait', color: '#4e79a7' },
  { key: 'spinningNs', label: 'spinning', color: '#e15759' },
  { key: 'parkedNs', label: 'parked', color: '#bab0ac' },
  { key: 'otherNs', label: 'other', color: '#e6e6e6' },
];

/** Each part of a ThreadTime as a fraction of the thread's total (time not otherwise accounted for counts as other). */
export function threadTimeFractions(t: ThreadTime): { label: string; color: string; ns: number; frac: number }[] {
  const parts = TIME_PARTS.filter((p) => p.key !== 'totalNs').map((p) => ({ ...p, ns: Math.max(0, Number(t[p.key]) || 0) }));
  const sum = parts.reduce((a, p) => a + p.ns, 0);
  const total = Math.max(sum, Number(t.totalNs) || 0);
  const other = parts.find((p) => p.key === 'otherNs')!;
  other.ns += total - sum;
  return parts.map((p) => ({ label: p.label, color: p.color, ns: p.ns, frac: total > 0 ? p.ns / total : 0 }));
}

export interface StackedBarOptions {
  /** Draw the title as a visible heading inside the chart (default true; the `<title>` element is always there). */
  heading?: boolean;
  id?: string;
  title?: string;
  width?: number;
  barHeight?: number;
}

/** Horizontal 100% stacked bars: where each thread's time goes. */
export function stackedBar(rows: ThreadTime[], opts: StackedBarOptions = {}): string {
  const id = opts.id ?? 'threadtime';
  const title = opts.title ?? "Where each thread's time goes";
  const W = opts.width ?? 640;
  const bh = opts.barHeight ?? 20;
  const hd = opts.heading !== false;
  const off = hd ? 0 : 22;
  if (rows.length === 0) return noData(id, title, W, 120, hd);
  const m = { l: 130, r: 70, t: 58 - off, b: 30 };
  const pw = W - m.l - m.r;
  const gap = 6;
  const H = m.t + rows.length * (bh + gap) + m.b;
  let out = svgOpen(id, title, W, H, hd);

  out += '<g class="legend" font-size="11" fill="#333">';
  let lx = Math.max(12, Math.min(m.l, W - 12 - TIME_PARTS.reduce((a, p) => a + 30 + textWidth(p.label, 11), 0)));
  for (const p of TIME_PARTS) {
    out += `<rect x="${lx}" y="${30 - off}" width="12" height="10" fill="${p.color}" stroke="#bbb" stroke-width="0.5"/><text x="${lx + 16}" y="${39 - off}">${esc(p.label)}</text>`;
    lx += 30 + textWidth(p.label, 11);
  }
  out += '</g>';

  out += '<g class="bars" font-size="11">';
  rows.forEach((r, i) => {
    const y = m.t + i * (bh + gap);
    out += `<text x="${m.l - 8}" y="${y + bh / 2}" dy="0.32em" text-anchor="end" fill="#222">${esc(r.thread)}</text>`;
    let x = m.l;
    for (const f of threadTimeFractions(r)) {
      if (f.frac <= 0) continue;
      const w = f.frac * pw;
      out += `<rect x="${n1(x)}" y="${y}" width="${n1(w)}" height="${bh}" fill="${f.color}"><title>${esc(`${r.thread}: ${f.label} ${(f.frac * 100).toFixed(1)}% (${fmtNs(f.ns)})`)}</title></rect>`;
      if (w >= 34) {
        const dark = f.color === '#e6e6e6' || f.color === '#bab0ac' || f.color === '#edc948';
        out += `<text x="${n1(x + w / 2)}" y="${y + bh / 2}" dy="0.32em" text-anchor="middle" fill="${dark ? '#333' : '#fff'}">${Math.round(f.frac * 100)}%</text>`;
      }
      x += w;
    }
    out += `<text x="${m.l + pw + 6}" y="${y + bh / 2}" dy="0.32em" fill="#555">${esc(fmtNs(r.totalNs))}</text>`;
  });
  out += '</g>';
  out += `<text x="${m.l}" y="${H - 10}" fill="#666" font-size="11">share of each thread's wall time; total on the right</text>`;
  out += '</svg>';
  return out;
}
