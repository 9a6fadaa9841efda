/**
 * The benchmark matrix: workloads x processes x pagers x wait strategies.
 *
 * One Runtime per pager count, created with maxProcesses = prestart = the largest process
 * count, so worker threads are started before any timed cell (a worker start would dwarf a cell).
 * Each runtime is first warmed up with every process thread busy (warmUp), then runs every
 * (wait, workload, procs) cell, switching the wait strategy between cells
 * (Runtime.setWaitStrategy, while no process exists). The warm-up is there for V8: each process
 * thread is an isolate of its own that compiles the fault path and the program anew, on compiler
 * threads that compete with the benchmark for the two CPUs; one runtime for all strategies
 * warms those isolates once, where a runtime per strategy would start cold three times.
 * A cell that fails is recorded with its error and the run goes on.
 */
import { availableParallelism } from 'node:os';
import type { WaitStrategy } from '../wait.js';
import { WAIT_STRATEGIES } from '../wait.js';
import { DEFAULT_WAIT } from './report.js';
import { DISTURBED_CORES, MODES, WORKLOADS, createBenchRuntime, runCell, setBenchWait, type BenchRuntime, type CellResult, type CellSpec, type Mode, type Workload } from './cell.js';

export { DISTURBED_CORES, MODES, WORKLOADS, WAIT_STRATEGIES };

/** A workload in one mode: what the warm-up warms and the matrix groups its cells by. */
export interface Kind {
  workload: Workload;
  mode: Mode;
}

const kindName = (k: Kind): string => (k.mode === 'processes' ? k.workload : `${k.workload} (threads)`);

/** Longest warm-up per runtime, ms of the time other processes leave to the bench (see warmUp). */
export const DEFAULT_WARMUP_MS = 8000;
/** One warm-up cell's window, ms (a cell also spends time starting and stopping its processes). */
export const WARMUP_CELL_MS = 100;

/**
 * The warm-up's strategy and limit for a matrix of these strategies: the default one when the
 * matrix has it, whose rate with every process busy follows V8's code (spin and park follow the
 * scheduler or futex wake-ups) so that the stop rule can tell when the isolates are warm; without
 * it the stop rule rarely fires, and the limit is a quarter.
 */
export function warmupPlan(waits: readonly WaitStrategy[], warmupMs: number): { wait: WaitStrategy; limitMs: number } {
  return waits.includes(DEFAULT_WAIT) ? { wait: DEFAULT_WAIT, limitMs: warmupMs } : { wait: waits[0], limitMs: Math.round(warmupMs / 4) };
}

/** What a runtime's warm-up did: how long, each workload's rates, and which were still rising when it ended. */
export interface WarmUp {
  /** processes in each warm-up cell */
  procs: number;
  /** wall time, ms */
  ms: number;
  /** its limit, ms of time other processes left to the bench */
  limitMs: number;
  /** faults/s of each warm-up cell, per workload (kind) */
  rates: Record<string, number[]>;
  /** workloads whose rate still rose when the limit ended the warm-up (empty: every one settled) */
  stillRising: string[];
}

/**
 * Warm a runtime up: cells of every workload in turn, with every process thread busy, until each
 * workload's rate stops rising (two cells in a row no more than 10 % above every earlier one) or
 * `maxMs` of the machine's time has gone to it. Returns how long it ran, each workload's warm-up
 * rates, and which of them had not settled.
 *
 * Each process thread is an isolate of its own that compiles the fault path and the program anew,
 * and with 16 processes taking turns on 1 CPU each gets a 16th of the running time, so V8 tiers
 * its code up slowly and deoptimises it as it first meets the rarer paths (parking, yielding, the
 * start and stop of a cell); one long cell, an idle pause or V8 flags do not replace the cells
 * (docs/experiments/warming-up-16-isolates.md). What V8 needs is running time, so time that other processes took from the
 * CPUs during a cell (cell.ts otherCores) does not count towards `maxMs`; the warm-up still
 * ends after 2 x maxMs of wall time, so that a machine that stays busy cannot hold it forever.
 */
export async function warmUp(b: BenchRuntime, kinds: Kind[], procs: number, maxMs: number, cell: Omit<CellSpec, 'workload' | 'procs' | 'durationMs' | 'mode'>): Promise<WarmUp> {
  const rates = new Map<string, number[]>(kinds.map((k) => [kindName(k), []]));
  const rising = new Set(kinds);
  const t0 = performance.now();
  const cpus = availableParallelism();
  let ours = 0; // ms of wall time, less the share other processes took
  const over = () => ours >= maxMs || performance.now() - t0 >= 2 * maxMs;
  while (rising.size > 0 && !over()) {
    for (const k of [...rising]) {
      const c0 = performance.now();
      const r = await runCell(b, { ...cell, workload: k.workload, mode: k.mode, procs, durationMs: WARMUP_CELL_MS });
      const other = Number.isFinite(r.otherCores) ? Math.min(1, r.otherCores / cpus) : 0;
      ours += (performance.now() - c0) * (1 - other);
      const a = rates.get(kindName(k))!;
      a.push(r.faultsPerSec);
      // Done after two cells in a row that did not beat every earlier one by more than 10 %:
      // one such cell is often a pause before the next rise.
      const n = a.length;
      if (n >= 3) {
        const bar = 1.1 * Math.max(...a.slice(0, n - 2));
        if (a[n - 1] <= bar && a[n - 2] <= bar) rising.delete(k);
      }
      if (over()) break;
    }
  }
  return { procs, ms: performance.now() - t0, limitMs: maxMs, rates: Object.fromEntries(rates), stillRising: [...rising].map(kindName) };
}

/** Measurements of one cell at most while it keeps being disturbed (the least disturbed is kept). */
export const MAX_ATTEMPTS = 3;

/**
 * Measure a cell (`run` is one runCell); while other processes disturbed it (otherCores >
 * DISTURBED_CORES) and `budget.left` allows, measure it again, and keep the least disturbed
 * measurement. Every cell gets the same rule, so that the figures describe devpager rather than
 * whatever else ran on the machine; the budget bounds the time a machine that stays busy can add.
 */
export async function measureCell(run: () => Promise<CellResult>, budget: { left: number }): Promise<CellResult> {
  let kept = await run();
  while (kept.otherCores > DISTURBED_CORES && kept.attempts < MAX_ATTEMPTS && budget.left > 0) {
    budget.left--;
    const attempts = kept.attempts + 1;
    let r: CellResult;
    try {
      r = await run();
    } catch {
      kept.attempts = attempts;
      break; // the first measurement stands
    }
    kept = r.otherCores < kept.otherCores ? r : kept;
    kept.attempts = attempts;
  }
  return kept;
}

export interface MatrixOptions {
  workloads: Workload[];
  /** processes, threads or both (default processes) */
  modes?: Mode[];
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
  /** longest warm-up per runtime, ms of time other processes left to the bench (warmUp; default DEFAULT_WARMUP_MS; 0 = none) */
  warmupMs?: number;
  /** called right before each cell is measured (after any warm-up and strategy switch) */
  beforeCell?: (c: CellKey) => Promise<void>;
  /** called before each step: a runtime start, its warm-up, a workload's two re-warming cells, or a cell */
  onStep?: (s: { kind: 'runtime' | 'warmup' | 'rewarm' | 'cell'; label: string }) => void;
}

export interface CellKey {
  workload: Workload;
  mode: Mode;
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
  /** each runtime's warm-up (none with warmupMs 0, or when it failed) */
  warmups: (WarmUp & { pagers: number; wait: WaitStrategy })[];
  /** wall time of the whole matrix, ms */
  elapsedMs: number;
}

export function cellLabel(c: CellKey): string {
  return `${c.workload} ${c.mode === 'threads' ? 'threads' : 'procs'}=${c.procs} pagers=${c.pagers} wait=${c.wait}`;
}

/**
 * Every cell, in run order: grouped by (pagers, wait), then workload, then mode, then procs, so
 * that a workload's two modes are measured next to each other.
 */
export function expandMatrix(o: Pick<MatrixOptions, 'workloads' | 'modes' | 'procs' | 'pagers' | 'waits'>): CellKey[] {
  const cells: CellKey[] = [];
  for (const pagers of o.pagers) {
    for (const wait of o.waits) {
      for (const workload of o.workloads) {
        for (const mode of o.modes ?? ['processes']) {
          for (const procs of o.procs) cells.push({ workload, mode, procs, pagers, wait });
        }
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
  const warmups: MatrixResult['warmups'] = [];
  const maxProcs = Math.max(...o.procs);
  const { wait: warmWait, limitMs: limit } = warmupPlan(o.waits, o.warmupMs ?? DEFAULT_WARMUP_MS);
  for (const pagers of o.pagers) {
    const all = expandMatrix({ ...o, pagers: [pagers] });
    const kinds: Kind[] = [];
    for (const c of all) if (!kinds.some((k) => k.workload === c.workload && k.mode === c.mode)) kinds.push({ workload: c.workload, mode: c.mode });
    o.onStep?.({ kind: 'runtime', label: `start runtime pagers=${pagers} (${maxProcs} process threads)` });
    let b: BenchRuntime;
    try {
      b = await createBenchRuntime({ pagers, wait: warmWait, maxProcs, memory: o.memory, ring: o.ring, runtime: { stats: o.stats ?? true, statsSample: o.statsSample, processNice: o.processNice ?? 0, pin: o.pin === 'off' ? false : o.pin === 'on' ? true : 'auto', ...(o.spin !== undefined ? { spin: o.spin } : {}), ...(o.quantum !== undefined ? { quantum: o.quantum } : {}) } });
    } catch (e) {
      for (const c of all) {
        o.onStep?.({ kind: 'cell', label: cellLabel(c) });
        errors.push({ ...c, error: `runtime: ${(e as Error).message}` });
      }
      continue;
    }
    try {
      if (limit > 0) {
        o.onStep?.({ kind: 'warmup', label: `warm up (${maxProcs} processes, ${warmWait}, until every workload's rate stops rising, at most ${limit} ms undisturbed)` });
        const w = await warmUp(b, kinds, maxProcs, limit, { pages: o.pages, seed: o.seed, checkEvery: checkEveryFor(warmWait) }).catch(() => null);
        if (w) warmups.push({ pagers, wait: warmWait, ...w });
      }
      let warmed = true; // nothing ran since the warm-up
      for (const wait of o.waits) {
        const group = all.filter((c) => c.wait === wait);
        const checkEvery = checkEveryFor(wait);
        if (b.wait !== wait) {
          try {
            setBenchWait(b, wait);
          } catch (e) {
            // Not measured under a strategy it could not switch to; the other strategies still are.
            for (const c of group) {
              o.onStep?.({ kind: 'cell', label: cellLabel(c) });
              errors.push({ ...c, error: `switching to wait ${wait}: ${(e as Error).message}` });
            }
            continue;
          }
        }
        // Cells measured again because other processes disturbed them: at most one in four.
        const budget = { left: Math.ceil(group.length / 4) };
        let current = null as Kind | null;
        for (const c of group) {
          if (c.workload !== current?.workload || c.mode !== current.mode) {
            // The default strategy's cells of each workload get two more 16-process cells right
            // before them, unless the warm-up just ran: the cells in between (fewer processes,
            // other workloads or strategies) leave a workload's 16-process cell as weak as a cold
            // one (docs/experiments/warming-up-16-isolates.md). Spin and park, bound by the
            // scheduler, are measured with the isolates as warm as the cells before left them.
            if (limit > 0 && wait === DEFAULT_WAIT && !warmed) {
              o.onStep?.({ kind: 'rewarm', label: `warm up ${kindName(c)} again (${maxProcs} tasks, 2 cells)` });
              for (let i = 0; i < 2; i++) await runCell(b, { workload: c.workload, mode: c.mode, procs: maxProcs, durationMs: WARMUP_CELL_MS, pages: o.pages, seed: o.seed, checkEvery }).catch(() => undefined);
            }
            current = { workload: c.workload, mode: c.mode };
          }
          warmed = false;
          await o.beforeCell?.(c);
          o.onStep?.({ kind: 'cell', label: cellLabel(c) });
          try {
            const spec: CellSpec = { workload: c.workload, mode: c.mode, procs: c.procs, durationMs: o.durationMs, pages: o.pages, seed: o.seed, checkEvery };
            results.push(await measureCell(() => runCell(b, spec), budget));
          } catch (e) {
            errors.push({ ...c, error: (e as Error).message });
          }
        }
      }
    } finally {
      await b.close();
    }
  }
  return { results, errors, warmups, elapsedMs: performance.now() - t0 };
}
