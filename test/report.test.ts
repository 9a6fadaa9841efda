/**
 * The profile presentation layer (src/report/): HTML, text, SVG charts and
 * the Chrome trace export, all on synthetic data from the seeded generator.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { histogramQuantile } from '../src/quantile.js';
import { histogramChart } from '../src/report/histogram-chart.js';
import { renderHtmlReport } from '../src/report/html.js';
import { lineChart, sweepSeries } from '../src/report/line-chart.js';
import { sampleProfileReport } from '../src/report/sample.js';
import { renderTextReport } from '../src/report/text.js';
import { stackedBar } from '../src/report/thread-time-chart.js';
import { timelineChart, timelineLayout } from '../src/report/timeline-chart.js';
import { mulberry32 } from '../src/util/prng.js';
import { toChromeTrace, validateChromeTrace, type ChromeTraceEvent } from '../src/report/chrome-trace.js';
import type { ProfileReport, ThreadInfo, TraceEvent } from '../src/report/types.js';

const CHART_IDS = ['throughput', 'latency', 'timeline', 'threadtime'];
const HOSTILE = '<script>alert(1)</script>';

function hostileReport(): ProfileReport {
  const r = sampleProfileReport(11);
  r.timeline.threads[2]!.name = HOSTILE;
  r.threadTimes[2]!.thread = HOSTILE;
  r.hotPages[0]!.label = `"><img src=x onerror=alert(2)>`;
  r.hotQueues[0]!.label = HOSTILE;
  r.machine['cpu "model"'] = `</style>${HOSTILE}`;
  r.title = `profile ${HOSTILE}`;
  r.verdict = `pager 0's request queue & ${HOSTILE}`;
  return r;
}

function svgOf(html: string, id: string): string {
  const start = html.indexOf(`<svg class="chart" id="${id}"`);
  assert.ok(start >= 0, `svg#${id} present`);
  return html.slice(start, html.indexOf('</svg>', start) + 6);
}

function count(s: string, sub: string): number {
  return s.split(sub).length - 1;
}

// ---------------------------------------------------------------- generator

test('sample generator is deterministic per seed', () => {
  const a = mulberry32(5);
  const b = mulberry32(5);
  for (let i = 0; i < 10; i++) assert.is(a(), b());
  assert.is(renderHtmlReport(sampleProfileReport(3)), renderHtmlReport(sampleProfileReport(3)));
  assert.is.not(renderHtmlReport(sampleProfileReport(3)), renderHtmlReport(sampleProfileReport(4)));
});

// ---------------------------------------------------------------- HTML

test('HTML is one self-contained document with the four charts', () => {
  const html = renderHtmlReport(sampleProfileReport(1));
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.is(count(html, '<html'), 1);
  assert.is(count(html, '</html>'), 1);
  assert.is(count(html, '<body'), 1);
  assert.not.match(html, /https?:\/\//i, 'no URLs at all');
  assert.not.match(html, /\bsrc\s*=/i, 'no src= attributes');
  assert.not.match(html, /<link\b|@import|url\(/i, 'no external stylesheets or CSS url()');
  assert.not.match(html, /<script\b/i, 'renders without script');
  for (const id of CHART_IDS) {
    assert.is(count(html, `id="${id}"`), 1, `one element with id ${id}`);
    const svg = svgOf(html, id);
    assert.match(svg, /<title id="[^"]+">[^<]+<\/title>/, `svg#${id} has a <title>`);
  }
  assert.match(svgOf(html, 'throughput'), /<polyline/);
  assert.match(svgOf(html, 'latency'), /<g class="bars"[^>]*><rect/);
  assert.match(svgOf(html, 'timeline'), /<g class="spans"><rect/);
  assert.match(svgOf(html, 'threadtime'), /<g class="bars"[^>]*>.*<rect/);
});

test('HTML puts the verdict first and has every section', () => {
  const r = sampleProfileReport(2);
  const html = renderHtmlReport(r);
  const v = html.indexOf(r.verdict.replace(/'/g, '&#39;'));
  assert.ok(v > 0, 'verdict present (escaped)');
  assert.ok(v < html.indexOf('<svg'), 'verdict before any chart');
  for (const s of ["Where each thread&#39;s time goes", 'Hottest pages', 'Hottest queues', 'Fault latency', 'Throughput vs processes', 'Per-thread timeline'])
    assert.ok(html.includes(s), `section ${s}`);
  for (const t of r.threadTimes) assert.ok(html.includes(`<td>${t.thread}</td>`), `table row for ${t.thread}`);
  assert.ok(html.includes(r.hotPages[0]!.label), 'hottest page listed');
  // one line per wait strategy in the throughput chart
  assert.is(count(svgOf(html, 'throughput'), '<polyline'), 3);
  for (const w of ['spin', 'park', 'adaptive']) assert.ok(svgOf(html, 'throughput').includes(`data-series="${w}"`));
  // extra histograms get their own charts
  for (const h of r.extraHistograms!) assert.ok(html.includes(`id="hist-${h.name.replace(/ /g, '-')}"`));
});

test('HTML escapes hostile names everywhere', () => {
  const html = renderHtmlReport(hostileReport());
  assert.not.ok(html.includes(HOSTILE), 'raw <script> never appears');
  assert.not.match(html, /<script\b/i);
  assert.not.match(html, /<img\b/i);
  assert.not.ok(html.includes('</style><'), 'cannot break out of <style>');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'shown escaped');
  assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'));
  // attribute names of every tag, with quoted values removed: no live src/on* attributes
  const attrs = [...html.matchAll(/<[a-zA-Z][^>]*>/g)].map((m) => m[0].replace(/"[^"]*"|'[^']*'/g, '""'));
  assert.not.ok(attrs.some((t) => /\s(src|on[a-z]+)\s*=/i.test(t)), 'no live src= or on*= attribute');
  // the name shows up in the table, the bars and the timeline lane
  assert.ok(count(html, '&lt;script&gt;alert(1)&lt;/script&gt;') >= 4);
});

test('HTML renders an empty report without throwing', () => {
  const r = sampleProfileReport(1);
  const empty: ProfileReport = {
    ...r,
    threadTimes: [],
    hotPages: [],
    hotQueues: [],
    latency: { name: 'fault latency', boundsNs: [0], counts: [] },
    extraHistograms: undefined,
    sweep: [],
    timeline: { threads: [], events: [] },
    counters: {},
  };
  const html = renderHtmlReport(empty);
  for (const id of CHART_IDS) assert.match(svgOf(html, id), /no data/);
  assert.match(renderTextReport(empty), /\(no samples\)/);
});

// ---------------------------------------------------------------- SVG

test('lineChart: one polyline and legend entry per series, escaped', () => {
  const svg = lineChart(
    [
      { name: 'a<b>', points: [{ x: 1, y: 10 }, { x: 4, y: 30 }, { x: 2, y: 20 }] },
      { name: 'c', points: [{ x: 1, y: 5 }, { x: 4, y: 8 }] },
    ],
    { id: 'lc', title: 'T & T', xLabel: 'processes', yLabel: 'faults / s' },
  );
  assert.ok(svg.startsWith('<svg class="chart" id="lc"'));
  assert.is(count(svg, '<polyline'), 2);
  assert.is(count(svg, '<circle'), 5);
  assert.ok(svg.includes('a&lt;b&gt;') && !svg.includes('a<b>'));
  assert.ok(svg.includes('<title id="lc-title">T &amp; T</title>'));
  assert.match(svg, /processes \(log₂ scale\)/);
  // points are drawn in x order
  const pts = /<polyline[^>]*points="([^"]+)"/.exec(svg)![1]!.split(' ').map((p) => Number(p.split(',')[0]));
  assert.equal(pts, [...pts].sort((a, b) => a - b));
});

test('sweepSeries: one series per wait strategy, split by workload/pagers only when they vary', () => {
  const sweep = sampleProfileReport(1).sweep;
  assert.equal(sweepSeries(sweep).map((s) => s.name), ['spin', 'park', 'adaptive']);
  const two = [...sweep, ...sweep.map((p) => ({ ...p, workload: 'rand' }))];
  assert.is(sweepSeries(two).length, 6);
  assert.ok(sweepSeries(two).some((s) => s.name === 'park · rand'));
});

test('histogram: quantiles, bars and labelled p50/p99 markers', () => {
  const h = { name: 'lat', boundsNs: [100, 200, 400, 800, 1600], counts: [0, 50, 49, 1] };
  // The 50th of 100 samples is the last of bucket [200, 400): the estimate stays inside it, near its end.
  assert.is(histogramQuantile(h, 0.5), 397);
  // The 99th is the last of bucket [400, 800).
  assert.is(histogramQuantile(h, 0.99), 794);
  const p995 = histogramQuantile(h, 0.995);
  assert.ok(p995 > 800 && p995 < 1600, `p99.5 ${p995} inside [800, 1600)`);
  const empty = { name: 'e', boundsNs: [1, 2], counts: [0] };
  assert.ok(Number.isNaN(histogramQuantile(empty, 0.5)));
  const svg = histogramChart(h, { id: 'hc' });
  assert.is(count(svg, '<g class="marker"'), 2);
  assert.match(svg, />p50 397 ns</);
  assert.match(svg, />p99 794 ns</);
  assert.is(count(svg.slice(svg.indexOf('class="bars"')), '<rect'), 3, 'empty leading bucket trimmed');
  // a zero lower bound does not break the log axis
  const z = histogramChart({ name: 'z', boundsNs: [0, 10, 100], counts: [3, 4] });
  assert.not.match(z, /NaN|Infinity/);
});

test('stackedBar: one bar per thread, segments sum to the bar width', () => {
  const r = sampleProfileReport(1);
  const svg = stackedBar(r.threadTimes);
  assert.ok(svg.includes('id="threadtime"'));
  const bars = svg.slice(svg.indexOf('<g class="bars"'));
  for (const t of r.threadTimes) assert.ok(bars.includes(`>${t.thread}</text>`));
  const rows = new Map<string, number>();
  for (const m of bars.matchAll(/<rect x="[^"]+" y="([^"]+)" width="([^"]+)"/g)) rows.set(m[1]!, (rows.get(m[1]!) ?? 0) + Number(m[2]));
  assert.is(rows.size, r.threadTimes.length);
  const widths = [...rows.values()];
  for (const w of widths) assert.ok(Math.abs(w - widths[0]!) < 1.5, `bar widths ${widths.join(',')}`);
});

test('timeline: lanes per thread, span cap with a caption saying so', () => {
  const r = sampleProfileReport(9, { procs: 8, pagers: 2, faultsPerProc: 1500 });
  const spans = r.timeline.events.filter((e) => e.durUs !== undefined).length;
  assert.ok(spans > 20000, `${spans} spans generated`);
  const { svg, stats } = timelineLayout(r.timeline.threads, r.timeline.events);
  const drawn = count(svg.slice(svg.indexOf('<g class="spans">'), svg.indexOf('<g class="instants">')), '<rect');
  assert.ok(drawn <= 5000, `${drawn} rects drawn`);
  assert.is(drawn, stats.drawnSpans);
  assert.is(stats.totalSpans, spans);
  assert.ok(stats.mergedSpans + stats.droppedRects > 0);
  assert.ok(svg.includes('class="caption"'));
  assert.match(svg, new RegExp(`for ${spans.toLocaleString('en-US')} spans`));
  for (const t of r.timeline.threads) assert.ok(svg.includes(`>${t.name}</text>`), `lane ${t.name}`);
  assert.match(svg, /time since first event \(µs\)/);
  // a tight cap keeps the longest rectangles and says how many went
  const small = timelineLayout(r.timeline.threads, r.timeline.events, { maxSpans: 50 });
  assert.is(small.stats.drawnSpans, 50);
  assert.match(small.stats.caption, /shortest .* dropped to stay under 50/);
  // and the default builder returns the same svg
  assert.is(timelineChart(r.timeline.threads, r.timeline.events), svg);
});

// ---------------------------------------------------------------- Chrome trace

test('toChromeTrace output of the sample passes validateChromeTrace', () => {
  const r = sampleProfileReport(4);
  const tr = toChromeTrace(r.timeline.threads, r.timeline.events, { pid: 7 });
  assert.is(tr.displayTimeUnit, 'ns');
  assert.equal(validateChromeTrace(tr), []);
  assert.equal(validateChromeTrace(JSON.parse(JSON.stringify(tr))), [], 'survives JSON');
  assert.equal(tr.otherData, { clippedSpans: 0, droppedEvents: 0, droppedFlowEnds: 0 });
  const ev = tr.traceEvents as ChromeTraceEvent[];
  assert.ok(ev.every((e) => e.pid === 7));
  // metadata for every thread
  for (const t of r.timeline.threads) {
    assert.ok(ev.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.tid === t.index && e.args!.name === t.name));
    assert.ok(ev.some((e) => e.ph === 'M' && e.name === 'thread_sort_index' && e.tid === t.index));
  }
  assert.ok(ev.some((e) => e.ph === 'M' && e.name === 'process_name'));
  // every span, instant and counter is there
  const n = (k: (e: TraceEvent) => boolean) => r.timeline.events.filter(k).length;
  assert.is(ev.filter((e) => e.ph === 'X').length, n((e) => e.durUs !== undefined));
  assert.is(ev.filter((e) => e.ph === 'i').length, n((e) => e.kind === 'wake' || e.kind === 'post'));
  assert.is(ev.filter((e) => e.ph === 'C').length, n((e) => e.kind === 'counter'));
  // flows: one s/f pair per request, s inside the process's fault span, f at the start of the serve span
  const flows = n((e) => e.kind === 'serve' && e.flowId !== undefined);
  const ss = ev.filter((e) => e.ph === 's');
  const fs = ev.filter((e) => e.ph === 'f');
  assert.is(ss.length, flows);
  assert.is(fs.length, flows);
  const xs = ev.filter((e) => e.ph === 'X');
  for (const s of ss) {
    assert.ok(xs.some((x) => x.tid === s.tid && x.cat === 'fault' && x.ts! <= s.ts! && s.ts! <= x.ts! + x.dur!), `s ${s.id} inside a fault`);
    const f = fs.find((f) => f.id === s.id)!;
    assert.is(f.bp, 'e');
    assert.is(f.cat, s.cat);
    assert.ok(xs.some((x) => x.tid === f.tid && x.cat === 'serve' && x.ts === f.ts), `f ${f.id} at a serve start`);
    assert.ok(f.ts! >= s.ts!);
  }
});

test('toChromeTrace repairs ragged ring data and says so', () => {
  const threads: ThreadInfo[] = [
    { index: 1, name: 'pager 0', role: 'pager' },
    { index: 2, name: 'proc 0', role: 'process' },
  ];
  const events: TraceEvent[] = [
    { thread: 2, kind: 'fault', tsUs: 10, durUs: 10 },
    { thread: 2, kind: 'spin', tsUs: 15, durUs: 8 }, // outlives its fault
    { thread: 2, kind: 'post', tsUs: 11, flowId: 1 }, // served below
    { thread: 2, kind: 'post', tsUs: 12, flowId: 2 }, // its serve fell off the ring
    { thread: 1, kind: 'serve', tsUs: 13, durUs: 2, flowId: 1 },
    { thread: 1, kind: 'serve', tsUs: 1, durUs: 1, flowId: 3 }, // its post fell off the ring
    { thread: 5, kind: 'park', tsUs: 0, durUs: 3 }, // thread not in the list
    { thread: 2, kind: 'fault', tsUs: 30, durUs: Number.NaN },
  ];
  const tr = toChromeTrace(threads, events);
  assert.equal(validateChromeTrace(tr), []);
  assert.equal(tr.otherData, { clippedSpans: 1, droppedEvents: 1, droppedFlowEnds: 2 });
  const ev = tr.traceEvents as ChromeTraceEvent[];
  assert.is(ev.find((e) => e.ph === 'X' && e.cat === 'spin')!.dur, 5);
  assert.equal(ev.filter((e) => e.ph === 's').map((e) => e.id), [1]);
  assert.ok(ev.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.tid === 5));
});

test('toChromeTrace pairs reused flow ids in time order', () => {
  const threads: ThreadInfo[] = [
    { index: 0, name: 'pager', role: 'pager' },
    { index: 1, name: 'proc', role: 'process' },
  ];
  const events: TraceEvent[] = [];
  for (let k = 0; k < 3; k++) {
    const t = k * 10;
    events.push({ thread: 1, kind: 'fault', tsUs: t, durUs: 8 }, { thread: 1, kind: 'post', tsUs: t + 1, flowId: 42 });
    events.push({ thread: 0, kind: 'serve', tsUs: t + 2, durUs: 3, flowId: 42 });
  }
  const tr = toChromeTrace(threads, events);
  assert.equal(validateChromeTrace(tr), []);
  const ids = (tr.traceEvents as ChromeTraceEvent[]).filter((e) => e.ph === 's').map((e) => e.id);
  assert.equal(ids, [42, '42#1', '42#2']);
});

test('counters that share a name across threads stay separate tracks', () => {
  const threads: ThreadInfo[] = [
    { index: 1, name: 'pager 0', role: 'pager' },
    { index: 2, name: 'pager 1', role: 'pager' },
    { index: 3, name: 'proc 0', role: 'process' },
  ];
  const events: TraceEvent[] = [
    { thread: 1, kind: 'counter', name: 'queue depth', tsUs: 1, value: 3 },
    { thread: 2, kind: 'counter', name: 'queue depth', tsUs: 2, value: 1 },
    { thread: 3, kind: 'counter', name: 'faults', tsUs: 2, value: 9 },
    { thread: 3, kind: 'fault', tsUs: 0, durUs: 4 },
  ];
  const tr = toChromeTrace(threads, events);
  assert.equal(validateChromeTrace(tr), []);
  const names = (tr.traceEvents as ChromeTraceEvent[]).filter((e) => e.ph === 'C').map((e) => e.name);
  assert.equal(names, ['queue depth (pager 0)', 'queue depth (pager 1)', 'faults']);
  const svg = timelineChart(threads, events);
  assert.ok(svg.includes('>queue depth · pager 0</text>') && svg.includes('>queue depth · pager 1</text>'));
  assert.ok(svg.includes('>faults</text>'));
});

test('a shootdown: the pager slice and the target instant are drawn, and its flow ends in the instant without bp', () => {
  const threads: ThreadInfo[] = [
    { index: 1, name: 'pager 0', role: 'pager' },
    { index: 3, name: 'pid 100', role: 'process' },
    { index: 4, name: 'pid 100 tid 101', role: 'process' },
  ];
  const events: TraceEvent[] = [
    { thread: 3, kind: 'fault', name: 'munmap', tsUs: 0, durUs: 20, flowId: 2048, flowEnd: false, flowOut: [2 ** 52] },
    { thread: 1, kind: 'serve', name: 'serve munmap', tsUs: 2, durUs: 10, flowId: 2048, flowEnd: true },
    { thread: 1, kind: 'shootdown', name: 'shootdown → pid 100 tid 101', tsUs: 5, durUs: 1 },
    { thread: 4, kind: 'shootdown-target', name: 'TLB entries shot down by pid 100, munmap', tsUs: 6, flowId: 2 ** 52, flowEnd: true },
  ];
  const tr = toChromeTrace(threads, events);
  assert.equal(validateChromeTrace(tr), []);
  const ev = tr.traceEvents as ChromeTraceEvent[];
  const f = ev.filter((e) => e.ph === 'f' && e.cat === 'shootdown');
  assert.is(f.length, 1);
  assert.equal([f[0].tid, f[0].ts, f[0].bp], [4, 6, undefined]);
  // The f precedes its instant, so that viewers bind it to the instant.
  assert.ok(ev.indexOf(f[0]) < ev.findIndex((e) => e.ph === 'i' && e.tid === 4), 'f before its instant');
  assert.is(ev.filter((e) => e.ph === 's' && e.cat === 'shootdown' && e.tid === 3 && e.ts === 0).length, 1);
  assert.is(ev.filter((e) => e.ph === 's' && e.cat === 'flow').length, 1, 'the request flow is still there');
  const svg = timelineChart(threads, events);
  assert.ok(svg.includes('TLB entries shot down by pid 100, munmap') && svg.includes('>TLB entries shot down</text>'), 'the instant is drawn, with a legend');
  assert.ok(svg.includes('>shootdown</text>'), 'the slice kind has a legend entry');
});

// The validator must be able to fail: start from a valid minimal trace and break one thing at a time.
function validMinimal(): ChromeTraceEvent[] {
  return [
    { ph: 'M', name: 'process_name', pid: 1, tid: 0, args: { name: 'p' } },
    { ph: 'M', name: 'thread_name', pid: 1, tid: 1, args: { name: 'proc' } },
    { ph: 'M', name: 'thread_name', pid: 1, tid: 2, args: { name: 'pager' } },
    { ph: 'X', name: 'fault', cat: 'fault', pid: 1, tid: 1, ts: 0, dur: 10 },
    { ph: 's', name: 'request', cat: 'flow', id: 1, pid: 1, tid: 1, ts: 1 },
    { ph: 'X', name: 'spin', cat: 'spin', pid: 1, tid: 1, ts: 2, dur: 5 },
    { ph: 'X', name: 'serve', cat: 'serve', pid: 1, tid: 2, ts: 3, dur: 4 },
    { ph: 'f', bp: 'e', name: 'request', cat: 'flow', id: 1, pid: 1, tid: 2, ts: 3 },
    { ph: 'C', name: 'queue depth', cat: 'counter', pid: 1, tid: 2, ts: 4, args: { value: 1 } },
  ];
}
const hasProblem = (evs: unknown, re: RegExp) => {
  const p = validateChromeTrace({ traceEvents: evs, displayTimeUnit: 'ns' });
  assert.ok(p.some((x) => re.test(x)), `expected ${re} in ${JSON.stringify(p)}`);
};

test('validateChromeTrace accepts the minimal fixture', () => {
  assert.equal(validateChromeTrace({ traceEvents: validMinimal(), displayTimeUnit: 'ns' }), []);
  assert.equal(validateChromeTrace(validMinimal()), [], 'bare array form');
});

test('validateChromeTrace reports events out of order within a thread', () => {
  const e = validMinimal();
  [e[3], e[5]] = [e[5]!, e[3]!];
  hasProblem(e, /out of order/);
  // and in a real trace: swap two events of one thread
  const tr = toChromeTrace(sampleProfileReport(4).timeline.threads, sampleProfileReport(4).timeline.events);
  const ev = tr.traceEvents as ChromeTraceEvent[];
  const i = ev.findIndex((x) => x.ph === 'X' && x.tid === 3);
  const j = ev.findIndex((x, k) => k > i && x.tid === 3 && x.ts! > ev[i]!.ts!);
  [ev[i], ev[j]] = [ev[j]!, ev[i]!];
  hasProblem(ev, /out of order/);
});

test('validateChromeTrace reports partially overlapping spans', () => {
  const e = validMinimal();
  e[5]!.dur = 20; // spin [2, 22] sticks out of fault [0, 10]
  hasProblem(e, /"spin" \[2, 22\].*partially overlaps "fault" \[0, 10\]/);
});

test('validateChromeTrace reports a flow with only one end', () => {
  hasProblem(validMinimal().filter((x) => x.ph !== 'f'), /flow flow:1: has an "s" .* but no "f"/);
  hasProblem(validMinimal().filter((x) => x.ph !== 's'), /flow flow:1: has an "f" .* but no "s"/);
  const e = validMinimal();
  e[7]!.id = 2;
  hasProblem(e, /no "f"/);
  hasProblem(e, /no "s"/);
});

test('validateChromeTrace reports a missing thread name', () => {
  hasProblem(validMinimal().filter((x) => !(x.ph === 'M' && x.tid === 2)), /thread 1\/2 .*has no thread_name/);
});

test('validateChromeTrace reports missing or non-finite fields', () => {
  const e = validMinimal();
  delete e[5]!.dur;
  hasProblem(e, /dur missing/);
  const f = validMinimal();
  f[6]!.ts = Number.NaN;
  hasProblem(f, /ts missing or not finite/);
  const g = validMinimal();
  g[8]!.args = { value: Infinity };
  hasProblem(g, /counter args/);
  const h = validMinimal();
  delete h[4]!.id;
  hasProblem(h, /flow id missing/);
  hasProblem({ traceEvents: [] }.traceEvents.concat([{ ph: 'Q', pid: 1, tid: 1 } as never]), /unknown or missing ph/);
  assert.ok(validateChromeTrace({}).length > 0, 'no traceEvents');
  assert.ok(validateChromeTrace({ traceEvents: [], displayTimeUnit: 'us' }).length > 0);
});

// ---------------------------------------------------------------- text

test('text report names the verdict and shows shares, hot lists and a histogram', () => {
  const r = sampleProfileReport(6);
  const txt = renderTextReport(r);
  assert.ok(txt.includes(`VERDICT: ${r.verdict}`));
  assert.ok(txt.indexOf('VERDICT') < txt.indexOf('Where each thread'));
  for (const t of r.threadTimes) assert.match(txt, new RegExp(`^  ${t.thread} +${t.role} .*%`, 'm'));
  assert.ok(txt.includes(r.hotPages[0]!.label));
  assert.ok(txt.includes(r.hotQueues[0]!.label));
  assert.match(txt, /\|#+ *\| +\d+ +[\d.]+%.*<- p50/);
  assert.match(txt, /p99 [\d.]+ (ns|µs|ms)/);
  assert.match(txt, /^  adaptive +[\d.]+[kM]?/m);
  assert.not.match(txt, /\x1b\[/, 'no escape codes');
});

test.run();
