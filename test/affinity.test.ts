/**
 * RuntimeOptions.pin (src/affinity.ts): the plan (pagers on the top cores, sharing them when they
 * would take them all; processes on the rest), the CPU-list parser, bad input, a thread that cannot
 * pin itself, and on Linux with taskset and at least two CPUs, the threads' real affinity read back
 * from /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allowedCpus, applyThreadPin, parseCpuList, pinPlan, pinUnavailable } from '../src/affinity.js';
import { Runtime } from '../src/index.js';
import { fixture, withRuntime } from './fixtures/pager-host.js';

test('parseCpuList reads ranges and single CPUs, sorted, and rejects junk', () => {
  assert.equal(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11]);
  assert.equal(parseCpuList('5\n'), [5]);
  assert.equal(parseCpuList('2,0-1'), [0, 1, 2]);
  assert.throws(() => parseCpuList('0-a'), /cannot parse CPU list/);
});

test('pinPlan: pagers on the top cores (shared round-robin when they would take them all), processes on the rest; none on one CPU', () => {
  assert.equal(pinPlan([0, 1], 1), { pagers: [[1]], processes: [0] });
  assert.equal(pinPlan([0, 1, 2, 3], 2), { pagers: [[3], [2]], processes: [0, 1] });
  assert.equal(pinPlan([4, 6, 9], 1), { pagers: [[9]], processes: [4, 6] });
  assert.equal(pinPlan([0, 1], 2), { pagers: [[1], [1]], processes: [0] });
  assert.equal(pinPlan([0, 1, 2, 3], 5), { pagers: [[3], [2], [1], [3], [2]], processes: [0] });
  assert.is(pinPlan([0], 1), null);
  assert.is(pinPlan([], 1), null);
});

test("options.pin must be true, false or 'auto'", async () => {
  for (const bad of ['yes', 1, 'on']) {
    try {
      const rt = await Runtime.create({ pin: bad as unknown as boolean });
      await rt.close();
      assert.unreachable(`accepted ${String(bad)}`);
    } catch (e) {
      assert.instance(e, TypeError);
      assert.match((e as Error).message, /options\.pin/);
    }
  }
});

const cpus = process.platform === 'linux' ? allowedCpus() : [];
const why = pinUnavailable() ?? (cpus.length < 2 ? `${cpus.length} CPU(s) allowed` : null);
if (why !== null) console.log(`# skipping the live pinning tests: ${why}`);
const live = why === null ? test : test.skip;

/** Cpus_allowed_list of every thread of this Node process. */
function threadCpuLists(): string[] {
  return readdirSync('/proc/self/task').map((t) => /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/self/task/${t}/status`, 'utf8'))![1]);
}

for (const pin of [true, undefined] as const) {
  live(`pin ${pin ?? "default ('auto')"}: the process thread runs on the cores below the pager, and the pager on the top core alone`, () =>
  withRuntime({ memory: 1 << 20, pin, prestart: 1 }, 30_000, 'pinned', async (rt) => {
    const plan = pinPlan(cpus, 1)!;
    assert.equal(rt.pinning, plan);
    assert.equal(parseCpuList((await rt.run(fixture('affinity-prog'))) as string), plan.processes);
    const lists = threadCpuLists().map((l) => parseCpuList(l).join(','));
    assert.ok(lists.includes(String(plan.pagers[0][0])), `a thread pinned to CPU ${plan.pagers[0][0]} alone: ${lists.join(' | ')}`);
  }));
}

live('pin false: threads keep every allowed CPU', () =>
  withRuntime({ memory: 1 << 20, pin: false, prestart: 1 }, 30_000, 'unpinned', async (rt) => {
    assert.is(rt.pinning, null);
    assert.equal(parseCpuList((await rt.run(fixture('affinity-prog'))) as string), cpus);
    assert.ok(threadCpuLists().every((l) => parseCpuList(l).join(',') === cpus.join(',')), 'no thread narrowed');
  }));

live('as many pagers as allowed CPUs: the pagers share the top core, processes get the rest', () =>
  withRuntime({ memory: 1 << 20, pagers: cpus.length, prestart: 1 }, 30_000, 'pagers = cores', async (rt) => {
    const top = cpus[cpus.length - 1];
    assert.equal(rt.pinning, pinPlan(cpus, cpus.length));
    assert.equal(parseCpuList((await rt.run(fixture('affinity-prog'))) as string), cpus.slice(0, -1));
    const lists = threadCpuLists().map((l) => parseCpuList(l).join(','));
    assert.ok(lists.filter((l) => l === String(top)).length >= cpus.length, `${cpus.length} threads (the pagers) on CPU ${top} alone: ${lists.join(' | ')}`);
  }));

live("a thread that cannot be pinned: fatal with pin true, ignored with 'auto'", () => {
  const bad = { cpus: [4095], strict: false };
  applyThreadPin(bad); // no CPU 4095 here: taskset fails, and 'auto' runs on unpinned
  assert.throws(() => applyThreadPin({ ...bad, strict: true }), /cannot pin thread \d+ to CPUs 4095/);
  applyThreadPin(null);
});

test.run();
