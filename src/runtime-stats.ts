/**
 * rt.stats(): a plain-object snapshot of every thread's counters and the merged latency
 * histograms. Reads are racy by design (each counter has one writer); a snapshot taken while
 * processes run can be a few increments behind.
 */
import {
  COUNTER_NAMES, D_ATTACHES, D_FREES, D_REFS, HIST_NAMES, LINE, RUN_ACTIVE, RUN_HELD, S_PAGER, S_VMSPACE, pagerThread, slotThread, type Layout,
} from './layout.js';
import { bucketLow, mergeHist, percentiles, readCounters, resetThread, type Percentiles } from './stats.js';

export type Counters = Record<(typeof COUNTER_NAMES)[number] | 'tlbHits', number>;

export interface RuntimeStats {
  uptimeMs: number;
  memory: { bytes: number; frames: number; freeFrames: number; usedFrames: number };
  /** every counter summed over all threads; tlbHits = accesses - tlbMisses (countAccesses on, else NaN) */
  totals: Counters;
  driverBugs: number;
  /** pager threads replaced after they died or overran driverTimeoutMs (also in totals) */
  pagerRestarts: number;
  pagers: { index: number; busyFraction: number; counters: Counters }[];
  /**
   * Each slot a thread used: its pid while it runs, the pager that serves it, and the slot that
   * holds its address space (the same for every thread of one process; a process's first thread
   * holds its own). The last two stay after the thread ended, until the slot is used again.
   */
  processes: { slot: number; pid: number | null; pager: number; addressSpace: number; counters: Counters }[];
  latency: Record<(typeof HIST_NAMES)[number], Percentiles>;
  devices: { path: string; refs: number; attaches: number; frees: number }[];
  /**
   * The run queue now (pager/runqueue.ts): processes holding one of the `cpus` that the pagers
   * leave, and answered processes whose wake-up a pager holds until one comes free.
   */
  run: { cpus: number; running: number; held: number };
  /** TLB shootdowns: what threads sharing an address space cost each other (from the totals) */
  shootdown: ShootdownStats;
}

/**
 * A shootdown is a pager, serving one thread's request (munmap, mprotect, madvise, pmapRemove, a
 * MAP_FIXED remap, a copy-on-write copy, fork) or a revoke, taking translations out of the TLBs
 * of the other threads of that address space before it replies (pager/shootdown.ts). Processes
 * with one thread never have one.
 */
export interface ShootdownStats {
  /** operations that reached at least one other thread's TLB */
  operations: number;
  /** other threads reached: one per thread per invalidation (an operation over several map entries, such as pmapRemove, may reach a thread once per entry) */
  targets: number;
  /** time the pagers spent writing the other threads' TLBs while the initiator waited (stats on; else 0) */
  waitNs: number;
  /** waitNs per operation (NaN when there was none): what a shootdown adds to its request */
  meanNs: number;
  /** frames whose reuse waited until every other thread had passed a point between accesses */
  limboFrames: number;
  /** pager time freeing those frames later, when the other threads had passed (stats on; else 0) */
  reclaimNs: number;
}

interface StatsSource {
  readonly sab: SharedArrayBuffer;
  readonly layout: Layout;
  readonly userSlots: number;
  readonly phys: { freeFrames(): number; nframes: number };
  liveSlots(): Map<number, number>;
}

/** TLB hits are only known when accesses are counted (countAccesses); otherwise NaN. */
function withHits(c: Record<string, number>): Counters {
  c.tlbHits = c.accesses > 0 ? Math.max(0, c.accesses - c.tlbMisses) : NaN;
  return c as Counters;
}

export function collectStats(rt: StatsSource, devicePaths: string[], uptimeMs: number): RuntimeStats {
  const { sab, layout } = rt;
  const totals: Record<string, number> = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0]));
  const all: number[] = [];
  for (let t = 0; t < layout.nthreads; t++) all.push(t);
  for (const t of all) {
    const c = readCounters(sab, layout, t);
    for (const n of COUNTER_NAMES) totals[n] = n === 'maxQueueDepth' ? Math.max(totals[n], c[n]) : totals[n] + c[n];
  }
  const pagers = [];
  for (let p = 0; p < layout.pagers; p++) {
    const c = readCounters(sab, layout, pagerThread(p));
    pagers.push({ index: p, busyFraction: uptimeMs > 0 ? Math.min(1, c.busyNs / (uptimeMs * 1e6)) : 0, counters: withHits(c) });
  }
  const live = rt.liveSlots();
  const processes = [];
  for (let s = 0; s < rt.userSlots; s++) {
    const c = readCounters(sab, layout, slotThread(layout, s));
    if (c.faults === 0 && c.syscalls === 0 && c.accesses === 0 && !live.has(s)) continue;
    const status = new Int32Array(sab, layout.slotsOff + s * layout.slotBytes + 4 * LINE, LINE / 4);
    processes.push({ slot: s, pid: live.get(s) ?? null, pager: Atomics.load(status, S_PAGER), addressSpace: Atomics.load(status, S_VMSPACE), counters: withHits(c) });
  }
  const latency = Object.fromEntries(HIST_NAMES.map((n, i) => [n, percentiles(mergeHist(sab, layout, all, i))])) as RuntimeStats['latency'];
  const devices = devicePaths.map((path, i) => {
    const w = new Int32Array(sab, layout.devicesOff + i * LINE, LINE / 4);
    return { path, refs: Atomics.load(w, D_REFS), attaches: Atomics.load(w, D_ATTACHES), frees: Atomics.load(w, D_FREES) };
  });
  const free = rt.phys.freeFrames();
  const runWords = new Int32Array(sab, layout.runOff, 2);
  return {
    uptimeMs,
    memory: { bytes: layout.frames * 4096, frames: layout.frames, freeFrames: free, usedFrames: layout.frames - free },
    totals: withHits(totals),
    driverBugs: totals.driverBugs,
    pagerRestarts: totals.pagerRestarts,
    pagers,
    processes,
    latency,
    devices,
    run: { cpus: layout.spinBudget, running: Atomics.load(runWords, RUN_ACTIVE), held: Atomics.load(runWords, RUN_HELD) },
    shootdown: shootdownOf(totals),
  };
}

export function shootdownOf(t: Record<string, number>): ShootdownStats {
  const operations = t.shootdownOps;
  return {
    operations,
    targets: t.shootdowns,
    waitNs: t.shootdownNs,
    meanNs: operations > 0 ? t.shootdownNs / operations : NaN,
    limboFrames: t.limboFrames,
    reclaimNs: t.reclaimNs,
  };
}

export function resetStats(rt: StatsSource): void {
  for (let t = 0; t < rt.layout.nthreads; t++) resetThread(rt.sab, rt.layout, t);
}

export interface HistogramData {
  name: string;
  /** bucket i counts values in [boundsNs[i], boundsNs[i+1]) */
  boundsNs: number[];
  counts: number[];
}

/** One latency histogram merged over every thread, trimmed to its non-empty range. */
export function histogramOf(rt: StatsSource, name: (typeof HIST_NAMES)[number]): HistogramData {
  const idx = HIST_NAMES.indexOf(name);
  if (idx < 0) throw new RangeError(`histogram name must be one of ${HIST_NAMES.join(', ')}, got ${String(name)}`);
  const all = Array.from({ length: rt.layout.nthreads }, (_, t) => t);
  const b = mergeHist(rt.sab, rt.layout, all, idx);
  let lo = 0;
  let hi = b.length - 1;
  while (lo < hi && b[lo] === 0) lo++;
  while (hi > lo && b[hi] === 0) hi--;
  const counts: number[] = [];
  const boundsNs: number[] = [];
  for (let i = lo; i <= hi; i++) {
    counts.push(b[i]);
    boundsNs.push(bucketLow(i));
  }
  boundsNs.push(bucketLow(hi + 1));
  return { name, boundsNs, counts };
}
