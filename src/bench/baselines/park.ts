/**
 * "Park pager": one pager thread answers each fault only through Atomics.wait / Atomics.notify
 * (see park-worker.ts for the protocol). This is the cost of a kernel futex hand-off in each
 * direction, i.e. what a pager pays when it never spins.
 */
import { ctlBytes, PAGES_PER_PROC, PHASE_STOP, queueBytes } from './layout.js';
import {
  WorkerGroup, collect, durationOption, intOption, runWindow, setPhase, type BaselineResult,
} from './harness.js';

const WORKER = new URL('./park-worker.js', import.meta.url);

/** Per-thread sample capacity for the pager baselines: 1 Mi samples shared out, at least 64 Ki each. */
export function pagerSampleCap(procs: number): number {
  return Math.max(1 << 16, Math.floor((1 << 20) / procs));
}

export async function parkPager(opts: { procs?: number; durationMs?: number } = {}): Promise<BaselineResult> {
  const procs = intOption('procs', opts.procs, 1, 1, 64);
  const durationMs = durationOption(opts.durationMs);
  const cap = pagerSampleCap(procs);
  const ctlBuf = new SharedArrayBuffer(ctlBytes(procs));
  const ctl = new Int32Array(ctlBuf);
  const queue = new SharedArrayBuffer(queueBytes(procs));
  const pte = new SharedArrayBuffer(4 * PAGES_PER_PROC * procs);
  const samples = new SharedArrayBuffer(8 * cap * procs);
  const group = new WorkerGroup();
  try {
    const common = { procs, ctl: ctlBuf, queue, pte, samples, cap };
    group.add(WORKER, 'park-pager', { ...common, role: 'pager', index: -1 });
    for (let i = 0; i < procs; i++) group.add(WORKER, `park-faulter-${i}`, { ...common, role: 'faulter', index: i });
    await group.allReady();
    const elapsedMs = await runWindow(ctl, durationMs);
    await group.allDone();
    return collect('park-pager', ctl, new Float64Array(samples), cap, procs, elapsedMs);
  } finally {
    setPhase(ctl, PHASE_STOP);
    await group.close();
  }
}
