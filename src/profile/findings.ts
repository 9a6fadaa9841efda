/**
 * Findings: the specific contention points a run shows, each named the way the user knows it,
 * and ranked by the share of fault time it explains. The report's verdict is the first one; with
 * none, it is the breakdown's largest part (analyze.ts).
 *
 *   - a slow driver: d_mmap takes most of the pagers' service time (device and driver named);
 *   - a hot page: one device page takes a large share of the faults, from several processes;
 *   - more processes (or threads) than CPUs: answered threads wait in a pager's run queue for a CPU;
 *   - TLB shootdowns: threads of one process share its address space, so a munmap, mprotect,
 *     remap or copy-on-write copy in one thread waits while its pager takes the range out of the
 *     other threads' TLBs (and frees the frames they held back later), and those threads fault
 *     again on what they lost;
 *   - one pager per address space: every thread of a process is served by the pager the process
 *     was given (runtime/process-table.ts), so with several pagers its threads queue on one while
 *     another idles, as threads of one process meet on one mmap lock.
 * Processes with one thread each never show the last two (docs/experiments/threads-contention.md).
 */
import type { RuntimeStats } from '../runtime-stats.js';
import { breakdown } from './analyze.js';
import type { TraceHotSpots } from './hot.js';

export interface Finding {
  kind: 'slow-dmmap' | 'hot-page' | 'cpu-oversubscribed' | 'shootdown' | 'one-pager-address-space';
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
/** Shootdowns explaining this share of fault time are a finding (below it, the report's shootdown line still gives their cost). */
const SHOOTDOWN_SHARE = 0.05;
/**
 * A pager serving a multi-threaded address space is a finding when another pager served under
 * this fraction of its requests, and its queue holds this share of fault time.
 */
const IDLE_PAGER_FRACTION = 0.25;
const ONE_PAGER_SHARE = 0.05;

const pct = (x: number) => `${Math.round(x * 100)}%`;
const fmt = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`);

/**
 * @param processMs the lifetimes of the window's processes and threads, summed (the process log);
 *   without it, every slot in use counts the whole window
 */
export function findings(st: RuntimeStats, hot: TraceHotSpots | null, windowMs: number, processMs?: number): Finding[] {
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

  // Oversubscription: held wake-ups or yielded quanta prove that processes waited for a CPU.
  // Held time is exact (every hold is timed), and it is weighed two ways: against the processes'
  // lifetimes (the process log; a runtime slow to start or idle around its processes must not
  // hide that they waited), and against their fault time, like the other findings (a process
  // that spent most of its life starting up may still have waited for a CPU at most of its
  // faults). The larger decides.
  const spaces = addressSpaces(st);
  const running = spaces.reduce((a, s) => a + s.slots.length, 0);
  const procNs = (processMs !== undefined && processMs > 0 ? processMs : running * windowMs) * 1e6;
  const ofLives = procNs > 0 ? Math.min(1, t.heldNs / procNs) : 0;
  const ofFaults = Math.min(1, b.runQueueNs / b.roundTripNs);
  const held = Math.max(ofLives, ofFaults);
  if (running > st.run.cpus && (t.held > 0 || t.yields > 0) && held >= RUNQUEUE_SHARE) {
    let pager = st.pagers[0];
    for (const p of st.pagers) if (p.counters.heldNs > pager.counters.heldNs) pager = p;
    const tasks = spaces.length === running ? 'processes' : 'threads';
    const of = tasks === 'threads' ? ` (of ${spaces.length === 1 ? spaces[0].name : `${spaces.length} processes`})` : '';
    out.push({
      kind: 'cpu-oversubscribed',
      text: `more ${tasks} than CPUs: ${running} ${tasks}${of} for the ${st.run.cpus} CPU(s) the pagers leave; they waited ${pct(ofLives)} of their lives (${pct(ofFaults)} of their fault time) in pager ${pager.index}'s run queue for a CPU (${fmt(b.runQueueNs)} per fault, ${t.held.toLocaleString('en')} wake-ups held, ${t.yields.toLocaleString('en')} quanta yielded)`,
      share: held,
    });
  }

  const threaded = spaces.filter((s) => s.slots.length >= 2).sort((x, y) => y.requests - x.requests);
  const busiest = threaded[0];
  // Shootdowns: the pager time they took (writing other threads' TLBs while the initiator
  // waited, and freeing the frames held back) as a share of the pagers' service, weighted like
  // a hot page by the part of the round trip the pagers account for.
  const sd = st.shootdown;
  if (sd.operations > 0 && busiest) {
    const cost = sd.waitNs + sd.reclaimNs;
    const ofService = Math.min(1, cost / Math.max(1, t.busyNs));
    const share = ofService * Math.min(1, (b.queuedNs + b.serviceNs) / b.roundTripNs);
    if (share >= SHOOTDOWN_SHARE) {
      out.push({
        kind: 'shootdown',
        text: `TLB shootdowns: ${busiest.name}'s ${busiest.slots.length} threads share one address space, so a munmap, mprotect or remap in one waits while pager ${busiest.pager} takes the range out of the others' TLBs: ${sd.operations.toLocaleString('en')} shootdowns reached ${sd.targets.toLocaleString('en')} threads (${(sd.targets / sd.operations).toFixed(1)} each), ${fmt(sd.meanNs)} per shootdown; with freeing the ${sd.limboFrames.toLocaleString('en')} frames they held back, ${pct(ofService)} of the pagers' service time, about ${pct(share)} of fault time; the threads then fault again on what they lost`,
        share,
      });
    }
  }

  // One pager per address space: the pager of the busiest multi-threaded process, against the
  // least loaded other pager; its queue's share of the fault time is what spreading could cut.
  if (busiest && st.pagers.length >= 2) {
    const mine = st.pagers.find((p) => p.index === busiest.pager);
    const others = st.pagers.filter((p) => p.index !== busiest.pager);
    const idlest = others.reduce((a, p) => (p.counters.requests < a.counters.requests ? p : a), others[0]);
    if (mine && idlest && idlest.counters.requests < IDLE_PAGER_FRACTION * mine.counters.requests) {
      const share = Math.min(1, mine.counters.queueWaitNs / faultTimeNs);
      if (share >= ONE_PAGER_SHARE) {
        const busy = (p: typeof mine) => pct(Math.min(1, p.counters.busyNs / Math.max(1, windowMs * 1e6)));
        out.push({
          kind: 'one-pager-address-space',
          text: `one pager per address space: ${busiest.name}'s ${busiest.slots.length} threads share one address space, so pager ${mine.index} serves all their requests (${mine.counters.requests.toLocaleString('en')} requests, busy ${busy(mine)}) while pager ${idlest.index} served ${idlest.counters.requests.toLocaleString('en')} (busy ${busy(idlest)}): like threads meeting on one mmap lock, they queue on one pager, ${pct(share)} of fault time (up to ${mine.counters.maxQueueDepth} request${mine.counters.maxQueueDepth === 1 ? '' : 's'} at once)`,
          share,
        });
      }
    }
  }
  return out.sort((x, y) => y.share - x.share);
}

/** The address spaces whose threads made requests in the window, with the pager that serves each. */
export interface AddressSpace {
  /** the slot that holds it (its first thread's) */
  slot: number;
  /** `pid 104`, or `the process of slot 3` once its threads have ended */
  name: string;
  pager: number;
  /** the slots of its threads that made requests */
  slots: number[];
  requests: number;
}

export function addressSpaces(st: RuntimeStats): AddressSpace[] {
  const by = new Map<number, AddressSpace>();
  for (const p of st.processes) {
    const c = p.counters;
    if (!(c.faults > 0 || c.syscalls > 0)) continue;
    let a = by.get(p.addressSpace);
    if (!a) by.set(p.addressSpace, (a = { slot: p.addressSpace, name: `the process of slot ${p.addressSpace}`, pager: p.pager, slots: [], requests: 0 }));
    a.slots.push(p.slot);
    a.requests += c.faults + c.syscalls;
    if (p.pid !== null) a.name = `pid ${p.pid}`;
  }
  return [...by.values()];
}
