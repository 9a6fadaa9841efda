/**
 * `devpager bench`: the multi-threaded fault benchmark (BENCHMARKS.md). Runs the baselines, the matrix
 * (src/bench/matrix.ts) and the scaling probe in this Node process, prints a table, ratios and
 * targets, and optionally writes everything as JSON.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { MAX_MEMORY } from '../physmem.js';
import { fmtRate } from '../util/format.js';
import type { WaitStrategy } from '../wait.js';
import { readSpinFloor } from '../bench/baselines/floor.js';
import { baselineSteps, runBaselines, type Baselines } from '../bench/baselines/suite.js';
import { MODES, createBenchRuntime, runCell, type CellResult, type Mode, type Workload } from '../bench/cell.js';
import { validateChromeTrace } from '../report/chrome-trace.js';
import { DISTURBED_CORES, WAIT_STRATEGIES, WORKLOADS, DEFAULT_WARMUP_MS, WARMUP_CELL_MS, cellLabel, checkEveryFor, expandMatrix, runMatrix, warmupPlan, type CellError, type MatrixResult } from '../bench/matrix.js';
import { runScalingProbe, type ProbeResult } from '../bench/probe.js';
import {
  DEFAULT_WAIT, baselinesJson, baselinesTable, computeRatios, computeTargets, machineInfo, probeText, ratiosText, referenceCell,
  resultsTable, targetsText, warmupsText, type BenchJson,
} from '../bench/report.js';
import { deviceBenchCommand } from '../bench/devices/index.js';
import { UsageError, optionsHelp, parseOptions, type OptionSpecs } from './args.js';
import { Progress, statusLine } from './progress.js';
import { measureTraceOverhead, overheadTable } from '../profile/overhead.js';

export const BENCH_SUMMARY = 'run the multi-threaded fault benchmark and print a table';

const DEFAULTS = {
  duration: 150,
  pages: 256,
  procs: [1, 2, 4, 8, 16],
  pagers: [1, 2],
  waits: ['spin', 'park', 'adaptive'] as WaitStrategy[],
  memory: 64 << 20,
};

/**
 * The options of `devpager bench`, declared once: parsing and the help both come from here.
 * Options whose default depends on --quick have none here (parseBenchArgs fills them in).
 */
/**
 * --quick's warm-up limit: a smoke run, yet long enough that its 4-process cells do not describe
 * V8 still compiling the isolates (docs/experiments/warming-up-16-isolates.md).
 */
const QUICK_WARMUP_MS = 2000;

export const BENCH_OPTIONS = {
  duration: { kind: 'int', min: 1, max: 600_000, arg: 'MS', help: `timed window per cell (default ${DEFAULTS.duration}); baselines use max(MS, 200)` },
  quick: { kind: 'flag', help: 'tiny matrix: every workload, procs 1,4, 1 pager, adaptive, 100 ms cells' },
  workload: { kind: 'choices', choices: WORKLOADS, help: `comma list of ${WORKLOADS.join(', ')} (default all but munmap;\nmunmap too when --mode has threads)` },
  mode: {
    kind: 'choices', choices: MODES,
    help: 'processes, threads or both (default processes): each task a process of its\nown, or every task a thread of one process, sharing its address space\n(will-it-scale\'s two modes)',
  },
  procs: { kind: 'ints', min: 1, max: 256, help: `tasks per cell: processes, or threads (default ${DEFAULTS.procs.join(',')})` },
  pagers: { kind: 'ints', min: 1, max: 64, help: `pager threads (default ${DEFAULTS.pagers.join(',')})` },
  wait: { kind: 'choices', choices: WAIT_STRATEGIES, help: `wait strategies: ${WAIT_STRATEGIES.join(', ')} (default all)` },
  pages: { kind: 'int', min: 1, max: 1_000_000, default: DEFAULTS.pages, help: `pages per mapping (page_fault, refault, shared; random maps 64 x N) (default ${DEFAULTS.pages})` },
  memory: { kind: 'size', default: DEFAULTS.memory, help: 'physical memory per runtime, e.g. 64M, 1G (default 64M)' },
  ring: { kind: 'int', min: 1, max: 1 << 20, help: 'frames behind the bench device\'s data range (default 4096)' },
  seed: { kind: 'int', min: 0, max: 2 ** 32 - 1, default: 42, help: 'PRNG seed of the random workload and the probe (default 42)' },
  json: { kind: 'string', arg: 'FILE', help: 'also write machine, results, baselines, ratios and targets as JSON' },
  trace: {
    kind: 'string', arg: 'FILE',
    help: 'after the matrix, re-run its first cell with tracing on and write the trace\nas Chrome Trace Event JSON (Perfetto, chrome://tracing); tracing times every\nrequest, so the measured cells themselves run untraced',
  },
  'trace-overhead': {
    kind: 'flag',
    help: 'instead of the matrix: for each workload (--workload) at 1 and 4\nprocesses (--procs), untraced and traced cells alternated in one run\n(--duration each, 5 rounds); prints traced/untraced and the JSON has them',
  },
  'no-stats': { kind: 'flag', help: 'run the runtimes with stats off (no latency, no busy time): with a run\nthat has stats on, this measures what stats cost' },
  'stats-sample': { kind: 'int', min: 1, max: 1 << 20, help: 'time 1 fault in N (a power of two; default the Runtime\'s, 256)' },
  'process-nice': { kind: 'int', min: 0, max: 19, default: 0, help: 'run process threads at nice N (0-19; default 0): pagers then win the CPU\nwhen processes outnumber cores (see BENCHMARKS.md for the trade-off)' },
  pin: {
    kind: 'choice', choices: ['auto', 'on', 'off'], default: 'auto', arg: 'MODE',
    help: 'auto, on or off (default auto): pin the pagers to the top cores and the\nprocesses to the cores left (Runtime pin; Linux, taskset; with as many\npagers as cores, the pagers share the top core)',
  },
  spin: { kind: 'int', min: 0, max: 1 << 30, help: 'a waiting process\'s polls before it parks while others wait for a CPU\n(Runtime spin; default 1000)' },
  quantum: { kind: 'int', min: 1, max: 1 << 30, help: 'requests a process makes before it yields its CPU to a waiting one\n(Runtime quantum; default 1024)' },
  warmup: {
    kind: 'int', min: 0, max: 600_000, arg: 'MS',
    help: `longest untimed warm-up per runtime (one per pager count, which runs\nevery strategy's cells): 100 ms cells of every workload in turn, every process\nbusy, with the adaptive strategy, until each workload's rate stops rising, so\nthat V8 has compiled every process thread's code before the timed cells;\ntime that other processes take from the CPUs does not count (but at most\n2 x MS of wall time) (default ${DEFAULT_WARMUP_MS}; a quarter of it without adaptive;\n--quick ${QUICK_WARMUP_MS}; 0 = none)`,
  },
  'no-baselines': { kind: 'flag', help: 'skip the baselines (ratios against them show n/a)' },
  'no-native': { kind: 'flag', help: 'skip only the C baselines (Linux anon fault, userfaultfd)' },
  devices: {
    kind: 'flag',
    help: 'run the device bench instead: the ready NIC and mailbox against\nhand-written worker_threads + SharedArrayBuffer versions (alternated\nrounds), and the MMIO, doorbell and interrupt latencies against their\nbaselines (with --quick: a smoke run; with --json: written there)',
  },
  'no-probe': { kind: 'flag', help: 'skip the scaling probe' },
  help: { kind: 'flag', short: 'h', help: 'show this help' },
} as const satisfies OptionSpecs;

export const BENCH_USAGE = `usage: devpager bench [options]

Runs every cell of workloads x modes x tasks x pagers x wait strategies (one Runtime per pager
count, warmed up once, its worker threads started before any timed cell, switching strategy
between cells), the baselines (spin floor, park pager, postMessage pager, Linux anon fault and
userfaultfd when cc is available) and a scaling probe (1k vs 10^6 mapped pages), then prints a
table, the warm-ups, the ratios and the targets (PASS/MISS). The defaults take about 45 s on 2
cores (BENCHMARKS.md).

options:
${optionsHelp(BENCH_OPTIONS)}

workloads:
  page_fault  mmap N pages, touch each (one load32: one fault), munmap, repeat
  refault     map N pages once; repeat { pmapRemove(range); touch each page }
  shared      every process maps the same N device pages and refaults them
  random      map 64 x N pages; touch pages in a seeded random order, pmapRemove random
              64-page chunks every 64 touches
  munmap      every task maps N pages at one address; touch pages in a seeded random order,
              and every 64 touches map a random 64-page chunk again over itself (MAP_FIXED:
              an unmap, and a shootdown of the other threads' entries as threads); faults/s
              are the runtime's count, as a task cannot tell its faults from its hits

modes: as processes, each task has an address space of its own; as threads, the tasks are
threads of one process, so that every munmap, pmapRemove and remap must take the translations
out of the other threads' TLBs before it returns (a shootdown).

figures: faults/s = faults the programs had counted when the timed window ended (read while they
all still run, as will-it-scale samples its counters) / the window; the JSON also has
drainFaultsPerSec, which adds the wind-down until every process has seen the stop word; latency
percentiles are measured inside the faulting threads (rt.stats().latency.fault); pager busy =
busyNs / cell wall time; cpu = process.cpuUsage() (all threads) over the cell; cores = that cpu /
wall time; other = CPUs other processes kept busy meanwhile (/proc/stat; > 0.2 means the cell was
disturbed, and it is measured again, up to 3 times, keeping the least disturbed); fair = min/max
faults over processes in the window.`;

export interface BenchOptions {
  durationMs: number;
  workloads: Workload[];
  modes: Mode[];
  procs: number[];
  pagers: number[];
  waits: WaitStrategy[];
  pages: number;
  memory: number;
  ring?: number;
  seed: number;
  json?: string;
  trace?: string;
  stats: boolean;
  statsSample?: number;
  processNice: number;
  pin: 'auto' | 'on' | 'off';
  spin?: number;
  quantum?: number;
  warmupMs: number;
  baselines: boolean;
  native: boolean;
  probe: boolean;
  quick: boolean;
  traceOverhead: boolean;
  devices: boolean;
}

/** Parse `devpager bench` arguments. Throws UsageError; returns null for --help. */
export function parseBenchArgs(argv: string[]): BenchOptions | null {
  const v = parseOptions(argv, BENCH_OPTIONS);
  if (v.help) return null;
  const quick = v.quick;
  const modes: Mode[] = v.mode ?? ['processes'];
  const o: BenchOptions = {
    durationMs: v.duration ?? (quick ? 100 : DEFAULTS.duration),
    // The munmap storm is about threads: as processes it only remaps a private mapping.
    workloads: v.workload ?? WORKLOADS.filter((w) => w !== 'munmap' || modes.includes('threads')),
    modes,
    procs: v.procs ?? (quick ? [1, 4] : DEFAULTS.procs),
    pagers: v.pagers ?? (quick ? [1] : DEFAULTS.pagers),
    waits: v.wait ?? (quick ? ['adaptive'] : DEFAULTS.waits),
    pages: v.pages,
    memory: v.memory,
    ring: v.ring,
    seed: v.seed,
    json: v.json,
    trace: v.trace,
    stats: !v['no-stats'],
    statsSample: v['stats-sample'],
    processNice: v['process-nice'],
    pin: v.pin,
    spin: v.spin,
    quantum: v.quantum,
    warmupMs: v.warmup ?? (quick ? QUICK_WARMUP_MS : DEFAULT_WARMUP_MS),
    baselines: !v['no-baselines'],
    native: !v['no-native'],
    probe: !v['no-probe'],
    quick,
    traceOverhead: v['trace-overhead'],
    devices: v.devices,
  };
  if (o.memory < 16 * 4096 || o.memory > MAX_MEMORY) throw new UsageError(`--memory must be between 64k and 4G, got '${o.memory}'`);
  if (o.statsSample !== undefined && (o.statsSample & (o.statsSample - 1)) !== 0) throw new UsageError(`--stats-sample must be a power of two, got '${o.statsSample}'`);
  if (o.workloads.includes('random') && 64 * o.pages > 1_000_000) {
    throw new UsageError(`--pages ${o.pages}: the random workload maps 64 x N pages, which must fit the bench device's 10^6 pages (N <= 15625)`);
  }
  const ring = o.ring ?? 4096;
  if (ring * 4096 + (64 << 20) / 8 > o.memory) {
    throw new UsageError(`--memory ${o.memory} bytes is too small for a ring of ${ring} frames (${(ring * 4096) >> 20} MiB) plus page tables; raise --memory or lower --ring`);
  }
  return o;
}

/** Re-run the matrix's first cell traced and write its Chrome trace; returns a line for the report. */
async function traceFirstCell(o: BenchOptions, file: string): Promise<string> {
  const key = { workload: o.workloads[0], mode: o.modes[0], procs: o.procs[0], pagers: o.pagers[0], wait: o.waits[0] };
  const b = await createBenchRuntime({ pagers: key.pagers, wait: key.wait, maxProcs: key.procs, memory: o.memory, ring: o.ring, runtime: { trace: true, traceEvents: 100_000 } });
  try {
    b.rt.resetTrace();
    await runCell(b, { workload: key.workload, mode: key.mode, procs: key.procs, durationMs: Math.min(o.durationMs, 200), pages: o.pages, seed: o.seed, checkEvery: checkEveryFor(key.wait) });
    const ct = b.rt.chromeTrace();
    const problems = validateChromeTrace(ct);
    writeFileSync(file, JSON.stringify(ct));
    return `trace of ${cellLabel(key)}: ${ct.traceEvents.length} events written to ${file}${problems.length ? ` (${problems.length} problems: ${problems.slice(0, 2).join('; ')})` : ''}`;
  } finally {
    await b.close();
  }
}

/** Estimated wall time of each kind of step (ms), for the ETA only. */
function costs(o: BenchOptions) {
  const bd = Math.max(o.durationMs, 200);
  return {
    cell: o.durationMs + 60,
    warmup: 0.75 * warmupPlan(o.waits, o.warmupMs).limitMs, // per runtime: it usually settles before its limit
    rewarm: 2 * (WARMUP_CELL_MS + 100), // two 16-process cells with their start and stop
    runtime: 400,
    baseline: bd + Math.min(300, Math.max(50, bd / 5)) + 200,
    native: 3 * (bd + Math.min(300, Math.max(50, bd / 5))) + 1500,
    floor: 2 * (bd + Math.min(300, Math.max(50, bd / 5)) + 200), // unpinned and pinned
    probe: Math.max(o.durationMs, 100) + 150,
  };
}

export async function benchCommand(argv: string[]): Promise<number> {
  const o = parseBenchArgs(argv);
  if (o === null) {
    console.log(BENCH_USAGE);
    return 0;
  }
  if (o.traceOverhead) return traceOverheadCommand(o, argv);
  if (o.devices) return deviceBenchCommand({ quick: o.quick, json: o.json, command: `devpager bench ${argv.join(' ')}` });
  const started = performance.now();
  const machine = machineInfo();
  const cells = expandMatrix(o);
  // One runtime per pager count, which runs every wait strategy's cells (runMatrix).
  const runtimes = o.pagers.length;
  const baselineOpts = { durationMs: Math.max(o.durationMs, 200), native: o.native, procs: [1] };
  // The spin floor is read at the start (runBaselines), again right before the reference cell
  // (the cell the 1-process ratios use: the two then share the VM's mode as nearly as the bench
  // can make them), and after the matrix (src/bench/baselines/floor.ts).
  const refCell = referenceCell(cells);
  const floorReads = o.baselines ? 2 + (refCell ? 1 : 0) : 0;
  const nBaselines = o.baselines ? baselineSteps(baselineOpts) + floorReads - 1 : 0;
  const c = costs(o);
  const warmupSteps = warmupPlan(o.waits, o.warmupMs).limitMs > 0 ? runtimes : 0;
  // runMatrix warms each (workload, mode) again before the default strategy's cells of it, but
  // the first when those come right after the warm-up.
  const kinds = new Set(cells.map((x) => `${x.workload}/${x.mode}`)).size;
  const rewarms = o.warmupMs > 0 && o.waits.includes(DEFAULT_WAIT) ? runtimes * (o.waits[0] === DEFAULT_WAIT ? kinds - 1 : kinds) : 0;
  const baselineCost = o.baselines ? floorReads * c.floor + 2 * baselineOpts.procs.length * c.baseline + (o.native ? c.native : 0) : 0;
  const totalCost = cells.length * c.cell + warmupSteps * c.warmup + rewarms * c.rewarm + runtimes * c.runtime + baselineCost + (o.probe ? 7 * c.probe : 0);
  const progress = new Progress(cells.length + warmupSteps + rewarms + runtimes + nBaselines + (o.probe ? 7 : 0), totalCost);

  let baselines: Baselines | null = null;
  let results: CellResult[] = [];
  let errors: CellError[] = [];
  let warmups: MatrixResult['warmups'] = [];
  let probe: ProbeResult | null = null;
  let probeError: string | null = null;
  let traced: string | null = null;
  try {
    if (o.baselines) {
      baselines = await runBaselines({
        ...baselineOpts,
        onStep: (label) => progress.step(label, label.includes('native') ? c.native : label.includes('spin-floor') ? c.floor : c.baseline),
      });
    }
    const m = await runMatrix({
      workloads: o.workloads, modes: o.modes, procs: o.procs, pagers: o.pagers, waits: o.waits, durationMs: o.durationMs, pages: o.pages,
      memory: o.memory, ring: o.ring, seed: o.seed, stats: o.stats, statsSample: o.statsSample, processNice: o.processNice, pin: o.pin,
      warmupMs: o.warmupMs,
      beforeCell: async (cell) => {
        if (!baselines || !refCell || cellLabel(cell) !== cellLabel(refCell)) return;
        progress.step('baseline spin-floor, unpinned and pinned (again, right before the reference cell)', c.floor);
        await readSpinFloor(baselines.spinFloor, 'reference', baselineOpts.durationMs);
      },
      spin: o.spin,
      quantum: o.quantum,
      onStep: (s) => progress.step(s.label, c[s.kind]),
    });
    results = m.results;
    errors = m.errors;
    warmups = m.warmups;
    if (baselines) {
      progress.step('baseline spin-floor, unpinned and pinned (again, at the end)', c.floor);
      await readSpinFloor(baselines.spinFloor, 'end', baselineOpts.durationMs);
    }
    if (o.trace) traced = await traceFirstCell(o, o.trace);
    if (o.probe) {
      try {
        probe = await runScalingProbe({
          durationMs: Math.max(o.durationMs, 100), memory: Math.max(o.memory, 64 << 20), ring: o.ring, seed: o.seed,
          onStep: (label) => progress.step(label, c.probe),
        });
      } catch (e) {
        probeError = (e as Error).message;
      }
    }
  } finally {
    progress.end();
  }
  machine.loadavgEnd = loadavg().map((x) => Math.round(x * 100) / 100);

  const cores = availableParallelism();
  const ratios = computeRatios(results, baselines, probe);
  const targets = computeTargets(ratios, baselines, probe, cores, results, warmups);
  const elapsedMs = performance.now() - started;

  const out: string[] = [];
  out.push(`devpager bench — ${machine.cpus} x ${machine.model}, node ${machine.node}, ${machine.platform} ${machine.release}; load average ${machine.loadavgStart.join(' ')} -> ${machine.loadavgEnd.join(' ')}`);
  out.push(`cells: ${o.durationMs} ms each, ${o.pages} pages per mapping; ${cells.length} cells in ${runtimes} runtimes`);
  out.push('');
  out.push(results.length > 0 ? resultsTable(results) : '(no cell completed)');
  const other = results.map((r) => r.otherCores).filter((x) => Number.isFinite(x));
  if (other.length > 0) {
    const avg = other.reduce((a, b) => a + b, 0) / other.length;
    const disturbed = other.filter((x) => x > DISTURBED_CORES).length;
    const again = results.filter((r) => r.attempts > 1).length;
    out.push('');
    out.push(`other processes kept ${avg.toFixed(2)} CPUs busy on average during the cells; ${disturbed} of ${other.length} cells disturbed (other > ${DISTURBED_CORES})${again > 0 ? ` after ${again} were measured again` : ''}${avg > 0.1 ? ' — figures are noisy, run again on a quiet machine' : ''}`);
  }
  if (warmups.length > 0) {
    out.push('');
    out.push(warmupsText(warmups));
  }
  if (errors.length > 0) {
    out.push('');
    out.push(`${errors.length} cell(s) failed:`);
    for (const e of errors) out.push(`  ${cellLabel(e)}: ${e.error}`);
  }
  if (baselines) {
    out.push('');
    out.push(`baselines (same process, ${baselineOpts.durationMs} ms windows; latency measured in the faulting thread):`);
    out.push(baselinesTable(baselines));
  }
  if (probe) {
    out.push('');
    out.push('scaling probe (1 process, 1 pager):');
    out.push(probeText(probe));
  } else if (probeError) {
    out.push('');
    out.push(`scaling probe failed: ${probeError}`);
  }
  out.push('');
  out.push('ratios:');
  out.push(ratiosText(ratios));
  out.push('');
  out.push('targets:');
  out.push(targetsText(targets));
  out.push('');
  const best = results.reduce<CellResult | null>((a, b) => (a === null || b.faultsPerSec > a.faultsPerSec ? b : a), null);
  if (traced) out.push(traced);
  if (best) out.push(`best aggregate: ${fmtRate(best.faultsPerSec)} faults/s (${best.workload}, ${best.procs} ${best.mode === "threads" ? "threads" : "procs"}, ${best.pagers} pagers, ${best.wait})`);
  out.push(`total ${(elapsedMs / 1000).toFixed(1)} s`);
  console.log(out.join('\n'));

  if (o.json) {
    const strip = (r: CellResult): Omit<CellResult, 'stats'> => {
      const { stats: _s, ...rest } = r;
      return rest;
    };
    const doc: BenchJson = {
      machine,
      command: `devpager bench ${argv.join(' ')}`.trim(),
      options: { ...o },
      results: results.map(strip),
      errors,
      baselines: baselines ? baselinesJson(baselines) : null,
      probe: probe ? { ...probe, small: strip(probe.small), large: strip(probe.large) } : null,
      ratios,
      targets,
      warmups,
      elapsedMs,
    };
    writeFileSync(o.json, `${JSON.stringify(doc, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    console.log(`wrote ${o.json}`);
  }
  return errors.length > 0 || (cells.length > 0 && results.length === 0) ? 1 : 0;
}

/** `--trace-overhead`: the traced/untraced cell pairs alone (src/profile/overhead.ts). */
async function traceOverheadCommand(o: BenchOptions, argv: string[]): Promise<number> {
  const machine = machineInfo();
  const procs = argv.some((a) => a === '--procs' || a.startsWith('--procs=')) ? o.procs : [1, 4];
  const say = statusLine();
  const r = await measureTraceOverhead({ workloads: o.workloads, procs, durationMs: o.durationMs, pages: o.pages, onStep: say });
  say('');
  console.log(`devpager bench --trace-overhead — ${machine.cpus} x ${machine.model}, node ${machine.node}`);
  console.log(overheadTable(r));
  if (o.json) {
    writeFileSync(o.json, `${JSON.stringify({ machine, command: `devpager bench ${argv.join(' ')}`.trim(), traceOverhead: r }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    console.log(`wrote ${o.json}`);
  }
  return 0;
}
