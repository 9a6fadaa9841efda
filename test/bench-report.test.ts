/**
 * What `devpager bench` concludes from its measurements, on constructed figures: which spin floor
 * the ratios use, that every target applies (or says why it cannot), and how its options parse.
 * No thread is started here; the measurements themselves are tested in bench-cell.test.ts and,
 * from an installed package, in package.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { summariseFloor, type FloorReading } from '../src/bench/baselines/floor.js';
import type { BaselineResult } from '../src/bench/baselines/harness.js';
import type { Baselines } from '../src/bench/baselines/suite.js';
import type { CellResult } from '../src/bench/cell.js';
import { computeRatios, computeTargets, warmupsText } from '../src/bench/report.js';
import { measureCell } from '../src/bench/matrix.js';
import { UsageError, parseOptions } from '../src/cli/args.js';
import { parseBenchArgs } from '../src/cli/bench.js';
import { Progress } from '../src/cli/progress.js';

function floorResult(name: string, p50Ns: number): BaselineResult {
  return { name, procs: 1, ops: 1000, elapsedMs: 200, opsPerSec: 1e9 / p50Ns, p50Ns, p99Ns: 2 * p50Ns, p999Ns: 3 * p50Ns, meanNs: p50Ns };
}

function reading(moment: FloorReading['moment'], pinned: boolean, p50Ns: number | string): FloorReading {
  const name = pinned ? 'spin-floor-pinned' : 'spin-floor';
  return { moment, pinned, result: typeof p50Ns === 'string' ? { name, skipped: p50Ns } : floorResult(name, p50Ns) };
}

function cell(workload: CellResult['workload'], procs: number, pagers: number, faultsPerSec: number, p50Ns = 1000): CellResult {
  return { workload, mode: 'processes', procs, pagers, wait: 'adaptive', faultsPerSec, p50Ns } as CellResult;
}

function baselines(readings: FloorReading[]): Baselines {
  return { spinFloor: { ...summariseFloor(readings), readings }, park: [], postMessage: [], native: [] };
}

test('the floor is the lowest of each kind\'s median reading and the readings next to the reference cell', () => {
  const f = summariseFloor([
    reading('start', false, 270), reading('start', true, 380),
    reading('reference', true, 400), reading('reference', false, 982),
    reading('end', false, 971), reading('end', true, 2000),
  ]);
  assert.is((f.unpinned as BaselineResult).p50Ns, 971, 'unpinned: the median of 270, 982, 971');
  assert.is((f.pinned as BaselineResult).p50Ns, 400, 'pinned: the median of 380, 400, 2000');
  assert.is((f.reference as BaselineResult).p50Ns, 400, 'next to the reference cell: the lower of 400, 982');
  assert.is(f.floor, f.pinned, 'a tie goes to the median');
  assert.is(f.source, 'pinned');
  assert.is((f.floor as BaselineResult).name, 'spin-floor-pinned');
  // An even count gives an actual reading, the lower middle one.
  const even = summariseFloor([reading('start', false, 500), reading('end', false, 300)]);
  assert.is((even.unpinned as BaselineResult).p50Ns, 300);
  assert.is(even.source, 'unpinned');
  assert.ok('skipped' in even.reference, 'no reading next to the reference cell');
});

test('a VM in its slow mode for most readings: the reading next to the reference cell is the floor, so a fault is never below it', () => {
  // A fresh-clone run on the 2-vCPU VM: 902, 230, 932 unpinned; 912, 251, 932 pinned; the
  // reference cell ran in the fast mode (p50 340 ns), which the medians (902, 912) miss.
  const readings = [
    reading('start', false, 902), reading('start', true, 912),
    reading('reference', true, 251), reading('reference', false, 230),
    reading('end', false, 932), reading('end', true, 932),
  ];
  const f = summariseFloor(readings);
  assert.is(f.source, 'reference');
  assert.is((f.floor as BaselineResult).p50Ns, 230);
  const b = baselines(readings);
  const r = computeRatios([cell('refault', 1, 1, 1e6, 340)], b, null);
  assert.ok(Math.abs(r.faultP50VsSpinFloor - 340 / 230) < 1e-9, `${r.faultP50VsSpinFloor}`);
  const t = computeTargets(r, b, null, 2, [cell('refault', 1, 1, 1e6, 340)]).find((x) => x.name === 'fault p50 vs spin floor')!;
  assert.match(t.detail, /230 ns \(read next to the reference cell, unpinned; medians pinned 912 ns, unpinned 902 ns; next to the reference cell 230 ns\)/);
});

test('a kind that could not be read leaves the floor to the other; none gives a skip with the reason', () => {
  const f = summariseFloor([reading('start', false, 900), reading('start', true, 'cannot pin like the cells: one CPU')]);
  assert.is((f.floor as BaselineResult).p50Ns, 900);
  assert.equal(f.pinned, { name: 'spin-floor-pinned', skipped: 'cannot pin like the cells: one CPU' });
  const none = summariseFloor([reading('start', false, 'failed: x'), reading('start', true, 'failed: y')]);
  assert.ok('skipped' in none.floor);
  assert.ok('skipped' in summariseFloor([]).floor, 'no reading at all is a skip, not a crash');
});

test('the fault p50 ratio uses the lower floor', () => {
  const b = baselines([reading('start', false, 1000), reading('start', true, 250)]);
  const r = computeRatios([cell('refault', 1, 1, 1e6, 750)], b, null);
  assert.is(r.faultP50VsSpinFloor, 3);
});

test('the 1-process target applies on a slow floor too: its goal scales with the floor', () => {
  const t = (floorNs: number | null, rate: number) => {
    const b = floorNs === null ? null : baselines([reading('start', false, floorNs)]);
    const results = [cell('refault', 1, 1, rate), cell('refault', 1, 2, rate / 2)];
    const all = computeTargets(computeRatios(results, b, null), b, null, 2, results);
    return all.find((x) => x.name.startsWith('1 process'))!;
  };
  // A floor <= 0.5 µs: the goal is 1 M.
  assert.is(t(400, 1.2e6).pass, true);
  assert.is(t(400, 0.9e6).pass, false);
  assert.ok(Math.abs(t(400, 0.9e6).value - 0.9) < 1e-9);
  // A 1 µs floor: the goal is 500k, and a slow rate fails instead of passing by default.
  assert.is(t(1000, 0.6e6).pass, true);
  assert.is(t(1000, 0.3e6).pass, false, 'a slow floor does not switch the target off');
  assert.match(t(1000, 0.3e6).detail, /500k\/s = 1 M x 0.5 µs \/ spin floor 1000 ns/);
  // No floor measured: the 1 M goal, unscaled, and the detail says so.
  assert.is(t(null, 0.9e6).pass, false);
  assert.match(t(null, 0.9e6).detail, /not scaled/);
  for (const f of [400, 1000, null]) assert.not.match(t(f, 1e6).detail, /does not apply/);
});

test('a missed 16-process target says what the spin cells of the same run show', () => {
  const why = (spin16: number | null) => {
    const results = [cell('random', 1, 1, 700e3), cell('random', 16, 1, 300e3)];
    if (spin16 !== null) results.push({ ...cell('random', 1, 1, 700e3), wait: 'spin' } as CellResult, { ...cell('random', 16, 1, spin16), wait: 'spin' } as CellResult);
    const t = computeTargets(computeRatios(results, null, null), null, null, 2, results).find((x) => x.name.startsWith('16 procs'))!;
    assert.is(t.pass, false);
    return t.detail;
  };
  assert.match(why(350e3), /with spin \(no run queue\) the same workload keeps 50% of x1 \(350k\/s vs 700k\/s\)/);
  assert.match(why(210e3), /keeps 30% of x1/);
  assert.match(why(null), /no spin cells to compare with/);
});

test('a 16-process miss in cells with as many pagers as cores says what the same processes did with fewer pagers', () => {
  const why = (onePager16: number) => {
    const results = [
      cell('page_fault', 1, 1, 1e6), cell('page_fault', 16, 1, onePager16),
      cell('page_fault', 1, 2, 800e3), cell('page_fault', 16, 2, 300e3),
    ];
    const t = computeTargets(computeRatios(results, null, null), null, null, 2, results).find((x) => x.name.startsWith('16 procs'))!;
    assert.is(t.pass, false, 'the verdict covers every cell');
    return t.detail;
  };
  assert.match(why(700e3), /2 pagers on 2 cores share a core/);
  assert.match(why(700e3), /the same 16 processes with 1 pager ran 700k\/s \(70% of its best\), and every cell with fewer pagers than cores holds the target/);
  assert.match(why(400e3), /with 1 pager ran 400k\/s \(40% of its best\), but cells with fewer pagers than cores miss too/);
  // On 4 cores two pagers each have one: the sharing is not the reason, and not given.
  const results = [cell('page_fault', 1, 1, 1e6), cell('page_fault', 16, 1, 700e3), cell('page_fault', 1, 2, 800e3), cell('page_fault', 16, 2, 300e3)];
  const t4 = computeTargets(computeRatios(results, null, null), null, null, 4, results).find((x) => x.name.startsWith('16 procs'))!;
  assert.not.match(t4.detail, /share a core/);
  assert.match(t4.detail, /no spin cells to compare with/);
});

test('the warm-ups: settled or cut, and a 16-process target measured after a cut warm-up says so', () => {
  const settled = { pagers: 1, wait: 'adaptive' as const, procs: 16, ms: 6100, limitMs: 8000, rates: { page_fault: [50e3, 400e3, 700e3, 690e3, 700e3] }, stillRising: [] };
  const cut = { pagers: 2, wait: 'adaptive' as const, procs: 16, ms: 4100, limitMs: 4000, rates: { page_fault: [40e3, 300e3, 900e3], random: [] }, stillRising: ['page_fault', 'random'] };
  const text = warmupsText([settled, cut]);
  assert.match(text, /pagers=1 adaptive x16: 6\.1 s, page_fault 50\.0k→700k; settled/);
  assert.match(text, /pagers=2 adaptive x16: 4\.1 s, page_fault 40\.0k→900k; ended at its limit \(4\.0 s\) while page_fault still rose; random not warmed at all/);
  const results = [cell('page_fault', 1, 1, 1e6), cell('page_fault', 16, 1, 700e3), cell('page_fault', 1, 2, 1e6), cell('page_fault', 16, 2, 300e3)];
  const target = (w: Parameters<typeof warmupsText>[0]) => computeTargets(computeRatios(results, null, null), null, null, 2, results, w).find((x) => x.name.startsWith('16 procs'))!.detail;
  assert.match(target([settled, cut]), /the warm-up of that runtime ended at its limit after 4\.1 s with page_fault, random not settled/);
  assert.not.match(target([settled, { ...cut, stillRising: [] }]), /warm-up/, 'a settled warm-up is not mentioned');
  assert.not.match(target([{ ...settled, stillRising: ['page_fault'] }, { ...cut, stillRising: [] }]), /warm-up/, 'only the worst cell\'s runtime counts');
});

test('a target that cannot be evaluated says why', () => {
  const results = [cell('refault', 1, 1, 1e6)];
  const all = computeTargets(computeRatios(results, null, null), null, null, 2, results);
  for (const x of all.filter((x) => x.pass === null)) assert.ok(x.detail.length > 0, `${x.name} gives a reason`);
  assert.match(all.find((x) => x.name === 'fault p50 vs spin floor')!.detail, /--no-baselines/);
});

test('declared options: values are read and checked, errors name the option', () => {
  const specs = {
    runs: { kind: 'int', min: 1, max: 9, default: 3, help: 'runs' },
    wait: { kind: 'choices', choices: ['spin', 'park'], help: 'waits' },
    pin: { kind: 'choice', choices: ['on', 'off'], default: 'on', help: 'pin' },
    json: { kind: 'string', help: 'file' },
    quick: { kind: 'flag', help: 'quick' },
  } as const;
  assert.equal(parseOptions([], specs), { runs: 3, wait: undefined, pin: 'on', json: undefined, quick: false });
  assert.equal(parseOptions(['--runs', '5', '--wait', 'park,spin', '--pin', 'off', '--json', 'x.json', '--quick'], specs),
    { runs: 5, wait: ['park', 'spin'], pin: 'off', json: 'x.json', quick: true });
  for (const [argv, re] of [
    [['--runs', '0'], /--runs must be an integer in \[1, 9\]/],
    [['--runs', '2.5'], /--runs/],
    [['--wait', 'spin,nap'], /--wait: unknown value 'nap'/],
    [['--pin', 'on,off'], /--pin takes one of on, off/],
    [['--json='], /--json needs a value/],
    [['--nope'], /--nope/],
    [['stray'], /stray/],
  ] as const) {
    assert.throws(() => parseOptions(argv, specs), (e: Error) => e instanceof UsageError && re.test(e.message), argv.join(' '));
  }
});

test('devpager bench arguments: --quick defaults, explicit values win, bad values are usage errors', () => {
  const q = parseBenchArgs(['--quick'])!;
  assert.equal([q.durationMs, q.procs, q.pagers, q.waits, q.warmupMs], [100, [1, 4], [1], ['adaptive'], 2000]);
  const o = parseBenchArgs(['--quick', '--procs', '2,16', '--duration', '70', '--pin', 'off', '--memory', '128M'])!;
  assert.equal([o.durationMs, o.procs, o.pin, o.memory], [70, [2, 16], 'off', 128 << 20]);
  assert.is(parseBenchArgs(['--help']), null);
  assert.throws(() => parseBenchArgs(['--stats-sample', '3']), /power of two/);
  assert.throws(() => parseBenchArgs(['--memory', '1k']), /--memory/);
});

test('a disturbed cell is measured again, up to 3 times within the budget, keeping the least disturbed', async () => {
  const runs = (others: number[]) => {
    let i = 0;
    return async () => ({ ...cell('refault', 16, 1, 1e6 - i), otherCores: others[i++], attempts: 1 });
  };
  const quiet = await measureCell(runs([0.05, 0.9]), { left: 10 });
  assert.equal([quiet.otherCores, quiet.attempts], [0.05, 1], 'a quiet cell is measured once');
  const budget = { left: 10 };
  const r = await measureCell(runs([0.9, 0.4, 0.6, 0.0]), budget);
  assert.equal([r.otherCores, r.attempts, budget.left], [0.4, 3, 8], 'three measurements, the least disturbed kept');
  const poor = { left: 1 };
  const p = await measureCell(runs([0.9, 0.8, 0.0]), poor);
  assert.equal([p.otherCores, p.attempts, poor.left], [0.8, 2, 0], 'no more than the budget');
  const off = await measureCell(runs([NaN, 0]), { left: 10 });
  assert.is(off.attempts, 1, 'no /proc/stat (not Linux): measured once');
});

test('the progress bar survives more steps than it announced (a TTY that ran the whole bench crashed)', () => {
  const lines: string[] = [];
  const tty = { isTTY: true, columns: 80, write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WriteStream;
  const p = new Progress(3, 300, tty);
  try {
    for (let i = 0; i < 6; i++) p.step(`step ${i}`, 100);
  } finally {
    p.end();
  }
  const last = lines.filter((l) => l.includes('step 5')).pop() ?? '';
  assert.ok(last.includes(`[${'#'.repeat(24)}]`), `a full bar at the sixth of three steps: ${JSON.stringify(last)}`);
  assert.ok(last.includes('3/3'), 'the step count stays at the total');
});

test.run();
