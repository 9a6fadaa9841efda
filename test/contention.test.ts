/**
 * What the report shows can be checked: three runs, each built with one known contention point,
 * and the profile's verdict must name it — and must not name the points the run does not have.
 *
 *   slow driver:   d_mmap busy-waits 50 µs (test/fixtures/profile-drv.ts), 2 processes on their own pages
 *   hot page:      4 processes hammer mailbox + 0x1000 of /dev/prof0 (pmapRemove + store, again and again)
 *   CPUs:          4 processes for cpus: 1, each on its own pages
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime, type RuntimeOptions } from '../src/index.js';
import type { ProfileReport } from '../src/report/types.js';
import { withTimeout } from './helpers.js';

const DRV = new URL('./fixtures/profile-drv.js', import.meta.url);
const PROG = new URL('./fixtures/profile-prog.js', import.meta.url);

async function profiled(opts: RuntimeOptions, slowUs: number, runs: (rt: Runtime) => Promise<unknown>): Promise<ProfileReport> {
  const rt = await Runtime.create({
    memory: 16 << 20, trace: true, ...opts,
    devices: [{ name: 'prof', unit: 0, driver: DRV, config: { slowUs } }],
  });
  try {
    await runs(rt);
    return await rt.profile();
  } finally {
    await rt.close();
  }
}

const has = (r: ProfileReport, re: RegExp) => (r.findings ?? []).some((f) => re.test(f));
const SLOW = /^slow driver/;
const HOT = /^hot page/;
const CPUS = /^more processes than CPUs/;

test('a deliberately slow d_mmap: the verdict names the driver and its device', () =>
  withTimeout(90_000, async () => {
    const r = await profiled({ maxProcesses: 2, cpus: 4 }, 50, (rt) => Promise.all([0, 1].map((i) => rt.run(PROG, 'own', i, 150))));
    assert.match(r.verdict, SLOW, r.verdict);
    assert.match(r.verdict, /d_mmap of \/dev\/prof0 \(driver 'prof'\)/);
    assert.ok(!has(r, HOT) && !has(r, CPUS), `no other finding: ${JSON.stringify(r.findings)}`);
  }, 'slow d_mmap'));

test('a device page every process hammers: the verdict names the page, its region and the processes', () =>
  withTimeout(90_000, async () => {
    // Every request traced: a process of 1000 faults runs for a millisecond or two, so a sampled
    // trace (1 burst of 128 requests in traceSample) could miss all of one process's faults.
    const r = await profiled({ maxProcesses: 4, cpus: 8, traceSample: 1 }, 0, (rt) => Promise.all([0, 1, 2, 3].map((i) => rt.run(PROG, 'hammer', i, 200))));
    assert.match(r.verdict, HOT, r.verdict);
    assert.ok(r.verdict.includes('/dev/prof0 +0x1000 (mailbox +0x1000)'), r.verdict);
    assert.match(r.verdict, /from 4 processes \(pid \d+ profile-prog\.js/);
    assert.ok(!has(r, SLOW) && !has(r, CPUS), `no other finding: ${JSON.stringify(r.findings)}`);
    assert.ok(r.hotPages[0].label.startsWith('/dev/prof0 +0x1000 (mailbox +0x1000)'), r.hotPages[0].label);
  }, 'hot page'));

test('more processes than CPUs: the verdict names the oversubscription and the run queue', () =>
  withTimeout(90_000, async () => {
    const r = await profiled({ maxProcesses: 4, cpus: 1, quantum: 8 }, 0, (rt) => Promise.all([0, 1, 2, 3].map((i) => rt.run(PROG, 'own', i, 400))));
    assert.match(r.verdict, CPUS, r.verdict);
    assert.match(r.verdict, /4 processes for the 1 CPU\(s\) the pagers leave; they waited \d+% of their lives \(\d+% of their fault time\) in pager 0's run queue/);
    assert.ok(!has(r, SLOW) && !has(r, HOT), `no other finding: ${JSON.stringify(r.findings)}`);
  }, 'more processes than CPUs'));

test('more processes than CPUs in a runtime that idled first: the share is of the processes\' lives, not of the window', () =>
  withTimeout(90_000, async () => {
    // Two idle seconds before the processes start, as a slow start or a host that waits would
    // leave: measured against the window, their waits would fall below the finding's threshold.
    const r = await profiled({ maxProcesses: 4, cpus: 1, quantum: 8 }, 0, async (rt) => {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      return Promise.all([0, 1, 2, 3].map((i) => rt.run(PROG, 'own', i, 400)));
    });
    assert.match(r.verdict, CPUS, r.verdict);
  }, 'idle start'));

test.run();
