/**
 * What tracing costs (`devpager bench --trace-overhead`): for each built-in workload at 1 and 4
 * processes, untraced and traced cells alternate in one run, each kind in a runtime of its own
 * with the same options, and the figure is traced / untraced throughput (medians over rounds).
 * The order within a pair flips every round, so neither kind always runs first.
 */
import { createBenchRuntime, runCell, WORKLOADS, type BenchRuntime, type Workload } from '../bench/cell.js';
import { median } from '../util/stats.js';
import { fmtRate, fmtX } from '../util/format.js';

/** Traced throughput must keep at least this share of untraced. */
export const TRACE_OVERHEAD_TARGET = 0.8;

export interface OverheadOptions {
  workloads?: readonly Workload[];
  procs?: readonly number[];
  rounds?: number;
  durationMs?: number;
  pages?: number;
  /** called before each cell, for progress displays */
  onStep?: (label: string) => void;
}

export interface OverheadPair {
  workload: Workload;
  procs: number;
  /** faults/s of each round */
  untraced: number[];
  traced: number[];
  /** traced / untraced, each round */
  ratios: number[];
  /** median traced / median untraced */
  ratio: number;
  /** CPUs other processes kept busy, mean over the pair's cells */
  otherCores: number;
  pass: boolean;
}

export interface OverheadResult {
  rounds: number;
  durationMs: number;
  target: number;
  pairs: OverheadPair[];
  pass: boolean;
}

export async function measureTraceOverhead(o: OverheadOptions = {}): Promise<OverheadResult> {
  const workloads = o.workloads ?? WORKLOADS;
  const procsList = o.procs ?? [1, 4];
  // A short cell of several processes varies much from one round to the next (a time slice more
  // or less for one of them), so the verdict takes the median of five rounds: three are too few
  // to judge a ratio this close to 1 (docs/experiments/timed-fault.md).
  const rounds = o.rounds ?? 5;
  const durationMs = o.durationMs ?? 150;
  const pages = o.pages ?? 256;
  const pairs: OverheadPair[] = [];
  for (const procs of procsList) {
    let u: BenchRuntime | null = null;
    let t: BenchRuntime | null = null;
    try {
      u = await createBenchRuntime({ pagers: 1, wait: 'adaptive', maxProcs: procs });
      t = await createBenchRuntime({ pagers: 1, wait: 'adaptive', maxProcs: procs, runtime: { trace: true } });
      // Warm-up: compile every program and touch the traced runtime's rings once.
      for (const w of workloads) {
        for (const b of [u, t]) {
          o.onStep?.(`warm-up ${w} x${procs}`);
          await runCell(b, { workload: w, procs, durationMs: 100, pages });
        }
      }
      const byW = new Map(workloads.map((w) => [w, { untraced: [] as number[], traced: [] as number[], other: [] as number[] }]));
      for (let r = 0; r < rounds; r++) {
        for (const w of workloads) {
          const acc = byW.get(w)!;
          const order: [BenchRuntime, number[]][] = r % 2 === 0 ? [[u, acc.untraced], [t, acc.traced]] : [[t, acc.traced], [u, acc.untraced]];
          for (const [b, into] of order) {
            o.onStep?.(`${w} x${procs} ${b === t ? 'traced' : 'untraced'} (round ${r + 1} of ${rounds})`);
            const c = await runCell(b, { workload: w, procs, durationMs, pages });
            into.push(c.faultsPerSec);
            if (Number.isFinite(c.otherCores)) acc.other.push(c.otherCores);
          }
        }
      }
      for (const w of workloads) {
        const acc = byW.get(w)!;
        const ratio = median(acc.traced) / median(acc.untraced);
        pairs.push({
          workload: w, procs, untraced: acc.untraced, traced: acc.traced,
          ratios: acc.traced.map((x, i) => x / acc.untraced[i]),
          ratio,
          otherCores: acc.other.length ? acc.other.reduce((a, b) => a + b, 0) / acc.other.length : NaN,
          pass: ratio >= TRACE_OVERHEAD_TARGET,
        });
      }
    } finally {
      if (u) await u.close();
      if (t) await t.close();
    }
  }
  return { rounds, durationMs, target: TRACE_OVERHEAD_TARGET, pairs, pass: pairs.every((p) => p.pass) };
}

/** The table `devpager bench --trace-overhead` prints. */
export function overheadTable(r: OverheadResult): string {
  const lines = [
    `tracing overhead: traced / untraced throughput, same run, ${r.rounds} alternated rounds of ${r.durationMs} ms cells (1 pager, adaptive); target >= ${fmtX(r.target)}`,
    `  ${'workload'.padEnd(11)} ${'procs'.padStart(5)} ${'untraced/s'.padStart(11)} ${'traced/s'.padStart(10)} ${'ratio'.padStart(7)}  ${'per round'.padEnd(24)} other  result`,
  ];
  for (const p of r.pairs) {
    lines.push(
      `  ${p.workload.padEnd(11)} ${String(p.procs).padStart(5)} ${fmtRate(median(p.untraced)).padStart(11)} ${fmtRate(median(p.traced)).padStart(10)} ${fmtX(p.ratio).padStart(7)}  ${p.ratios.map((x) => fmtX(x)).join(' ').padEnd(24)} ${Number.isFinite(p.otherCores) ? p.otherCores.toFixed(2) : ' n/a'}   ${p.pass ? 'PASS' : 'MISS'}`,
    );
  }
  const disturbed = r.pairs.filter((p) => p.otherCores > 0.2).length;
  lines.push(`  ${r.pass ? 'PASS' : 'MISS'}: ${r.pairs.filter((p) => p.pass).length} of ${r.pairs.length} pairs at >= ${fmtX(r.target)}${disturbed ? `; ${disturbed} pair(s) disturbed by other processes (other > 0.2): run again on a quiet machine` : ''}`);
  return lines.join('\n');
}
