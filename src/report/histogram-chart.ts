/** The latency histogram chart: bars over a log-scale axis of bucket bounds, with quantile markers. */
import { histogramQuantile } from '../quantile.js';
import { fmtCount, fmtNs } from '../util/format.js';
import { esc, n1, niceTicks, noData, svgOpen, textWidth, yAxisGrid } from './svg-kit.js';
import type { Histogram } from './types.js';

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
  out += yAxisGrid(yTicks, Y, m.l, pw, fmtCount);

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
