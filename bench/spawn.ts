/**
 * Spawn latency and a fresh process's first faults. Each process starts with fresh JavaScript
 * state (a new realm in a warm worker, src/process/realm.ts); this measures what that costs:
 *
 *   - spawn -> main: from rt.spawn() on the host to the first statement of the program's main,
 *     one process at a time (each waits for the previous to end), then in bursts of `burst`
 *     spawned at once; with the runtime's default prestart unless --prestart says otherwise;
 *   - the first faults: successive processes each map --pages pages of /dev/foo0 and refault them
 *     --rounds times; µs per fault of the first round of the very first process (a worker that has
 *     never run a program), of the first round of the later ones (warm worker, fresh program),
 *     and of their last round.
 *
 * --lib points at another build's dist/src/index.js, so the same script measures the build
 * before a change; several are alternated run by run:
 *
 *   node dist/bench/spawn.js [--runs 3] [--spawns 200] [--lib dist/src/index.js,/other/dist/src/index.js]
 */
import { fileURLToPath } from 'node:url';
import { percentiles } from '../src/bench/baselines/latency.js';
import type { Runtime } from '../src/index.js';
import { median } from '../src/util/stats.js';
import { benchArgs, fmtSpread, libBuilds } from './common.js';

const o = benchArgs('spawn', 'Spawn to first line of main, and the first faults of fresh processes.', {
  runs: { kind: 'int', min: 1, max: 1000, default: 3, help: 'runtimes per build, alternated (default 3)' },
  spawns: { kind: 'int', min: 1, max: 100_000, default: 200, help: 'processes spawned one at a time per run (default 200)' },
  burst: { kind: 'int', min: 1, max: 64, default: 4, help: 'processes spawned at once per burst (default 4)' },
  bursts: { kind: 'int', min: 0, max: 10_000, default: 25, help: 'bursts per run (default 25)' },
  prestart: { kind: 'int', min: 0, max: 64, help: "Runtime prestart (default the runtime's)" },
  faulters: { kind: 'int', min: 2, max: 1000, default: 12, help: 'processes that fault, one after another, per run (default 12)' },
  pages: { kind: 'int', min: 1, max: 100_000, default: 1024, help: 'pages each faulting process refaults (default 1024)' },
  rounds: { kind: 'int', min: 2, max: 1000, default: 3, help: 'refault rounds per faulting process (default 3)' },
  lib: { kind: 'string', arg: 'LIST', help: 'comma list of builds (paths of dist/src/index.js), alternated (default this one)' },
});

const PROG = new URL('./workers/spawn-prog.js', import.meta.url);
const libs = libBuilds(o.lib).map((b) => b.url);

interface Build {
  name: string;
  Runtime: typeof Runtime;
  foo: URL;
}

async function load(url: URL): Promise<Build> {
  const m = (await import(url.href)) as { Runtime: typeof Runtime };
  return { name: fileURLToPath(url), Runtime: m.Runtime, foo: new URL('./drivers/foo.js', url) };
}

interface RunResult {
  sequentialMs: number[];
  burstMs: number[];
  firstRoundColdUs: number;
  firstRoundUs: number[];
  lastRoundUs: number[];
}

async function once(b: Build): Promise<RunResult> {
  const rt = await b.Runtime.create({
    memory: 64 << 20,
    ...(o.prestart !== undefined ? { prestart: o.prestart } : {}),
    maxProcesses: Math.max(16, o.burst),
    devices: [{ name: 'foo', driver: b.foo, config: { size1: o.pages * 4096 } }],
  });
  try {
    // The very first process runs in a worker that has never run a program: its first round is the cold one.
    const faulting = async () => (await rt.run(PROG, o.pages, o.rounds)) as { nsPerFault: number[] };
    const cold = await faulting();
    const sequentialMs: number[] = [];
    for (let i = 0; i < o.spawns; i++) {
      const t0 = performance.timeOrigin + performance.now();
      const r = (await rt.run(PROG, 0, 0)) as { firstMs: number };
      sequentialMs.push(r.firstMs - t0);
    }
    const burstMs: number[] = [];
    for (let k = 0; k < o.bursts; k++) {
      const t0 = performance.timeOrigin + performance.now();
      const rs = (await Promise.all(Array.from({ length: o.burst }, () => rt.run(PROG, 0, 0)))) as { firstMs: number }[];
      for (const r of rs) burstMs.push(r.firstMs - t0);
    }
    const firstRoundUs: number[] = [];
    const lastRoundUs: number[] = [];
    for (let i = 1; i < o.faulters; i++) {
      const r = await faulting();
      firstRoundUs.push(r.nsPerFault[0] / 1000);
      lastRoundUs.push(r.nsPerFault[r.nsPerFault.length - 1] / 1000);
    }
    return { sequentialMs, burstMs, firstRoundColdUs: cold.nsPerFault[0] / 1000, firstRoundUs, lastRoundUs };
  } finally {
    await rt.close();
  }
}

const builds = await Promise.all(libs.map(load));
const all = new Map<Build, RunResult[]>(builds.map((b) => [b, []]));
console.log(`spawn: ${o.runs} run(s) per build, alternated; ${o.spawns} spawns one at a time, ${o.bursts} bursts of ${o.burst}; ${o.faulters} faulting processes x ${o.rounds} rounds of ${o.pages} pages`);
for (let r = 0; r < o.runs; r++) {
  for (const b of builds) {
    const x = await once(b);
    all.get(b)!.push(x);
    const s = percentiles(Float64Array.from(x.sequentialMs), x.sequentialMs.length);
    const bu = percentiles(Float64Array.from(x.burstMs), x.burstMs.length);
    console.log(`run ${r + 1} ${b.name}: spawn->main p50 ${s.p50Ns.toFixed(2)} ms p99 ${s.p99Ns.toFixed(2)} ms; burst p50 ${bu.p50Ns.toFixed(2)} ms p99 ${bu.p99Ns.toFixed(2)} ms; first round µs/fault cold ${x.firstRoundColdUs.toFixed(1)}, fresh ${median(x.firstRoundUs).toFixed(2)}, last ${median(x.lastRoundUs).toFixed(2)}`);
  }
}
console.log('\nper build, median (min..max) over runs:');
const f2 = (x: number) => x.toFixed(2);
for (const b of builds) {
  const rs = all.get(b)!;
  const p = (xs: number[], q: 'p50Ns' | 'p99Ns') => percentiles(Float64Array.from(xs), xs.length)[q];
  console.log(b.name);
  console.log(`  spawn -> main, one at a time: p50 ${fmtSpread(rs.map((x) => p(x.sequentialMs, 'p50Ns')), f2)} ms, p99 ${fmtSpread(rs.map((x) => p(x.sequentialMs, 'p99Ns')), f2)} ms, max ${fmtSpread(rs.map((x) => Math.max(...x.sequentialMs)), f2)} ms`);
  console.log(`  spawn -> main, bursts of ${o.burst}:   p50 ${fmtSpread(rs.map((x) => p(x.burstMs, 'p50Ns')), f2)} ms, p99 ${fmtSpread(rs.map((x) => p(x.burstMs, 'p99Ns')), f2)} ms`);
  console.log(`  µs per fault: first process's first round ${fmtSpread(rs.map((x) => x.firstRoundColdUs), f2)}; later processes' first round ${fmtSpread(rs.map((x) => median(x.firstRoundUs)), f2)}, last round ${fmtSpread(rs.map((x) => median(x.lastRoundUs)), f2)}`);
}
