/**
 * Containment (the contract's "Containment"): fresh JavaScript state per process, the driver
 * watchdog, pagers that come back, memory that only mappings reach, and clear errors for bad
 * values. Every test runs under a timeout; a hang is a failure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { EXIT, HANG, type HostileState } from './fixtures/hostile-drv.js';
import { fixture, withRuntime, withTimeout } from './fixtures/pager-host.js';

const PROG = fixture('contain-prog');
const HOSTILE = (config?: unknown) => ({ name: 'hostile', unit: 0, driver: fixture('hostile-drv'), config });

test('each process starts with fresh globals, prototypes, module state and timers; late errors are reported for their own process', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 1, prestart: 1 }, 60_000, 'fresh realm', async (rt) => {
    // The warnings come from the process's worker thread, through this process's stderr.
    const warned: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      warned.push(String(chunk));
      return (write as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const a = rt.spawn(PROG, 'dirty-realm');
      assert.is((await a.exited).result, 'A done');
      const b = await rt.run(PROG, 'clean-realm');
      await new Promise((r) => setTimeout(r, 100)); // the worker's stderr reaches us asynchronously
      assert.equal(b, { leaked: null, polluted: null, push: 1, load: '1000', moduleState: 0, ticks: null });
      const late = warned.filter((w) => w.includes(`process ${a.pid}`));
      assert.ok(late.some((w) => w.includes('late rejection from A')), `the rejection is reported for A: ${warned.join(' | ')}`);
      assert.ok(late.some((w) => w.includes('late timer error from A')), `so is the error of A's timer that fired after A returned: ${warned.join(' | ')}`);
      assert.ok(rt.stats().totals.lateErrors >= 2);
    } finally {
      process.stderr.write = write;
    }
  }));

test('a program reaches memory only through its mappings: no arena, page table or TLB on its Process or in workerData', () =>
  withRuntime({ memory: 4 << 20 }, 60_000, 'reach', async (rt) => {
    const r = (await rt.run(PROG, 'reach')) as { own: string[]; proto: string[]; sabInWorkerData: boolean; fields: string[] };
    assert.equal(r.own.sort(), ['pid', 'tid']);
    assert.equal(r.fields, []);
    assert.not.ok(r.sabInWorkerData);
    for (const name of r.proto) assert.ok(!/^(m\d|tlb|pte|slot|views|sab)/i.test(name), `no internals on the prototype (${name})`);
  }));

test('bad values get errors that name them: TypeError/RangeError for stores and atomics, EINVAL for flags and prot beyond 32 bits', () =>
  withRuntime({ memory: 4 << 20 }, 60_000, 'bad values', async (rt) => {
    const r = (await rt.run(PROG, 'bad-values')) as Record<string, string | number>;
    assert.match(r.storeString as string, /^TypeError: store32 value must be a number/);
    assert.match(r.store40bits as string, /^RangeError: store32 value must be an integer in/);
    assert.match(r.storeFraction as string, /^RangeError: store8 value/);
    assert.match(r.loadBigint as string, /^TypeError: load32 address must be a number, got 1n/);
    assert.match(r.flags53 as string, /^SyscallError EINVAL/);
    assert.match(r.prot33 as string, /^SyscallError EINVAL/);
    assert.match(r.atomicString as string, /^TypeError: atomicAdd32 value/);
    assert.is(r.stillThere, 0, 'nothing was stored by the refused stores');
  }));

test('a d_mmap that never returns: its process gets SIGSEGV naming device and offset, the pager is replaced, an unrelated process runs on', () =>
  withRuntime({ memory: 8 << 20, maxProcesses: 4, devices: [HOSTILE()], driverTimeoutMs: 300 }, 60_000, 'watchdog', async (rt) => {
    const st = rt.device('/dev/hostile0').state as HostileState;
    const other = rt.spawn(PROG, 'anon-loop', 2000);
    rt.kernel.atomicStore32(st.ctl, HANG);
    const t0 = Date.now();
    const r = (await rt.run(PROG, 'touch-device', 9)) as { signal: string; message: string };
    const took = Date.now() - t0;
    assert.is(r.signal, 'SIGSEGV');
    assert.match(r.message, /\/dev\/hostile0/);
    assert.match(r.message, /0x9000/);
    assert.match(r.message, /driverTimeoutMs/);
    assert.ok(took < 5000, `signalled within the budget (${took} ms)`);
    rt.kernel.atomicStore32(st.ctl, 0);
    const faults = (await other.exited).result as number;
    assert.ok(faults > 0, 'the unrelated process made progress');
    assert.ok(rt.stats().totals.driverTimeouts >= 1);
    assert.ok(rt.stats().totals.pagerRestarts >= 1);
    assert.is(await rt.run(PROG, 'touch-device', 1), 0, 'the runtime stays usable');
    // kill() and close() with a pager stuck in a driver again
    rt.kernel.atomicStore32(st.ctl, HANG);
    const stuck = rt.spawn(PROG, 'touch-device', 10);
    await new Promise((r) => setTimeout(r, 50));
    const k0 = Date.now();
    stuck.kill();
    const ks = await stuck.exited;
    assert.is(ks.signal, 'SIGKILL');
    assert.ok(Date.now() - k0 < 1000, `kill took ${Date.now() - k0} ms`);
  }));

test('a pager that dies (process.exit in a driver) is replaced; only its victim is signalled; the runtime stays usable', () =>
  withRuntime({ memory: 8 << 20, maxProcesses: 4, devices: [HOSTILE()] }, 60_000, 'pager death', async (rt) => {
    const st = rt.device('/dev/hostile0').state as HostileState;
    const other = rt.spawn(PROG, 'anon-loop', 1500);
    rt.kernel.atomicStore32(st.ctl, EXIT);
    const r = (await rt.run(PROG, 'touch-device', 9)) as { signal: string; message: string };
    assert.is(r.signal, 'SIGSEGV');
    assert.match(r.message, /pager 0 died/);
    assert.match(r.message, /\/dev\/hostile0/);
    rt.kernel.atomicStore32(st.ctl, 0);
    assert.ok(((await other.exited).result as number) > 0, 'the other process was not signalled');
    assert.is(rt.stats().totals.pagerRestarts, 1);
    assert.is(await rt.run(PROG, 'touch-device', 2), 0);
  }));

test('Runtime.create rejects, naming the device, when attach never settles or a driver module never finishes loading', async () => {
  const t0 = Date.now();
  const e1 = await withTimeout(10_000, Runtime.create({ memory: 1 << 20, devices: [HOSTILE({ attach: 'never' })], driverTimeoutMs: 200 }).then(() => null, (e: Error) => e), 'attach never');
  assert.ok(e1 instanceof Error && /\/dev\/hostile0/.test(e1.message) && /driverTimeoutMs/.test(e1.message), String(e1));
  assert.ok(Date.now() - t0 < 3000);
  const e2 = await withTimeout(20_000, Runtime.create({ memory: 1 << 20, devices: [{ name: 'blockload', unit: 0, driver: fixture('blockload-drv') }], driverTimeoutMs: 300 }).then(() => null, (e: Error) => e), 'blocked load');
  assert.ok(e2 instanceof Error && /\/dev\/blockload0/.test(e2.message), String(e2));
  const e3 = await Runtime.create({ memory: 1 << 20, devices: [HOSTILE({ attach: 'null' })] }).then(() => null, (e: Error) => e);
  assert.ok(e3 instanceof Error && /\/dev\/hostile0: driver attach failed: null/.test(e3.message), String(e3));
  const e4 = await Runtime.create({ memory: 2 ** 32, maxProcesses: 1024 }).then((rt) => rt.close().then(() => null), (e: Error) => e);
  if (e4 !== null) assert.match(e4.message, /options\.memory|options\.maxProcesses/);
});

test('a heap bomb dies under resourceLimits, and a process.exit(code) ends only its program', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 2, resourceLimits: { maxOldGenerationSizeMb: 48 } }, 60_000, 'limits', async (rt) => {
    const t0 = Date.now();
    const st = await rt.spawn(PROG, 'heap-bomb').exited;
    assert.ok(st.error !== undefined || st.signal !== undefined, JSON.stringify(st));
    assert.ok(Date.now() - t0 < 30_000);
    const ex = await rt.spawn(PROG, 'exit-code').exited;
    assert.is(ex.exitCode, 7);
    assert.is(await rt.run(PROG, 'touch-device-none').catch((e: Error) => e.message), 'unknown mode touch-device-none');
  }));

test('a program that holds a CPU without coming back to devpager loses it, so its neighbours run', () =>
  withRuntime({ memory: 8 << 20, maxProcesses: 4, prestart: 4, cpus: 1 }, 60_000, 'cpu hog', async (rt) => {
    const hog = rt.spawn(PROG, 'spin-forever');
    await new Promise((r) => setTimeout(r, 50));
    const [a, b] = await Promise.all([rt.run(PROG, 'anon-loop', 400), rt.run(PROG, 'anon-loop', 400)]);
    assert.ok((a as number) > 0 && (b as number) > 0, 'both neighbours made progress');
    assert.ok(rt.stats().totals.preempted >= 1, 'the hog\'s CPU was taken');
    hog.kill();
    assert.is((await hog.exited).signal, 'SIGKILL');
  }));

test.run();
