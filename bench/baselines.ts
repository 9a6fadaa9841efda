/**
 * Every baseline of src/bench/baselines/ at several thread counts, in a table (or JSON): more
 * than `devpager bench` runs, to see how each scales.
 *
 *   node dist/bench/baselines.js [--duration 1000] [--procs 1,2,4,8,16] [--pairs 1,2,4,8] [--no-native] [--pin-uffd] [--json]
 */
import { isSkipped, type BaselineResult, type SkippedBaseline } from '../src/bench/baselines/harness.js';
import { NativeBuild, nativeBaselines, runNative } from '../src/bench/baselines/native.js';
import { parkPager } from '../src/bench/baselines/park.js';
import { postMessagePager } from '../src/bench/baselines/postmessage.js';
import { spinFloor } from '../src/bench/baselines/spin.js';
import { table } from '../src/bench/report.js';
import { fmtNsAsUs } from '../src/util/format.js';
import { benchArgs } from './common.js';

const o = benchArgs('baselines', 'Every baseline devpager bench reads its figures against, at several thread counts.', {
  duration: { kind: 'int', min: 1, max: 600_000, default: 1000, arg: 'MS', help: 'timed window per baseline (default 1000)' },
  procs: { kind: 'ints', min: 1, max: 64, default: [1, 2, 4, 8, 16], help: 'faulting threads for the pager baselines (default 1,2,4,8,16)' },
  pairs: { kind: 'ints', min: 1, max: 32, default: [1, 2, 4, 8], help: 'spin-floor pairs (default 1,2,4,8; 8 pairs = 16 spinning threads)' },
  'no-native': { kind: 'flag', help: 'skip the C baselines' },
  'pin-uffd': { kind: 'flag', help: 'also run userfaultfd with both threads pinned to CPU 0' },
  json: { kind: 'flag', help: 'print one JSON array instead of the table' },
});
const durationMs = o.duration;

const results: Array<BaselineResult | SkippedBaseline> = [];
const progress = (r: BaselineResult | SkippedBaseline): void => {
  results.push(r);
  if (!o.json) process.stderr.write(`  done: ${r.name}${isSkipped(r) ? ' (skipped)' : ` procs=${r.procs}`}\n`);
};

for (const pairs of o.pairs) progress(await spinFloor({ durationMs, pairs }));
for (const procs of o.procs) progress(await parkPager({ procs, durationMs }));
for (const procs of o.procs) progress(await postMessagePager({ procs, durationMs }));
if (!o['no-native']) {
  for (const r of await nativeBaselines({ durationMs })) progress(r);
  if (o['pin-uffd']) {
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

if (o.json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const rows: string[][] = [['baseline', 'procs', 'ops', 'ops/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'mean µs']];
  const notes: string[] = [];
  for (const r of results) {
    if (isSkipped(r)) { rows.push([r.name, '-', '-', 'skipped', '', '', '', '']); notes.push(`${r.name}: skipped: ${r.skipped}`); continue; }
    rows.push([r.name, String(r.procs), String(r.ops), Math.round(r.opsPerSec).toLocaleString('en-US'),
      fmtNsAsUs(r.p50Ns), fmtNsAsUs(r.p99Ns), fmtNsAsUs(r.p999Ns), fmtNsAsUs(r.meanNs)]);
    if (r.detail) notes.push(`${r.name} procs=${r.procs}: ${r.detail}`);
  }
  console.log(table(rows));
  if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
  console.log(`\n(spin-floor procs = pairs; latencies measured inside the faulting thread; window ${durationMs} ms each)`);
}
