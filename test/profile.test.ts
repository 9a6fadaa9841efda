/**
 * The contention analysis behind `devpager profile`: the verdict names the part of the fault
 * round trip that dominates, per-thread time adds up, and the HTML timeline window lands where
 * the run is busy. Pure functions over synthetic stats, plus one real profiled run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { breakdown, threadTimes, timelineWindow, verdict } from '../src/profile/analyze.js';
import type { RuntimeStats } from '../src/runtime-stats.js';
import type { TraceEvent } from '../src/report/types.js';

/** Synthetic stats: one pager, n processes; every figure in ns except counts. */
function stats(o: { faults: number; waitNs: number; queueWaitNs: number; busyNs: number; pagerParks?: number; procParks?: number; dmmapNs?: number }): RuntimeStats {
  const zero = (): Record<string, number> => ({
    faults: 0, faultsServed: 0, dmmapCalls: 0, driverBugs: 0, syscalls: 0, queueFullRetries: 0, casRetriesPte: 0,
    casRetriesFrame: 0, casRetriesQueue: 0, spins: 0, parks: 0, wakeups: 0, accesses: 0, tlbMisses: 0, tlbShootdowns: 0,
    busyNs: 0, maxQueueDepth: 0, requests: 0, rounds: 0, restarts: 0, framesFreedWhileMapped: 0, dmmapNs: 0,
    queueWaitNs: 0, parkNs: 0, ptFrames: 0, waitNs: 0, timed: 0, yields: 0, held: 0, holdTimeouts: 0, heldNs: 0, tlbHits: NaN,
  });
  const pager: Record<string, number> = { ...zero(), requests: o.faults, faultsServed: o.faults, busyNs: o.busyNs, queueWaitNs: o.queueWaitNs, parks: o.pagerParks ?? 0, maxQueueDepth: 4, dmmapNs: o.dmmapNs ?? 0 };
  const proc: Record<string, number> = { ...zero(), faults: o.faults, waitNs: o.waitNs, parks: o.procParks ?? 0 };
  const totals: Record<string, number> = { ...zero() };
  for (const c of [pager, proc]) for (const k of Object.keys(totals)) if (k !== 'tlbHits') totals[k] += c[k];
  const p = { count: 0, p50Ns: 0, p90Ns: 0, p99Ns: 0, p999Ns: 0, maxNs: 0, meanNs: 0 };
  return {
    uptimeMs: 1000, memory: { bytes: 0, frames: 0, freeFrames: 0, usedFrames: 0 }, totals: totals as RuntimeStats['totals'], driverBugs: 0, pagerRestarts: 0,
    pagers: [{ index: 0, busyFraction: 0, counters: pager as RuntimeStats['totals'] }],
    processes: [{ slot: 0, pid: 100, pager: 0, addressSpace: 0, counters: proc as RuntimeStats['totals'] }],
    latency: { fault: p, queueWait: p, service: p, park: p }, devices: [], run: { cpus: 1, running: 0, held: 0 },
    shootdown: { operations: 0, targets: 0, waitNs: 0, meanNs: NaN, limboFrames: 0, reclaimNs: 0 },
  };
}

test('breakdown: round trip = queued + service + handoff, per fault', () => {
  const b = breakdown(stats({ faults: 1000, waitNs: 10e6, queueWaitNs: 6e6, busyNs: 1e6 }));
  assert.is(b.roundTripNs, 10_000);
  assert.is(b.queuedNs, 6000);
  assert.is(b.serviceNs, 1000);
  assert.is(b.handoffNs, 3000);
});

test('verdict names the queue when requests mostly wait queued', () => {
  const v = verdict(stats({ faults: 1000, waitNs: 10e6, queueWaitNs: 7e6, busyNs: 1e6 }));
  assert.match(v, /^pager 0's request queue: requests waited 70% of fault time queued/);
});

test('verdict names the pager wake-up when queued time is the pager waking from a park', () => {
  const v = verdict(stats({ faults: 1000, waitNs: 10e6, queueWaitNs: 7e6, busyNs: 1e6, pagerParks: 900 }));
  assert.match(v, /^pager wake-up/);
});

test('verdict names the handoff when the reply takes longest to arrive', () => {
  const v = verdict(stats({ faults: 1000, waitNs: 10e6, queueWaitNs: 1e6, busyNs: 1e6, procParks: 800 }));
  assert.match(v, /^park\/wake handoff: 80% of fault time/);
});

test('verdict names the run queue when answered processes mostly wait there for a CPU', () => {
  const st = stats({ faults: 1000, waitNs: 10e6, queueWaitNs: 1e6, busyNs: 1e6 });
  st.totals.heldNs = 6e6;
  st.pagers[0].counters.heldNs = 6e6;
  st.totals.held = 40;
  const v = verdict(st);
  assert.match(v, /^pager 0's run queue: answered processes waited 60% of fault time for one of the 1 CPU/);
  // the exact run-queue wait can exceed the sampled round trip: the parts never exceed the whole
  st.totals.heldNs = 20e6;
  assert.match(verdict(st), /waited 91% of fault time/);
  assert.is(breakdown(st).handoffNs, 0);
  // without held time the same round trip is a handoff
  st.totals.heldNs = 0;
  assert.match(verdict(st), /^park\/wake handoff/);
});

test('verdict names d_mmap when the driver dominates service', () => {
  const v = verdict(stats({ faults: 1000, waitNs: 10e6, queueWaitNs: 1e6, busyNs: 8e6, dmmapNs: 6e6 }));
  assert.match(v, /^the driver's d_mmap/);
});

test('threadTimes: a process splits its window into spinning, parked and other', () => {
  const st = stats({ faults: 10, waitNs: 60e6, queueWaitNs: 0, busyNs: 20e6 });
  st.processes[0].counters.parkNs = 40e6;
  st.pagers[0].counters.parkNs = 30e6;
  const [pager, proc] = threadTimes(st, 100);
  assert.is(proc.parkedNs, 40e6);
  assert.is(proc.spinningNs, 20e6);
  assert.is(proc.otherNs, 40e6);
  assert.is(pager.servingNs, 20e6);
  assert.is(pager.parkedNs, 30e6);
  assert.is(pager.spinningNs, 50e6);
});

test('timelineWindow centres on the busy part of the run, not on an idle gap, and clips long spans', () => {
  const ev: TraceEvent[] = [{ thread: 1, kind: 'park', tsUs: 0, durUs: 100_000 }];
  for (let i = 0; i < 1000; i++) ev.push({ thread: 2, kind: 'fault', tsUs: 150_000 + i * 2, durUs: 1 });
  const w = timelineWindow(ev, 500);
  assert.ok(w.length > 100, `window has events (${w.length})`);
  for (const e of w) assert.ok(e.tsUs >= 150_000, 'no event from the idle gap');
  const long: TraceEvent[] = [{ thread: 1, kind: 'serve', tsUs: 0, durUs: 10_000 }, { thread: 1, kind: 'serve', tsUs: 5000, durUs: 1 }];
  const c = timelineWindow(long, 100);
  const clipped = c.find((e) => e.durUs !== 1)!;
  assert.ok(clipped.durUs! <= 100 && clipped.tsUs >= 4950, `clipped to the window: ${JSON.stringify(clipped)}`);
});

test.run();
