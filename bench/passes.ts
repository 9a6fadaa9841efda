/**
 * Pass after pass of one process over a warm runtime: what an outside check that touches every
 * page of a mapping sees, pass by pass. Each pass is one rt.run of bench/workers/refault-loop.js
 * (map `pages` pages of /dev/foo0, drop their PTEs, touch each: one fault each), so the figure
 * includes nothing but faults. Configurations alternate, each in a fresh Runtime that first runs
 * `warm` untimed rounds. A pass that costs more than 2x the median is counted as a collapse,
 * with the parks it took (a warm pass parks ~2 times).
 *
 *   node dist/bench/passes.js [--runs 3] [--passes 30] [--pages 4096] [--warm 10] [--configs free,pin]
 *
 * `pin` is RuntimeOptions.pin: true (pager on a core of its own, the process on the others;
 * Linux); `free` is pin: false.
 */
import { median } from '../src/util/stats.js';
import { benchArgs, fooRuntime, refaultRounds } from './common.js';

const { runs, passes, pages, warm, configs } = benchArgs('passes', 'Pass after pass of one process over a warm runtime, pinned and not.', {
  runs: { kind: 'int', min: 1, max: 1000, default: 3, help: 'alternated runs of every configuration (default 3)' },
  passes: { kind: 'int', min: 1, max: 100_000, default: 30, help: 'timed passes per run (default 30)' },
  pages: { kind: 'int', min: 1, max: 1_000_000, default: 4096, help: 'pages of the mapping: faults per pass (default 4096)' },
  warm: { kind: 'int', min: 0, max: 100_000, default: 10, arg: 'ROUNDS', help: 'untimed rounds before the passes (default 10)' },
  configs: { kind: 'choices', choices: ['free', 'pin'], default: ['free', 'pin'], help: 'free (pin: false) and/or pin (pin: true) (default free,pin)' },
});

const all = new Map<string, { us: number[]; collapses: number; collapseParks: number[] }>();
console.log(`one process, ${passes} passes of ${pages} faults after ${warm} warm rounds, ${runs} alternated runs per configuration`);
for (let r = 0; r < runs; r++) {
  for (const c of configs) {
    const rt = await fooRuntime(pages, { pin: c === 'pin' });
    try {
      if (warm > 0) await refaultRounds(rt, pages, warm);
      const us: number[] = [];
      const parks: number[] = [];
      for (let k = 0; k < passes; k++) {
        rt.resetStats();
        const [ns] = await refaultRounds(rt, pages, 1);
        const s = rt.stats();
        us.push(ns / 1000);
        parks.push(s.totals.parks - s.pagers.reduce((a, p) => a + p.counters.parks, 0));
      }
      const m = median(us);
      const slow = us.map((u, i) => [u, parks[i]]).filter(([u]) => u > 2 * m);
      const e = all.get(c) ?? { us: [], collapses: 0, collapseParks: [] };
      e.us.push(...us);
      e.collapses += slow.length;
      e.collapseParks.push(...slow.map(([, p]) => p));
      all.set(c, e);
      console.log(`run ${r + 1} ${c.padEnd(4)}: median ${m.toFixed(2)} µs/fault; passes over 2x the median: ${slow.map(([u, p]) => `${u.toFixed(1)} µs (${p} parks)`).join(', ') || 'none'}`);
    } finally {
      await rt.close();
    }
  }
}
console.log('\nconfiguration  median µs/fault  mean µs/fault  passes over 2x median');
for (const [c, e] of all) {
  const mean = e.us.reduce((a, b) => a + b, 0) / e.us.length;
  console.log(`${c.padEnd(14)} ${median(e.us).toFixed(2).padStart(15)} ${mean.toFixed(2).padStart(14)}  ${e.collapses} of ${e.us.length}${e.collapses ? ` (parks ${e.collapseParks.join(', ')})` : ''}`);
}
