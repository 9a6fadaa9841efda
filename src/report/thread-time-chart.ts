/** Where each thread's time goes: the time categories and the 100 % stacked bar chart. */
import { fmtNs } from '../util/format.js';
import { esc, n1, noData, svgOpen, textWidth } from './svg-kit.js';
import type { ThreadTime } from './types.js';

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
