/**
 * What a shootdown costs: µs per munmap of `pages` anonymous pages that `threads` threads of one
 * process hold in their TLBs (1 thread: the caller alone, no other TLB to clear). The other
 * threads wait in wait32 while the first one unmaps (bench/workers/shootdown-prog.ts).
 *
 *   node dist/bench/shootdown.js [--pages 1,64,4096] [--threads 1,2,4,8] [--rounds 30] [--runs 3]
 */
import { Runtime } from '../src/index.js';
import { percentiles } from '../src/bench/baselines/latency.js';
import { benchArgs, fmtSpread } from './common.js';

const o = benchArgs('shootdown', 'µs per munmap of N pages held in the TLBs of T threads of one process.', {
  pages: { kind: 'ints', min: 1, max: 65536, default: [1, 64, 4096], help: 'pages per munmap (default 1,64,4096)' },
  threads: { kind: 'ints', min: 1, max: 15, default: [1, 2, 4, 8], help: 'threads holding entries, the caller included (default 1,2,4,8)' },
  rounds: { kind: 'int', min: 2, max: 100_000, default: 30, help: 'munmaps per cell (default 30)' },
  runs: { kind: 'int', min: 1, max: 100, default: 3, help: 'runs of every cell, alternated (default 3)' },
});

const PROG = new URL('./workers/shootdown-prog.js', import.meta.url);
const maxPages = Math.max(...o.pages);
const rt = await Runtime.create({ memory: Math.max(64 << 20, (maxPages + 1024) * 4096 * 2), maxProcesses: Math.max(...o.threads) + 1, prestart: Math.max(...o.threads) });
const cells = new Map<string, number[]>();
try {
  for (let run = 0; run < o.runs; run++) {
    for (const pages of o.pages) for (const threads of o.threads) {
      const us = (await rt.run(PROG, { pages, threads, rounds: o.rounds, self: PROG.href })) as number[];
      // The first munmaps run while V8 still compiles: the cell's figure is the median of the rest.
      const p = percentiles(Float64Array.from(us.slice(2)), us.length - 2);
      const k = `${pages}/${threads}`;
      cells.set(k, [...(cells.get(k) ?? []), p.p50Ns]);
    }
  }
  const st = rt.stats().totals;
  console.log(`µs per munmap, median over rounds 3..${o.rounds}; median (min..max) of ${o.runs} runs`);
  console.log(['pages', ...o.threads.map((t) => `${t} thread${t > 1 ? 's' : ''}`)].map((x) => x.padStart(26)).join(' '));
  for (const pages of o.pages) {
    console.log([String(pages), ...o.threads.map((t) => fmtSpread(cells.get(`${pages}/${t}`)!, (x) => x.toFixed(1)))].map((x) => x.padStart(26)).join(' '));
  }
  console.log(`shootdowns (other threads' TLBs cleared): ${st.shootdowns}; limbo frames: ${st.limboFrames}`);
} finally {
  await rt.close();
}
