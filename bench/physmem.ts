/**
 * Physical-memory micro-benchmarks: alloc+free pairs per second.
 *
 *   node dist/bench/physmem.js [--runs N] [--time MS] [--duration MS] [--workers 2,4] [--json FILE]
 *
 * One thread (tinybench, each task call = a batch of BATCH pairs, so the timer's own cost is
 * amortised): allocFrame+freeFrame (scattered and sequential scan), kmAlloc+kmFree of 1 and 4 pages.
 * Several workers at once (timed inside the workers: each runs a fixed-duration loop and reports
 * its pairs and elapsed time from performance.now(); aggregate = all pairs / the common wall-clock
 * span from the first start to the last end): allocFrame+freeFrame (scattered) and kmAlloc+kmFree
 * of 1 page, on one shared arena.
 *
 * The arena is 64 MiB (16384 frames) with half of its frames allocated at random beforehand, so
 * scans see a realistically fragmented bitmap rather than an empty one. Every figure is measured
 * --runs times on a fresh arena; the table shows the median and the min..max spread.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { PAGE_SIZE } from '../src/constants.js';
import { FI_ANON } from '../src/layout.js';
import type { OptionSpecs, OptionValues } from '../src/cli/args.js';
import { createArena } from '../src/physmem.js';
import { median } from '../src/util/stats.js';
import { benchArgs } from './common.js';
import { makeBatch, type BenchOp, type BenchWorkerData, type BenchWorkerResult } from './workers/physmem-bench.js';

const BATCH = 1000;
const MEMORY = 64 << 20;
const FILL = 0.5;

const OPTIONS = {
  runs: { kind: 'int', min: 1, max: 1000, default: 3, help: 'measure every figure N times on a fresh arena (default 3)' },
  time: { kind: 'int', min: 10, max: 600_000, default: 500, arg: 'MS', help: 'tinybench time budget per single-thread task and run (default 500)' },
  duration: { kind: 'int', min: 10, max: 600_000, default: 1000, arg: 'MS', help: 'fixed loop duration per worker and run (default 1000)' },
  workers: { kind: 'ints', min: 1, max: 8, default: [1, 2, 4], help: 'worker counts for the multi-thread part, at most 8 (arena thread slots) (default 1,2,4)' },
  json: { kind: 'string', arg: 'FILE', help: 'also write the results as JSON to FILE' },
} as const satisfies OptionSpecs;
type Options = OptionValues<typeof OPTIONS>;

/** A fresh arena with FILL of its frames taken at random (scattered), the rest free. */
function freshArena() {
  const a = createArena({ memory: MEMORY, pagers: 1, maxProcs: 8 });
  const n = Math.floor(a.phys.nframes * FILL);
  for (let i = 0; i < n; i++) a.phys.allocFrame(FI_ANON, true);
  return a;
}

interface Row {
  name: string;
  threads: number;
  /** pairs per second, one per run */
  runs: number[];
  median: number;
  min: number;
  max: number;
  /** multi-worker only: slowest and fastest single worker's pairs per second, medians over runs */
  perWorker?: [number, number];
  casRetries?: number;
}

function row(name: string, threads: number, runs: number[], extra: Partial<Row> = {}): Row {
  return { name, threads, runs, median: median(runs), min: Math.min(...runs), max: Math.max(...runs), ...extra };
}

const SINGLE: Array<[string, BenchOp]> = [
  ['allocFrame+freeFrame (scatter)', 'frame-scatter'],
  ['allocFrame+freeFrame (sequential)', 'frame-seq'],
  ['kmAlloc+kmFree 1 page', 'km1'],
  ['kmAlloc+kmFree 4 pages', 'km4'],
];
const MULTI: Array<[string, BenchOp]> = [
  ['allocFrame+freeFrame (scatter)', 'frame-scatter'],
  ['kmAlloc+kmFree 1 page', 'km1'],
];

async function singleThread(o: Options): Promise<Row[]> {
  const runs = new Map<string, number[]>(SINGLE.map(([n]) => [n, []]));
  for (let r = 0; r < o.runs; r++) {
    const bench = new Bench({ time: o.time, warmupTime: 100, throws: true });
    for (const [name, op] of SINGLE) {
      const { phys } = freshArena();
      const batch = makeBatch(phys, op);
      bench.add(name, () => batch(BATCH));
    }
    await bench.run();
    for (const t of bench.tasks) {
      const res = t.result;
      if (res.state !== 'completed') throw new Error(`${t.name}: ${res.state}${'error' in res ? `: ${String(res.error)}` : ''}`);
      // latency is ms per call of BATCH pairs; report pairs per second from the mean call time.
      runs.get(t.name)!.push((BATCH * 1000) / res.latency.mean);
    }
  }
  return SINGLE.map(([name]) => row(name, 1, runs.get(name)!));
}

function startWorker(url: URL, data: BenchWorkerData, timeoutMs: number): { done: Promise<BenchWorkerResult>; worker: Worker } {
  const worker = new Worker(url, { workerData: data });
  const done = new Promise<BenchWorkerResult>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench worker ${data.thread}: no result after ${timeoutMs} ms`)), timeoutMs);
    worker.once('message', (m: BenchWorkerResult) => { clearTimeout(timer); resolve(m); });
    worker.on('error', (e) => { clearTimeout(timer); reject(e); });
    worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bench worker ${data.thread} exited with code ${code}`)); });
  }).finally(() => worker.terminate());
  return { done, worker };
}

async function multiThread(o: Options): Promise<Row[]> {
  const url = new URL('./workers/physmem-bench.js', import.meta.url);
  const rows: Row[] = [];
  for (const [name, op] of MULTI) {
    for (const n of o.workers) {
      const agg: number[] = [];
      const slowest: number[] = [];
      const fastest: number[] = [];
      let retries = 0;
      for (let r = 0; r < o.runs; r++) {
        const { sab } = freshArena();
        const gate = new SharedArrayBuffer(8);
        const g = new Int32Array(gate);
        const ws = Array.from({ length: n }, (_, i) =>
          startWorker(url, { sab, gate, thread: i + 1, op, durationMs: o.duration }, o.duration + 30_000));
        const all = Promise.all(ws.map((w) => w.done));
        while (Atomics.load(g, 0) < n) await Promise.race([all, new Promise((res) => setTimeout(res, 1))]);
        Atomics.store(g, 1, 1);
        Atomics.notify(g, 1);
        const res = await all;
        const ops = res.reduce((s, x) => s + x.ops, 0);
        const span = Math.max(...res.map((x) => x.end)) - Math.min(...res.map((x) => x.start));
        agg.push((ops * 1000) / span);
        const rates = res.map((x) => (x.ops * 1000) / x.ms);
        slowest.push(Math.min(...rates));
        fastest.push(Math.max(...rates));
        retries += res.reduce((s, x) => s + x.casRetries, 0);
      }
      rows.push(row(name, n, agg, { perWorker: [median(slowest), median(fastest)], casRetries: Math.round(retries / o.runs) }));
    }
  }
  return rows;
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);

function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  console.table(rows.map((r) => ({
    benchmark: r.name,
    threads: r.threads,
    'pairs/s (median)': fmt(r.median),
    'spread (min..max)': `${fmt(r.min)}..${fmt(r.max)}`,
    'spread %': `±${((100 * (r.max - r.min)) / 2 / r.median).toFixed(1)}`,
    'ns/pair': (1e9 / r.median).toFixed(0),
    ...(r.perWorker !== undefined ? { 'one worker (slowest..fastest)': `${fmt(r.perWorker[0])}..${fmt(r.perWorker[1])}`, 'CAS retries/run': r.casRetries } : {}),
  })));
}

async function main(): Promise<void> {
  const o = benchArgs('physmem', 'Physical-memory micro-benchmarks: alloc+free pairs per second, one thread and several.', OPTIONS);
  const machine = {
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    /** 1-minute load average when the run started: other work on the machine skews the figures */
    loadAvg1: Number(os.loadavg()[0].toFixed(2)),
  };
  console.log(`physmem micro-benchmarks: ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, ${machine.platform}, load average ${machine.loadAvg1}`);
  console.log(`arena ${MEMORY >> 20} MiB (${MEMORY / PAGE_SIZE} frames, ${FILL * 100}% pre-allocated), ${o.runs} runs per figure; ` +
    `single thread: tinybench ${o.time} ms/task, batches of ${BATCH}; workers: ${o.duration} ms loops`);

  const single = await singleThread(o);
  printTable('One thread (tinybench)', single);
  const multi = await multiThread(o);
  printTable('Workers at once (timed inside the workers; aggregate = all pairs / common wall-clock span)', multi);

  if (o.json) {
    writeFileSync(o.json, JSON.stringify({
      benchmark: 'physmem', date: new Date().toISOString(), machine,
      config: { memoryBytes: MEMORY, fill: FILL, batch: BATCH, runs: o.runs, timeMs: o.time, durationMs: o.duration, workers: o.workers },
      unit: 'alloc+free pairs per second',
      singleThread: single, workers: multi,
    }, null, 2) + '\n');
    console.log(`\nwrote ${o.json}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
