/**
 * One benchmark cell: `procs` processes run one workload program against the bench device for a
 * timed window, in a Runtime that is already running (a worker start would dwarf a cell, so it
 * never happens inside one). Exported for `devpager bench` and for `devpager profile`.
 *
 *   const b = await createBenchRuntime({ pagers: 1, wait: 'adaptive', maxProcs: 4 });
 *   const r = await runCell(b, { workload: 'refault', procs: 4, durationMs: 200 });
 *   await b.close();
 *
 * Timeline of a cell (host side):
 *   1. reset the control page (PHASE = SETUP, READY = STOPPED = 0), spawn the processes;
 *   2. each process sets up its mappings and says READY; the host polls READY == procs;
 *   3. everyone is parked on PHASE, so nothing runs: rt.resetStats(), snapshot cpuUsage, t0,
 *      PHASE = RUN + notify;
 *   4. sleep durationMs; read every process's COUNTS word (t1), then PHASE = STOP + notify; poll
 *      until STOPPED == procs (t2); snapshot cpuUsage, rt.stats();
 *   5. wait for every process's result { faults, elapsedMs, ... }.
 * As threads (mode 'threads'), one process runs programs/threads.ts, which starts the tasks as
 * threads of its own; the handshake is the same, one COUNTS word per task.
 *
 * Figures: faults/s = the faults the programs had published in COUNTS at t1 / (t1 - t0). That is
 * will-it-scale's method: the counters are sampled while every task still runs, so the figure is
 * the rate of the running workload, not of its start-up or its wind-down. The wind-down matters
 * beyond the CPUs: with 16 processes on 1 CPU, most of them are parked in the run queue at t1,
 * and each must get a CPU once more just to see STOP, which can take a large part of a cell
 * (docs/experiments/how-a-cell-is-measured.md).
 * A process publishes every checkEvery faults, so the sum is low by less than checkEvery per
 * process. `drainFaultsPerSec` keeps the figure with the wind-down: every fault the programs
 * counted / (latest "stop seen" - t0). Latency percentiles are
 * rt.stats().latency.fault (recorded inside the faulting threads, reset at step 3). Pager busy
 * fractions are counters.busyNs / (t2 - t0) — not stats().pagers[].busyFraction, which divides
 * by the runtime's uptime. CPU is process.cpuUsage() over [t0, t2] (all threads of this Node
 * process), and CPU per fault divides it by rt.stats().totals.faults at t2.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Runtime, type RuntimeOptions } from '../runtime/runtime.js';
import type { RuntimeStats } from '../runtime-stats.js';
import type { WaitStrategy } from '../wait.js';
import {
  CTL_COUNTS, CTL_MAX_PROCS, CTL_PHASE, CTL_READY, CTL_STOPPED, DEFAULT_PAGES, DEFAULT_RING, PHASE_RUN, PHASE_SETUP, PHASE_STOP,
  type BenchState,
} from '../drivers/bench.js';
import type { ProgramOptions, ProgramResult } from './programs/common.js';
import type { ThreadsOptions } from './programs/threads.js';

export const WORKLOADS = ['page_fault', 'refault', 'shared', 'random', 'munmap'] as const;
export type Workload = (typeof WORKLOADS)[number];
/**
 * How a cell's tasks run (will-it-scale's two modes): each task a process of its own, or every
 * task a thread of one process, on one address space.
 */
export const MODES = ['processes', 'threads'] as const;
export type Mode = (typeof MODES)[number];
/** Programs a cell can run: the matrix workloads plus the scaling probe's `sparse`. */
export type Program = Workload | 'sparse';

const PROGRAMS: Record<Program, URL> = {
  page_fault: new URL('./programs/page_fault.js', import.meta.url),
  refault: new URL('./programs/refault.js', import.meta.url),
  shared: new URL('./programs/shared.js', import.meta.url),
  random: new URL('./programs/random.js', import.meta.url),
  munmap: new URL('./programs/munmap.js', import.meta.url),
  sparse: new URL('./programs/sparse.js', import.meta.url),
};

/** Other processes keeping more CPUs busy than this on average during a cell disturbed it (CellResult.otherCores). */
export const DISTURBED_CORES = 0.2;

const THREADS_PROGRAM = new URL('./programs/threads.js', import.meta.url);

export const BENCH_DRIVER = new URL('../drivers/bench.js', import.meta.url);
export const BENCH_DEV = '/dev/bench0';

export interface BenchRuntimeOptions {
  pagers: number;
  wait: WaitStrategy;
  /** processes the runtime must hold at once (maxProcesses and prestart) */
  maxProcs: number;
  /** bytes of physical memory (default 64 MiB) */
  memory?: number;
  /** pages of the bench device's data range (default 10^6) */
  devicePages?: number;
  /** frames behind the data range (default 4096) */
  ring?: number;
  /** anything else for Runtime.create (spin, trace, traceEvents, ...) */
  runtime?: Omit<RuntimeOptions, 'pagers' | 'wait' | 'maxProcesses' | 'prestart' | 'devices' | 'memory'>;
}

export interface BenchRuntime {
  rt: Runtime;
  pagers: number;
  wait: WaitStrategy;
  maxProcs: number;
  devicePages: number;
  ring: number;
  /** kernel virtual address of the control page */
  ctlKva: number;
  close(): Promise<void>;
}

/** Run the next cells with another wait strategy (Runtime.setWaitStrategy): only between cells. */
export function setBenchWait(b: BenchRuntime, wait: WaitStrategy): void {
  b.rt.setWaitStrategy(wait);
  b.wait = wait;
}

/** A Runtime with the bench device at /dev/bench0 and `maxProcs` process threads started. */
export async function createBenchRuntime(o: BenchRuntimeOptions): Promise<BenchRuntime> {
  const devicePages = o.devicePages ?? DEFAULT_PAGES;
  const ring = o.ring ?? Math.min(DEFAULT_RING, devicePages);
  const rt = await Runtime.create({
    ...o.runtime,
    memory: o.memory ?? 64 << 20,
    pagers: o.pagers,
    wait: o.wait,
    maxProcesses: o.maxProcs,
    prestart: o.maxProcs,
    devices: [{ name: 'bench', unit: 0, driver: BENCH_DRIVER, config: { pages: devicePages, ring } }],
  });
  const st = rt.device(BENCH_DEV).state as BenchState;
  return { rt, pagers: o.pagers, wait: o.wait, maxProcs: o.maxProcs, devicePages, ring, ctlKva: st.ctlKva, close: () => rt.close() };
}

export interface CellSpec {
  workload: Program;
  /** tasks: processes, or threads of one process (mode) */
  procs: number;
  /** default 'processes' */
  mode?: Mode;
  /** timed window, ms */
  durationMs: number;
  /** pages per mapping / round (default 256) */
  pages?: number;
  /** random: pages of the large mapping (default 64 x pages); sparse: the mapping (default 10^6); munmap: the mapping (default pages) */
  rangePages?: number;
  /** random: pages per pmapRemove chunk (default 64); munmap: pages per remap (default 64); sparse: sample size (default 4096) */
  chunkPages?: number;
  /** random, munmap: touches between two chunk removals (default 64) */
  removeEvery?: number;
  seed?: number;
  /** read the stop word every this many faults (power of two; default 64) */
  checkEvery?: number;
  /** give up on a process that has not stopped this long after STOP (default 30 s) */
  stopTimeoutMs?: number;
}

export interface CellResult {
  workload: Program;
  procs: number;
  mode: Mode;
  pagers: number;
  wait: WaitStrategy;
  durationMs: number;
  /** host window: PHASE=RUN to PHASE=STOP, ms */
  windowMs: number;
  /** PHASE=STOP until every process had seen it, ms */
  stopMs: number;
  /** t0 to the last process's "stop seen", ms: the window the counted faults lie in */
  countWindowMs: number;
  /**
   * faults the programs had published at t1, the end of the timed window; for munmap, whose
   * tasks cannot tell their faults from their hits, the faults the runtime had counted by t1
   */
  windowFaults: number;
  /** windowFaults / windowMs: the cell's figure */
  faultsPerSec: number;
  /** faults counted by the programs until each saw STOP */
  faults: number;
  touches: number;
  /** faults / countWindowMs: the rate with the wind-down after STOP (see the header) */
  drainFaultsPerSec: number;
  /** faults the runtime counted (process threads) over [t0, t2], per second: a cross-check */
  runtimeFaultsPerSec: number;
  p50Ns: number;
  p90Ns: number;
  p99Ns: number;
  p999Ns: number;
  meanNs: number;
  maxNs: number;
  /** samples in the fault histogram */
  latencyCount: number;
  /** per pager: busyNs / (t2 - t0) */
  pagerBusy: number[];
  /** process.cpuUsage() user+system over [t0, t2], ms (all threads) */
  cpuMs: number;
  /** cpuMs / faults the runtime counted by t2, in µs */
  cpuUsPerFault: number;
  /** CPU used / wall time: how many cores were busy on average */
  cores: number;
  /**
   * CPUs busy with other processes on average over the cell (machine busy time from /proc/stat
   * minus ours, 10 ms resolution; NaN off Linux). Above DISTURBED_CORES the cell was disturbed.
   */
  otherCores: number;
  perProcess: { windowFaults: number; faults: number; elapsedMs: number; setupMs: number }[];
  /**
   * How many times the cell was measured: 1 from runCell; more when the matrix measured it again
   * because other processes disturbed it, and kept the least disturbed (matrix.ts measureCell).
   */
  attempts: number;
  /** min / max windowFaults over processes (1 = perfectly fair) */
  fairness: number;
  /** program-specific extras (sparse: mmapMs) */
  extra: Record<string, number>;
  queueWaitP50Ns: number;
  serviceP50Ns: number;
  counters: {
    faults: number; faultsServed: number; dmmapCalls: number; syscalls: number; spins: number; parks: number;
    wakeups: number; tlbMisses: number; driverBugs: number; casRetriesFrame: number; maxQueueDepth: number;
  };
  /** the full stats snapshot at t2 (only when asked: CellOptions.keepStats) */
  stats?: RuntimeStats;
}

export interface CellOptions {
  /** keep the whole rt.stats() snapshot in the result */
  keepStats?: boolean;
  /** called with the phase names as the cell moves on (for progress displays) */
  onPhase?: (phase: 'spawn' | 'setup' | 'run' | 'stop' | 'done') => void;
}

/**
 * Busy CPU time of the whole machine so far (ms, all CPUs), from /proc/stat; NaN where there is
 * none. Resolution is one clock tick (10 ms). With our own cpuUsage() it tells how much of the
 * machine other processes took during a cell — on a shared machine that is most of the noise.
 */
export function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return ((total - f[3] - f[4]) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

function programOptions(b: BenchRuntime, spec: CellSpec, index: number): ProgramOptions {
  const pages = spec.pages ?? 256;
  const w = spec.workload;
  const rangePages = spec.rangePages ?? (w === 'sparse' ? 1_000_000 : w === 'munmap' ? pages : 64 * pages);
  const span = w === 'random' || w === 'sparse' || w === 'munmap' ? rangePages : pages;
  // Each task gets its own device offsets (wrapping inside the device), except in `shared`, and
  // in `munmap` as threads, where the tasks share one mapping.
  const slots = Math.max(1, Math.floor(b.devicePages / span));
  const offsetPages = w === 'shared' || (w === 'munmap' && spec.mode === 'threads') ? 0 : (index % slots) * span;
  if (span > b.devicePages) throw new RangeError(`${w}: a ${span}-page mapping does not fit the bench device (${b.devicePages} pages)`);
  return {
    dev: BENCH_DEV, index, pages, offsetPages, seed: spec.seed ?? 42, rangePages,
    chunkPages: spec.chunkPages ?? (w === 'sparse' ? 4096 : 64),
    removeEvery: spec.removeEvery ?? 64,
    checkEvery: spec.checkEvery ?? 64,
  };
}

/** Run one cell in `b`. Rejects (after killing its processes) if a process fails or hangs. */
export async function runCell(b: BenchRuntime, spec: CellSpec, opts: CellOptions = {}): Promise<CellResult> {
  const { rt } = b;
  const k = rt.kernel;
  if (!Number.isInteger(spec.procs) || spec.procs < 1 || spec.procs > Math.min(b.maxProcs, CTL_MAX_PROCS)) {
    throw new RangeError(`cell procs must be an integer in [1, ${Math.min(b.maxProcs, CTL_MAX_PROCS)}] (the runtime's maxProcs, and the control page's count words), got ${spec.procs}`);
  }
  const url = PROGRAMS[spec.workload];
  if (!url) throw new RangeError(`unknown workload ${String(spec.workload)} (have: ${Object.keys(PROGRAMS).join(', ')})`);
  const mode = spec.mode ?? 'processes';
  if (!MODES.includes(mode)) throw new RangeError(`cell mode must be one of ${MODES.join(', ')}, got ${String(mode)}`);
  const stopTimeoutMs = spec.stopTimeoutMs ?? 30_000;
  const phase = b.ctlKva + CTL_PHASE;
  k.store32(phase, PHASE_SETUP);
  k.store32(b.ctlKva + CTL_READY, 0);
  k.store32(b.ctlKva + CTL_STOPPED, 0);
  for (let i = 0; i < spec.procs; i++) k.store32(b.ctlKva + CTL_COUNTS + 4 * i, 0);

  opts.onPhase?.('spawn');
  const tasks = Array.from({ length: spec.procs }, (_, i) => programOptions(b, spec, i));
  const handles =
    mode === 'processes'
      ? tasks.map((t) => rt.spawn(url, t))
      : [rt.spawn(THREADS_PROGRAM, { program: url.href, tasks, joinTimeoutMs: stopTimeoutMs } satisfies ThreadsOptions)];
  let failure: Error | null = null;
  const exited = handles.map((h) =>
    h.exited.then((st) => {
      if (st.error || st.signal) {
        failure ??= new Error(`${spec.workload} pid ${st.pid} failed: ${st.error ? st.error.message : `${st.signal} at 0x${(st.siginfo?.addr ?? 0).toString(16)}`}`, { cause: st.error });
      }
      return st;
    }),
  );
  const killAll = async (): Promise<void> => {
    k.store32(phase, PHASE_STOP);
    k.notify32(phase);
    for (const h of handles) h.kill();
    await Promise.allSettled(exited);
  };

  try {
    opts.onPhase?.('setup');
    const deadline = performance.now() + 120_000;
    while (k.load32(b.ctlKva + CTL_READY) < spec.procs) {
      if (failure) throw failure;
      if (performance.now() > deadline) throw new Error(`${spec.workload}: processes not ready after 120 s`);
      await sleep(1);
    }

    // Every process is parked on PHASE: nothing runs, so the reset cannot race a writer.
    rt.resetStats();
    opts.onPhase?.('run');
    const busy0 = machineBusyMs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    k.store32(phase, PHASE_RUN);
    k.notify32(phase);
    await sleep(spec.durationMs);
    // Sample the counters while everything still runs, then stop.
    const windowCounts = Array.from({ length: spec.procs }, (_, i) => k.load32(b.ctlKva + CTL_COUNTS + 4 * i));
    const t1 = performance.now();
    const runtimeWindowFaults = spec.workload === 'munmap' ? rt.stats().totals.faults : NaN;
    k.store32(phase, PHASE_STOP);
    k.notify32(phase);
    opts.onPhase?.('stop');
    const stopDeadline = t1 + stopTimeoutMs;
    while (k.load32(b.ctlKva + CTL_STOPPED) < spec.procs) {
      if (failure) throw failure;
      if (performance.now() > stopDeadline) throw new Error(`${spec.workload} x${spec.procs} ${mode}: tasks did not stop within ${stopTimeoutMs} ms of the stop word`);
      await sleep(1);
    }
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const busy = machineBusyMs() - busy0;
    const stats = rt.stats();
    const statuses = await Promise.all(exited);
    if (failure) throw failure;
    opts.onPhase?.('done');
    const results = statuses.flatMap((s) => (mode === 'threads' ? (s.result as ProgramResult[]) : [s.result as ProgramResult])) as (ProgramResult & Record<string, number>)[];
    return summarise(b, spec, mode, results, windowCounts, runtimeWindowFaults, stats, t0, t1, t2, cpu, busy, opts);
  } catch (e) {
    await killAll();
    throw e;
  }
}

function summarise(
  b: BenchRuntime, spec: CellSpec, mode: Mode, results: (ProgramResult & Record<string, number>)[], windowCounts: number[], runtimeWindowFaults: number, stats: RuntimeStats,
  t0: number, t1: number, t2: number, cpu: NodeJS.CpuUsage, busyMs: number, opts: CellOptions,
): CellResult {
  const windowMs = t1 - t0;
  const totalMs = t2 - t0;
  const t0Abs = performance.timeOrigin + t0;
  let faults = 0;
  let touches = 0;
  let lastEnd = t0Abs;
  const windowFaults = spec.workload === 'munmap' ? runtimeWindowFaults : windowCounts.reduce((a, b) => a + b, 0);
  const minF = Math.min(...windowCounts);
  const maxF = Math.max(...windowCounts);
  const extra: Record<string, number> = {};
  for (const r of results) {
    faults += r.faults;
    touches += r.touches;
    lastEnd = Math.max(lastEnd, r.endAbsMs);
    for (const [key, v] of Object.entries(r)) {
      if (!['faults', 'touches', 'elapsedMs', 'startAbsMs', 'endAbsMs', 'setupMs'].includes(key) && typeof v === 'number') extra[key] = Math.max(extra[key] ?? 0, v);
    }
  }
  // munmap's tasks count touches (see its program): its faults are the runtime's, up to t2.
  if (spec.workload === 'munmap') faults = stats.totals.faults;
  const countWindowMs = Math.max(1e-3, lastEnd - t0Abs);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const lat = stats.latency.fault;
  const t = stats.totals;
  const result: CellResult = {
    workload: spec.workload, procs: spec.procs, mode, pagers: b.pagers, wait: b.wait, durationMs: spec.durationMs,
    windowMs, countWindowMs, windowFaults, faults, touches,
    faultsPerSec: (windowFaults * 1000) / windowMs,
    drainFaultsPerSec: (faults * 1000) / countWindowMs,
    runtimeFaultsPerSec: (t.faults * 1000) / totalMs,
    p50Ns: lat.p50Ns, p90Ns: lat.p90Ns, p99Ns: lat.p99Ns, p999Ns: lat.p999Ns, meanNs: lat.meanNs, maxNs: lat.maxNs,
    latencyCount: lat.count,
    pagerBusy: stats.pagers.map((p) => Math.min(1, p.counters.busyNs / (totalMs * 1e6))),
    cpuMs,
    cpuUsPerFault: t.faults > 0 ? (cpuMs * 1000) / t.faults : NaN,
    cores: cpuMs / totalMs,
    otherCores: Number.isFinite(busyMs) ? Math.max(0, (busyMs - cpuMs) / totalMs) : NaN,
    stopMs: t2 - t1,
    perProcess: results.map((r, i) => ({ windowFaults: windowCounts[i], faults: r.faults, elapsedMs: r.elapsedMs, setupMs: r.setupMs })),
    attempts: 1,
    fairness: maxF > 0 ? minF / maxF : 0,
    extra,
    queueWaitP50Ns: stats.latency.queueWait.p50Ns,
    serviceP50Ns: stats.latency.service.p50Ns,
    counters: {
      faults: t.faults, faultsServed: t.faultsServed, dmmapCalls: t.dmmapCalls, syscalls: t.syscalls, spins: t.spins,
      parks: t.parks, wakeups: t.wakeups, tlbMisses: t.tlbMisses, driverBugs: t.driverBugs,
      casRetriesFrame: t.casRetriesFrame, maxQueueDepth: t.maxQueueDepth,
    },
  };
  if (opts.keepStats) result.stats = stats;
  return result;
}
