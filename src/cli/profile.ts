/**
 * `devpager profile`: run one workload with tracing on, then say where the fault path waits.
 *
 * 1. the profiled cell: the chosen workload/procs/pagers/wait, traced, stats reset at its start;
 * 2. a short sweep of the same workload over processes x wait strategies (throughput lines);
 * 3. the report: text on stdout, optionally --trace FILE (Chrome Trace Event JSON),
 *    --html FILE (self-contained, SVG charts) and --json FILE (the report's data).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createBenchRuntime, runCell, WORKLOADS, type Workload } from '../bench/cell.js';
import { validateChromeTrace } from '../report/chrome-trace.js';
import { renderHtmlReport } from '../report/html.js';
import { renderTextReport } from '../report/text.js';
import type { SweepPoint } from '../report/types.js';
import { WAIT_STRATEGIES, type WaitStrategy } from '../wait.js';
import { buildProfileReport, parkWakeSummary } from '../profile/analyze.js';
import { UsageError, choiceList, posInt } from './args.js';

export const PROFILE_SUMMARY = 'run one workload traced and report where the fault path waits, retries and queues';

export const PROFILE_USAGE = `usage: devpager profile [options]

Runs one workload with tracing on and reports where the fault path waits, retries and queues:
where each thread's time goes (spinning, parked, serving, inside d_mmap), the hottest pages and
queues, the latency histogram, and a verdict naming the main contention point.

Options:
  --workload NAME     page_fault | refault | shared | random   (default shared)
  --procs N           processes (default 4)
  --pagers N          pager threads (default 1)
  --wait STRATEGY     spin | park | adaptive                   (default adaptive)
  --duration MS       profiled window (default 300)
  --pages N           pages per mapping (default 256)
  --trace FILE        write the trace as Chrome Trace Event JSON (open in ui.perfetto.dev)
  --html FILE         write a self-contained HTML report with SVG charts
  --json FILE         write the report's data as JSON
  --sweep-duration MS window per sweep point (default 120); --no-sweep skips the sweep
  -h, --help          this text
`;

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
      help: { type: 'boolean', short: 'h' },
    },
  });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export async function profileCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv);
  if (values.help) {
    process.stdout.write(PROFILE_USAGE);
    return 0;
  }
  const workload = one<Workload>('workload', values.workload, 'shared', WORKLOADS);
  const wait = one<WaitStrategy>('wait', values.wait, 'adaptive', WAIT_STRATEGIES);
  const procs = int('procs', values.procs, 4, 64);
  const pagers = int('pagers', values.pagers, 1, 16);
  const durationMs = int('duration', values.duration, 300, 600_000);
  const pages = int('pages', values.pages, 256, 1 << 20);
  const sweepMs = int('sweep-duration', values['sweep-duration'], 120, 60_000);

  // 1. The profiled cell, traced.
  process.stderr.write(`profiling ${workload}: ${procs} processes, ${pagers} pager(s), wait=${wait}, ${durationMs} ms\n`);
  const b = await createBenchRuntime({ pagers, wait, maxProcs: procs, runtime: { trace: true, traceEvents: 200_000 } });
  let cell;
  let trace;
  let histograms;
  try {
    b.rt.resetTrace();
    cell = await runCell(b, { workload, procs, durationMs, pages }, { keepStats: true });
    trace = b.rt.traceEvents();
    histograms = {
      fault: b.rt.histogram('fault'),
      queueWait: b.rt.histogram('queueWait'),
      service: b.rt.histogram('service'),
      park: b.rt.histogram('park'),
    };
    if (values.trace) {
      const ct = b.rt.chromeTrace();
      const problems = validateChromeTrace(ct);
      writeFileSync(values.trace, JSON.stringify(ct));
      process.stderr.write(`wrote ${values.trace}: ${ct.traceEvents.length} events${trace.dropped ? ` (${trace.dropped} dropped: rings full)` : ''}${problems.length ? `; ${problems.length} problems: ${problems.slice(0, 3).join('; ')}` : ''}\n`);
    }
  } finally {
    await b.close();
  }

  // 2. Throughput vs processes, one line per wait strategy.
  const sweep: SweepPoint[] = [];
  if (!values['no-sweep']) {
    const counts = [1, 2, 4, 8, 16];
    for (const w of WAIT_STRATEGIES) {
      const sb = await createBenchRuntime({ pagers, wait: w, maxProcs: 16 });
      try {
        for (const n of counts) {
          process.stderr.write(`\rsweep: wait=${w} procs=${n}   `);
          const r = await runCell(sb, { workload, procs: n, durationMs: sweepMs, pages });
          sweep.push({ workload, procs: n, pagers, wait: w, faultsPerSec: r.faultsPerSec, p50Ns: r.p50Ns, p99Ns: r.p99Ns });
        }
      } finally {
        await sb.close();
      }
    }
    process.stderr.write('\n');
  }

  // 3. The report.
  const report = buildProfileReport({
    title: `devpager profile: ${workload}, ${procs} processes, ${pagers} pager(s), wait=${wait}`,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${os.release()}` },
    options: { workload, procs, pagers, wait, durationMs, pages },
    stats: cell.stats!,
    windowMs: cell.countWindowMs,
    histograms,
    trace,
    sweep,
    device: '/dev/bench0',
  });
  process.stdout.write(renderTextReport(report));
  process.stdout.write(`\n${parkWakeSummary(cell.stats!).join('\n')}\n`);
  process.stdout.write(`\n${Math.round(cell.faultsPerSec).toLocaleString('en')} faults/s; fault p50 ${cell.p50Ns} ns, p99 ${cell.p99Ns} ns\n`);
  if (values.html) {
    writeFileSync(values.html, renderHtmlReport(report));
    process.stderr.write(`wrote ${values.html}\n`);
  }
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ ...report, timeline: undefined }, null, 1));
    process.stderr.write(`wrote ${values.json}\n`);
  }
  return 0;
}
