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
import { spinFloor } from '../src/bench/baselines/spin.js';
import { median } from '../src/util/stats.js';
import { WAIT_STRATEGIES, type WaitStrategy } from '../src/wait.js';
import { benchArgs, fmtSpread, fooRuntime, refaultRounds } from './common.js';

const o = benchArgs('fault-loop', 'One process refaulting a mapping: ns per fault for each configuration, alternated runs.', {
  runs: { kind: 'int', min: 1, max: 1000, default: 4, help: 'alternated runs of every configuration (default 4)' },
  pages: { kind: 'int', min: 1, max: 1_000_000, default: 4096, help: 'pages of the mapping (default 4096)' },
  rounds: { kind: 'int', min: 1, max: 100_000, default: 20, help: 'refault rounds per run; a run\'s figure is its median round (default 20)' },
  wait: { kind: 'choices', choices: WAIT_STRATEGIES, default: ['spin', 'adaptive'], help: 'wait strategies (default spin,adaptive)' },
  configs: { kind: 'string', default: 'off,on:64,on:16', arg: 'LIST', help: 'off (stats: false) or on:N (stats on, statsSample N), comma separated\n(default off,on:64,on:16)' },
  floor: { kind: 'flag', help: 'also read the spin ping-pong floor in each run, and ns per fault over it' },
});
const waits: readonly WaitStrategy[] = o.wait;
const configs = o.configs.split(',').map((c) => {
  if (c === 'off') return { name: 'stats off', stats: false, sample: 64 };
  const n = Number(c.split(':')[1]);
  if (!c.startsWith('on:') || !Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) {
    console.error(`fault-loop: --configs: '${c}' is neither off nor on:N with N a power of two`);
    process.exit(2);
  }
  return { name: `stats on, sample ${n}`, stats: true, sample: n };
});

const results = new Map<string, number[]>();
const floors: number[] = [];
for (let r = 0; r < o.runs; r++) {
  // --floor: the spin ping-pong floor of this run, so each run's fault cost reads as a ratio
  if (o.floor) floors.push((await spinFloor({ iterations: 200_000 })).p50Ns);
  for (const wait of waits) {
    for (const c of configs) {
      const rt = await fooRuntime(o.pages, { wait, stats: c.stats, statsSample: c.sample });
      try {
        const key = `${wait} | ${c.name}`;
        const ns = median(await refaultRounds(rt, o.pages, o.rounds));
        results.set(key, [...(results.get(key) ?? []), ns]);
        if (o.floor) results.set(`${key} /floor`, [...(results.get(`${key} /floor`) ?? []), ns / floors[r]]);
      } finally {
        await rt.close();
      }
    }
  }
}
console.log(`one process, refault of ${o.pages} pages x ${o.rounds} rounds, ${o.runs} alternated runs; ns per fault, median (min..max)`);
for (const wait of waits) {
  const base = results.get(`${wait} | ${configs[0].name}`)!;
  for (const c of configs) {
    const v = results.get(`${wait} | ${c.name}`)!;
    const rel = c === configs[0] ? '' : ` ${((median(v) / median(base) - 1) * 100).toFixed(1)}% vs ${configs[0].name}`;
    console.log(`${wait.padEnd(9)} ${c.name.padEnd(22)} ${fmtSpread(v, (x) => x.toFixed(0))}${rel}`);
    const f = results.get(`${wait} | ${c.name} /floor`);
    if (f) console.log(`${''.padEnd(9)} ${'  per fault / floor'.padEnd(22)} ${fmtSpread(f, (x) => `${x.toFixed(2)}x`)}, floor p50 ${fmtSpread(floors, (x) => `${x.toFixed(0)}`)} ns`);
  }
}
