/**
 * The benchmark matrix: workloads x processes x pagers x wait strategies.
 *
 * One Runtime per (pagers, wait), created with maxProcesses = prestart = the largest process
 * count, so worker threads are started before any timed cell (a worker start would dwarf a cell).
 * Each runtime is first warmed up with every process thread busy (warmUp), then runs every
 * (workload, procs) cell. The warm-up is there for V8: each process thread is an isolate of its
 * own that compiles the fault path and the program anew, on compiler threads that compete with
 * the benchmark for the two CPUs.
 * A cell that fails is recorded with its error and the run goes on.
 */
import type { WaitStrategy } from '../wait.js';
import { WAIT_STRATEGIES } from '../wait.js';
import { WORKLOADS, createBenchRuntime, runCell, type BenchRuntime, type CellResult, type CellSpec, type Workload } from './cell.js';

export { WORKLOADS, WAIT_STRATEGIES };

/** Longest warm-up per runtime, ms of wall time (see warmUp). */
export const DEFAULT_WARMUP_MS = 4000;
/** One warm-up cell's window, ms (a cell also spends time starting and stopping its processes). */
export const WARMUP_CELL_MS = 100;

/**
 * Warm a runtime up: cells of every workload in turn, with every process thread busy, until each
 * workload's rate stops rising (two cells in a row no more than 10 % above every earlier one) or
 * `maxMs` has gone. Returns each workload's warm-up rates.
 *
 * Each process thread is an isolate of its own that compiles the fault path and the program anew,
 * and with 16 processes taking turns on 1 CPU each gets a 16th of the running time, so V8 tiers
 * its code up slowly and deoptimises it as it first meets the rarer paths (parking, yielding, the
 * start and stop of a cell). Until then a 16-process cell measures V8's compiler, not the fault
 * path; warm, it runs about as fast as one process. Only many short cells of every workload get
 * there: one long cell, an idle second or V8 flags do not
 * (docs/experiments/warming-up-16-isolates.md).
 */
export async function warmUp(b: BenchRuntime, workloads: Workload[], procs: number, maxMs: number, cell: Omit<CellSpec, 'workload' | 'procs' | 'durationMs'>): Promise<Map<Workload, number[]>> {
  const rates = new Map<Workload, number[]>(workloads.map((w) => [w, []]));
  const rising = new Set(workloads);
  const t0 = performance.now();
  while (rising.size > 0 && performance.now() - t0 < maxMs) {
    for (const w of [...rising]) {
      const r = await runCell(b, { ...cell, workload: w, procs, durationMs: WARMUP_CELL_MS });
      const a = rates.get(w)!;
      a.push(r.faultsPerSec);
      // Done after two cells in a row that did not beat every earlier one by more than 10 %:
      // one such cell is often a pause before the next rise.
      const n = a.length;
      if (n >= 3) {
        const bar = 1.1 * Math.max(...a.slice(0, n - 2));
        if (a[n - 1] <= bar && a[n - 2] <= bar) rising.delete(w);
      }
      if (performance.now() - t0 >= maxMs) break;
    }
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
  /** pin pagers and processes to CPUs (Runtime pin: 'on' is true, default 'auto') */
  pin?: 'auto' | 'on' | 'off';
  /** a waiting process's polls before it parks (Runtime spin; default the Runtime's) */
  spin?: number;
  /** requests before a process yields to a held one (Runtime quantum; default the Runtime's) */
  quantum?: number;
  /** untimed warm-up cell per workload and runtime, ms (default 300; 0 = none) */
  warmupMs?: number;
  /** called for each runtime after its warm-up, right before its timed cells */
  beforeCells?: (pagers: number, wait: WaitStrategy) => Promise<void>;
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
 * where oversubscribed cells can be so slow that 64 faults per process would take seconds to
 * notice STOP. The read is a TLB hit, far cheaper than a fault.
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
        b = await createBenchRuntime({ pagers, wait, maxProcs, memory: o.memory, ring: o.ring, runtime: { stats: o.stats ?? true, statsSample: o.statsSample, processNice: o.processNice ?? 0, pin: o.pin === 'off' ? false : o.pin === 'on' ? true : 'auto', ...(o.spin !== undefined ? { spin: o.spin } : {}), ...(o.quantum !== undefined ? { quantum: o.quantum } : {}) } });
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
        // Spin and park get a quarter of the warm-up: with 16 processes they run at the speed of
        // the scheduler (spinners preempting each other) or of futex wake-ups, not of V8's code,
        // and their rate is too noisy for the stop rule, so they would always run to the limit
        // and take most of the bench's wall time.
        const limit = wait === 'adaptive' ? warmupMs : Math.round(warmupMs / 4);
        if (limit > 0) {
          o.onStep?.({ kind: 'warmup', label: `warm up (${maxProcs} processes, until every workload's rate stops rising, at most ${limit} ms)` });
          await warmUp(b, o.workloads, maxProcs, limit, { pages: o.pages, seed: o.seed, checkEvery }).catch(() => undefined);
        }
        // And each later workload gets two more 16-process cells right before its own cells: the
        // cells in between (fewer processes, other workloads) leave the last workload's 16-process
        // cell as weak as a cold one, whichever workload is last
        // (docs/experiments/warming-up-16-isolates.md).
        await o.beforeCells?.(pagers, wait);
        let current: Workload | null = null;
        for (const c of group) {
          if (limit > 0 && c.workload !== current) {
            if (current !== null) {
              o.onStep?.({ kind: 'warmup', label: `warm up ${c.workload} again (${maxProcs} processes, 2 cells)` });
              for (let i = 0; i < 2; i++) await runCell(b, { workload: c.workload, procs: maxProcs, durationMs: WARMUP_CELL_MS, pages: o.pages, seed: o.seed, checkEvery }).catch(() => undefined);
            }
            current = c.workload;
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
