/**
 * Contention analysis: from one profiled run's counters, histograms and trace, say where each
 * thread's time went and name the main contention point.
 *
 * A process's fault round trip splits into three parts that the runtime measures separately:
 *   queued    post -> the pager starts serving it         (pager queueWait, measured on one clock)
 *   service   the fault routine itself, d_mmap included   (pager service)
 *   run queue an answered, parked process waiting in its pager's run queue for a CPU (pager
 *             heldNs: every held wake-up is timed, from queueing to grant)
 *   handoff   the rest: the reply reaching the process     (round trip - the others), which is
 *             where parking and waking show up
 * The largest share is the verdict. The queue part also contains the pager's own wake-up when it
 * had parked; when the pager parked for most requests, that is reported as a wake-up cost instead.
 */
import type { HistogramData, RuntimeStats } from '../runtime-stats.js';
import type { HotItem, OverheadNote, ProfileReport, SweepPoint, ThreadInfo, ThreadTime, TraceEvent, TraceSummary } from '../report/types.js';
import { addressSpaces, findings } from './findings.js';
import type { TraceHotSpots } from './hot.js';

export interface ProfileInput {
  title: string;
  machine: Record<string, string | number>;
  options: Record<string, string | number | boolean>;
  /** stats snapshot covering exactly the profiled window (reset at its start) */
  stats: RuntimeStats;
  windowMs: number;
  /** the lifetimes of the window's processes and threads, summed, ms (findings.ts; optional) */
  processMs?: number;
  histograms: { fault: HistogramData; queueWait: HistogramData; service: HistogramData; park: HistogramData };
  /** the timeline: a short window of decoded events */
  trace: { threads: ThreadInfo[]; events: TraceEvent[] } | null;
  /** hot pages and d_mmap per device, from the whole trace */
  hot?: TraceHotSpots | null;
  /** how large the trace is, and what full rings overwrote */
  traceSummary?: TraceSummary | null;
  sweep: SweepPoint[];
  /** what a process slot is called in the thread table (default `process slot N`) */
  slotName?: (slot: number) => string;
  /** what tracing cost this run, or why it was not measured */
  overhead: OverheadNote | null;
}

export interface Breakdown {
  faults: number;
  roundTripNs: number;
  queuedNs: number;
  serviceNs: number;
  runQueueNs: number;
  handoffNs: number;
  pagerParksPerRequest: number;
  processParksPerFault: number;
}

/** Mean per-fault composition of the round trip. */
export function breakdown(st: RuntimeStats): Breakdown {
  const t = st.totals;
  const faults = Math.max(1, t.faults);
  const requests = Math.max(1, t.requests);
  const queuedNs = t.queueWaitNs / requests;
  const serviceNs = t.busyNs / requests;
  const runQueueNs = t.heldNs / faults;
  // The round trip is sampled, the run-queue wait is exact (every held wake-up is timed): a
  // sample that missed the rare long waits must not make the parts exceed the whole.
  const roundTripNs = Math.max(t.waitNs / faults, queuedNs + serviceNs + runQueueNs);
  let pagerParks = 0;
  for (const p of st.pagers) pagerParks += p.counters.parks;
  let procParks = 0;
  for (const p of st.processes) procParks += p.counters.parks;
  return {
    faults: t.faults,
    roundTripNs,
    queuedNs,
    serviceNs,
    runQueueNs,
    handoffNs: Math.max(0, roundTripNs - queuedNs - serviceNs - runQueueNs),
    pagerParksPerRequest: pagerParks / requests,
    processParksPerFault: procParks / faults,
  };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const us = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`);

export function verdict(st: RuntimeStats): string {
  const b = breakdown(st);
  if (b.faults === 0 || !(b.roundTripNs > 0)) return 'no faults were measured (is stats on, and did the workload fault?)';
  const share = (x: number) => x / b.roundTripNs;
  // Which pager's queue held requests longest (the busiest pager is the one to name).
  let worst = st.pagers[0];
  for (const p of st.pagers) if (p.counters.queueWaitNs > worst.counters.queueWaitNs) worst = p;
  const parts: [string, number][] = [
    ['queue', b.queuedNs],
    ['service', b.serviceNs],
    ['runqueue', b.runQueueNs],
    ['handoff', b.handoffNs],
  ];
  parts.sort((x, y) => y[1] - x[1]);
  const [top] = parts[0];
  if (top === 'queue') {
    if (b.pagerParksPerRequest > 0.5) {
      return `pager wake-up: requests found pager ${worst.index} parked ${pct(Math.min(1, b.pagerParksPerRequest))} of the time; waking it made up ${pct(share(b.queuedNs))} of fault time (${us(b.queuedNs)} of ${us(b.roundTripNs)})`;
    }
    return `pager ${worst.index}'s request queue: requests waited ${pct(share(b.queuedNs))} of fault time queued (${us(b.queuedNs)} of ${us(b.roundTripNs)} per fault; up to ${worst.counters.maxQueueDepth} requests queued at once)`;
  }
  if (top === 'runqueue') {
    let held = st.pagers[0];
    for (const p of st.pagers) if (p.counters.heldNs > held.counters.heldNs) held = p;
    const spaces = addressSpaces(st);
    const tasks = spaces.every((a) => a.slots.length === 1) ? 'processes' : 'threads';
    return `pager ${held.index}'s run queue: answered ${tasks} waited ${pct(share(b.runQueueNs))} of fault time for one of the ${st.run.cpus} CPU(s) they may hold (${us(b.runQueueNs)} of ${us(b.roundTripNs)} per fault; ${st.totals.held.toLocaleString('en')} wake-ups held, ${st.totals.yields.toLocaleString('en')} quanta yielded): more ${tasks} than CPUs`;
  }
  if (top === 'service') {
    const dmmap = st.totals.dmmapNs;
    if (dmmap > 0.5 * st.totals.busyNs) {
      return `the driver's d_mmap: ${pct(dmmap / Math.max(1, st.totals.busyNs))} of pager service time, ${pct(share(b.serviceNs))} of fault time`;
    }
    return `pager service (the fault routine): ${pct(share(b.serviceNs))} of fault time (${us(b.serviceNs)} of ${us(b.roundTripNs)} per fault)`;
  }
  return `park/wake handoff: ${pct(share(b.handoffNs))} of fault time is the reply reaching the process (${us(b.handoffNs)} of ${us(b.roundTripNs)} per fault; ${b.processParksPerFault.toFixed(2)} parks per fault)`;
}

/**
 * What parking and waking cost: how often each side parked, how long a park lasted, how many
 * futex wake-ups the pagers sent, and the share of the fault round trip that is the handoff back
 * to the process (where a wake-up's cost shows).
 */
export function parkWakeSummary(st: RuntimeStats): string[] {
  const b = breakdown(st);
  let pagerParks = 0;
  let pagerParkNs = 0;
  let wakeups = 0;
  for (const p of st.pagers) {
    pagerParks += p.counters.parks;
    pagerParkNs += p.counters.parkNs;
    wakeups += p.counters.wakeups;
  }
  let procParks = 0;
  let procParkNs = 0;
  for (const p of st.processes) {
    procParks += p.counters.parks;
    procParkNs += p.counters.parkNs;
  }
  const park = st.latency.park;
  const mean = (ns: number, n: number) => (n > 0 ? us(ns / n) : '-');
  return [
    'Parking and waking',
    `  processes parked ${procParks.toLocaleString('en')} times (${b.processParksPerFault.toFixed(2)} per fault), ${mean(procParkNs, procParks)} per park, ${(procParkNs / 1e6).toFixed(1)} ms in all`,
    `  pagers parked ${pagerParks.toLocaleString('en')} times, ${mean(pagerParkNs, pagerParks)} per park; requests that found a pager parked rang its doorbell`,
    `  wake-ups sent by pagers (futex notify to a parked process): ${wakeups.toLocaleString('en')}`,
    `  run queue (${st.run.cpus} CPU(s) for processes): ${st.totals.held.toLocaleString('en')} wake-ups held until a CPU came free, ${us(b.runQueueNs)} per fault waiting there; ${st.totals.yields.toLocaleString('en')} quanta yielded, ${st.totals.holdTimeouts.toLocaleString('en')} woken beyond the CPUs because their holders went quiet`,
    `  park duration p50 ${us(park.p50Ns)}, p99 ${us(park.p99Ns)} (all threads)`,
    `  handoff (reply reaching the process, where wake-ups cost): ${us(b.handoffNs)} of a ${us(b.roundTripNs)} fault round trip (${b.roundTripNs > 0 ? Math.round((100 * b.handoffNs) / b.roundTripNs) : 0}%)`,
  ];
}

/**
 * One line on TLB shootdowns (rt.stats().shootdown) when threads shared an address space, or
 * when any shootdown happened (a revoke reaches single-threaded processes too); else undefined.
 */
export function shootdownSummary(st: RuntimeStats): string | undefined {
  const sd = st.shootdown;
  const threaded = addressSpaces(st).filter((a) => a.slots.length >= 2);
  if (sd.operations === 0) {
    if (threaded.length === 0) return undefined;
    return `none: ${threaded.map((a) => `${a.name}'s ${a.slots.length} threads`).join(', ')} shared an address space, and no munmap, mprotect, remap or copy-on-write copy reached another thread's TLB`;
  }
  const timed = sd.waitNs > 0 ? `, ${us(sd.meanNs)} per operation while the initiator waited (${us(sd.waitNs)} in all)` : ' (stats off: not timed)';
  const limbo = sd.limboFrames > 0 ? `; ${sd.limboFrames.toLocaleString('en')} frames held back until those threads passed a point between accesses, freed later in ${us(sd.reclaimNs)} of pager time` : '';
  return `${sd.operations.toLocaleString('en')} operations reached ${sd.targets.toLocaleString('en')} other threads' TLBs (${(sd.targets / sd.operations).toFixed(1)} each)${timed}${limbo}`;
}

export function threadTimes(st: RuntimeStats, windowMs: number, slotName?: (slot: number) => string): ThreadTime[] {
  const total = windowMs * 1e6;
  const out: ThreadTime[] = [];
  for (const p of st.pagers) {
    const c = p.counters;
    const dmmapNs = Math.min(c.dmmapNs, c.busyNs);
    const servingNs = Math.max(0, c.busyNs - dmmapNs);
    const parkedNs = Math.min(c.parkNs, total);
    const spinningNs = Math.max(0, total - c.busyNs - parkedNs);
    out.push({ thread: `pager ${p.index}`, role: 'pager', spinningNs, parkedNs, servingNs, dmmapNs, faultWaitNs: 0, otherNs: 0, totalNs: Math.max(total, servingNs + dmmapNs + parkedNs + spinningNs) });
  }
  for (const p of st.processes) {
    const c = p.counters;
    // waitNs is estimated from sampled faults (a few long waits, each standing for hundreds of
    // faults, can overshoot); the window bounds it. parkNs is exact: every park is timed.
    const parkedNs = Math.min(c.parkNs, total);
    const waitNs = Math.min(Math.max(c.waitNs, parkedNs), total);
    const spinningNs = waitNs - parkedNs;
    const otherNs = total - waitNs;
    out.push({ thread: slotName ? slotName(p.slot) : `process slot ${p.slot}${p.pid !== null ? ` (pid ${p.pid})` : ''}`, role: 'process', spinningNs, parkedNs, servingNs: 0, dmmapNs: 0, faultWaitNs: 0, otherNs, totalNs: total });
  }
  return out;
}

/** Hottest device pages (faults served, from the trace) and hottest queues (time waited). */
export function hotSpots(st: RuntimeStats, hot: TraceHotSpots | null, top = 10): { hotPages: HotItem[]; hotQueues: HotItem[] } {
  const hotQueues: HotItem[] = st.pagers
    .flatMap((p) => [
      { label: `pager ${p.index} request queue (max depth ${p.counters.maxQueueDepth})`, value: Math.round(p.counters.queueWaitNs / 1000), unit: 'µs waited' },
      { label: `pager ${p.index} run queue (processes waiting for a CPU)`, value: Math.round(p.counters.heldNs / 1000), unit: 'µs waited' },
    ])
    .filter((q) => q.value > 0 || q.label.includes('request'))
    .sort((a, b) => b.value - a.value);
  const hotPages: HotItem[] = (hot?.pages ?? []).slice(0, top).map((p) => ({
    label: p.processes.length > 0 ? `${p.label} · ${p.processes.length} process${p.processes.length === 1 ? '' : 'es'}` : p.label,
    value: p.faults,
    unit: 'faults',
  }));
  return { hotPages, hotQueues: hotQueues.slice(0, top) };
}

/**
 * Events of a short window where the run is busiest, so the HTML timeline stays readable: centred
 * on the median event time (the middle of the time range can fall in an idle gap, such as a
 * pager's long park before the processes start); spans that overlap the window are clipped to it.
 */
export function timelineWindow(events: TraceEvent[], windowUs: number): TraceEvent[] {
  if (events.length === 0) return events;
  const starts = events.map((e) => e.tsUs).sort((x, y) => x - y);
  const mid = starts[starts.length >> 1];
  const a = mid - windowUs / 2;
  const b = mid + windowUs / 2;
  const out: TraceEvent[] = [];
  for (const e of events) {
    const end = e.tsUs + (e.durUs ?? 0);
    if (end < a || e.tsUs > b) continue;
    if (e.durUs === undefined || (e.tsUs >= a && end <= b)) {
      out.push(e);
      continue;
    }
    const ts = Math.max(e.tsUs, a);
    out.push({ ...e, tsUs: ts, durUs: Math.min(end, b) - ts });
  }
  return out;
}

export function buildProfileReport(inp: ProfileInput): ProfileReport {
  const { hotPages, hotQueues } = hotSpots(inp.stats, inp.hot ?? null);
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(inp.stats.totals)) if (v !== 0 && Number.isFinite(v)) counters[k] = Math.round(v);
  const b = breakdown(inp.stats);
  counters.meanRoundTripNs = Math.round(b.roundTripNs);
  counters.meanQueuedNs = Math.round(b.queuedNs);
  counters.meanServiceNs = Math.round(b.serviceNs);
  counters.meanHandoffNs = Math.round(b.handoffNs);
  counters.meanRunQueueNs = Math.round(b.runQueueNs);
  const found = findings(inp.stats, inp.hot ?? null, inp.windowMs, inp.processMs);
  const breakdownVerdict = verdict(inp.stats);
  return {
    title: inp.title,
    generatedAt: new Date().toISOString(),
    machine: inp.machine,
    options: inp.options,
    verdict: found[0]?.text ?? breakdownVerdict,
    findings: found.map((f) => f.text),
    breakdown: breakdownVerdict,
    shootdowns: shootdownSummary(inp.stats),
    overhead: inp.overhead ?? { measured: false, text: 'tracing overhead: not measured in this run' },
    trace: inp.traceSummary ?? null,
    threadTimes: threadTimes(inp.stats, inp.windowMs, inp.slotName),
    hotPages,
    hotQueues,
    latency: { ...inp.histograms.fault, name: 'fault round trip' },
    extraHistograms: [
      { ...inp.histograms.queueWait, name: 'queue wait' },
      { ...inp.histograms.service, name: 'service time' },
      { ...inp.histograms.park, name: 'park duration' },
    ],
    sweep: inp.sweep,
    timeline: inp.trace ? { threads: inp.trace.threads, events: timelineWindow(inp.trace.events, 2000) } : { threads: [], events: [] },
    counters,
  };
}
