/**
 * What a fault costs right after a system call: one process (spin) faults every page of a chunk
 * at a scattered offset of a bench-device mapping and takes the chunk's PTEs away with
 * p.pmapRemove, round after round (bench/workers/chunk-prog.ts). Small chunks put a system call
 * between few faults; `bench/fault-loop.js` puts one between 4096. Builds alternated (--lib).
 *
 *   node dist/bench/fault-after-syscall.js [--chunks 64,1024] [--runs 4] [--rounds 2000]
 *                                          [--lib dist/src/index.js,/other/dist/src/index.js]
 */
import type * as Cell from '../src/bench/cell.js';
import { benchArgs, fmtSpread, libBuilds } from './common.js';

const o = benchArgs('fault-after-syscall', 'µs per fault with a pmapRemove every N faults, builds alternated.', {
  chunks: { kind: 'string', arg: 'LIST', default: '64,1024', help: 'faults between two pmapRemove, comma list (default 64,1024)' },
  span: { kind: 'int', min: 1, max: 1_000_000, default: 16384, help: 'pages of the mapping (default 16384)' },
  rounds: { kind: 'int', min: 2, max: 1_000_000, default: 2000, help: 'chunks per process; the second half is timed (default 2000)' },
  runs: { kind: 'int', min: 1, max: 100, default: 4, help: 'runs per build and chunk, alternated (default 4)' },
  lib: { kind: 'string', arg: 'LIST', help: 'comma list of builds (paths of dist/src/index.js), alternated (default this one)' },
});
const chunks = o.chunks.split(',').map((c) => {
  const n = Number(c);
  if (!Number.isInteger(n) || n < 1 || n > o.span) throw new TypeError(`--chunks: ${c} is not a whole number of pages in 1..${o.span}`);
  return n;
});

const PROG = new URL('./workers/chunk-prog.js', import.meta.url);
const builds = await Promise.all(libBuilds(o.lib).map(async ({ name, url }) => ({ name, cell: (await import(new URL('./bench/cell.js', url).href)) as typeof Cell })));
type Result = { faultUs: number; pmapRemoveUs: number };
const got = new Map<string, Result[]>();
const key = (b: string, c: number) => `${b} chunk ${c}`;

console.log(`fault-after-syscall: 1 process, spin, ${o.span}-page mapping, ${o.rounds} chunks per process (second half timed)`);
for (let r = 0; r < o.runs; r++) {
  for (const chunk of chunks) {
    for (const b of builds) {
      const rt = await b.cell.createBenchRuntime({ pagers: 1, wait: 'spin', maxProcs: 1 });
      try {
        await rt.rt.run(PROG, { chunk, span: o.span, rounds: o.rounds }); // warm-up: V8 compiles the path
        const x = (await rt.rt.run(PROG, { chunk, span: o.span, rounds: o.rounds })) as Result;
        got.set(key(b.name, chunk), [...(got.get(key(b.name, chunk)) ?? []), x]);
        console.log(`run ${r + 1} ${key(b.name, chunk)}: ${x.faultUs.toFixed(3)} µs per fault, ${x.pmapRemoveUs.toFixed(2)} µs per pmapRemove`);
      } finally {
        await rt.close();
      }
    }
  }
}
console.log('\nmedian (min..max) over runs:');
const f = (x: number) => x.toFixed(3);
for (const chunk of chunks) {
  for (const b of builds) {
    const xs = got.get(key(b.name, chunk))!;
    console.log(`  ${key(b.name, chunk)}: fault ${fmtSpread(xs.map((x) => x.faultUs), f)} µs, pmapRemove ${fmtSpread(xs.map((x) => x.pmapRemoveUs), f)} µs`);
  }
}
