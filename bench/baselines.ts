/**
 * Run every baseline and print a table:  node dist/bench/baselines.js [options]
 *
 *   --duration MS     timed window per baseline (default 1000)
 *   --procs 1,2,4     faulting threads for the pager baselines (default 1,2,4,8,16)
 *   --pairs 1,2,8     spin-floor pairs (default 1,2,4,8; 8 pairs = 16 spinning threads)
 *   --no-native       skip the C baselines
 *   --pin-uffd        also run userfaultfd with both threads pinned to CPU 0
 *   --json            print one JSON array instead of the table
 */
import { parseArgs } from 'node:util';
import { isSkipped, type BaselineResult, type SkippedBaseline } from '../src/bench/baselines/harness.js';
import { NativeBuild, nativeBaselines, runNative } from '../src/bench/baselines/native.js';
import { parkPager } from '../src/bench/baselines/park.js';
import { postMessagePager } from '../src/bench/baselines/postmessage.js';
import { spinFloor } from '../src/bench/baselines/spin.js';

function list(name: string, s: string): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.some((x) => !Number.isInteger(x) || x < 1)) throw new RangeError(`option --${name} must be a comma-separated list of positive integers, got ${s}`);
  return v;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '1000' },
    procs: { type: 'string', default: '1,2,4,8,16' },
    pairs: { type: 'string', default: '1,2,4,8' },
    'no-native': { type: 'boolean', default: false },
    'pin-uffd': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const durationMs = Number(values.duration);
if (!Number.isFinite(durationMs) || durationMs <= 0) throw new RangeError(`option --duration must be a positive number, got ${values.duration}`);
const procsList = list('procs', values.procs);
const pairsList = list('pairs', values.pairs);

const results: Array<BaselineResult | SkippedBaseline> = [];
const progress = (r: BaselineResult | SkippedBaseline): void => {
  results.push(r);
  if (!values.json) process.stderr.write(`  done: ${r.name}${isSkipped(r) ? ' (skipped)' : ` procs=${r.procs}`}\n`);
};

for (const pairs of pairsList) progress(await spinFloor({ durationMs, pairs }));
for (const procs of procsList) progress(await parkPager({ procs, durationMs }));
for (const procs of procsList) progress(await postMessagePager({ procs, durationMs }));
if (!values['no-native']) {
  for (const r of await nativeBaselines({ durationMs })) progress(r);
  if (values['pin-uffd']) {
    const build = await NativeBuild.create();
    if (typeof build === 'string') progress({ name: 'userfaultfd', skipped: build });
    else {
      try {
        const r = await runNative(build, 'uffd', [String(Math.round(durationMs)), 'copy', '256', 'pin'], durationMs);
        progress(isSkipped(r) ? r : { ...r, name: 'userfaultfd(pinned)' });
      } finally {
        await build.dispose();
      }
    }
  }
}

if (values.json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const us = (ns: number): string => (Number.isFinite(ns) ? (ns / 1000).toFixed(ns < 10_000 ? 2 : 1) : '-');
  const rows: string[][] = [['baseline', 'procs', 'ops', 'ops/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'mean µs']];
  const notes: string[] = [];
  for (const r of results) {
    if (isSkipped(r)) { rows.push([r.name, '-', '-', 'skipped', '', '', '', '']); notes.push(`${r.name}: skipped: ${r.skipped}`); continue; }
    rows.push([r.name, String(r.procs), String(r.ops), Math.round(r.opsPerSec).toLocaleString('en-US'),
      us(r.p50Ns), us(r.p99Ns), us(r.p999Ns), us(r.meanNs)]);
    if (r.detail) notes.push(`${r.name} procs=${r.procs}: ${r.detail}`);
  }
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(w[c]!) : cell.padStart(w[c]!))).join('  '));
  if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
  console.log(`\n(spin-floor procs = pairs; latencies measured inside the faulting thread; window ${durationMs} ms each)`);
}
