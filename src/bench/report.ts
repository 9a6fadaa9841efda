/**
 * Turning bench results into figures people read: the machine description, the ratios against
 * the baselines, the targets with PASS/MISS (BENCHMARKS.md, "Targets"), the text table and the
 * JSON document.
 * Pure functions over plain data, so `devpager profile` can reuse them.
 */
import { availableParallelism, cpus, freemem, loadavg, platform, arch, release, totalmem } from 'node:os';
import { fmtNsAsUs, fmtRate, fmtX } from '../util/format.js';
import { median } from '../util/stats.js';
import type { WaitStrategy } from '../wait.js';
import { PINNED, type FloorMoment } from './baselines/floor.js';
import { isSkipped, pick, type Baselines, type BaselineResult, type SkippedBaseline } from './baselines/suite.js';
import { DISTURBED_CORES, type CellResult, type Mode, type Workload } from './cell.js';
import type { CellError, MatrixResult } from './matrix.js';
import type { ProbeResult } from './probe.js';

// ------------------------------------------------------------------ machine

export interface Machine {
  cpus: number;
  availableParallelism: number;
  model: string;
  mhz: number;
  node: string;
  v8: string;
  platform: string;
  arch: string;
  release: string;
  memory: number;
  freeMemory: number;
  loadavgStart: number[];
  loadavgEnd?: number[];
  date: string;
}

export function machineInfo(): Machine {
  const c = cpus();
  return {
    cpus: c.length,
    availableParallelism: availableParallelism(),
    model: c[0]?.model.trim() ?? 'unknown',
    mhz: c[0]?.speed ?? 0,
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    arch: arch(),
    release: release(),
    memory: totalmem(),
    freeMemory: freemem(),
    loadavgStart: loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

// ------------------------------------------------------------------ text helpers

/** Align columns: first `left` columns left-aligned, the rest right-aligned. */
export function table(rows: string[][], left = 1): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c < left ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join('  ').trimEnd()).join('\n');
}

// ------------------------------------------------------------------ ratios and targets

export interface Target {
  name: string;
  /** what is compared, in words */
  detail: string;
  value: number;
  /** e.g. "<= 3x" */
  goal: string;
  pass: boolean | null; // null: could not be evaluated (reason in detail)
}

export interface Ratios {
  /** the devpager cell the 1-process ratios use */
  reference: { workload: Workload; procs: number; pagers: number; wait: WaitStrategy } | null;
  faultP50VsSpinFloor: number;
  faultsPerSecVsPostMessage: number;
  faultsPerSecVsParkPager: number;
  faultP50VsParkPager: number;
  faultsPerSecVsUserfaultfd: number;
  faultP50VsUserfaultfd: number;
  faultsPerSecVsLinuxAnonFault: number;
  /** per workload, mode and pager count: default strategy at the most tasks / its best over task counts */
  oversubscribed: {
    workload: Workload; mode: Mode; pagers: number; procs: number; faultsPerSec: number; bestFaultsPerSec: number; bestProcs: number; ratio: number;
    bestAnyWait: number; bestAnyWaitLabel: string;
    /** CPUs other processes kept busy during the cell at the most processes, and during its best cell */
    otherCores: number; bestOtherCores: number;
  }[];
  scalingP50: number;
  scalingMean: number;
  /** every cell run both ways: the threads cell's faults/s / the processes cell's */
  threadsVsProcesses: { workload: Workload; pagers: number; wait: WaitStrategy; procs: number; processes: number; threads: number; ratio: number }[];
}

export const DEFAULT_WAIT: WaitStrategy = 'adaptive';

type CellKeyLike = Pick<CellResult, 'workload' | 'procs' | 'pagers' | 'wait' | 'mode'>;

function findCell<T extends CellKeyLike>(results: T[], w: string, procs: number, pagers: number, wait: string, mode: Mode = 'processes'): T | undefined {
  return results.find((r) => r.workload === w && r.procs === procs && r.pagers === pagers && r.wait === wait && r.mode === mode);
}

/**
 * The cell the 1-process ratios use: refault, 1 process, 1 pager, default wait (or the nearest
 * available); of measured cells, or of the cells a run will measure (the bench reads the spin
 * floor right before it).
 */
export function referenceCell<T extends CellKeyLike>(results: T[]): T | undefined {
  const prefW = ['refault', 'shared', 'page_fault', 'random'];
  const prefWait = [DEFAULT_WAIT, 'park', 'spin'];
  // One task is one thread in either mode; processes first, as the baselines are processes.
  for (const mode of ['processes', 'threads'] as const) {
    for (const w of prefW) for (const wait of prefWait) {
      const c = findCell(results, w, 1, 1, wait, mode);
      if (c) return c;
    }
  }
  return undefined;
}

export function computeRatios(results: CellResult[], baselines: Baselines | null, probe: ProbeResult | null): Ratios {
  const ref = referenceCell(results);
  const floor = baselines && !isSkipped(baselines.spinFloor.floor) ? baselines.spinFloor.floor : undefined;
  const pm = baselines ? pick(baselines.postMessage, 'postmessage-pager', 1) : undefined;
  const park = baselines ? pick(baselines.park, 'park-pager', 1) : undefined;
  const uffd = baselines ? pick(baselines.native, 'userfaultfd') : undefined;
  const anon = baselines ? pick(baselines.native, 'linux-anon-fault', 1) : undefined;
  const div = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : NaN);

  const over: Ratios['oversubscribed'] = [];
  const maxProcs = Math.max(0, ...results.map((r) => r.procs));
  const workloads = [...new Set(results.map((r) => r.workload))] as Workload[];
  const pagersList = [...new Set(results.map((r) => r.pagers))];
  const modes = [...new Set(results.map((r) => r.mode))];
  for (const w of workloads) for (const mode of modes) {
    for (const g of pagersList) {
      const mine = results.filter((r) => r.workload === w && r.mode === mode && r.pagers === g && r.wait === DEFAULT_WAIT);
      const at = mine.find((r) => r.procs === maxProcs);
      if (!at || maxProcs <= 1) continue;
      const best = mine.reduce((a, b) => (b.faultsPerSec > a.faultsPerSec ? b : a));
      const any = results.filter((r) => r.workload === w && r.mode === mode && r.pagers === g).reduce((a, b) => (b.faultsPerSec > a.faultsPerSec ? b : a));
      over.push({
        workload: w, mode, pagers: g, procs: maxProcs, faultsPerSec: at.faultsPerSec, bestFaultsPerSec: best.faultsPerSec, bestProcs: best.procs,
        ratio: at.faultsPerSec / best.faultsPerSec, bestAnyWait: any.faultsPerSec, bestAnyWaitLabel: `${any.wait} x${any.procs}`,
        otherCores: at.otherCores, bestOtherCores: best.otherCores,
      });
    }
  }
  return {
    reference: ref ? { workload: ref.workload as Workload, procs: ref.procs, pagers: ref.pagers, wait: ref.wait } : null,
    faultP50VsSpinFloor: div(ref?.p50Ns, floor?.p50Ns),
    faultsPerSecVsPostMessage: div(ref?.faultsPerSec, pm?.opsPerSec),
    faultsPerSecVsParkPager: div(ref?.faultsPerSec, park?.opsPerSec),
    faultP50VsParkPager: div(ref?.p50Ns, park?.p50Ns),
    faultsPerSecVsUserfaultfd: div(ref?.faultsPerSec, uffd?.opsPerSec),
    faultP50VsUserfaultfd: div(ref?.p50Ns, uffd?.p50Ns),
    faultsPerSecVsLinuxAnonFault: div(ref?.faultsPerSec, anon?.opsPerSec),
    oversubscribed: over,
    scalingP50: probe ? probe.p50Ratio : NaN,
    scalingMean: probe ? probe.meanRatio : NaN,
    threadsVsProcesses: results.flatMap((t) => {
      if (t.mode !== 'threads') return [];
      const p = findCell(results, t.workload, t.procs, t.pagers, t.wait, 'processes');
      return p ? [{ workload: t.workload as Workload, pagers: t.pagers, wait: t.wait, procs: t.procs, processes: p.faultsPerSec, threads: t.faultsPerSec, ratio: div(t.faultsPerSec, p.faultsPerSec) }] : [];
    }),
  };
}

/** A 1-process fault rate of 1 M/s is the goal on a machine whose spin floor is at most this (ns). */
const ONE_M_FLOOR_NS = 500;

/** The floor the ratios use, in words: "195 ns (pinned; unpinned 831 ns)", or why there is none. */
function floorText(b: Baselines): string {
  const f = b.spinFloor;
  if (isSkipped(f.floor)) return `not measured (${f.floor.skipped})`;
  const ns = (r: BaselineResult | SkippedBaseline) => (isSkipped(r) ? `not measured: ${r.skipped}` : `${Math.round(r.p50Ns)} ns`);
  const from = f.source === 'reference' ? `read next to the reference cell, ${f.floor.name === PINNED ? 'pinned' : 'unpinned'}` : `the ${f.source} median`;
  return `${Math.round(f.floor.p50Ns)} ns (${from}; medians pinned ${ns(f.pinned)}, unpinned ${ns(f.unpinned)}; next to the reference cell ${ns(f.reference)})`;
}

/** The 1-thread postMessage pager's rate, or why there is none. */
function pmText(b: Baselines): string {
  const pm = b.postMessage.find((r) => isSkipped(r) || r.procs === 1);
  return !pm ? 'not run' : isSkipped(pm) ? `skipped: ${pm.skipped}` : `${fmtRate(pm.opsPerSec)} faults/s`;
}

type Oversubscribed = Ratios['oversubscribed'][number];

/**
 * What the run itself shows about a missed 16-process target, stated with the verdict, never used
 * to change it. Where the worst cell has as many pagers as the machine has cores, the pagers
 * cannot each have a core beside the running process (with pinning they share the top one,
 * affinity.ts): the same workload's cells with fewer pagers, from the same run, say what the
 * sharing costs. Otherwise: whether the workload also falls with the spin strategy (no run
 * queue, no parking), as data only, since spin cells are starved themselves beyond the cores.
 */
function missFacts(worst: Oversubscribed, over: readonly Oversubscribed[], results: CellResult[], cores: number): string {
  const fewer = over.filter((x) => x.workload === worst.workload && x.mode === worst.mode && x.pagers < worst.pagers);
  if (worst.pagers >= cores && fewer.length > 0) {
    const f = fewer.reduce((a, b) => (b.pagers > a.pagers ? b : a));
    const held = over.filter((x) => x.pagers < cores).every((x) => x.ratio >= 0.5);
    return `${worst.pagers} pagers on ${cores} cores share a core, so a process's pager waits its turn for it behind the other pager; ` +
      `the same ${worst.procs} processes with ${f.pagers} pager${f.pagers > 1 ? 's' : ''} ran ${fmtRate(f.faultsPerSec)}/s (${Math.round(f.ratio * 100)}% of its best), ` +
      `${held ? `and every cell with fewer pagers than cores holds the target` : 'but cells with fewer pagers than cores miss too'} (docs/experiments/oversubscription-fresh-realms.md)`;
  }
  const spin1 = findCell(results, worst.workload, 1, worst.pagers, 'spin', worst.mode);
  const spinN = findCell(results, worst.workload, worst.procs, worst.pagers, 'spin', worst.mode);
  const spinRatio = spin1 && spinN && spin1.faultsPerSec > 0 ? spinN.faultsPerSec / spin1.faultsPerSec : NaN;
  const spinText = Number.isFinite(spinRatio)
    ? `with spin (no run queue) the same workload keeps ${Math.round(spinRatio * 100)}% of x1 (${fmtRate(spinN!.faultsPerSec)}/s vs ${fmtRate(spin1!.faultsPerSec)}/s)`
    : 'no spin cells to compare with';
  return `${spinText} (docs/experiments/oversubscription-fresh-realms.md)`;
}

export function computeTargets(r: Ratios, baselines: Baselines | null, probe: ProbeResult | null, cores: number, results: CellResult[] = [], warmups: MatrixResult['warmups'] = []): Target[] {
  const ref = r.reference ? (findCell(results, r.reference.workload, 1, 1, r.reference.wait) ?? findCell(results, r.reference.workload, 1, 1, r.reference.wait, 'threads')) : undefined;
  const refName = r.reference ? `${r.reference.workload}, 1 process, 1 pager, ${r.reference.wait}` : 'no 1-process/1-pager cell was run';
  const t: Target[] = [];
  const judge = (v: number, ok: (v: number) => boolean) => (Number.isFinite(v) ? ok(v) : null);
  const sf = baselines && !isSkipped(baselines.spinFloor.floor) ? baselines.spinFloor.floor : undefined;
  t.push({
    name: 'fault p50 vs spin floor',
    detail: !baselines ? 'baselines not run (--no-baselines)'
      : `devpager (${refName}) fault p50 ${ref ? `${Math.round(ref.p50Ns)} ns` : 'not measured'} / spin floor ${floorText(baselines)}, the lowest of these`,
    value: r.faultP50VsSpinFloor, goal: '<= 3x', pass: judge(r.faultP50VsSpinFloor, (v) => v <= 3),
  });
  // The goal is 1 M faults/s with one process where the spin floor is <= 0.5 µs. Where it
  // is slower, the goal scales down with it (a fault may cost two floor round trips), so the
  // target applies on every machine instead of passing by default.
  const one = results.filter((c) => c.procs === 1);
  const bestOne = one.reduce<CellResult | null>((a, b) => (a === null || b.faultsPerSec > a.faultsPerSec ? b : a), null);
  const floorNs = sf ? sf.p50Ns : NaN;
  const scale = floorNs > ONE_M_FLOOR_NS ? ONE_M_FLOOR_NS / floorNs : 1;
  const goalRate = 1e6 * scale;
  const goalText = !sf
    ? `goal 1 M/s, not scaled: spin floor ${baselines ? floorText(baselines) : 'not measured (--no-baselines)'}`
    : scale < 1 ? `goal ${fmtRate(goalRate)}/s = 1 M x 0.5 µs / spin floor ${Math.round(floorNs)} ns` : `goal 1 M/s (spin floor ${Math.round(floorNs)} ns <= 0.5 µs)`;
  t.push({
    name: '1 process: best faults/s vs 1 M (scaled to a floor > 0.5 µs)',
    detail: bestOne ? `best 1-process cell ${bestOne.workload} pagers=${bestOne.pagers} ${bestOne.wait}: ${fmtRate(bestOne.faultsPerSec)}/s; ${goalText}` : 'no 1-process cell was run',
    value: bestOne ? bestOne.faultsPerSec / goalRate : NaN,
    goal: '>= 1x',
    pass: bestOne ? bestOne.faultsPerSec >= goalRate : null,
  });
  t.push({
    name: 'faults/s vs postMessage pager',
    detail: !baselines ? 'baselines not run (--no-baselines)'
      : `devpager (${refName}) faults/s / postMessage pager (1 thread) ${pmText(baselines)}`,
    value: r.faultsPerSecVsPostMessage, goal: '>= 10x', pass: judge(r.faultsPerSecVsPostMessage, (v) => v >= 10),
  });
  const over = r.oversubscribed;
  const lowest = (xs: typeof over) => (xs.length ? xs.reduce((a, b) => (b.ratio < a.ratio ? b : a)) : undefined);
  const worst = lowest(over);
  const pagerCounts = [...new Set(over.map((x) => x.pagers))].sort((a, b) => a - b);
  // The worst cell of each pager count too, and the median cell: one cell of the eight decides
  // the verdict, and a single cell's rate is noisy (docs/experiments/how-a-cell-is-measured.md).
  const perPagers = pagerCounts.length > 1 ? pagerCounts.map((g) => `${g} pager${g > 1 ? 's' : ''} worst ${Math.round(lowest(over.filter((x) => x.pagers === g))!.ratio * 100)}%`) : [];
  const medianCell = median(over.map((x) => x.ratio));
  // A verdict decided by a cell that other processes disturbed (even after measuring it again) says so.
  const disturbed = worst ? [worst.otherCores > DISTURBED_CORES ? `x${worst.procs} ${worst.otherCores.toFixed(2)}` : '', worst.bestOtherCores > DISTURBED_CORES ? `x${worst.bestProcs} ${worst.bestOtherCores.toFixed(2)}` : ''].filter(Boolean) : [];
  const disturbedText = disturbed.length ? `; its cells were disturbed (other processes held ${disturbed.join(', ')} CPUs): run again on a quiet machine` : '';
  t.push({
    name: `${worst?.procs ?? 16} procs on ${cores} cores, default strategy vs its best`,
    detail: worst
      ? `worst of ${over.length} (workload, mode, pagers): ${worst.workload}${worst.mode === 'threads' ? ' as threads' : ''} pagers=${worst.pagers}: ${DEFAULT_WAIT} x${worst.procs} ${fmtRate(worst.faultsPerSec)}/s vs its best x${worst.bestProcs} ${fmtRate(worst.bestFaultsPerSec)}/s${disturbedText}${[...perPagers, `median cell ${Math.round(medianCell * 100)}%`].map((x) => `; ${x}`).join('')}`
      : `needs ${DEFAULT_WAIT} cells at more than one process count`,
    value: worst ? worst.ratio : NaN, goal: '>= 50%', pass: worst ? worst.ratio >= 0.5 : null,
  });
  if (worst && worst.ratio < 0.5) t[t.length - 1].detail += `; ${missFacts(worst, over, results, cores)}`;
  // A 16-process cell measured before V8 had compiled its isolates' code says so (warmUp).
  const cold = worst ? warmups.find((w) => w.pagers === worst.pagers && w.wait === DEFAULT_WAIT && w.stillRising.length > 0) : undefined;
  if (cold) t[t.length - 1].detail += `; the warm-up of that runtime ended at its limit after ${(cold.ms / 1000).toFixed(1)} s with ${cold.stillRising.join(', ')} not settled: the cells may describe V8 compiling (--warmup)`;
  t.push({
    name: 'fault cost, 10^6-page vs 1k-page mapping',
    detail: probe ? `fault p50 with ${probe.sample} sampled pages of ${probe.largePages} / refault of ${probe.smallPages} pages` : 'scaling probe not run',
    value: r.scalingP50, goal: '< 2x', pass: judge(r.scalingP50, (v) => v < 2),
  });
  return t;
}

// ------------------------------------------------------------------ text

export function resultsTable(results: CellResult[]): string {
  const rows: string[][] = [['workload', 'mode', 'wait', 'pagers', 'tasks', 'faults/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'pager busy', 'cpu ms', 'cpu µs/fault', 'cores', 'other', 'fair']];
  const sep: number[] = [];
  results.forEach((r, i) => {
    const prev = results[i - 1];
    if (prev && (prev.pagers !== r.pagers || prev.wait !== r.wait)) sep.push(rows.length);
    rows.push([
      r.workload, r.mode, r.wait, String(r.pagers), String(r.procs), fmtRate(r.faultsPerSec), fmtNsAsUs(r.p50Ns), fmtNsAsUs(r.p99Ns), fmtNsAsUs(r.p999Ns),
      r.pagerBusy.map((b) => `${Math.round(b * 100)}%`).join('/'), r.cpuMs.toFixed(0), Number.isFinite(r.cpuUsPerFault) ? r.cpuUsPerFault.toFixed(1) : '-',
      r.cores.toFixed(2), Number.isFinite(r.otherCores) ? r.otherCores.toFixed(2) : '-', r.fairness.toFixed(2),
    ]);
  });
  // A blank line between (pagers, wait) groups keeps 120 rows readable.
  const lines = table(rows, 3).split('\n');
  for (const i of sep.reverse()) lines.splice(i, 0, '');
  return lines.join('\n');
}

/**
 * One line per runtime: how long its warm-up ran and where each workload's rate (every process
 * busy) went from and to, and whether it settled or the limit ended it while rates still rose.
 */
export function warmupsText(warmups: MatrixResult['warmups']): string {
  const lines = ['warm-ups (cells with every process busy until each workload\'s rate stops rising; --warmup):'];
  for (const w of warmups) {
    const ran = Object.entries(w.rates).filter(([, r]) => r.length > 0);
    const climbs = ran.map(([k, r]) => `${k} ${fmtRate(r[0])}→${fmtRate(r[r.length - 1])}`);
    const rose = w.stillRising.filter((k) => (w.rates[k]?.length ?? 0) > 0);
    const cold = w.stillRising.filter((k) => (w.rates[k]?.length ?? 0) === 0);
    const limit = w.limitMs < 1000 ? `${w.limitMs} ms` : `${(w.limitMs / 1000).toFixed(1)} s`;
    const end = w.stillRising.length === 0 ? 'settled'
      : `ended at its limit (${limit})${rose.length ? ` while ${rose.join(', ')} still rose` : ''}${cold.length ? `${rose.length ? ';' : ''} ${cold.join(', ')} not warmed at all` : ''}`;
    lines.push(`  pagers=${w.pagers} ${w.wait} x${w.procs}: ${(w.ms / 1000).toFixed(1)} s${climbs.length ? `, ${climbs.join(', ')}` : ''}; ${end}`);
  }
  return lines.join('\n');
}

function baselineRow(r: BaselineResult | SkippedBaseline): string[] {
  if (isSkipped(r)) return [r.name, '-', 'skipped', '', '', '', ''];
  return [r.name, String(r.procs), fmtRate(r.opsPerSec), fmtNsAsUs(r.p50Ns), fmtNsAsUs(r.p99Ns), fmtNsAsUs(r.p999Ns), fmtNsAsUs(r.meanNs)];
}

export function baselinesTable(b: Baselines): string {
  const f = b.spinFloor;
  const all = [f.unpinned, f.pinned, ...b.park, ...b.postMessage, ...b.native];
  const rows = [['baseline', 'threads', 'ops/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'mean µs'], ...all.map(baselineRow)];
  const notes = all.filter(isSkipped).map((r) => `  ${r.name}: skipped: ${r.skipped}`);
  const details = all.filter((r): r is BaselineResult => !isSkipped(r) && !!r.detail).map((r) => `  ${r.name} x${r.procs}: ${r.detail}`);
  const moments = [...new Set(f.readings.map((r) => r.moment))].map((m) => MOMENT_TEXT[m]).join(', ');
  const readings = (pinned: boolean) => f.readings.filter((r) => r.pinned === pinned).map((r) => (isSkipped(r.result) ? 'skipped' : `${Math.round(r.result.p50Ns)}`)).join(', ');
  details.push(`  spin floor p50 ns (${moments}): unpinned ${readings(false)}; pinned like the cells ${readings(true)}`);
  details.push(`  the rows above are each kind's median reading; the ratios use the lowest of them and of the readings next to the reference cell: ${floorText(b)}`);
  return [table(rows), ...notes, ...details].join('\n');
}

const MOMENT_TEXT: Record<FloorMoment, string> = { start: 'at the start', reference: 'next to the reference cell', end: 'at the end' };

export function ratiosText(r: Ratios): string {
  const ref = r.reference;
  const lines: string[] = [];
  if (ref) lines.push(`reference cell: ${ref.workload}, ${ref.procs} process, ${ref.pagers} pager, wait=${ref.wait}`);
  const rows = [
    ['fault p50 / spin floor p50', fmtX(r.faultP50VsSpinFloor)],
    ['faults/s / postMessage pager', fmtX(r.faultsPerSecVsPostMessage)],
    ['faults/s / park pager', fmtX(r.faultsPerSecVsParkPager)],
    ['fault p50 / park pager p50', fmtX(r.faultP50VsParkPager)],
    ['faults/s / userfaultfd', fmtX(r.faultsPerSecVsUserfaultfd)],
    ['fault p50 / userfaultfd p50', fmtX(r.faultP50VsUserfaultfd)],
    ['faults/s / Linux anon fault (1 thread)', fmtX(r.faultsPerSecVsLinuxAnonFault)],
    ['fault p50, 10^6 pages / 1k pages', fmtX(r.scalingP50)],
    ['fault mean, 10^6 pages / 1k pages', fmtX(r.scalingMean)],
  ];
  lines.push(table(rows));
  if (r.oversubscribed.length > 0) {
    lines.push('');
    lines.push(`oversubscription (${DEFAULT_WAIT}, most processes vs its best process count; best of any strategy for comparison):`);
    const o = [['workload', 'mode', 'pagers', `x${r.oversubscribed[0].procs} faults/s`, 'best', 'at', 'ratio', 'best any wait']];
    for (const x of r.oversubscribed) {
      o.push([x.workload, x.mode, String(x.pagers), fmtRate(x.faultsPerSec), fmtRate(x.bestFaultsPerSec), `x${x.bestProcs}`, `${Math.round(x.ratio * 100)}%`, `${fmtRate(x.bestAnyWait)} (${x.bestAnyWaitLabel})`]);
    }
    lines.push(table(o, 2));
  }
  if (r.threadsVsProcesses.length > 0) {
    lines.push('');
    lines.push('threads vs processes (the same cell as threads of one process, and as processes):');
    const o = [['workload', 'wait', 'pagers', 'tasks', 'processes faults/s', 'threads faults/s', 'threads / processes']];
    for (const x of r.threadsVsProcesses) o.push([x.workload, x.wait, String(x.pagers), String(x.procs), fmtRate(x.processes), fmtRate(x.threads), fmtX(x.ratio)]);
    lines.push(table(o, 2));
  }
  return lines.join('\n');
}

export function targetsText(t: Target[]): string {
  const rows = t.map((x) => [
    x.pass === null ? 'n/a ' : x.pass ? 'PASS' : 'MISS',
    x.name,
    x.goal.includes('%') ? (Number.isFinite(x.value) ? `${Math.round(x.value * 100)}%` : 'n/a') : fmtX(x.value),
    `(goal ${x.goal})`,
    x.detail,
  ]);
  return table(rows, 5);
}

export function probeText(p: ProbeResult): string {
  const rows = [
    ['mapping', 'faults/s', 'p50 µs', 'mean µs', 'p99 µs'],
    [`refault, ${p.smallPages} pages`, fmtRate(p.small.faultsPerSec), fmtNsAsUs(p.small.p50Ns), fmtNsAsUs(p.small.meanNs), fmtNsAsUs(p.small.p99Ns)],
    [`${p.sample} of ${p.largePages} pages`, fmtRate(p.large.faultsPerSec), fmtNsAsUs(p.large.p50Ns), fmtNsAsUs(p.large.meanNs), fmtNsAsUs(p.large.p99Ns)],
  ];
  return `${table(rows)}\nmmap of the ${p.largePages}-page mapping (d_mmap on every page): ${p.largeMmapMs.toFixed(0)} ms; wait=${p.wait}`;
}

// ------------------------------------------------------------------ JSON

export interface BenchJson {
  machine: Machine;
  command: string;
  options: Record<string, unknown>;
  results: (Omit<CellResult, 'stats'>)[];
  errors: CellError[];
  baselines: Record<string, unknown> | null;
  probe: Omit<ProbeResult, 'small' | 'large'> & { small: Omit<CellResult, 'stats'>; large: Omit<CellResult, 'stats'> } | null;
  ratios: Ratios;
  targets: Target[];
  /** each runtime's warm-up, in run order */
  warmups: MatrixResult['warmups'];
  elapsedMs: number;
}

export function baselinesJson(b: Baselines): Record<string, unknown> {
  const f = b.spinFloor;
  const park = pick(b.park, 'park-pager', 1);
  const pm = pick(b.postMessage, 'postmessage-pager', 1);
  const uffd = pick(b.native, 'userfaultfd');
  const anon = pick(b.native, 'linux-anon-fault', 1);
  const nan = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);
  const p50 = (r: BaselineResult | SkippedBaseline) => (isSkipped(r) ? null : nan(r.p50Ns));
  const all = [f.unpinned, f.pinned, ...b.park, ...b.postMessage, ...b.native];
  return {
    spinFloorNs: p50(f.floor),
    spinFloorKind: isSkipped(f.floor) ? null : f.source === 'reference' ? (f.floor.name === PINNED ? 'reference pinned' : 'reference unpinned') : f.source,
    spinFloorPinnedNs: p50(f.pinned),
    spinFloorUnpinnedNs: p50(f.unpinned),
    spinFloorReadings: f.readings.map((r) => ({ moment: r.moment, pinned: r.pinned, p50Ns: p50(r.result), ...(isSkipped(r.result) ? { skipped: r.result.skipped } : {}) })),
    parkPagerFaultsPerSec: nan(park?.opsPerSec),
    parkPagerP50Ns: nan(park?.p50Ns),
    postMessagePagerFaultsPerSec: nan(pm?.opsPerSec),
    postMessagePagerP50Ns: nan(pm?.p50Ns),
    userfaultfdFaultsPerSec: nan(uffd?.opsPerSec),
    userfaultfdP50Ns: nan(uffd?.p50Ns),
    linuxAnonFaultsPerSec: nan(anon?.opsPerSec),
    linuxAnonFaultP50Ns: nan(anon?.p50Ns),
    skipped: all.filter(isSkipped),
    all: all.filter((r): r is BaselineResult => !isSkipped(r)),
  };
}
