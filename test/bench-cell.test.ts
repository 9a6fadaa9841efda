/**
 * One `devpager bench` cell, run for real: the figure is the faults the programs had published
 * when the timed window ended (will-it-scale's sampling), the wind-down after STOP is kept apart,
 * and the published counts agree with what the programs and the runtime counted in the end.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBenchRuntime, runCell } from '../src/bench/cell.js';
import { CTL_MAX_PROCS } from '../src/drivers/bench.js';
import { withTimeout } from './helpers.js';

test('a cell counts the faults of its timed window, published while every process runs', () =>
  withTimeout(60_000, async () => {
    const b = await createBenchRuntime({ pagers: 1, wait: 'adaptive', maxProcs: 3, devicePages: 4096 });
    try {
      // A first cell warms the new runtime up, as the bench does: a cold one on a loaded machine
      // can spend a whole window before its processes publish their first count.
      await runCell(b, { workload: 'refault', procs: 3, durationMs: 50, pages: 64 });
      const r = await runCell(b, { workload: 'refault', procs: 3, durationMs: 300, pages: 64 });
      assert.ok(r.windowFaults > 0, 'faults were published during the window');
      assert.is(r.perProcess.length, 3);
      let sum = 0;
      for (const p of r.perProcess) {
        // Each count is a multiple of checkEvery (64) taken before the process saw STOP, so never
        // above what it counted in the end, and at most one check short of where it was at t1.
        assert.is(p.windowFaults % 64, 0, `published at stop checks: ${p.windowFaults}`);
        assert.ok(p.windowFaults <= p.faults, `window ${p.windowFaults} <= final ${p.faults}`);
        sum += p.windowFaults;
      }
      assert.is(r.windowFaults, sum);
      assert.ok(Math.abs(r.faultsPerSec - (r.windowFaults * 1000) / r.windowMs) < 1e-6, 'faults/s = window faults / window');
      assert.ok(Math.abs(r.drainFaultsPerSec - (r.faults * 1000) / r.countWindowMs) < 1e-6, 'drain figure kept apart');
      assert.ok(r.countWindowMs >= r.windowMs, 'the drain window ends after STOP');
      // The runtime's own fault counter (process threads, until t2) saw at least the window's.
      assert.ok(r.counters.faults >= r.windowFaults, `runtime ${r.counters.faults} >= window ${r.windowFaults}`);
      // Fairness is over the window counts (a process may publish none in a window on a busy machine).
      const counts = r.perProcess.map((p) => p.windowFaults);
      assert.is(r.fairness, Math.max(...counts) > 0 ? Math.min(...counts) / Math.max(...counts) : 0, `fairness over window counts: ${r.fairness}`);
      assert.is(r.attempts, 1, 'runCell measures once; only the matrix measures again');

      // A second cell in the same runtime starts its counts from zero.
      const r2 = await runCell(b, { workload: 'refault', procs: 1, durationMs: 50, pages: 64 });
      assert.ok(r2.windowFaults <= r2.faults, 'counts were reset between cells');
    } finally {
      await b.close();
    }
  }, 'bench cell'));

test('as threads, a cell runs its tasks in one process, and the munmap storm shoots down the others\' entries', () =>
  withTimeout(60_000, async () => {
    const b = await createBenchRuntime({ pagers: 1, wait: 'adaptive', maxProcs: 3, devicePages: 4096 });
    try {
      const r = await runCell(b, { workload: 'munmap', mode: 'threads', procs: 3, durationMs: 200, pages: 64, chunkPages: 16 }, { keepStats: true });
      assert.is(r.mode, 'threads');
      assert.is(r.perProcess.length, 3, 'one result per task');
      assert.ok(r.touches > 0, 'the tasks touched');
      // Only threads of one address space are shot down: three processes would have none. (A
      // starved machine may not run two tasks in the window; then there is nobody to shoot down.)
      const active = r.perProcess.filter((t) => t.windowFaults > 0).length;
      if (active >= 2) assert.ok(r.stats!.totals.shootdowns > 0, `shootdowns ${r.stats!.totals.shootdowns} with ${active} tasks touching`);
      assert.ok(r.extra.remaps > 0, 'the tasks remapped');
      // munmap's faults come from the runtime: a touch cannot tell a fault from a hit.
      assert.is(r.faults, r.counters.faults);
      assert.ok(r.windowFaults > 0 && r.windowFaults <= r.counters.faults, `window ${r.windowFaults} of ${r.counters.faults}`);

      const p = await runCell(b, { workload: 'munmap', mode: 'processes', procs: 3, durationMs: 100, pages: 64, chunkPages: 16 }, { keepStats: true });
      assert.is(p.mode, 'processes');
      assert.is(p.stats!.totals.shootdowns, 0, 'processes have no other threads to shoot down');
    } finally {
      await b.close();
    }
  }, 'bench cell threads'));

test('a cell refuses more processes than the control page can count', () =>
  withTimeout(30_000, async () => {
    const b = await createBenchRuntime({ pagers: 1, wait: 'adaptive', maxProcs: 1, devicePages: 4096 });
    try {
      await runCell(b, { workload: 'refault', procs: 2, durationMs: 10 }).then(
        () => assert.unreachable('procs above maxProcs must be refused'),
        (e: Error) => {
          assert.instance(e, RangeError);
          assert.match(e.message, /cell procs/);
        },
      );
      assert.ok(CTL_MAX_PROCS >= 512, `the control page counts ${CTL_MAX_PROCS} processes`);
    } finally {
      await b.close();
    }
  }, 'bench cell limits'));

test.run();
