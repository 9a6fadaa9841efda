/**
 * Stress: processes concurrently map, touch, protect and unmap overlapping ranges of one device
 * region for >= 10 s (fixtures/stress-prog.ts lists the invariants each process checks), while
 * an anonymous-memory churner runs beside them and the host keeps writing a word of every page.
 * At the end the host checks device memory from outside: the shared counters equal the sum of all
 * processes' increments, each process's own word holds its last write, and the runtime holds no
 * reference or frame any more. Bounded by a timeout; nothing here asserts on timing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PAGE_SIZE } from '../src/index.js';
import { testSeed } from './helpers.js';
import { HOST_WORD, OWN, type StressResult } from './fixtures/stress-prog.js';
import { LOG_PATH, fixture, logDevice, logState, sleep, withRuntime } from './fixtures/pager-host.js';

const PS = PAGE_SIZE;
const PROG = fixture('stress-prog');
const PAGES = 12;
const DEVICE_PROCS = 4;
const SEED = testSeed(0x57e55);

async function stress(wait: 'adaptive' | 'park' | 'spin', pagers: number, RUN_MS: number, seed: number): Promise<void> {
  const opts = { memory: 32 << 20, pagers, wait, maxProcesses: 8, devices: [logDevice({ sizeA: PAGES * PS })] };
  await withRuntime(opts, RUN_MS + 25_000, `stress (${wait})`, async (rt) => {
    const st = logState(rt);
    const free0 = rt.stats().memory.freeFrames;
    const nprocs = DEVICE_PROCS;
    const deadline = Date.now() + RUN_MS;
    const hs = [];
    for (let k = 0; k < nprocs; k++) hs.push(rt.spawn(PROG, { dev: LOG_PATH, k, nprocs, pages: PAGES, seed: seed + k, deadline }));
    hs.push(rt.spawn(PROG, { dev: LOG_PATH, k: nprocs, nprocs, pages: PAGES, seed: seed + 99, deadline, anon: true }));
    let done = false;
    const all = Promise.all(hs.map((h) => h.exited)).finally(() => (done = true));
    // Meanwhile the host writes an increasing value into every page and samples the references.
    let hostSeq = 0;
    let maxRefs = 0;
    while (!done) {
      hostSeq++;
      for (let pg = 0; pg < PAGES; pg++) rt.kernel.store32(st.a + pg * PS + HOST_WORD * 4, hostSeq);
      const refs = rt.device(LOG_PATH).refs;
      assert.ok(refs >= 0, `refs went negative: ${refs}`);
      maxRefs = Math.max(maxRefs, refs);
      await sleep(20);
    }
    const sts = await all;
    const results: StressResult[] = [];
    for (const s of sts) {
      assert.not.ok(s.error, `pid ${s.pid}: ${s.error?.stack ?? s.error?.message}`);
      assert.not.ok(s.signal, `pid ${s.pid}: died by ${s.signal} ${JSON.stringify(s.siginfo)}`);
      results.push(s.result as StressResult);
    }
    if (process.env.DEVPAGER_VERBOSE) console.log(results.map((r) => ({ k: r.k, iterations: r.iterations, segvChecked: r.segvChecked })), { hostSeq, maxRefs });
    const violations = results.flatMap((r) => r.violations);
    assert.equal(violations, [], violations.join('\n'));
    for (const r of results) {
      assert.ok(r.iterations > 0, `process ${r.k} made no progress`);
      assert.ok(r.segvChecked > 0, `process ${r.k} never checked a revoked access`);
    }
    assert.ok(maxRefs > 0, 'the host saw the device mapped at some point');
    // Device memory, from the host.
    for (let pg = 0; pg < PAGES; pg++) {
      const sum = results.slice(0, nprocs).reduce((s, r) => s + r.adds[pg], 0);
      assert.is(rt.kernel.load32(st.a + pg * PS), sum, `page ${pg}: shared counter = sum of every process's atomicAdd32`);
      for (const r of results.slice(0, nprocs)) {
        assert.is(rt.kernel.load32(st.a + pg * PS + (OWN + r.k) * 4), r.lastWritten[pg], `page ${pg}: process ${r.k}'s word holds its last write`);
      }
      assert.is(rt.kernel.load32(st.a + pg * PS + HOST_WORD * 4), hostSeq, `page ${pg}: host word`);
    }
    const d = rt.device(LOG_PATH);
    assert.is(d.refs, 0, 'no reference left');
    assert.is(d.frees, d.attaches, 'every uvm_device created was freed');
    assert.is(rt.stats().memory.freeFrames, free0, 'every frame came back');
    const t = rt.stats().totals;
    assert.is(t.driverBugs, 0);
    assert.ok(t.dmmapCalls > 0 && t.faults > 0);
  });
}

test(`stress: ${DEVICE_PROCS} device processes + 1 anonymous churner for 10.5 s on 2 pagers (adaptive wait)`, async () => {
  await stress('adaptive', 2, 10_500, SEED);
});

test('stress: the same for 3 s with every wait parked (Atomics.wait/notify only), one pager', async () => {
  await stress('park', 1, 3_000, SEED + 1000);
});

test('stress: the same for 3 s with pure spinning (no parking anywhere), 2 pagers', async () => {
  await stress('spin', 2, 3_000, SEED + 2000);
});

test.run();
