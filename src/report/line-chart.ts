/** Line charts: throughput against process count, one series per wait strategy. */
import { fmtCount, fmtNs } from '../util/format.js';
import { DASHES, esc, n1, niceTicks, noData, PALETTE, svgOpen, WAIT_COLORS, yAxisGrid } from './svg-kit.js';
import type { SweepPoint, WaitStrategy } from './types.js';

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
  out += yAxisGrid(yTicks, Y, m.l, pw, yFmt);
  out += '<g class="axis x" fill="#555" font-size="11">';
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

/** What a sweep's x axis counts: processes, or threads of one process. */
export function sweepTasks(sweep: readonly SweepPoint[]): 'processes' | 'threads' {
  return sweep.length > 0 && sweep.every((p) => p.mode === 'threads') ? 'threads' : 'processes';
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
        label: `${name}: ${p.procs} ${p.mode === 'threads' ? 'threads' : 'procs'}, ${p.pagers} pager(s), ${fmtCount(p.faultsPerSec)} faults/s, p50 ${fmtNs(p.p50Ns)}, p99 ${fmtNs(p.p99Ns)}`,
      })),
    }));
}
