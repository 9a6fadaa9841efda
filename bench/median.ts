/**
 * Medians and spread over several `devpager bench --json` files, as Markdown (for BENCHMARKS.md):
 *
 *   node dist/bench/median.js run1.json run2.json run3.json
 *
 * Per cell: median faults/s with [min – max], median p50 / p99 and the median pager busy; then the
 * baselines, the ratios and the targets the same way (a target passes in the median if the median
 * ratio meets it; the PASS count out of the runs is shown too).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchJson } from '../src/bench/report.js';
import { fmtNsAsUs, fmtRate, fmtX } from '../src/util/format.js';
import { median, spread as stats } from '../src/util/stats.js';

/** "median [min–max]" of the finite values, as BENCHMARKS.md's tables write it; "-" if none. */
function spread(xs: number[], f: (x: number) => string): string {
  const s = stats(xs);
  return s.n === 0 ? '-' : `${f(s.median)} [${f(s.min)}–${f(s.max)}]`;
}

function md(rows: string[][]): string {
  const head = `| ${rows[0].join(' | ')} |`;
  const rule = `|${rows[0].map(() => '---').join('|')}|`;
  return [head, rule, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function medianReport(docs: BenchJson[]): string {
  const out: string[] = [];
  const key = (r: { workload: string; procs: number; pagers: number; wait: string }) => `${r.pagers}|${r.wait}|${r.workload}|${r.procs}`;
  const keys: string[] = [];
  for (const d of docs) for (const r of d.results) if (!keys.includes(key(r))) keys.push(key(r));
  // Compact grid first: median faults/s per (pagers, wait, workload) across process counts.
  const procsList = [...new Set(docs.flatMap((d) => d.results.map((r) => r.procs)))].sort((a, b) => a - b);
  const groups: string[] = [];
  for (const k of keys) {
    const g = k.split('|').slice(0, 3).join('|');
    if (!groups.includes(g)) groups.push(g);
  }
  const grid = [['pagers', 'wait', 'workload', ...procsList.map((n) => `x${n}`), 'p50 µs (all procs)']];
  for (const g of groups) {
    const [pagers, wait, workload] = g.split('|');
    const cells = procsList.map((n) => {
      const rs = docs.flatMap((d) => d.results.filter((r) => key(r) === `${g}|${n}`));
      return rs.length ? fmtRate(median(rs.map((r) => r.faultsPerSec))) : '-';
    });
    const p50s = docs.flatMap((d) => d.results.filter((r) => key(r).startsWith(`${g}|`)).map((r) => median([r.p50Ns])));
    grid.push([pagers, wait, workload, ...cells, `${fmtNsAsUs(median(p50s))} [${fmtNsAsUs(Math.min(...p50s))}–${fmtNsAsUs(Math.max(...p50s))}]`]);
  }
  out.push('Median faults/s:');
  out.push('');
  out.push(md(grid));
  out.push('');
  const rows = [['pagers', 'wait', 'workload', 'procs', 'faults/s median [min–max]', 'p50 µs', 'p99 µs', 'pager busy']];
  for (const k of keys) {
    const rs = docs.flatMap((d) => d.results.filter((r) => key(r) === k));
    const r0 = rs[0];
    const busy = r0.pagerBusy.map((_, i) => `${Math.round(median(rs.map((r) => r.pagerBusy[i])) * 100)}%`).join('/');
    rows.push([String(r0.pagers), r0.wait, r0.workload, String(r0.procs), spread(rs.map((r) => r.faultsPerSec), fmtRate),
      spread(rs.map((r) => r.p50Ns), fmtNsAsUs), fmtNsAsUs(median(rs.map((r) => r.p99Ns))), busy]);
  }
  out.push(md(rows));
  out.push('');
  const b = docs.map((d) => d.baselines).filter((x): x is Record<string, unknown> => x !== null);
  if (b.length > 0) {
    const num = (name: string) => b.map((x) => (typeof x[name] === 'number' ? (x[name] as number) : NaN));
    out.push(md([
      ['baseline', 'median [min–max]'],
      ['spin floor p50 µs (the lower kind)', spread(num('spinFloorNs'), fmtNsAsUs)],
      ['spin floor p50 µs, pinned', spread(num('spinFloorPinnedNs'), fmtNsAsUs)],
      ['spin floor p50 µs, unpinned', spread(num('spinFloorUnpinnedNs'), fmtNsAsUs)],
      ['park pager faults/s', spread(num('parkPagerFaultsPerSec'), fmtRate)],
      ['park pager p50 µs', spread(num('parkPagerP50Ns'), fmtNsAsUs)],
      ['postMessage pager faults/s', spread(num('postMessagePagerFaultsPerSec'), fmtRate)],
      ['postMessage pager p50 µs', spread(num('postMessagePagerP50Ns'), fmtNsAsUs)],
      ['userfaultfd faults/s', spread(num('userfaultfdFaultsPerSec'), fmtRate)],
      ['userfaultfd p50 µs', spread(num('userfaultfdP50Ns'), fmtNsAsUs)],
      ['Linux anon fault faults/s (1 thread)', spread(num('linuxAnonFaultsPerSec'), fmtRate)],
      ['Linux anon fault p50 µs', spread(num('linuxAnonFaultP50Ns'), fmtNsAsUs)],
    ]));
    out.push('');
  }
  const probes = docs.map((d) => d.probe).filter((p) => p !== null);
  if (probes.length > 0) {
    out.push(md([
      ['scaling probe', 'median [min–max]'],
      [`refault ${probes[0].smallPages} pages: faults/s`, spread(probes.map((p) => p.small.faultsPerSec), fmtRate)],
      [`refault ${probes[0].smallPages} pages: p50 µs`, spread(probes.map((p) => p.small.p50Ns), fmtNsAsUs)],
      [`${probes[0].sample} of ${probes[0].largePages} pages: faults/s`, spread(probes.map((p) => p.large.faultsPerSec), fmtRate)],
      [`${probes[0].sample} of ${probes[0].largePages} pages: p50 µs`, spread(probes.map((p) => p.large.p50Ns), fmtNsAsUs)],
      [`mmap of ${probes[0].largePages} pages, ms`, spread(probes.map((p) => p.largeMmapMs), (x) => x.toFixed(0))],
    ]));
    out.push('');
  }
  const ratioKeys = ['faultP50VsSpinFloor', 'faultsPerSecVsPostMessage', 'faultsPerSecVsParkPager', 'faultP50VsParkPager', 'faultsPerSecVsUserfaultfd', 'faultP50VsUserfaultfd', 'faultsPerSecVsLinuxAnonFault', 'scalingP50', 'scalingMean'] as const;
  const rr = [['ratio', 'median [min–max]']];
  for (const k of ratioKeys) rr.push([k, spread(docs.map((d) => (d.ratios[k] as number | null) ?? NaN), fmtX)]);
  out.push(md(rr));
  out.push('');
  const names: string[] = [];
  for (const d of docs) for (const t of d.targets) if (!names.includes(t.name)) names.push(t.name);
  const tr = [['target', 'goal', 'median [min–max]', 'median verdict', 'runs passing']];
  for (const n of names) {
    const ts = docs.map((d) => d.targets.find((t) => t.name === n)).filter((t) => t !== undefined);
    const pct = ts[0].goal.includes('%');
    const f = pct ? (x: number) => `${Math.round(x * 100)}%` : fmtX;
    const m = median(ts.map((t) => t.value ?? NaN));
    const goal = ts[0].goal;
    const num = Number(goal.replace(/[^0-9.]/g, '')) / (pct ? 100 : 1);
    const ok = !Number.isFinite(m) ? 'n/a' : (goal.startsWith('<=') ? m <= num : goal.startsWith('<') ? m < num : m >= num) ? 'PASS' : 'MISS';
    tr.push([n, goal, spread(ts.map((t) => t.value ?? NaN), f), ok, `${ts.filter((t) => t.pass === true).length}/${ts.length}`]);
  }
  out.push(md(tr));
  return out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node dist/bench/median.js RUN.json...');
    process.exit(2);
  }
  console.log(medianReport(files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchJson)));
}
