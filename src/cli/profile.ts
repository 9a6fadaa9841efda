/**
 * `devpager profile`: say where the fault path waits, retries and queues, for a program of your
 * own or for a built-in workload.
 *
 *   devpager profile [options] -- node host.mjs [args]   profile every Runtime the host script
 *     creates, unchanged: the command sets DEVPAGER_PROFILE (src/profile/env.ts), each runtime
 *     traces and writes its report when it closes; then the command prints the text reports;
 *   devpager profile --workload NAME [options]           a built-in workload: untraced and traced
 *     cells alternated in one run (the overhead), the traced one profiled, then a short sweep.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBenchRuntime, MODES, runCell, setBenchWait, WORKLOADS, type BenchRuntime, type CellResult, type Mode, type Workload } from '../bench/cell.js';
import { checkEveryFor, warmUp, warmupPlan } from '../bench/matrix.js';
import { profileOf } from '../profile/collect.js';
import { parkWakeSummary } from '../profile/analyze.js';
import { PROFILE_ENV, type EnvProfile } from '../profile/env.js';
import { writeProfile, type ProfilePaths } from '../profile/write.js';
import { renderTextReport } from '../report/text.js';
import type { OverheadNote, SweepPoint } from '../report/types.js';
import { fmtRate, fmtX } from '../util/format.js';
import { WAIT_STRATEGIES, type WaitStrategy } from '../wait.js';
import { UsageError, choiceList, posInt } from './args.js';
import { statusLine } from './progress.js';

export const PROFILE_SUMMARY = 'profile a host script of your own (-- node host.mjs) or a built-in workload: where the fault path waits, retries and queues';

export const PROFILE_USAGE = `usage: devpager profile [options] -- node host.mjs [args]
       devpager profile [--workload NAME] [options]

Reports where the fault path waits, retries and queues: the main contention point (a slow driver,
a hot device page, more processes than CPUs, a queue; for threads of one process, TLB shootdowns
and the one pager their address space is served by), where each thread's time goes, the hottest
device pages (as /dev/foo0 +0x3000, with the driver's region names) and queues, the latency
histogram, a per-thread timeline and a Chrome trace for ui.perfetto.dev.

Your own program (after --): every Runtime the command creates traces, and writes its report
when it closes (rt.close()); the script needs no change. Then the text reports are printed.
  --out PREFIX        report files PREFIX.html, PREFIX.trace.json, PREFIX.json, PREFIX.txt
                      (default devpager-profile; a second runtime writes PREFIX-2.*)
  --outputs LIST      which of html,trace,json,text to write (default all four)
  --trace-events N    trace ring size per thread, events (default: the runtime's, 65536);
                      full rings keep the latest events
  --trace-sample N    trace 1 burst of 128 requests in N (a power of two; default 16; 1 traces
                      every request, which costs about as much as the fault itself)

A built-in workload (--workload): untraced and traced cells alternate in one run, so the report
states what tracing cost; the traced cell is profiled; then a short sweep over process counts.
  --workload NAME     page_fault | refault | shared | random | munmap   (default shared)
  --mode MODE         processes | threads (default processes): each task a process of its own,
                      or every task a thread of one process, on one address space; the sweep
                      runs in the same mode
  --procs N           tasks: processes, or threads of one process (default 4)
  --pagers N          pager threads (default 1)
  --wait STRATEGY     spin | park | adaptive                   (default adaptive)
  --duration MS       profiled window (default 300)
  --pages N           pages per mapping (default 256)
  --trace FILE        write the trace as Chrome Trace Event JSON (open in ui.perfetto.dev)
  --html FILE         write a self-contained HTML report with SVG charts
  --json FILE         write the report's data as JSON
  --sweep-duration MS window per sweep point (default 120); --no-sweep skips the sweep
  --trace-sample N    as above
  -h, --help          this text
`;

function traceSampleOf(v: string): number {
  const n = posInt('trace-sample', v, 1, 1 << 20);
  if ((n & (n - 1)) !== 0) throw new UsageError(`--trace-sample must be a power of two, got '${v}'`);
  return n;
}

/** Longest untraced cell next to the profiled one. */
const COMPARE_MAX_MS = 2000;

function int(name: string, v: string | undefined, def: number, max: number): number {
  return v === undefined ? def : posInt(name, v, 1, max);
}

function one<T extends string>(name: string, v: string | undefined, def: T, allowed: readonly T[]): T {
  if (v === undefined) return def;
  const l = choiceList(name, v, allowed);
  if (l.length !== 1) throw new UsageError(`--${name} takes one value, got '${v}'`);
  return l[0];
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      options: {
        workload: { type: 'string' },
        mode: { type: 'string' },
        procs: { type: 'string' },
        pagers: { type: 'string' },
        wait: { type: 'string' },
        duration: { type: 'string' },
        pages: { type: 'string' },
        trace: { type: 'string' },
        html: { type: 'string' },
        json: { type: 'string' },
        'sweep-duration': { type: 'string' },
        'no-sweep': { type: 'boolean' },
        out: { type: 'string' },
        outputs: { type: 'string' },
        'trace-events': { type: 'string' },
        'trace-sample': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export async function profileCommand(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values } = parse(own);
  if (values.help) {
    process.stdout.write(PROFILE_USAGE);
    return 0;
  }
  if (dash >= 0) {
    for (const k of ['workload', 'mode', 'procs', 'pagers', 'wait', 'duration', 'pages', 'trace', 'html', 'json', 'sweep-duration', 'no-sweep'] as const) {
      if (values[k] !== undefined) throw new UsageError(`--${k} is for built-in workloads; with a command after --, use --out and --outputs`);
    }
    if (command.length === 0) throw new UsageError('nothing to run after --: give a command, e.g. -- node host.mjs');
    return profileCommandLine(command, values);
  }
  for (const k of ['out', 'outputs', 'trace-events'] as const) {
    if (values[k] !== undefined) throw new UsageError(`--${k} is for profiling a command (after --); a built-in workload takes --html, --trace, --json`);
  }
  return profileWorkload(values);
}

// ---------------------------------------------------------------- a command of the user's

async function profileCommandLine(command: string[], values: ReturnType<typeof parse>['values']): Promise<number> {
  const outputs = values.outputs === undefined ? (['html', 'trace', 'json', 'text'] as const).slice() : choiceList('outputs', values.outputs, ['html', 'trace', 'json', 'text'] as const);
  if (!outputs.includes('text')) outputs.push('text'); // printed at the end, then kept
  const dir = mkdtempSync(join(tmpdir(), 'devpager-profile-'));
  const manifest = join(dir, 'manifest.jsonl');
  const req: EnvProfile = {
    prefix: values.out ?? 'devpager-profile',
    outputs,
    manifest,
    parent: process.pid,
    ...(values['trace-events'] !== undefined ? { traceEvents: posInt('trace-events', values['trace-events'], 1, 1 << 24) } : {}),
    ...(values['trace-sample'] !== undefined ? { traceSample: traceSampleOf(values['trace-sample']) } : {}),
  };
  const [cmd, ...args] = command;
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, [PROFILE_ENV]: JSON.stringify(req) } });
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  try {
    const lines = existsSync(manifest) ? readFileSync(manifest, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length === 0) {
      process.stderr.write(`devpager profile: ${command.join(' ')} closed no Runtime, so there is no report (a runtime writes its report in rt.close())\n`);
      return code !== 0 ? code : 1;
    }
    for (const l of lines) {
      const m = JSON.parse(l) as { pid: number; runtime: number; files?: ProfilePaths; error?: string };
      if (m.error) {
        process.stderr.write(`devpager profile: runtime ${m.runtime} of pid ${m.pid}: ${m.error}\n`);
        continue;
      }
      if (m.files?.text) process.stdout.write(`\n${readFileSync(m.files.text, 'utf8')}`);
      process.stderr.write(`devpager profile: runtime ${m.runtime} of pid ${m.pid} wrote ${Object.values(m.files ?? {}).join(', ')}\n`);
    }
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- a built-in workload

async function profileWorkload(values: ReturnType<typeof parse>['values']): Promise<number> {
  const workload = one<Workload>('workload', values.workload, 'shared', WORKLOADS);
  const mode = one<Mode>('mode', values.mode, 'processes', MODES);
  const wait = one<WaitStrategy>('wait', values.wait, 'adaptive', WAIT_STRATEGIES);
  const procs = int('procs', values.procs, 4, 64);
  const pagers = int('pagers', values.pagers, 1, 16);
  const durationMs = int('duration', values.duration, 300, 600_000);
  const pages = int('pages', values.pages, 256, 1 << 20);
  const sweepMs = int('sweep-duration', values['sweep-duration'], 120, 60_000);
  const spec = { workload, mode, procs, durationMs, pages, checkEvery: checkEveryFor(wait) };
  const tasks = mode === 'threads' ? `${procs} threads of one process` : `${procs} processes`;

  process.stderr.write(`profiling ${workload}: ${tasks}, ${pagers} pager(s), wait=${wait}, ${durationMs} ms, untraced and traced alternated\n`);
  const traceSample = values['trace-sample'] !== undefined ? traceSampleOf(values['trace-sample']) : undefined;
  const traced = await createBenchRuntime({ pagers, wait, maxProcs: procs, runtime: { trace: true, ...(traceSample ? { traceSample } : {}) } });
  let untraced: BenchRuntime | null = null;
  try {
    untraced = await createBenchRuntime({ pagers, wait, maxProcs: procs });
    // Warm both until their rates settle (V8 compiles each process thread's fault path on its
    // own; a cold runtime would make tracing look several times dearer than it is), then
    // untraced, traced (profiled), untraced.
    // (Spin and park, whose rates follow the scheduler, get the shorter limit, as in the bench.)
    const warm = warmupPlan([wait], PROFILE_WARMUP_MS).limitMs;
    for (const b of [untraced, traced]) await warmUp(b, [{ workload, mode }], procs, warm, { pages, checkEvery: spec.checkEvery });
    // The untraced cells measure a rate: a long profiled window does not need long ones.
    const cmp = { ...spec, durationMs: Math.min(durationMs, COMPARE_MAX_MS) };
    const before = await runCell(untraced, cmp);
    traced.rt.resetTrace();
    const cell = await runCell(traced, spec, { keepStats: true });
    const after = await runCell(untraced, cmp);
    await untraced.close();
    untraced = null;
    const overhead = overheadNote(cell, [before, after]);

    const sweep: SweepPoint[] = values['no-sweep'] ? [] : await runSweep(workload, mode, pagers, pages, sweepMs);
    const opts = {
      title: `devpager profile: ${workload}, ${tasks}, ${pagers} pager(s), wait=${wait}`,
      stats: cell.stats!,
      windowMs: cell.countWindowMs,
      overhead,
      sweep,
      options: { workload, mode, procs, durationMs, pages },
    };
    const paths: ProfilePaths = {};
    if (values.html) paths.html = values.html;
    if (values.trace) paths.trace = values.trace;
    if (values.json) paths.json = values.json;
    const w = Object.keys(paths).length ? await writeProfile(traced.rt, paths, opts) : { report: profileOf(traced.rt, opts), files: {} };
    process.stdout.write(renderTextReport(w.report));
    process.stdout.write(`\n${parkWakeSummary(cell.stats!).join('\n')}\n`);
    process.stdout.write(`\n${Math.round(cell.faultsPerSec).toLocaleString('en')} faults/s traced; fault p50 ${cell.p50Ns} ns, p99 ${cell.p99Ns} ns\n`);
    for (const f of Object.values(w.files)) process.stderr.write(`wrote ${f}\n`);
    return 0;
  } finally {
    if (untraced) await untraced.close();
    await traced.close();
  }
}

/** Traced against the untraced cells around it, in the same run. */
export function overheadNote(tracedCell: CellResult, untracedCells: CellResult[]): OverheadNote {
  const u = untracedCells.reduce((a, c) => a + c.faultsPerSec, 0) / untracedCells.length;
  const ratio = u > 0 ? tracedCell.faultsPerSec / u : NaN;
  return {
    measured: true,
    ratio,
    text: `tracing overhead: traced throughput was ${fmtX(ratio)} untraced (${fmtRate(tracedCell.faultsPerSec)} vs ${fmtRate(u)} faults/s; untraced cells of the same workload just before and after the traced one, same run)`,
  };
}

/** Longest warm-up of each runtime the command starts, ms (warmUp: one workload settles well before it). */
const PROFILE_WARMUP_MS = 4000;

/**
 * Throughput vs tasks (processes, or threads of one process), one line per wait strategy: one
 * runtime, warmed up first with every task busy, runs every strategy's points, so that the
 * points with 16 isolates describe the pager rather than V8 compiling them
 * (docs/experiments/warming-up-16-isolates.md).
 */
async function runSweep(workload: Workload, mode: Mode, pagers: number, pages: number, sweepMs: number): Promise<SweepPoint[]> {
  const sweep: SweepPoint[] = [];
  const counts = [1, 2, 4, 8, 16];
  const maxProcs = Math.max(...counts);
  const say = statusLine();
  const plan = warmupPlan(WAIT_STRATEGIES, PROFILE_WARMUP_MS);
  const sb = await createBenchRuntime({ pagers, wait: plan.wait, maxProcs });
  try {
    say(`sweep: warm up (${maxProcs} ${mode === 'threads' ? 'threads' : 'processes'})`);
    await warmUp(sb, [{ workload, mode }], maxProcs, plan.limitMs, { pages, checkEvery: checkEveryFor(plan.wait) });
    for (const w of WAIT_STRATEGIES) {
      setBenchWait(sb, w);
      for (const n of counts) {
        say(`sweep: wait=${w} ${mode === 'threads' ? 'threads' : 'procs'}=${n}`);
        const r = await runCell(sb, { workload, mode, procs: n, durationMs: sweepMs, pages, checkEvery: checkEveryFor(w) });
        sweep.push({ workload, procs: n, mode, pagers, wait: w, faultsPerSec: r.faultsPerSec, p50Ns: r.p50Ns, p99Ns: r.p99Ns });
      }
    }
  } finally {
    say('');
    await sb.close();
  }
  return sweep;
}
