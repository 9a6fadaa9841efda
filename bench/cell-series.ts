/**
 * Bench cells one after another in one runtime: how a cell's rate climbs while the process
 * threads' code warms up, and where it settles. `devpager bench` times each cell once after a
 * warm-up; this shows the whole climb, for one (workload, processes, pagers, wait) cell, and
 * alternates builds run by run so that two can be compared on a noisy machine.
 *
 *   node dist/bench/cell-series.js [--cells 12] [--workload refault] [--procs 16] [--pagers 1]
 *                                  [--wait adaptive] [--duration 150] [--runs 1]
 *                                  [--lib dist/src/index.js,/other/dist/src/index.js]
 *
 * Each run: a new bench runtime, `cells` timed cells, then one cell of 1 process. Printed: the
 * rate of every cell (k faults/s); at the end, per build, the median over runs of the median of
 * the last third of the cells.
 */
import type * as Cell from '../src/bench/cell.js';
import { WORKLOADS } from '../src/bench/cell.js';
import { median } from '../src/util/stats.js';
import { WAIT_STRATEGIES } from '../src/wait.js';
import { benchArgs, fmtSpread, libBuilds } from './common.js';

const o = benchArgs('cell-series', 'Bench cells one after another in one runtime, builds alternated.', {
  cells: { kind: 'int', min: 1, max: 1000, default: 12, help: 'timed cells per run (default 12)' },
  workload: { kind: 'choice', choices: WORKLOADS, default: 'refault', help: 'the workload (default refault)' },
  procs: { kind: 'int', min: 1, max: 64, default: 16, help: 'processes per cell (default 16)' },
  pagers: { kind: 'int', min: 1, max: 8, default: 1, help: 'pager threads (default 1)' },
  wait: { kind: 'choice', choices: WAIT_STRATEGIES, default: 'adaptive', help: 'wait strategy (default adaptive)' },
  duration: { kind: 'int', min: 10, max: 60_000, default: 150, help: 'window of a cell, ms (default 150, as devpager bench)' },
  runs: { kind: 'int', min: 1, max: 100, default: 1, help: 'runs per build, alternated (default 1)' },
  lib: { kind: 'string', arg: 'LIST', help: 'comma list of builds (paths of dist/src/index.js), alternated (default this one)' },
});

const builds = await Promise.all(libBuilds(o.lib).map(async ({ name, url }) => ({ name, cell: (await import(new URL('./bench/cell.js', url).href)) as typeof Cell })));
const settled = new Map<string, number[]>(builds.map((b) => [b.name, []]));
const k = (x: number) => (x / 1e3).toFixed(0);

console.log(`cell-series: ${o.workload} x${o.procs}, ${o.pagers} pager(s), ${o.wait}, ${o.cells} cells of ${o.duration} ms then x1; k faults/s`);
for (let r = 0; r < o.runs; r++) {
  for (const b of builds) {
    const rt = await b.cell.createBenchRuntime({ pagers: o.pagers, wait: o.wait, maxProcs: o.procs });
    try {
      const rates: number[] = [];
      for (let c = 0; c < o.cells; c++) rates.push((await b.cell.runCell(rt, { workload: o.workload, procs: o.procs, durationMs: o.duration })).faultsPerSec);
      const x1 = (await b.cell.runCell(rt, { workload: o.workload, procs: 1, durationMs: o.duration })).faultsPerSec;
      settled.get(b.name)!.push(median(rates.slice(Math.floor((rates.length * 2) / 3))));
      console.log(`run ${r + 1} ${b.name}: ${rates.map(k).join(' ')}  then x1 ${k(x1)}`);
    } finally {
      await rt.close();
    }
  }
}
console.log('\nlast third of the cells, median over runs (min..max), k faults/s:');
for (const b of builds) console.log(`  ${b.name}: ${fmtSpread(settled.get(b.name)!, k)}`);
