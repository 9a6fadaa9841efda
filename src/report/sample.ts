/**
 * A deterministic synthetic ProfileReport for previews (`profile --sample`), documentation and
 * the renderers' tests: a small discrete-event simulation, not a measurement.
 */
import { mulberry32 } from '../util/prng.js';
import type { Histogram, HotItem, ProfileReport, SpanKind, SweepPoint, ThreadInfo, ThreadTime, TraceEvent } from './types.js';

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
  const rnd = mulberry32(seed);
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
