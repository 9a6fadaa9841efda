/**
 * SVG building blocks shared by the report's charts: escaping, nice ticks, text width, the chart
 * frame with its <title>, the empty-chart placeholder, and the colour tables.
 *
 * Every chart returns one `<svg class="chart" id="...">` string with a `<title>` (so screen
 * readers and tests can find it) and escapes all text it is given. Hover tooltips use SVG
 * `<title>` children, which browsers show natively: no script is needed.
 */
import type { SpanKind, WaitStrategy } from './types.js';

/** Escapes text for use in XML/HTML element content and attribute values. */
export function esc(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A coordinate rounded to 0.1 px, so the SVG stays small. */
export function n1(v: number): string {
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

export function svgOpen(id: string, title: string, width: number, height: number, heading = true): string {
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

export function noData(id: string, title: string, width: number, height: number, heading = true): string {
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
  shootdown: '#d62728',
};

export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

/** Horizontal grid lines and labels of a y axis, from `left` across `width`, at each tick. */
export function yAxisGrid(ticks: number[], Y: (v: number) => number, left: number, width: number, fmt: (v: number) => string): string {
  let out = '<g class="axis y" fill="#555" font-size="11">';
  for (const t of ticks) {
    const y = n1(Y(t));
    out += `<line x1="${left}" x2="${left + width}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`;
    out += `<text x="${left - 6}" y="${y}" dy="0.32em" text-anchor="end">${esc(fmt(t))}</text>`;
  }
  return out + '</g>';
}
