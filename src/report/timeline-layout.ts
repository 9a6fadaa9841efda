/**
 * Geometry of the per-thread timeline: which lane each thread gets, the time range, span
 * rectangles nested into rows and merged or dropped to keep the drawing small, counter tracks,
 * and the vertical positions of it all. timeline-chart.ts draws the result.
 */
import type { SpanKind, ThreadInfo, TraceEvent } from './types.js';

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

/** One drawn rectangle: `n` spans of one kind merged, `busy` µs of them inside [ts, end). */
export interface Rect {
  lane: number;
  depth: number;
  kind: SpanKind;
  ts: number;
  end: number;
  n: number;
  busy: number;
}

export const SPAN_KINDS: SpanKind[] = ['fault', 'queue', 'serve', 'dmmap', 'pmap', 'spin', 'park', 'shootdown'];
const isSpan = (e: TraceEvent): e is TraceEvent & { kind: SpanKind; durUs: number } =>
  (SPAN_KINDS as string[]).includes(e.kind) && typeof e.durUs === 'number' && Number.isFinite(e.durUs) && Number.isFinite(e.tsUs);

export interface TimelineGeometry {
  W: number;
  H: number;
  /** left margin (lane labels), top of the first lane, plot width */
  m: { l: number; r: number; t: number };
  pw: number;
  /** vertical offset of the legend when the heading is not drawn */
  off: number;
  heading: boolean;
  rowH: number;
  maxSpans: number;
  lanes: ThreadInfo[];
  laneOf: Map<number, number>;
  laneY: number[];
  laneDepth: number[];
  spans: (TraceEvent & { kind: SpanKind; durUs: number })[];
  rects: Rect[];
  instants: TraceEvent[];
  counters: TraceEvent[];
  /** counter track names, one lane each, and the track an event belongs to */
  counterNames: string[];
  trackOf: (c: TraceEvent) => string;
  counterY: number;
  counterH: number;
  laneGap: number;
  axisY: number;
  /** the time range in µs, and the x position of a time */
  t0: number;
  t1: number;
  X: (us: number) => number;
  stats: TimelineStats;
}

/** Lays the timeline out; null when there is nothing to draw. */
export function timelineGeometry(threads: ThreadInfo[], events: TraceEvent[], opts: TimelineOptions = {}): TimelineGeometry | null {
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
  const instants = events.filter((e) => (e.kind === 'wake' || e.kind === 'post' || e.kind === 'shootdown-target') && Number.isFinite(e.tsUs));
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

  const heading = opts.heading !== false;
  const off = heading ? 0 : 22;
  const m = { l: 150, r: 16, t: 56 - off };
  const pw = W - m.l - m.r;
  const stats: TimelineStats = { totalSpans: spans.length, drawnSpans: 0, mergedSpans: 0, droppedRects: 0, caption: '' };
  if (spans.length === 0 && instants.length === 0 && counters.length === 0) return null;

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

  const parts = [`${stats.drawnSpans.toLocaleString('en-US')} rectangles for ${stats.totalSpans.toLocaleString('en-US')} spans`];
  if (stats.mergedSpans) parts.push(`${stats.mergedSpans.toLocaleString('en-US')} merged into a same-kind neighbour under 1 px away`);
  if (stats.droppedRects) parts.push(`the ${stats.droppedRects.toLocaleString('en-US')} shortest rectangles dropped to stay under ${maxSpans.toLocaleString('en-US')}`);
  stats.caption = parts.join('; ') + '.';

  return {
    W, H, m, pw, off, heading, rowH, maxSpans, lanes, laneOf, laneY, laneDepth, spans, rects, instants, counters,
    counterNames, trackOf, counterY, counterH, laneGap, axisY, t0, t1, X, stats,
  };
}
