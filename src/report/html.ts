/**
 * `devpager profile` reports: one self-contained HTML page (inline CSS and
 * SVG, no external resources, no script) and a plain-text terminal summary.
 */
import {
  esc,
  fmtCount,
  fmtNs,
  histogramChart,
  histogramQuantile,
  lineChart,
  stackedBar,
  sweepSeries,
  threadTimeFractions,
  timelineChart,
  TIME_PARTS,
  WAIT_COLORS,
} from './svg.js';
import type { Histogram, HotItem, ProfileReport, SpanKind, SweepPoint, ThreadInfo, ThreadTime, TraceEvent } from './types.js';

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1d1f23;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",Helvetica,Arial,sans-serif}
main{max-width:1320px;margin:0 auto;padding:20px 24px 40px}
header h1{font-size:22px;margin:0 0 2px}
header .meta{color:#666;font-size:12px}
.verdict{margin:14px 0 18px;padding:14px 18px;background:#fff4e5;border-left:6px solid #e8890c;border-radius:6px;font-size:18px;font-weight:600;color:#4a2c00}
.verdict small{display:block;font-size:11px;font-weight:500;letter-spacing:.06em;text-transform:uppercase;color:#9a6210;margin-bottom:2px}
section{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:14px 16px;margin:0 0 16px}
section h2{font-size:15px;margin:0 0 10px;color:#333}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.grid>section{margin:0}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
svg.chart{display:block;max-width:100%;height:auto}
table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{padding:3px 8px;text-align:right;border-bottom:1px solid #eee;white-space:nowrap}
th{background:#f7f7f9;font-weight:600;color:#444}
th:first-child,td:first-child{text-align:left}
td.l,th.l{text-align:left}
td.num{font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px;border:1px solid #0002}
.bar{position:relative;min-width:120px}
.bar i{position:absolute;left:0;top:3px;bottom:3px;background:#4e79a733;border-right:2px solid #4e79a7}
.bar span{position:relative}
.hot td.label{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px;max-width:360px;overflow:hidden;text-overflow:ellipsis}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:12.5px}
.kv dt{color:#666}.kv dd{margin:0;font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;word-break:break-all}
.note{color:#666;font-size:12px;margin:6px 0 0}
.tt th,.tt td{padding:3px 6px}
.tt th{white-space:normal;vertical-align:bottom}
.mini{flex:0 1 390px}
.mini h3{font-size:13px;margin:0 0 4px;color:#444;font-weight:600}
`;

function pct(f: number): string {
  return `${(f * 100).toFixed(1)}%`;
}

const UNIT_NS: Record<string, number> = { ns: 1, µs: 1e3, us: 1e3, ms: 1e6, s: 1e9 };

/** "3712 µs waited" -> "3.71 ms waited"; other units -> "1.2k faults". */
export function fmtHotValue(it: HotItem): string {
  const m = /^(ns|µs|us|ms|s)(\b.*|)$/.exec(it.unit);
  if (m) return `${fmtNs(it.value * UNIT_NS[m[1]!]!)}${m[2]}`;
  return `${fmtCount(it.value)} ${it.unit}`;
}

function hotTable(title: string, items: HotItem[], id: string): string {
  if (items.length === 0) return `<section class="hot" id="${esc(id)}"><h2>${esc(title)}</h2><p class="note">none recorded</p></section>`;
  const max = Math.max(...items.map((i) => i.value), 0) || 1;
  let rows = '';
  items.forEach((it, i) => {
    rows +=
      `<tr><td class="num">${i + 1}</td><td class="label l" title="${esc(it.label)}">${esc(it.label)}</td>` +
      `<td class="bar num"><i style="width:${((100 * Math.max(0, it.value)) / max).toFixed(1)}%"></i><span>${esc(fmtHotValue(it))}</span></td></tr>`;
  });
  return (
    `<section class="hot" id="${esc(id)}"><h2>${esc(title)}</h2><table><thead><tr><th>#</th><th class="l">${id === 'hot-pages' ? 'page' : 'queue'}</th><th>value</th></tr></thead>` +
    `<tbody>${rows}</tbody></table></section>`
  );
}

function kv(rec: Record<string, string | number | boolean>): string {
  const keys = Object.keys(rec);
  if (keys.length === 0) return '<p class="note">none</p>';
  return `<dl class="kv">${keys.map((k) => `<dt>${esc(k)}</dt><dd>${esc(rec[k])}</dd>`).join('')}</dl>`;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'h';
}

function histSummary(h: Histogram): string {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return 'no samples';
  const q = (x: number) => fmtNs(histogramQuantile(h, x));
  return `${fmtCount(total)} samples · p50 ${q(0.5)} · p90 ${q(0.9)} · p99 ${q(0.99)} · p99.9 ${q(0.999)}`;
}

/** Renders the whole profile as one self-contained HTML document. */
export function renderHtmlReport(r: ProfileReport): string {
  const threadRows = r.threadTimes
    .map((t) => {
      const fr = threadTimeFractions(t);
      return (
        `<tr><td>${esc(t.thread)}</td><td class="l">${esc(t.role)}</td><td class="num">${esc(fmtNs(t.totalNs))}</td>` +
        fr.map((f) => `<td class="num">${f.frac > 0 ? pct(f.frac) : '–'}</td>`).join('') +
        '</tr>'
      );
    })
    .join('');
  const threadHead =
    '<tr><th>thread</th><th class="l">role</th><th>total</th>' +
    TIME_PARTS.map((p) => `<th><span class="sw" style="background:${p.color}"></span>${esc(p.label)}</th>`).join('') +
    '</tr>';

  const series = sweepSeries(r.sweep);
  const waits = [...new Set(r.sweep.map((p) => p.wait))];
  const sweepNote =
    r.sweep.length === 0
      ? 'no sweep was run'
      : `${r.sweep.length} runs; workload ${[...new Set(r.sweep.map((p) => p.workload))].join(', ')}; ` +
        `pagers ${[...new Set(r.sweep.map((p) => p.pagers))].join(', ')}; wait strategies ` +
        waits.map((w) => `<span class="sw" style="background:${WAIT_COLORS[w] ?? '#888'}"></span>${esc(w)}`).join(' ');

  const extra = (r.extraHistograms ?? [])
    .map(
      (h) =>
        `<div class="mini"><h3>${esc(h.name)}</h3>${histogramChart(h, { id: `hist-${slug(h.name)}`, title: h.name, width: 390, height: 220, color: '#76b7b2', heading: false })}` +
        `<p class="note">${esc(histSummary(h))}</p></div>`,
    )
    .join('');

  const counters = Object.keys(r.counters);
  const counterTable =
    counters.length === 0
      ? '<p class="note">none</p>'
      : `<table><tbody>${counters.map((k) => `<tr><td>${esc(k)}</td><td class="num">${esc(r.counters[k]!.toLocaleString('en-US'))}</td></tr>`).join('')}</tbody></table>`;

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header><h1>${esc(r.title)}</h1><div class="meta">generated ${esc(r.generatedAt)}</div></header>
<div class="verdict" id="verdict"><small>main contention point</small>${esc(r.verdict)}</div>

<section id="thread-time"><h2>Where each thread's time goes</h2>
<div class="row"><div style="flex:0 1 560px">${stackedBar(r.threadTimes, { width: 560, heading: false })}</div>
<div style="flex:1 1 600px;overflow-x:auto"><table class="tt">${threadHead}${threadRows}</table></div></div>
</section>

<div class="grid">
${hotTable('Hottest pages', r.hotPages, 'hot-pages')}
${hotTable('Hottest queues', r.hotQueues, 'hot-queues')}
</div>
<div style="height:16px"></div>

<div class="grid">
<section id="latency-section"><h2>Fault latency</h2>
${histogramChart(r.latency, { id: 'latency', title: r.latency.name, width: 600, height: 300, heading: false })}
<p class="note">${esc(histSummary(r.latency))}</p></section>
<section id="throughput-section"><h2>Throughput vs processes</h2>
${lineChart(series, { id: 'throughput', title: 'Faults per second by process count', xLabel: 'processes', yLabel: 'faults / s', width: 600, height: 300, logX: true, heading: false })}
<p class="note">${sweepNote}</p></section>
</div>
<div style="height:16px"></div>
${extra ? `<section id="extra-histograms"><h2>Other distributions</h2><div class="row">${extra}</div></section>` : ''}

<section id="timeline-section"><h2>Per-thread timeline</h2>
${timelineChart(r.timeline.threads, r.timeline.events, { width: 1240, heading: false })}
</section>

<div class="grid">
<section id="counters"><h2>Counters</h2>${counterTable}</section>
<section id="run"><h2>Run</h2><h3 style="font-size:13px;margin:0 0 4px">machine</h3>${kv(r.machine)}<h3 style="font-size:13px;margin:10px 0 4px">options</h3>${kv(r.options)}</section>
</div>
</main>
</body>
</html>
`;
}

// ---------------------------------------------------------------- text

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
  lines.push(`VERDICT: ${r.verdict}`, '');

  lines.push("Where each thread's time goes (% of wall time)");
  const nameW = Math.min(24, Math.max(6, ...r.threadTimes.map((t) => [...t.thread].length)));
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
    lines.push('Throughput vs processes (faults/s)');
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

// ---------------------------------------------------------------- sample data

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleOptions {
  procs?: number;
  pagers?: number;
  faultsPerProc?: number;
}

/**
 * A deterministic synthetic ProfileReport: a small discrete-event simulation
 * of processes faulting on pages served FIFO by pagers, producing consistent
 * spans, flows, counters, histograms and a modelled sweep. For previews
 * (`profile --sample`), documentation and tests of the renderers; it is not a
 * measurement.
 */
export function sampleProfileReport(seed = 1, opts: SampleOptions = {}): ProfileReport {
  const rnd = seededRandom(seed);
  const exp = (mean: number) => -Math.log(1 - rnd()) * mean;
  const P = opts.procs ?? 6;
  const G = opts.pagers ?? 2;
  const N = opts.faultsPerProc ?? 120;
  const r3 = (v: number) => Math.round(v * 1000) / 1000;

  const threads: ThreadInfo[] = [{ index: 0, name: 'host', role: 'host' }];
  for (let g = 0; g < G; g++) threads.push({ index: 1 + g, name: `pager ${g}`, role: 'pager' });
  for (let p = 0; p < P; p++) threads.push({ index: 1 + G + p, name: `proc ${p}`, role: 'process' });
  const events: TraceEvent[] = [];
  const span = (thread: number, kind: SpanKind, ts: number, end: number, extra: Partial<TraceEvent> = {}) => {
    const a = r3(ts);
    const b = r3(end);
    if (b > a) events.push({ thread, kind, tsUs: a, durUs: b - a, ...extra });
  };

  const pagesN = 64;
  const pageHits = new Array<number>(pagesN).fill(0);
  const queueWait = new Array<number>(G).fill(0);
  const pagerFree = new Array<number>(G).fill(2);
  const pagerIdleFrom = new Array<number>(G).fill(2);
  const nextPost = Array.from({ length: P }, () => 2 + exp(4));
  const done = new Array<number>(P).fill(0);
  const depth: { ts: number; g: number; d: number }[] = [];
  const lat: number[] = [];
  const qWaits: number[] = [];
  const service: number[] = [];
  const parks: number[] = [];
  let flow = 1;
  let faultTime = 0;

  for (;;) {
    let p = -1;
    for (let i = 0; i < P; i++) if (done[i]! < N && (p < 0 || nextPost[i]! < nextPost[p]!)) p = i;
    if (p < 0) break;
    const tid = 1 + G + p;
    const t0 = nextPost[p]!;
    const page = Math.min(pagesN - 1, Math.floor(pagesN * rnd() ** 3)); // skewed: low pages are hot
    pageHits[page]!++;
    const g = page % G === 0 || rnd() < 0.3 ? 0 : page % G; // pager 0 gets more than its share
    const post = t0 + 0.4;
    const sStart = Math.max(pagerFree[g]!, post + 0.6);
    const sDur = 1.2 + exp(g === 0 ? 2.2 : 1.5);
    const sEnd = sStart + sDur;
    const end = sEnd + 0.5 + exp(0.4);
    // pager: idle time before this request, then the service
    const idle = sStart - pagerIdleFrom[g]!;
    if (idle > 0) {
      const spinEnd = pagerIdleFrom[g]! + Math.min(idle, 4);
      span(1 + g, 'spin', pagerIdleFrom[g]!, spinEnd);
      if (idle > 4) {
        span(1 + g, 'park', spinEnd, sStart);
        parks.push((sStart - spinEnd) * 1e3);
      }
    }
    const id = flow++;
    span(1 + g, 'serve', sStart, sEnd, { flowId: id, args: { page, proc: p } });
    const dm = sStart + 0.1 + sDur * (0.25 + 0.3 * rnd());
    span(1 + g, 'dmmap', sStart + 0.1, dm);
    span(1 + g, 'pmap', dm + 0.05, sEnd - 0.05);
    pagerFree[g] = sEnd + 0.2;
    pagerIdleFrom[g] = sEnd;
    depth.push({ ts: post, g, d: 1 }, { ts: sStart, g, d: -1 });
    // process: the fault, posting the request, queued, then waiting for the answer
    span(tid, 'fault', t0, end, { args: { page } });
    events.push({ thread: tid, kind: 'post', tsUs: r3(post), flowId: id });
    span(tid, 'queue', post, sStart);
    const spinEnd = Math.min(sStart + 3, end);
    span(tid, 'spin', sStart, spinEnd);
    if (end > spinEnd) {
      span(tid, 'park', spinEnd, end - 0.3);
      parks.push((end - 0.3 - spinEnd) * 1e3);
      events.push({ thread: tid, kind: 'wake', tsUs: r3(end - 0.3) });
    }
    queueWait[g]! += sStart - post;
    faultTime += end - t0;
    lat.push((end - t0) * 1e3);
    qWaits.push((sStart - post) * 1e3);
    service.push(sDur * 1e3);
    done[p]!++;
    nextPost[p] = end + exp(6);
  }
  const tEnd = Math.max(...nextPost, ...pagerFree) + 1;
  span(0, 'park', 1, tEnd - 0.5);
  depth.sort((a, b) => a.ts - b.ts || a.d - b.d);
  const cur = new Array<number>(G).fill(0);
  for (const d of depth) {
    cur[d.g]! += d.d;
    events.push({ thread: 1 + d.g, kind: 'counter', name: `queue depth pager ${d.g}`, tsUs: r3(d.ts), value: cur[d.g]! });
  }
  events.sort((a, b) => a.tsUs - b.tsUs);

  // per-thread time from the spans
  const sum = (tid: number, kind: string) =>
    events.filter((e) => e.thread === tid && e.kind === kind).reduce((a, e) => a + (e.durUs ?? 0), 0) * 1e3;
  const totalNs = tEnd * 1e3;
  const threadTimes: ThreadTime[] = threads.map((t) => {
    const spinningNs = sum(t.index, 'spin');
    const parkedNs = sum(t.index, 'park');
    const dmmapNs = sum(t.index, 'dmmap');
    const servingNs = Math.max(0, sum(t.index, 'serve') - dmmapNs);
    const faultWaitNs = t.role === 'process' ? Math.max(0, sum(t.index, 'fault') - spinningNs - parkedNs) : 0;
    const otherNs = Math.max(0, totalNs - spinningNs - parkedNs - dmmapNs - servingNs - faultWaitNs);
    return { thread: t.name, role: t.role, spinningNs, parkedNs, servingNs, dmmapNs, faultWaitNs, otherNs, totalNs };
  });

  const hist = (name: string, values: number[]): Histogram => {
    const boundsNs: number[] = [];
    for (let k = 7; k <= 24; k++) boundsNs.push(2 ** k);
    const counts = new Array<number>(boundsNs.length - 1).fill(0);
    for (const v of values) {
      const i = Math.min(counts.length - 1, Math.max(0, Math.floor(Math.log2(Math.max(v, 1))) - 7));
      counts[i]!++;
    }
    return { name, boundsNs, counts };
  };

  const worst = queueWait.indexOf(Math.max(...queueWait));
  const share = Math.round((100 * queueWait[worst]!) / faultTime);
  const hotPages: HotItem[] = pageHits
    .map((v, i) => ({ label: `foo0 +0x${(i * 4096).toString(16)} (pfn ${0x4000 + i})`, value: v, unit: 'faults' }))
    .sort((a, b) => b.value - a.value)
    .slice(0, 8);
  const hotQueues: HotItem[] = queueWait
    .map((v, g) => ({ label: `pager ${g} request queue`, value: Math.round(v), unit: 'µs waited' }))
    .sort((a, b) => b.value - a.value);

  const sweep: SweepPoint[] = [];
  for (const wait of ['spin', 'park', 'adaptive'] as const) {
    for (const procs of [1, 2, 4, 8, 16]) {
      const base = wait === 'spin' ? 420e3 : wait === 'park' ? 160e3 : 380e3;
      const scale = wait === 'spin' ? Math.min(procs, 2) / (procs > 2 ? 1 + 0.35 * (procs - 2) : 1) : Math.log2(procs) * 0.55 + 1;
      const fps = base * scale * (0.95 + 0.1 * rnd());
      sweep.push({ workload: 'seq-read', procs, pagers: G, wait, faultsPerSec: Math.round(fps), p50Ns: Math.round(1e9 / fps), p99Ns: Math.round(4e9 / fps) });
    }
  }

  return {
    title: 'devpager profile — sample data',
    generatedAt: '2026-01-01T00:00:00.000Z',
    machine: { cpus: 2, node: 'v20', platform: 'linux x64' },
    options: { procs: P, pagers: G, faultsPerProc: N, wait: 'adaptive', seed, sample: true },
    verdict: `pager ${worst}'s request queue: requests waited ${share}% of fault time queued`,
    threadTimes,
    hotPages,
    hotQueues,
    latency: hist('fault latency', lat),
    extraHistograms: [hist('queue wait', qWaits), hist('service time', service), hist('park duration', parks)],
    sweep,
    timeline: { threads, events },
    counters: { faults: P * N, serves: P * N, wakes: events.filter((e) => e.kind === 'wake').length, pagers: G, processes: P },
  };
}
