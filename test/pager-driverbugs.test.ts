/**
 * Driver misbehaviour and runtime lifecycle.
 *
 * - d_mmap that throws or returns something other than an in-arena kernel frame or -1 (NaN, 1.5,
 *   '3', undefined, -2, a frame past the arena, the kernel VA itself, atop(kva) without
 *   pmapExtract, a kmFree'd frame): at mmap time -> EINVAL, at fault time -> SIGSEGV; each call
 *   counted in rt.stats().totals.driverBugs; the pager keeps serving.
 * - Runtime.create with bad options rejects naming the option, and leaves nothing running (checked
 *   in a child node process that must exit by itself).
 * - rt.close() is idempotent and ends processes that never end; h.kill() is SIGKILL and gives back
 *   the slot, the frames and the device references.
 */
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PAGE_SIZE, Runtime } from '../src/index.js';
import {
  BUG_ATOP_KVA, BUG_FRACTION, BUG_FREED, BUG_KVA, BUG_NAMES, BUG_NAN, BUG_NEGATIVE, BUG_OUTSIDE, BUG_STRING, BUG_THROW,
  BUG_UNDEFINED, BUGF_FAULT_ONLY, CTL_BUGFLAGS, CTL_BUGFROM, CTL_MODE,
} from './fixtures/logdrv.js';
import { HostSync, LOGDRV, LOG_PATH, fixture, logDevice, logState, resetLog, withRuntime, withTimeout } from './fixtures/pager-host.js';

const PS = PAGE_SIZE;
const PROG = fixture('driverbugs-prog');
const HANG = fixture('hang-prog');
const STRAY = fixture('stray-prog');
const OFFC = 64 * PS;
const ARGS = { dev: LOG_PATH, offC: OFFC };
const MODES = [BUG_THROW, BUG_NAN, BUG_FRACTION, BUG_STRING, BUG_UNDEFINED, BUG_NEGATIVE, BUG_OUTSIDE, BUG_KVA, BUG_ATOP_KVA, BUG_FREED];

type Caught = { name: string; code?: string; errno?: number; syscall?: string; signal?: string; addr?: number; message: string } | null;

// ------------------------------------------------------------------------------ d_mmap bugs

test('driver bugs at mmap time: EINVAL, every bad answer counted, the pager keeps serving', async () => {
  // One log device only: a second unit's attach could pick up the frame BUG_FREED hands out.
  await withRuntime({ memory: 16 << 20, devices: [logDevice()] }, 60_000, 'bugs at mmap', async (rt) => {
    {
      for (const mode of MODES) {
        const name = BUG_NAMES[mode];
        resetLog(rt);
        const bugs0 = rt.stats().totals.driverBugs;
        const r = (await rt.run(PROG, 'atMmap', { ...ARGS, mode })) as { r: Caught; calls: number; ok: Caught };
        assert.ok(r.r, `${name}: mmap succeeded over a driver that answers garbage`);
        assert.is(r.r!.code, 'EINVAL', `${name}: ${r.r!.message}`);
        assert.is(r.r!.syscall, 'mmap');
        // udv_attach is tried with prot 7, 6, ..., 1 and each walk stops at page 0.
        assert.is(r.calls, 7, `${name}: d_mmap calls during the failed mmap`);
        assert.is(rt.stats().totals.driverBugs - bugs0, 7, `${name}: each bad answer counted in totals.driverBugs`);
        assert.is(rt.stats().driverBugs - bugs0, 7, `${name}: stats().driverBugs mirrors totals`);
        assert.is(r.ok, null, `${name}: once the driver behaves, the same process maps and touches fine`);
        assert.is(rt.device(LOG_PATH).refs, 0, `${name}: no reference left`);
      }
      assert.is(await rt.run(PROG, 'normal', ARGS), 406, 'a following normal process works');
    }
  });
});

test('driver bugs at fault time: SIGSEGV SEGV_MAPERR at the exact address, counted once, nothing cached', async () => {
  await withRuntime({ memory: 16 << 20, devices: [logDevice()] }, 60_000, 'bugs at fault', async (rt) => {
    {
      for (const mode of MODES) {
        const name = BUG_NAMES[mode];
        resetLog(rt);
        const bugs0 = rt.stats().totals.driverBugs;
        const r = (await rt.run(PROG, 'atFault', { ...ARGS, mode })) as { va: number; page0: number; bad: Caught; calls: number; after: number };
        assert.ok(r.bad, `${name}: the fault succeeded over a driver that answers garbage`);
        assert.is(r.bad!.name, 'SignalError', `${name}: ${r.bad!.message}`);
        assert.is(r.bad!.signal, 'SIGSEGV', `${name}: SIGSEGV, not SIGBUS`);
        assert.is(r.bad!.code, 'SEGV_MAPERR', name);
        assert.is(r.bad!.addr, r.va + PS + 4, `${name}: exact faulting address`);
        assert.is(r.calls, 2, `${name}: one d_mmap for page 0, one for the bad page`);
        assert.is(rt.stats().totals.driverBugs - bugs0, 1, `${name}: one bug counted`);
        assert.is(r.after, 6, `${name}: after the driver behaves again the page faults in and works`);
      }
      assert.is(await rt.run(PROG, 'normal', ARGS), 406, 'a following normal process works');
    }
  });
});

test('driver bugs with two pagers: uncaught fault-time bugs kill only their processes; the others run on', async () => {
  await withRuntime({ memory: 16 << 20, pagers: 2, devices: [logDevice()] }, 60_000, 'two pagers', async (rt) => {
    // The driver throws for page 1 at fault time only (mmap-time walks, prot with EXEC, succeed).
    const st = logState(rt);
    rt.kernel.store32(st.ctl + CTL_BUGFROM * 4, PS);
    rt.kernel.store32(st.ctl + CTL_BUGFLAGS * 4, BUGF_FAULT_ONLY);
    rt.kernel.store32(st.ctl + CTL_MODE * 4, BUG_THROW);
    const bugs0 = rt.stats().totals.driverBugs;
    const dying = Array.from({ length: 4 }, () => rt.spawn(PROG, 'touchPage1', ARGS));
    const living = Array.from({ length: 2 }, () => rt.spawn(PROG, 'touchPage0', ARGS));
    const sts = await Promise.all([...dying, ...living].map((h) => h.exited));
    for (const s of sts.slice(0, 4)) {
      assert.is(s.signal, 'SIGSEGV', `pid ${s.pid}: ${JSON.stringify(s)}`);
      assert.is(s.siginfo?.code, 'SEGV_MAPERR');
    }
    for (const s of sts.slice(4)) assert.is(s.result, 7, `pid ${s.pid}: ${s.error?.message ?? s.signal ?? ''}`);
    assert.is(rt.stats().totals.driverBugs - bugs0, 4, 'one bug per dying process');
    resetLog(rt);
    assert.is(await rt.run(PROG, 'normal', ARGS), 406, 'a following normal process works');
    assert.is(rt.device(LOG_PATH).refs, 0);
  });
});

// ------------------------------------------------------------------------------ Runtime.create

const here = new URL('.', import.meta.url);
const INDEX = new URL('../src/index.js', import.meta.url).href;

/** Bad option sets; `expect` must appear in the error message. Runs in a child node process. */
const BAD: { label: string; expect: RegExp; opts: Record<string, unknown> }[] = [
  { label: 'memory 0', expect: /memory/, opts: { memory: 0 } },
  { label: 'memory -1', expect: /memory/, opts: { memory: -1 } },
  { label: 'memory NaN', expect: /memory/, opts: { memory: NaN } },
  { label: "memory '64M'", expect: /memory/, opts: { memory: '64M' } },
  { label: 'memory > 4 GiB', expect: /memory/, opts: { memory: 2 ** 32 + PS } },
  { label: 'memory Infinity', expect: /memory/, opts: { memory: Infinity } },
  { label: 'unknown device module', expect: /driver/, opts: { memory: 16 << 20, devices: [{ name: 'x', unit: 0, driver: new URL('./fixtures/no-such-driver.js', here).href }] } },
  {
    label: 'duplicate device path', expect: /\/dev\/log0/,
    opts: { memory: 16 << 20, devices: [{ name: 'log', unit: 0, driver: LOGDRV.href }, { name: 'log', unit: 0, driver: LOGDRV.href }] },
  },
  { label: 'module without a driver', expect: /driver/, opts: { memory: 16 << 20, devices: [{ name: 'nd', unit: 0, driver: new URL('./fixtures/nodriver.js', here).href }] } },
  { label: 'driver without mmap', expect: /mmap/, opts: { memory: 16 << 20, devices: [{ name: 'nm', unit: 0, driver: new URL('./fixtures/nommap.js', here).href }] } },
  { label: "wait 'bogus'", expect: /wait/, opts: { memory: 16 << 20, wait: 'bogus' } },
  { label: 'unknown option', expect: /bogusOption/, opts: { memory: 16 << 20, bogusOption: 1 } },
  { label: 'pagers 0', expect: /pagers/, opts: { memory: 16 << 20, pagers: 0 } },
  { label: 'devices not an array', expect: /devices/, opts: { memory: 16 << 20, devices: {} } },
  { label: 'attach throws', expect: /\/dev\/ta0|attach/, opts: { memory: 16 << 20, devices: [{ name: 'ta', unit: 0, driver: new URL('./fixtures/throwattach-drv.js', here).href }] } },
  { label: 'driver fails to load in the pager', expect: /pager|refusing/, opts: { memory: 16 << 20, pagers: 2, devices: [{ name: 'pf', unit: 0, driver: new URL('./fixtures/pagerfail-drv.js', here).href }] } },
];

// CommonJS `node -e` with a dynamic import (the --input-type=module form has its own test below).
const CHILD = `
(async () => {
  const { Runtime } = await import(${JSON.stringify(INDEX)});
  const cases = JSON.parse(process.env.DEVPAGER_BAD_CASES);
  const out = [];
  for (const c of cases) {
    const opts = c.opts;
    if (opts.memory === 'NaN') opts.memory = NaN;
    if (opts.memory === 'Infinity') opts.memory = Infinity;
    try {
      const rt = await Runtime.create(opts);
      out.push({ label: c.label, created: true });
      await rt.close();
    } catch (e) {
      out.push({ label: c.label, name: e && e.name, message: String(e && e.message) });
    }
  }
  console.log(JSON.stringify(out));
  // no process.exit: the child must end by itself, i.e. nothing is left running
})();
`;

test('Runtime.create rejects bad options naming the option, and leaves nothing running (child exits by itself)', async () => {
  const cases = BAD.map((c) => ({
    label: c.label,
    opts: { ...c.opts, memory: Number.isNaN(c.opts.memory) ? 'NaN' : c.opts.memory === Infinity ? 'Infinity' : c.opts.memory },
  }));
  const child = spawn(process.execPath, ['-e', CHILD], {
    env: { ...process.env, DEVPAGER_BAD_CASES: JSON.stringify(cases) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let code: number | null;
  try {
    code = await withTimeout(30_000, new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))), 'child with rejected creates (something kept it alive)');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  assert.is(code, 0, `child exit code; stderr: ${stderr}`);
  const results = JSON.parse(stdout.trim().split('\n').pop()!) as { label: string; created?: boolean; name?: string; message?: string }[];
  if (process.env.DEVPAGER_VERBOSE) console.log(results);
  assert.is(results.length, BAD.length);
  for (const [i, r] of results.entries()) {
    assert.not.ok(r.created, `${r.label}: Runtime.create resolved`);
    assert.ok(r.name === 'TypeError' || r.name === 'RangeError' || r.name === 'Error', `${r.label}: error class ${r.name}`);
    assert.match(r.message!, BAD[i].expect, `${r.label}: the message names the option: ${r.message}`);
  }
});

/**
 * Regression (was a bug, fixed in 1a0e22c): workers inherited process.execArgv, and Node refuses
 * `--input-type` inside a worker, so Runtime.create rejected with ERR_INPUT_TYPE_NOT_ALLOWED under
 * `node --input-type=module -e ...`.
 */
test('Runtime.create works under node --input-type=module -e (workers do not inherit --input-type)', async () => {
  const code = `
    import { Runtime } from ${JSON.stringify(INDEX)};
    const rt = await Runtime.create({ memory: 16 << 20, devices: [{ name: 'log', unit: 0, driver: ${JSON.stringify(LOGDRV.href)} }] });
    try { console.log('result', await rt.run(${JSON.stringify(PROG.href)}, 'normal', ${JSON.stringify(ARGS)})); }
    finally { await rt.close(); }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    await withTimeout(30_000, new Promise((resolve) => child.on('exit', resolve)), 'node -e child');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  assert.match(out, /result 406/, `output: ${out}`);
});

// ------------------------------------------------------------------------------ close / kill

test('rt.close() is idempotent and ends processes that never end (busy loop, blocked wait): SIGKILL', async () => {
  const rt = await Runtime.create({ memory: 16 << 20, devices: [logDevice(undefined, 0), logDevice(undefined, 1)] });
  try {
    const args = { dev: LOG_PATH, sync: '/dev/log1', offC: OFFC, anonPages: 4 };
    const spinner = rt.spawn(HANG, 'spin-nothing', args);
    const waiter = rt.spawn(HANG, 'wait', args);
    await new HostSync(rt, '/dev/log1', 0).reached(1, waiter.exited);
    const busy = rt.spawn(HANG, 'spin', { ...args, sync: LOG_PATH });
    await new HostSync(rt, LOG_PATH, 0).reached(1, busy.exited);
    await new Promise((r) => setTimeout(r, 100)); // let the bare spinner get into its loop
    const c1 = rt.close();
    const c2 = rt.close();
    await withTimeout(20_000, Promise.all([c1, c2]), 'rt.close with never-ending processes');
    await withTimeout(5_000, rt.close(), 'a third rt.close');
    const sts = await withTimeout(5_000, Promise.all([spinner.exited, waiter.exited, busy.exited]), 'exited after close');
    for (const st of sts) assert.is(st.signal, 'SIGKILL', `pid ${st.pid}: ${JSON.stringify(st)}`);
    assert.throws(() => rt.spawn(HANG, 'spin-nothing', args), /closed/, 'spawn after close throws');
  } finally {
    await withTimeout(20_000, rt.close(), 'final close');
  }
});

test('h.kill(): SIGKILL; the slot, the frames and the device references come back', async () => {
  const opts = { memory: 16 << 20, maxProcesses: 1, devices: [logDevice(undefined, 0), logDevice(undefined, 1)] };
  await withRuntime(opts, 60_000, 'kill', async (rt) => {
    const free0 = rt.stats().memory.freeFrames;
    for (const how of ['spin', 'wait'] as const) {
      const sync = new HostSync(rt, '/dev/log1', 0);
      rt.kernel.store32(sync.flag, 0);
      const h = rt.spawn(HANG, how, { dev: LOG_PATH, sync: '/dev/log1', offC: OFFC, anonPages: 64 });
      await sync.reached(1, h.exited);
      assert.ok(rt.stats().memory.freeFrames <= free0 - 64, `${how}: the process holds its anonymous frames`);
      assert.is(rt.device(LOG_PATH).refs, 1, `${how}: device mapped`);
      assert.is(rt.device('/dev/log1').refs, 1);
      h.kill();
      const st = await withTimeout(10_000, h.exited, `${how}: exited after kill`);
      assert.is(st.signal, 'SIGKILL', `${how}: ${JSON.stringify(st)}`);
      assert.is(rt.stats().memory.freeFrames, free0, `${how}: every frame (anonymous pages, page tables) came back`);
      assert.is(rt.device(LOG_PATH).refs, 0, `${how}: device references dropped`);
      assert.is(rt.device('/dev/log1').refs, 0);
      // maxProcesses 1: the only slot must be free again.
      assert.is(await withTimeout(10_000, rt.run(PROG, 'normal', ARGS), `${how}: a process after kill`), 406);
      assert.is(rt.stats().memory.freeFrames, free0);
    }
    // kill of a process still waiting for a slot
    const blocker = rt.spawn(HANG, 'spin-nothing', {});
    const queued = rt.spawn(PROG, 'normal', ARGS);
    queued.kill();
    const qs = await withTimeout(10_000, queued.exited, 'queued kill');
    assert.is(qs.signal, 'SIGKILL');
    blocker.kill();
    assert.is((await withTimeout(10_000, blocker.exited, 'blocker kill')).signal, 'SIGKILL');
    assert.is(await withTimeout(10_000, rt.run(PROG, 'normal', ARGS), 'after both kills'), 406);
  });
});

/**
 * Regression (was a bug, fixed in 1a0e22c): rt.close() aborted only processes holding a slot; a
 * spawn queued for a slot ended with `{ error: AbortError 'The task has been aborted' }`.
 */
test('rt.close() ends a spawn still waiting for a slot with SIGKILL', async () => {
  const rt = await Runtime.create({ memory: 16 << 20, maxProcesses: 1 });
  try {
    const running = rt.spawn(HANG, 'spin-nothing', {});
    const queued = rt.spawn(HANG, 'spin-nothing', {});
    await new Promise((r) => setTimeout(r, 200));
    await withTimeout(20_000, rt.close(), 'close');
    const [a, b] = await withTimeout(15_000, Promise.all([running.exited, queued.exited]), 'exited after close');
    assert.is(a.signal, 'SIGKILL', `running: ${JSON.stringify(a)}`);
    assert.is(b.signal, 'SIGKILL', `queued: ${b.error ? `${b.error.name}: ${b.error.message}` : JSON.stringify(b)}`);
  } finally {
    await withTimeout(20_000, rt.close(), 'final close');
  }
});

/**
 * Regression (was a bug, fixed in 1a0e22c): a Process used after its program returned (a timer
 * left behind) posted on its freed slot and parked forever inside the pool thread, so the next
 * process given to that thread never started.
 */
test('a Process used after its program returned does not wedge the next process', async () => {
  await withRuntime({ memory: 16 << 20, maxProcesses: 1, prestart: 1 }, 60_000, 'use after exit', async (rt) => {
    for (const how of ['stray-access', 'stray-syscall']) {
      assert.is(await rt.run(STRAY, how), 'returned');
      await new Promise((r) => setTimeout(r, 100)); // the stray timer fires
      assert.is(await withTimeout(10_000, rt.run(STRAY, 'plain'), `${how}: next process`), 'plain');
    }
  });
});

test.run();
