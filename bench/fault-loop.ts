/**
 * One process refaulting a mapping in a tight loop: the steadiest figure for the cost of a fault
 * and for what runtime options cost on it (stats, sampling, wait strategy). Configurations run in
 * alternation, each in a fresh Runtime, and the table shows the median over runs of each run's
 * median-round ns per fault.
 *
 *   node dist/bench/fault-loop.js [--runs 4] [--pages 4096] [--rounds 20] [--wait spin,adaptive]
 *                                 [--configs off,on:64,on:16]
 *   node dist/bench/fault-loop.js --floor --configs off   # also the spin ping-pong floor of
 *                                 each run, and ns per fault over it (what an outside check does)
 *   node --trace-gc dist/bench/fault-loop.js --runs 1 --configs on:64   # allocation check: no
 *                                 scavenge after start-up means nothing is allocated per fault
 *
 * A config is `off` (stats: false) or `on:N` (stats: true, statsSample N).
 */
import { parseArgs } from 'node:util';
import { Runtime } from '../src/index.js';
import type { WaitStrategy } from '../src/wait.js';
import { spinFloor } from '../src/bench/baselines/spin.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '4' },
    pages: { type: 'string', default: '4096' },
    rounds: { type: 'string', default: '20' },
    wait: { type: 'string', default: 'spin,adaptive' },
    configs: { type: 'string', default: 'off,on:64,on:16' },
    floor: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('usage: node dist/bench/fault-loop.js [--runs N] [--pages N] [--rounds N] [--wait spin,park,adaptive] [--configs off,on:64,on:16] [--floor]');
  process.exit(0);
}
const runs = Number(values.runs);
const pages = Number(values.pages);
const rounds = Number(values.rounds);
const waits = values.wait!.split(',') as WaitStrategy[];
const configs = values.configs!.split(',').map((c) => (c === 'off' ? { name: 'stats off', stats: false, sample: 64 } : { name: `stats on, sample ${c.split(':')[1]}`, stats: true, sample: Number(c.split(':')[1]) }));
const FOO = new URL('../src/drivers/foo.js', import.meta.url);
const PROG = new URL('./workers/refault-loop.js', import.meta.url);

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const results = new Map<string, number[]>();
const floors: number[] = [];
for (let r = 0; r < runs; r++) {
  // --floor: the spin ping-pong floor of this run, so each run's fault cost reads as a ratio
  if (values.floor) floors.push((await spinFloor({ iterations: 200_000 })).p50Ns);
  for (const wait of waits) {
    for (const c of configs) {
      const rt = await Runtime.create({ memory: 64 << 20, wait, stats: c.stats, statsSample: c.sample, devices: [{ name: 'foo', driver: FOO, config: { size1: pages * 4096 } }] });
      try {
        const out = (await rt.run(PROG, pages, rounds)) as { nsPerFault: number[] };
        const key = `${wait} | ${c.name}`;
        const ns = median(out.nsPerFault);
        results.set(key, [...(results.get(key) ?? []), ns]);
        if (values.floor) results.set(`${key} /floor`, [...(results.get(`${key} /floor`) ?? []), ns / floors[r]]);
      } finally {
        await rt.close();
      }
    }
  }
}
console.log(`one process, refault of ${pages} pages x ${rounds} rounds, ${runs} alternated runs; ns per fault, median (min..max)`);
for (const wait of waits) {
  const base = results.get(`${wait} | ${configs[0].name}`)!;
  for (const c of configs) {
    const v = results.get(`${wait} | ${c.name}`)!;
    const rel = c === configs[0] ? '' : ` ${((median(v) / median(base) - 1) * 100).toFixed(1)}% vs ${configs[0].name}`;
    console.log(`${wait.padEnd(9)} ${c.name.padEnd(22)} ${median(v).toFixed(0).padStart(6)} (${Math.min(...v).toFixed(0)}..${Math.max(...v).toFixed(0)})${rel}`);
    const f = results.get(`${wait} | ${c.name} /floor`);
    if (f) console.log(`${''.padEnd(9)} ${'  per fault / floor'.padEnd(22)} ${median(f).toFixed(2).padStart(5)}x (${Math.min(...f).toFixed(2)}..${Math.max(...f).toFixed(2)}), floor p50 ${median(floors)} ns (${Math.min(...floors)}..${Math.max(...floors)})`);
  }
}
