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
import { parseArgs } from 'node:util';
import { Runtime } from '../src/index.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    passes: { type: 'string', default: '30' },
    pages: { type: 'string', default: '4096' },
    warm: { type: 'string', default: '10' },
    configs: { type: 'string', default: 'free,pin' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('usage: node dist/bench/passes.js [--runs N] [--passes N] [--pages N] [--warm ROUNDS] [--configs free,pin]');
  process.exit(0);
}
const num = (name: string, v: string | undefined, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new TypeError(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
};
const runs = num('runs', values.runs, 1);
const passes = num('passes', values.passes, 1);
const pages = num('pages', values.pages, 1);
const warm = num('warm', values.warm, 0);
const configs = values.configs!.split(',');
for (const c of configs) if (c !== 'free' && c !== 'pin') throw new TypeError(`--configs: '${c}' is neither free nor pin`);
const FOO = new URL('../src/drivers/foo.js', import.meta.url);
const PROG = new URL('./workers/refault-loop.js', import.meta.url);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

const all = new Map<string, { us: number[]; collapses: number; collapseParks: number[] }>();
console.log(`one process, ${passes} passes of ${pages} faults after ${warm} warm rounds, ${runs} alternated runs per configuration`);
for (let r = 0; r < runs; r++) {
  for (const c of configs) {
    const rt = await Runtime.create({ memory: 64 << 20, pin: c === 'pin', devices: [{ name: 'foo', driver: FOO, config: { size1: pages * 4096 } }] });
    try {
      if (warm > 0) await rt.run(PROG, pages, warm);
      const us: number[] = [];
      const parks: number[] = [];
      for (let k = 0; k < passes; k++) {
        rt.resetStats();
        const out = (await rt.run(PROG, pages, 1)) as { nsPerFault: number[] };
        const s = rt.stats();
        us.push(out.nsPerFault[0] / 1000);
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
