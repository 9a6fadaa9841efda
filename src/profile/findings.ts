/**
 * Findings: the specific contention points a run shows, each named the way the user knows it,
 * and ranked by the share of fault time it explains. The report's verdict is the first one; with
 * none, it is the breakdown's largest part (analyze.ts).
 *
 *   - a slow driver: d_mmap takes most of the pagers' service time (device and driver named);
 *   - a hot page: one device page takes a large share of the faults, from several processes;
 *   - more processes than CPUs: answered processes wait in a pager's run queue for a CPU.
 */
import type { RuntimeStats } from '../runtime-stats.js';
import { breakdown } from './analyze.js';
import type { TraceHotSpots } from './hot.js';

export interface Finding {
  kind: 'slow-dmmap' | 'hot-page' | 'cpu-oversubscribed';
  /** one sentence naming the point */
  text: string;
  /** about how much of the fault time it explains (0..1), for ranking */
  share: number;
}

/** A median d_mmap over this share of a fault's median service makes the driver a finding, */
const DMMAP_SERVICE_SHARE = 0.5;
/** when it takes at least this long (a clock read is ~50 ns of it). */
const DMMAP_SLOW_NS = 1000;
/** One page with at least this share of the device faults, from 2+ processes, is a hot page. */
const HOT_PAGE_SHARE = 0.25;
/** Processes waiting for a CPU this share of their time make oversubscription a finding. */
const RUNQUEUE_SHARE = 0.05;

const pct = (x: number) => `${Math.round(x * 100)}%`;
const fmt = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`);

export function findings(st: RuntimeStats, hot: TraceHotSpots | null, windowMs: number): Finding[] {
  const out: Finding[] = [];
  const b = breakdown(st);
  if (b.faults === 0 || !(b.roundTripNs > 0)) return out;
  const t = st.totals;
  const faultTimeNs = b.roundTripNs * b.faults;

  // Medians of the traced calls, not the sums: a pager preempted inside one sampled call would
  // otherwise outweigh hundreds of calls.
  const dev = hot?.dmmap[0];
  if (hot && dev && dev.medianNs >= DMMAP_SLOW_NS && dev.medianNs >= DMMAP_SERVICE_SHARE * hot.faultServeMedianNs) {
    const share = Math.min(1, (t.faultsServed * dev.medianNs) / faultTimeNs);
    out.push({
      kind: 'slow-dmmap',
      text: `slow driver: d_mmap of ${dev.path} (driver '${dev.driver}') takes ${fmt(dev.medianNs)} per call (median), ${pct(Math.min(1, dev.medianNs / Math.max(1, hot.faultServeMedianNs)))} of a fault's service, about ${pct(share)} of fault time`,
      share,
    });
  }

  if (hot && hot.deviceFaults > 0 && hot.pages.length > 0) {
    const p = hot.pages[0];
    const frac = p.faults / hot.deviceFaults;
    if (frac >= HOT_PAGE_SHARE && p.processes.length >= 2) {
      const who = p.processes.length <= 3 ? p.processes.join(', ') : `${p.processes.slice(0, 3).join(', ')} and ${p.processes.length - 3} more`;
      out.push({
        kind: 'hot-page',
        text: `hot page: ${p.label} takes ${pct(frac)} of the device faults, from ${p.processes.length} processes (${who})`,
        share: frac * Math.min(1, (b.queuedNs + b.serviceNs) / b.roundTripNs),
      });
    }
  }

  // Oversubscription: held wake-ups or yielded quanta prove that processes waited for a CPU;
  // its weight is the share of the processes' time spent so (heldNs is exact: every hold is
  // timed), not of the sampled round trip, whose long waits are the ones sampling misses.
  const running = st.processes.filter((p) => p.counters.faults > 0 || p.counters.syscalls > 0).length;
  const procNs = running * windowMs * 1e6;
  const held = procNs > 0 ? Math.min(1, t.heldNs / procNs) : 0;
  if (running > st.run.cpus && (t.held > 0 || t.yields > 0) && held >= RUNQUEUE_SHARE) {
    let pager = st.pagers[0];
    for (const p of st.pagers) if (p.counters.heldNs > pager.counters.heldNs) pager = p;
    out.push({
      kind: 'cpu-oversubscribed',
      text: `more processes than CPUs: ${running} processes for the ${st.run.cpus} CPU(s) the pagers leave; they waited ${pct(held)} of the window in pager ${pager.index}'s run queue for a CPU (${fmt(b.runQueueNs)} per fault, ${t.held.toLocaleString('en')} wake-ups held, ${t.yields.toLocaleString('en')} quanta yielded)`,
      share: held,
    });
  }
  return out.sort((x, y) => y.share - x.share);
}
