/**
 * `devpager bench`: the multi-threaded fault benchmark (BENCHMARKS.md). Runs the baselines, the matrix
 * (src/bench/matrix.ts) and the scaling probe in this Node process, prints a table, ratios and
 * targets, and optionally writes everything as JSON.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { MAX_MEMORY } from '../physmem.js';
import type { WaitStrategy } from '../wait.js';
import { addSpinFloorReading, baselineSteps, measureSpinFloor, runBaselines, type Baselines } from '../bench/baselines.js';
import { createBenchRuntime, runCell, type CellResult, type Workload } from '../bench/cell.js';
import { validateChromeTrace } from '../report/chrome-trace.js';
import { WAIT_STRATEGIES, WORKLOADS, DEFAULT_WARMUP_MS, cellLabel, checkEveryFor, expandMatrix, runMatrix, type CellError } from '../bench/matrix.js';
import { runScalingProbe, type ProbeResult } from '../bench/probe.js';
import {
  DEFAULT_WAIT, baselinesJson, baselinesTable, computeRatios, computeTargets, fmtRate, machineInfo, probeText, ratiosText,
  resultsTable, targetsText, type BenchJson,
} from '../bench/report.js';
import { deviceBenchCommand } from '../bench/devices/index.js';
import { UsageError, bytes, choiceList, intList, posInt } from './args.js';
import { Progress } from './progress.js';

export const BENCH_SUMMARY = 'run the multi-threaded fault benchmark and print a table';

const DEFAULTS = {
  duration: 150,
  pages: 256,
  procs: [1, 2, 4, 8, 16],
  pagers: [1, 2],
  waits: ['spin', 'park', 'adaptive'] as WaitStrategy[],
  memory: 64 << 20,
};

export const BENCH_USAGE = `usage: devpager bench [options]

Runs every cell of workloads x processes x pagers x wait strategies (one Runtime per
(pagers, wait), worker threads started before any timed cell), the baselines (spin floor, park
pager, postMessage pager, Linux anon fault and userfaultfd when cc is available) and a scaling
probe (1k vs 10^6 mapped pages), then prints a table, the ratios and the targets (PASS/MISS).
The defaults finish in under a minute on 2 cores.

options:
  --duration MS       timed window per cell (default ${DEFAULTS.duration}); baselines use max(MS, 200)
  --quick             tiny matrix: every workload, procs 1,4, 1 pager, adaptive, 100 ms cells
  --workload LIST     comma list of ${WORKLOADS.join(', ')} (default all)
  --procs LIST        processes per cell (default ${DEFAULTS.procs.join(',')})
  --pagers LIST       pager threads (default ${DEFAULTS.pagers.join(',')})
  --wait LIST         wait strategies: ${WAIT_STRATEGIES.join(', ')} (default all)
  --pages N           pages per mapping (page_fault, refault, shared; random maps 64 x N) (default ${DEFAULTS.pages})
  --memory SIZE       physical memory per runtime, e.g. 64M, 1G (default 64M)
  --ring N            frames behind the bench device's data range (default 4096)
  --seed N            PRNG seed of the random workload and the probe (default 42)
  --json FILE         also write machine, results, baselines, ratios and targets as JSON
  --trace FILE        after the matrix, re-run its first cell with tracing on and write the trace
                      as Chrome Trace Event JSON (Perfetto, chrome://tracing); tracing times every
                      request, so the measured cells themselves run untraced
  --no-stats          run the runtimes with stats off (no latency, no busy time): with a run
                      that has stats on, this measures what stats cost
  --stats-sample N    time 1 fault in N (a power of two; default the Runtime's, 256)
  --process-nice N    run process threads at nice N (0-19; default 0): pagers then win the CPU
                      when processes outnumber cores (see BENCHMARKS.md for the trade-off)
  --pin MODE          auto, on or off (default auto): pin the pagers to the top cores and the
                      processes to the cores left (Runtime pin; Linux, taskset; with as many
                      pagers as cores, the pagers share the top core)
  --spin N            a waiting process's polls before it parks while others wait for a CPU
                      (Runtime spin; default 1000)
  --quantum N         requests a process makes before it yields its CPU to a waiting one
                      (Runtime quantum; default 1024)
  --warmup MS         longest untimed warm-up per runtime: 100 ms cells of every workload in
                      turn, every process busy, until each workload's rate stops rising, so that
                      V8 has compiled every process thread's code before the timed cells
                      (default 4000, a quarter of it for spin and park; --quick 50; 0 = none)
  --no-baselines      skip the baselines (ratios against them show n/a)
  --no-native         skip only the C baselines (Linux anon fault, userfaultfd)
  --no-probe          skip the scaling probe
  --devices           run the device bench instead: the ready NIC and mailbox against
                      hand-written worker_threads + SharedArrayBuffer versions (alternated
                      rounds), and the MMIO, doorbell and interrupt latencies against their
                      baselines (with --quick: a smoke run; with --json: written there)
  -h, --help          show this help

workloads:
  page_fault  mmap N pages, touch each (one load32: one fault), munmap, repeat
  refault     map N pages once; repeat { pmapRemove(range); touch each page }
  shared      every process maps the same N device pages and refaults them
  random      map 64 x N pages; touch pages in a seeded random order, pmapRemove random
              64-page chunks every 64 touches

figures: faults/s = faults the programs had counted when the timed window ended (read while they
all still run, as will-it-scale samples its counters) / the window; the JSON also has
drainFaultsPerSec, which adds the wind-down until every process has seen the stop word; latency
percentiles are measured inside the faulting threads (rt.stats().latency.fault); pager busy =
busyNs / cell wall time; cpu = process.cpuUsage() (all threads) over the cell; cores = that cpu /
wall time; other = CPUs other processes kept busy meanwhile (/proc/stat; > 0.2 means the cell was
disturbed); fair = min/max faults over processes in the window.`;

export interface BenchOptions {
  durationMs: number;
  workloads: Workload[];
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
  devices: boolean;
}

/** Parse `devpager bench` arguments. Throws UsageError; returns null for --help. */
export function parseBenchArgs(argv: string[]): BenchOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: 'string' },
        quick: { type: 'boolean', default: false },
        workload: { type: 'string' },
        procs: { type: 'string' },
        pagers: { type: 'string' },
        wait: { type: 'string' },
        pages: { type: 'string' },
        memory: { type: 'string' },
        ring: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'string' },
        trace: { type: 'string' },
        'no-stats': { type: 'boolean', default: false },
        'stats-sample': { type: 'string' },
        'process-nice': { type: 'string' },
        pin: { type: 'string' },
        warmup: { type: 'string' },
        spin: { type: 'string' },
        quantum: { type: 'string' },
        'no-baselines': { type: 'boolean', default: false },
        'no-native': { type: 'boolean', default: false },
        'no-probe': { type: 'boolean', default: false },
        devices: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    // parseArgs appends advice about '--' that does not apply here; keep the first sentence.
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''), 'bench');
  }
  if (values.help) return null;
  const quick = values.quick;
  const o: BenchOptions = {
    durationMs: values.duration !== undefined ? posInt('duration', values.duration, 1, 600_000) : quick ? 100 : DEFAULTS.duration,
    workloads: values.workload !== undefined ? choiceList('workload', values.workload, WORKLOADS) : [...WORKLOADS],
    procs: values.procs !== undefined ? intList('procs', values.procs, 1, 256) : quick ? [1, 4] : DEFAULTS.procs,
    pagers: values.pagers !== undefined ? intList('pagers', values.pagers, 1, 64) : quick ? [1] : DEFAULTS.pagers,
    waits: values.wait !== undefined ? choiceList('wait', values.wait, WAIT_STRATEGIES) : quick ? ['adaptive'] : DEFAULTS.waits,
    pages: values.pages !== undefined ? posInt('pages', values.pages, 1, 1_000_000) : DEFAULTS.pages,
    memory: values.memory !== undefined ? bytes('memory', values.memory) : DEFAULTS.memory,
    ring: values.ring !== undefined ? posInt('ring', values.ring, 1, 1 << 20) : undefined,
    seed: values.seed !== undefined ? posInt('seed', values.seed, 0, 2 ** 32 - 1) : 42,
    json: values.json,
    trace: values.trace,
    stats: !values['no-stats'],
    statsSample: values['stats-sample'] !== undefined ? posInt('stats-sample', values['stats-sample'], 1, 1 << 20) : undefined,
    processNice: values['process-nice'] !== undefined ? posInt('process-nice', values['process-nice'], 0, 19) : 0,
    pin: values.pin === undefined ? 'auto' : pinMode(values.pin),
    spin: values.spin !== undefined ? posInt('spin', values.spin, 0, 1 << 30) : undefined,
    quantum: values.quantum !== undefined ? posInt('quantum', values.quantum, 1, 1 << 30) : undefined,
    warmupMs: values.warmup !== undefined ? posInt('warmup', values.warmup, 0, 600_000) : quick ? 50 : DEFAULT_WARMUP_MS,
    baselines: !values['no-baselines'],
    native: !values['no-native'],
    probe: !values['no-probe'],
    quick,
    devices: values.devices,
  };
  if (o.memory < 16 * 4096 || o.memory > MAX_MEMORY) throw new UsageError(`--memory must be between 64k and 4G, got '${values.memory}'`);
  if (o.json === '') throw new UsageError('--json needs a file name');
  if (o.trace === '') throw new UsageError('--trace needs a file name');
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

function pinMode(s: string): 'auto' | 'on' | 'off' {
  const m = choiceList('pin', s, ['auto', 'on', 'off'] as const);
  if (m.length !== 1) throw new UsageError(`--pin takes one of auto, on, off, got '${s}'`);
  return m[0];
}

/** Re-run the matrix's first cell traced and write its Chrome trace; returns a line for the report. */
async function traceFirstCell(o: BenchOptions, file: string): Promise<string> {
  const key = { workload: o.workloads[0], procs: o.procs[0], pagers: o.pagers[0], wait: o.waits[0] };
  const b = await createBenchRuntime({ pagers: key.pagers, wait: key.wait, maxProcs: key.procs, memory: o.memory, ring: o.ring, runtime: { trace: true, traceEvents: 100_000 } });
  try {
    b.rt.resetTrace();
    await runCell(b, { workload: key.workload, procs: key.procs, durationMs: Math.min(o.durationMs, 200), pages: o.pages, seed: o.seed, checkEvery: checkEveryFor(key.wait) });
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
    warmup: o.warmupMs * 0.5, // per runtime, averaged over the adaptive (all of it) and spin and park ones (a quarter)
    runtime: 400,
    baseline: bd + Math.min(300, Math.max(50, bd / 5)) + 200,
    native: 3 * (bd + Math.min(300, Math.max(50, bd / 5))) + 1500,
    probe: Math.max(o.durationMs, 100) + 150,
  };
}

export async function benchCommand(argv: string[]): Promise<number> {
  const o = parseBenchArgs(argv);
  if (o === null) {
    console.log(BENCH_USAGE);
    return 0;
  }
  if (o.devices) return deviceBenchCommand({ quick: o.quick, json: o.json, command: `devpager bench ${argv.join(' ')}` });
  const started = performance.now();
  const machine = machineInfo();
  const cells = expandMatrix(o);
  const runtimes = o.pagers.length * o.waits.length;
  const baselineOpts = { durationMs: Math.max(o.durationMs, 200), native: o.native, procs: [1] };
  // The spin floor is read again right before the reference cell's runtime starts its cells
  // (1 pager, the first of adaptive/park/spin that runs) and after the matrix (Baselines.spinFloorReadings).
  const refWait = ([DEFAULT_WAIT, 'park', 'spin'] as const).find((w) => o.waits.includes(w));
  const refRuntime = o.pagers.includes(1) && o.procs.includes(1) && refWait !== undefined;
  const nBaselines = o.baselines ? baselineSteps(baselineOpts) + 1 + (refRuntime ? 1 : 0) : 0;
  const c = costs(o);
  const warmups = o.warmupMs > 0 ? runtimes : 0;
  const totalCost = cells.length * c.cell + warmups * c.warmup + runtimes * c.runtime + (o.baselines ? (nBaselines - (o.native ? 1 : 0)) * c.baseline + (o.native ? c.native : 0) : 0) + (o.probe ? 7 * c.probe : 0);
  const progress = new Progress(cells.length + warmups + runtimes + nBaselines + (o.probe ? 7 : 0), totalCost);

  let baselines: Baselines | null = null;
  let results: CellResult[] = [];
  let errors: CellError[] = [];
  let probe: ProbeResult | null = null;
  let probeError: string | null = null;
  let traced: string | null = null;
  try {
    if (o.baselines) {
      baselines = await runBaselines({
        ...baselineOpts,
        onStep: (label) => progress.step(label, label.includes('native') ? c.native : c.baseline),
      });
    }
    const m = await runMatrix({
      workloads: o.workloads, procs: o.procs, pagers: o.pagers, waits: o.waits, durationMs: o.durationMs, pages: o.pages,
      memory: o.memory, ring: o.ring, seed: o.seed, stats: o.stats, statsSample: o.statsSample, processNice: o.processNice, pin: o.pin,
      warmupMs: o.warmupMs,
      beforeCells: async (pagers, wait) => {
        if (!baselines || !refRuntime || pagers !== 1 || wait !== refWait) return;
        progress.step('baseline spin-floor (again, next to the reference cell)', c.baseline);
        addSpinFloorReading(baselines, await measureSpinFloor(baselineOpts.durationMs));
      },
      spin: o.spin,
      quantum: o.quantum,
      onStep: (s) => progress.step(s.label, c[s.kind]),
    });
    results = m.results;
    errors = m.errors;
    if (baselines) {
      progress.step('baseline spin-floor (again, at the end)', c.baseline);
      addSpinFloorReading(baselines, await measureSpinFloor(baselineOpts.durationMs));
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
  const targets = computeTargets(ratios, baselines, probe, cores, results);
  const elapsedMs = performance.now() - started;

  const out: string[] = [];
  out.push(`devpager bench — ${machine.cpus} x ${machine.model}, node ${machine.node}, ${machine.platform} ${machine.release}; load average ${machine.loadavgStart.join(' ')} -> ${machine.loadavgEnd.join(' ')}`);
  out.push(`cells: ${o.durationMs} ms each, ${o.pages} pages per mapping; ${cells.length} cells in ${runtimes} runtimes`);
  out.push('');
  out.push(results.length > 0 ? resultsTable(results) : '(no cell completed)');
  const other = results.map((r) => r.otherCores).filter((x) => Number.isFinite(x));
  if (other.length > 0) {
    const avg = other.reduce((a, b) => a + b, 0) / other.length;
    const disturbed = other.filter((x) => x > 0.2).length;
    out.push('');
    out.push(`other processes kept ${avg.toFixed(2)} CPUs busy on average during the cells; ${disturbed} of ${other.length} cells disturbed (other > 0.2)${avg > 0.1 ? ' — figures are noisy, run again on a quiet machine' : ''}`);
  }
  if (errors.length > 0) {
    out.push('');
    out.push(`${errors.length} cell(s) failed:`);
    for (const e of errors) out.push(`  ${e.workload} procs=${e.procs} pagers=${e.pagers} wait=${e.wait}: ${e.error}`);
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
  if (best) out.push(`best aggregate: ${fmtRate(best.faultsPerSec)} faults/s (${best.workload}, ${best.procs} procs, ${best.pagers} pagers, ${best.wait})`);
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
      elapsedMs,
    };
    writeFileSync(o.json, `${JSON.stringify(doc, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    console.log(`wrote ${o.json}`);
  }
  return errors.length > 0 || (cells.length > 0 && results.length === 0) ? 1 : 0;
}
