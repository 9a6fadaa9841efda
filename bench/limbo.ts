/**
 * What a pager's reclaim of limbo frames costs (src/pager/shootdown.ts), on one thread, without
 * workers: the check a pager makes before every request while frames wait for another thread of
 * their address space to pass a point between memory accesses.
 *
 *   node dist/bench/limbo.js [--runs N] [--ops 1,16] [--frames 64,4096] [--calls N]
 *
 * An address space of four threads in one arena; `ops` operations (munmaps, say) of `frames`
 * frames each sit in limbo; one thread saw an epoch older than all of them and stays there (a
 * thread in a loop of TLB hits, or one the OS descheduled between two accesses), so no reclaim can
 * free anything: the figure is ns per reclaim() call, median (min..max) over runs. Before limbo
 * went in batches, that call checked every frame against every thread.
 */
import { createArena } from '../src/physmem.js';
import { OBS_IN_KERNEL, S_OBS, S_STATUS, S_VMSPACE, STATUS_LIVE, TLB_BYTES } from '../src/layout.js';
import { PagerViews, SlotViews } from '../src/pager/protocol.js';
import { Shootdown } from '../src/pager/shootdown.js';
import { benchArgs, fmtSpread } from './common.js';

const OPTIONS = {
  runs: { kind: 'int', min: 1, max: 1000, default: 5, help: 'measure every figure N times, each in a fresh arena (default 5)' },
  ops: { kind: 'ints', min: 1, max: 4096, default: [1, 16], help: 'operations waiting in limbo (default 1,16)' },
  frames: { kind: 'ints', min: 1, max: 65536, default: [64, 4096], help: 'frames per operation (default 64,4096)' },
  calls: { kind: 'int', min: 100, max: 10_000_000, default: 20_000, help: 'reclaim() calls timed per run (default 20000)' },
} as const;

const o = benchArgs('limbo', 'ns per reclaim() while another thread holds back every frame in limbo.', OPTIONS);

function oneRun(ops: number, frames: number): number {
  const { sab, layout, phys } = createArena({ memory: 1 << 20, maxProcs: 4, pagers: 1, maxDevices: 1 });
  const slots = [0, 1, 2, 3].map((i) => new SlotViews(sab, layout, i));
  for (const s of slots) {
    Atomics.store(s.status, S_STATUS, STATUS_LIVE);
    Atomics.store(s.status, S_VMSPACE, 0);
    Atomics.or(slots[0].threads, 0, 1 << s.index);
  }
  // Thread 1 saw epoch 0 and stays there; threads 2 and 3 are parked in a request.
  Atomics.store(slots[1].spinning, S_OBS, 0);
  Atomics.store(slots[2].spinning, S_OBS, OBS_IN_KERNEL);
  Atomics.store(slots[3].spinning, S_OBS, OBS_IN_KERNEL);
  const sd = new Shootdown(slots.map(() => new SharedArrayBuffer(TLB_BYTES)), slots, new PagerViews(sab, layout, 0), phys, new Float64Array(64), false, null, () => false);
  // The frames are never freed here (nothing passes), so any numbers do.
  for (let k = 0; k < ops; k++) {
    for (let f = 0; f < frames; f++) sd.retire(16 + f, true);
    sd.finish(slots[0], 0);
  }
  for (let i = 0; i < o.calls; i++) sd.reclaim();
  const t0 = performance.now();
  for (let i = 0; i < o.calls; i++) sd.reclaim();
  const ns = ((performance.now() - t0) * 1e6) / o.calls;
  if (sd.waiting !== ops * frames) throw new Error(`limbo lost frames: ${sd.waiting} of ${ops * frames}`);
  return ns;
}

console.log(`limbo: ns per reclaim() that can free nothing (one thread of four holds every frame back), median (min..max) of ${o.runs} runs`);
for (const ops of o.ops) {
  for (const frames of o.frames) {
    const runs = Array.from({ length: o.runs }, () => oneRun(ops, frames));
    console.log(`  ${String(ops).padStart(5)} operations x ${String(frames).padStart(5)} frames  ${fmtSpread(runs, (x) => `${Math.round(x)} ns`)}`);
  }
}
