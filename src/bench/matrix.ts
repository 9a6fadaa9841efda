/**
 * The benchmark matrix: workloads x processes x pagers x wait strategies.
 *
 * One Runtime per (pagers, wait), created with maxProcesses = prestart = the largest process
 * count, so worker threads are started before any timed cell (a worker start costs ~30 ms here).
 * In each runtime, every workload is warmed up with every process thread busy (warmUp) right
 * before its (workload, procs) cells. The warm-up is there for V8: each process thread is an
 * isolate of its own that compiles the fault path and the program anew, on compiler threads
 * that compete with the benchmark for the two CPUs.
 * A cell that fails is recorded with its error and the run goes on.
 */
import type { WaitStrategy } from '../wait.js';
import { WAIT_STRATEGIES } from '../wait.js';
import { WORKLOADS, createBenchRuntime, runCell, type BenchRuntime, type CellResult, type CellSpec, type Workload } from './cell.js';

export { WORKLOADS, WAIT_STRATEGIES };

/** Longest warm-up per workload and runtime, ms (see warmUp). */
export const DEFAULT_WARMUP_MS = 900;
/** One warm-up cell, ms. */
export const WARMUP_CELL_MS = 150;

/**
 * Warm `workload` up in `b` with every process thread busy, in WARMUP_CELL_MS cells, until the
 * rate stops rising (a cell no more than 10 % above every cell before it, three cells at least)
 * or `maxMs` has gone. Each process thread is an isolate of its own that compiles the fault path and the
 * program anew, and with 16 processes taking turns on 1 CPU each gets a 16th of the running
 * time, so V8 tiers its code up slowly and deoptimises it as it first meets the park and yield
 * paths. Measured on this VM (refault and page_fault, 16 processes, back-to-back 150 ms cells
 * after a 20,000-faults-each warm-up): 75-120k, 123-133k, 177-249k, 292-333k, 298-534k,
 * 450-825k faults/s, with 42, 40, 28, 23, 14 and 15 TurboFan compiles in those cells
 * (--trace-opt); an idle second in between changed nothing. A 300 ms warm-up thus left the
 * 16-process cells measuring V8, not devpager. Returns the warm-up cells' rates.
 */
export async function warmUp(b: BenchRuntime, workload: Workload, procs: number, maxMs: number, cell: Omit<CellSpec, 'workload' | 'procs' | 'durationMs'>): Promise<number[]> {
  const rates: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    const r = await runCell(b, { ...cell, workload, procs, durationMs: Math.min(WARMUP_CELL_MS, maxMs) });
    rates.push(r.faultsPerSec);
    const n = rates.length;
    if (n >= 3 && rates[n - 1] <= 1.1 * Math.max(...rates.slice(0, n - 1))) break;
  }
  return rates;
}

export interface MatrixOptions {
  workloads: Workload[];
  procs: number[];
  pagers: number[];
  waits: WaitStrategy[];
  /** timed window per cell, ms */
  durationMs: number;
  /** pages per mapping / round */
  pages: number;
  /** physical memory per runtime, bytes */
  memory?: number;
  /** frames behind the bench device's data range */
  ring?: number;
  seed?: number;
  /** Runtime stats (latency timing); false measures what stats cost (default true) */
  stats?: boolean;
  /** time 1 request in this many (Runtime statsSample) */
  statsSample?: number;
  /** nice increment of process threads (Runtime processNice) */
  processNice?: number;
  /** a waiting process's polls before it parks (Runtime spin; default the Runtime's) */
  spin?: number;
  /** requests before a process yields to a held one (Runtime quantum; default the Runtime's) */
  quantum?: number;
  /** untimed warm-up cell per workload and runtime, ms (default 300; 0 = none) */
  warmupMs?: number;
  /** called before each step: a runtime start (kind 'runtime') or a cell */
  onStep?: (s: { kind: 'runtime' | 'warmup' | 'cell'; label: string }) => void;
}

export interface CellKey {
  workload: Workload;
  procs: number;
  pagers: number;
  wait: WaitStrategy;
}

export interface CellError extends CellKey {
  error: string;
}

export interface MatrixResult {
  results: CellResult[];
  errors: CellError[];
  /** wall time of the whole matrix, ms */
  elapsedMs: number;
}

export function cellLabel(c: CellKey): string {
  return `${c.workload} procs=${c.procs} pagers=${c.pagers} wait=${c.wait}`;
}

/** Every cell, in run order: grouped by (pagers, wait), then workload, then procs. */
export function expandMatrix(o: Pick<MatrixOptions, 'workloads' | 'procs' | 'pagers' | 'waits'>): CellKey[] {
  const cells: CellKey[] = [];
  for (const pagers of o.pagers) {
    for (const wait of o.waits) {
      for (const workload of o.workloads) {
        for (const procs of o.procs) cells.push({ workload, procs, pagers, wait });
      }
    }
  }
  return cells;
}

/**
 * How often a program reads the stop word. 64 faults normally; every fault under pure spinning,
 * where oversubscribed cells can drop to ~100 faults/s and 64 faults per process would take
 * seconds to notice STOP. The read is a TLB hit (a few ns against a fault of several µs).
 */
export function checkEveryFor(wait: WaitStrategy): number {
  return wait === 'spin' ? 1 : 64;
}

export async function runMatrix(o: MatrixOptions): Promise<MatrixResult> {
  const t0 = performance.now();
  const results: CellResult[] = [];
  const errors: CellError[] = [];
  const maxProcs = Math.max(...o.procs);
  for (const pagers of o.pagers) {
    for (const wait of o.waits) {
      const group = o.workloads.flatMap((workload) => o.procs.map((procs) => ({ workload, procs, pagers, wait })));
      o.onStep?.({ kind: 'runtime', label: `start runtime pagers=${pagers} wait=${wait} (${maxProcs} process threads)` });
      let b: BenchRuntime;
      try {
        b = await createBenchRuntime({ pagers, wait, maxProcs, memory: o.memory, ring: o.ring, runtime: { stats: o.stats ?? true, statsSample: o.statsSample, processNice: o.processNice ?? 0, ...(o.spin !== undefined ? { spin: o.spin } : {}), ...(o.quantum !== undefined ? { quantum: o.quantum } : {}) } });
      } catch (e) {
        for (const c of group) {
          o.onStep?.({ kind: 'cell', label: cellLabel(c) });
          errors.push({ ...c, error: `runtime: ${(e as Error).message}` });
        }
        continue;
      }
      try {
        const checkEvery = checkEveryFor(wait);
        const warmupMs = o.warmupMs ?? DEFAULT_WARMUP_MS;
        let warmed: Workload | null = null;
        for (const c of group) {
          // Each workload right before its own cells: the path code the workloads share (the
          // fault path, invalidation, the syscalls) takes on each one's type feedback, and V8
          // may deoptimise it for the next (page_fault's 16-process cell, warmed before the
          // other three workloads' warm-ups: 39 % and 46 % of its best in two full runs).
          if (warmupMs > 0 && c.workload !== warmed) {
            warmed = c.workload;
            o.onStep?.({ kind: 'warmup', label: `warm up ${c.workload} (${maxProcs} processes, until the rate stops rising, at most ${warmupMs} ms)` });
            await warmUp(b, c.workload, maxProcs, warmupMs, { pages: o.pages, seed: o.seed, checkEvery }).catch(() => undefined);
          }
          o.onStep?.({ kind: 'cell', label: cellLabel(c) });
          try {
            results.push(await runCell(b, { workload: c.workload, procs: c.procs, durationMs: o.durationMs, pages: o.pages, seed: o.seed, checkEvery }));
          } catch (e) {
            errors.push({ ...c, error: (e as Error).message });
          }
        }
      } finally {
        await b.close();
      }
    }
  }
  return { results, errors, elapsedMs: performance.now() - t0 };
}
