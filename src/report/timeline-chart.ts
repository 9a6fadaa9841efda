/**
 * The per-thread timeline chart: one lane per thread, spans as coloured rectangles (nested spans
 * on their own rows), wake-ups as ticks, counters as step lines, a legend and a time axis in µs.
 * timeline-layout.ts decides where everything goes; this draws it.
 */
import { fmtCount, fmtNs } from '../util/format.js';
import { esc, n1, niceTicks, noData, SPAN_COLORS, svgOpen, textWidth } from './svg-kit.js';
import { SPAN_KINDS, timelineGeometry, type TimelineOptions, type TimelineStats } from './timeline-layout.js';
import type { ThreadInfo, TraceEvent } from './types.js';

export type { TimelineOptions, TimelineStats } from './timeline-layout.js';

/** µs on the timeline, printed like every other duration. */
const fmtUs = (us: number) => fmtNs(us * 1e3);

/** The timeline SVG; `timelineLayout` also gives the statistics its caption states. */
export function timelineChart(threads: ThreadInfo[], events: TraceEvent[], opts: TimelineOptions = {}): string {
  return timelineLayout(threads, events, opts).svg;
}

export function timelineLayout(threads: ThreadInfo[], events: TraceEvent[], opts: TimelineOptions = {}): { svg: string; stats: TimelineStats } {
  const id = opts.id ?? 'timeline';
  const title = opts.title ?? 'Per-thread timeline';
  const g = timelineGeometry(threads, events, opts);
  if (g === null) {
    return {
      svg: noData(id, title, opts.width ?? 1200, 160, opts.heading !== false),
      stats: { totalSpans: 0, drawnSpans: 0, mergedSpans: 0, droppedRects: 0, caption: 'no timeline events' },
    };
  }
  const { W, H, m, pw, off, rowH, lanes, laneOf, laneY, laneDepth, spans, rects, instants, counters, counterNames, trackOf, counterY, counterH, laneGap, axisY, t0, t1, X, stats } = g;

  let out = svgOpen(id, title, W, H, g.heading);


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
  if (instants.some((e) => e.kind === 'shootdown-target')) {
    out += `<path d="M${lx + 2},${30 - off} L${lx + 10},${40 - off} M${lx + 10},${30 - off} L${lx + 2},${40 - off}" stroke="${SPAN_COLORS.shootdown}" stroke-width="1.5"/><text x="${lx + 14}" y="${39 - off}">TLB entries shot down</text>`;
    lx += 30 + textWidth('TLB entries shot down', 11);
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
    else if (e.kind === 'shootdown-target') {
      // A cross over the lane's top edge; its tooltip says who took the entries.
      out += `<path d="M${px - 2.5},${ly - 3} L${px + 2.5},${ly + 2} M${px + 2.5},${ly - 3} L${px - 2.5},${ly + 2}" stroke="${SPAN_COLORS.shootdown}" stroke-width="1.3"><title>${esc(e.name ?? 'TLB entries shot down')}</title></path>`;
    } else out += `<path d="M${px - 1.5},${ly - 3} L${px + 1.5},${ly - 1.5} L${px - 1.5},${ly} Z" fill="#666"/>`;
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

  out += `<text class="caption" x="${m.l}" y="${H - 6}" fill="#666" font-size="11">${esc(stats.caption)}</text>`;
  out += '</svg>';
  return { svg: out, stats };
}
