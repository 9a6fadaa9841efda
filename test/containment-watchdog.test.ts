/**
 * a watchdog for driver code.
 *
 * Option assumed: Runtime.create({ driverTimeoutMs }) (API.md "Containment"), default 1000. A
 * d_mmap past it is a driver bug: its process gets SIGSEGV, the pager is replaced, everyone else
 * runs on, kill() and close() stay prompt, and Runtime.create rejects (naming the device, leaving
 * nothing running) when attach or a driver module load overruns.
 *
 * The hung d_mmap of the fuzzing device (fixtures/fuzz-drv.ts) spins until a kernel word is set,
 * so each test lets it go in its cleanup and today's wedged pagers cannot keep the file alive.
 *
 *   node dist/test/run.js containment-watchdog
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime, type RuntimeOptions } from '../src/index.js';
import { withTimeout } from './helpers.js';
import { fuzzDevice } from './fixtures/fuzz-host.js';
import { DEV_PATH, HANG_OFF, RELEASE_WORD, type FuzzDevState } from './fixtures/fuzz-layout.js';
import { INDEX, captureWarnings, exitGuard, fixtureUrl, lastJson, runChild } from './fixtures/repro-util.js';

const HOSTILE = fixtureUrl('hostile-prog');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const FAULTS = { pages: 64, rounds: 30 };

async function withRt<T>(opts: RuntimeOptions, ms: number, what: string, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await withTimeout(15_000, Runtime.create(opts), `${what}: Runtime.create`);
  try {
    return await withTimeout(ms, () => fn(rt), what);
  } finally {
    // let any hung d_mmap return, so that today's wedged pager cannot hold the close
    rt.kernel.store32((rt.device(DEV_PATH).state as FuzzDevState).dir + RELEASE_WORD * 4, 1);
    await withTimeout(20_000, rt.close(), `${what}: rt.close`);
  }
}

const elapsed = (t0: number) => performance.now() - t0;

test('14.2 a d_mmap that never returns: SIGSEGV for its process within driverTimeoutMs, counted and warned; the pager is replaced and its other processes run on', async () => {
  const w = captureWarnings();
  try {
    const opts = { memory: 32 << 20, pagers: 1, devices: [fuzzDevice()], driverTimeoutMs: 300 } as RuntimeOptions;
    await withRt(opts, 60_000, 'hung d_mmap', async (rt) => {
      const bugs0 = rt.stats().totals.driverBugs;
      const neighbour = rt.spawn(HOSTILE, 'faults', FAULTS);
      const t0 = performance.now();
      const victim = await withTimeout(10_000, rt.spawn(HOSTILE, 'hang-fault').exited, 'the victim ends');
      assert.is(victim.signal, 'SIGSEGV', `victim: ${JSON.stringify(victim)}`);
      assert.ok(elapsed(t0) < 300 + 2000, `signalled after ${elapsed(t0).toFixed(0)} ms (driverTimeoutMs 300)`);
      const n = await withTimeout(20_000, neighbour.exited, 'the neighbour on the same pager');
      assert.equal(n.result && (n.result as { faults: number }).faults, FAULTS.pages * FAULTS.rounds, `neighbour: ${JSON.stringify(n)}`);
      // new processes are not sent to a wedged pager
      for (let i = 0; i < 4; i++) await withTimeout(10_000, rt.run(HOSTILE, 'faults', { pages: 16, rounds: 4 }), `process ${i} after the hang`);
      assert.ok(rt.stats().totals.driverBugs > bugs0, 'the overrun is counted as a driver bug');
      const warned = w.text().split('\n').find((l) => l.includes(DEV_PATH) && l.includes(`0x${HANG_OFF.toString(16)}`));
      assert.ok(warned, `a warning names the device and the offset 0x${HANG_OFF.toString(16)}: ${JSON.stringify(w.text().slice(-400))}`);
      assert.match(warned!, /\d+\s*ms/, 'and the time it ran');
    });
  } finally {
    w.stop();
  }
});

test('14.2 kill() of a process stuck in a d_mmap that never returns takes well under a second, and so does close()', async () => {
  const opts = { memory: 32 << 20, pagers: 1, devices: [fuzzDevice()], driverTimeoutMs: 5000 } as RuntimeOptions;
  await withRt(opts, 60_000, 'kill and close', async (rt) => {
    const h = rt.spawn(HOSTILE, 'hang-fault');
    await sleep(200);
    const tk = performance.now();
    h.kill();
    const st = await withTimeout(10_000, h.exited, 'exited after kill');
    assert.is(st.signal, 'SIGKILL');
    assert.ok(elapsed(tk) < 1000, `kill took ${elapsed(tk).toFixed(0)} ms`);
    assert.is(await withTimeout(10_000, rt.run(HOSTILE, 'faults', { pages: 8, rounds: 2 }), 'a process after the kill').then((r) => (r as { faults: number }).faults), 16);
    rt.spawn(HOSTILE, 'hang-fault');
    await sleep(200);
    const tc = performance.now();
    await withTimeout(10_000, rt.close(), 'close with a process in a hung d_mmap');
    assert.ok(elapsed(tc) < 1000, `close took ${elapsed(tc).toFixed(0)} ms`);
  });
});

test('14.2 driverTimeoutMs defaults to 1000 ms', async () => {
  await withRt({ memory: 32 << 20, devices: [fuzzDevice()] }, 30_000, 'default timeout', async (rt) => {
    const t0 = performance.now();
    const st = await withTimeout(10_000, rt.spawn(HOSTILE, 'hang-fault').exited, 'the victim ends');
    assert.is(st.signal, 'SIGSEGV');
    assert.ok(elapsed(t0) > 900 && elapsed(t0) < 1000 + 2000, `signalled after ${elapsed(t0).toFixed(0)} ms`);
  });
});

test('14.2 a d_mmap that hangs at mmap time: the mmap raises SIGSEGV, the runtime runs on', async () => {
  const opts = { memory: 32 << 20, devices: [fuzzDevice()], driverTimeoutMs: 300 } as RuntimeOptions;
  await withRt(opts, 30_000, 'hung at mmap', async (rt) => {
    const st = await withTimeout(10_000, rt.spawn(HOSTILE, 'hang-mmap').exited, 'the victim ends');
    assert.is(st.signal, 'SIGSEGV', JSON.stringify(st));
    assert.is(await withTimeout(10_000, rt.run(HOSTILE, 'faults', { pages: 8, rounds: 2 }), 'after').then((r) => (r as { faults: number }).faults), 16);
  });
});

/** Runtime.create in a child that must end by itself: it prints { name, message, ms } or { created }. */
function createChild(driver: string, extra = ''): string {
  return `import { Runtime } from ${JSON.stringify(INDEX)};
    const t0 = Date.now();
    try {
      const rt = await Runtime.create({ memory: 1 << 20, ${extra} devices: [{ name: ${JSON.stringify(driver.replace('-', ''))}, unit: 0, driver: ${JSON.stringify(fixtureUrl(`${driver}-drv`).href)} }] });
      console.log(JSON.stringify({ created: true, ms: Date.now() - t0 }));
      await rt.close();
    } catch (e) {
      console.log(JSON.stringify({ name: e?.name, message: String(e?.message), ms: Date.now() - t0 }));
    }`;
}

for (const [driver, what] of [['attach-never', 'attach returns a promise that never settles'], ['load-block', 'the driver module never finishes loading in the pager thread']] as const) {
  for (const timeout of [300, null]) {
    test(`14.2 Runtime.create rejects within driverTimeoutMs (${timeout ?? 'default 1000'}), naming the device, when ${what}; nothing is left running`, async () => {
      const r = await runChild(createChild(driver, timeout ? `driverTimeoutMs: ${timeout},` : ''), 10_000);
      assert.ok(r.code !== null, `the child did not end by itself within 10 s (Runtime.create hung, or something kept running); stderr: ${r.stderr.slice(-300)}`);
      const out = lastJson<{ created?: boolean; name?: string; message?: string; ms: number }>(r);
      assert.ok(out && !out.created, `Runtime.create must reject (child exit code ${r.code}, printed ${JSON.stringify(r.stdout)}: it never settled if nothing was printed)`);
      assert.match(out!.message!, driver === 'attach-never' ? /\/dev\/attachnever0/ : /\/dev\/loadblock0/, `the message names the device: ${out!.message}`);
      assert.ok(out!.ms < (timeout ?? 1000) + 2500, `rejected after ${out!.ms} ms`);
    });
  }
}

exitGuard(test);
test.run();
