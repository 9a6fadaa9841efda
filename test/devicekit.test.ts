/**
 * The device kit, end to end through the public API: register pages (mmio), doorbells,
 * interrupts, zero-copy views of contiguous kernel memory, and the dirty log.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PAGE_SIZE, type Runtime } from '../src/index.js';
import { BELL, LOG_WORDS, RAM_BYTES, type KitState } from './fixtures/kit-drv.js';
import { fixture, sleep, withRuntime } from './fixtures/pager-host.js';

const PROG = fixture('kit-prog');
const KIT = { name: 'kit', unit: 0, driver: fixture('kit-drv') };

function accessLog(rt: Runtime): [string, number, number, number][] {
  const s = rt.device('/dev/kit0').state as KitState;
  const n = rt.kernel.atomicLoad32(s.log);
  const out: [string, number, number, number][] = [];
  for (let i = 0; i < n; i++) {
    const at = s.log + 4 + i * LOG_WORDS * 4;
    out.push([rt.kernel.load32(at) === 1 ? 'r' : 'w', rt.kernel.load32(at + 4), rt.kernel.load32(at + 8), rt.kernel.load32(at + 12)]);
  }
  return out;
}

test('mmio: every access of a register page runs the driver callback with the exact offset, size and value; no PTE is entered', () =>
  withRuntime({ memory: 4 << 20, devices: [KIT] }, 60_000, 'mmio', async (rt) => {
    const r = (await rt.run(PROG, 'mmio')) as { back: string[]; bytes: number[]; roStore: { signal: string }; ato: { signal: string; code: string }; broken: { signal: string } };
    assert.equal(r.back, [String(0xdeadbeef), String(0x1234), String(0x56), String(2n ** 64n - 2n)], 'loads are unsigned, load64 too');
    const log = accessLog(rt);
    assert.equal(log.slice(0, 8), [
      ['w', 8, 4, 0xdeadbeef], ['w', 2, 2, 0x1234], ['w', 1, 1, 0x56], ['w', 16, 8, 0xfffffffe],
      ['r', 8, 4, 0], ['r', 2, 2, 0], ['r', 1, 1, 0], ['r', 16, 8, 0],
    ]);
    // write(regs + 0x101, 7 bytes): 1 @0x101, 2 @0x102, 4 @0x104; read(regs + 0x100, 8): 4 @0x100, 4 @0x104
    assert.equal(log.slice(8, 13).map(([k, off, size]) => [k, off, size]), [['w', 0x101, 1], ['w', 0x102, 2], ['w', 0x104, 4], ['r', 0x100, 4], ['r', 0x104, 4]]);
    assert.equal(r.bytes, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.is(r.roStore.signal, 'SIGSEGV', 'protection applies to register pages');
    assert.is(r.ato.signal, 'SIGBUS', 'an atomic on a register page is refused');
    assert.is(r.broken.signal, 'SIGSEGV', 'a callback that throws is a driver bug: SIGSEGV');
    assert.ok(rt.stats().totals.driverBugs >= 1);
    assert.ok(rt.stats().totals.mmio >= 13, 'each access went to the pager');
  }));

test('doorbells: every store is delivered in order, none dropped, with the device offset, value and pid; loads read 0', () =>
  withRuntime({ memory: 4 << 20, devices: [KIT] }, 60_000, 'doorbell', async (rt) => {
    const got: [number, number | bigint, number][] = [];
    const off = rt.device('/dev/kit0').onDoorbell((o, v, pid) => {
      got.push([o, v, pid]);
    });
    const n = 1000; // far more than one ring holds: back-pressure, never loss
    const h = rt.spawn(PROG, 'doorbell', n);
    const st = await h.exited;
    assert.equal(st.result, { load: 0 });
    for (let i = 0; i < 50 && got.length < n + 1; i++) await sleep(10);
    assert.is(got.length, n + 1);
    for (let i = 0; i < n; i++) {
      assert.is(got[i][0], BELL + 4 * (i & 15));
      assert.is(got[i][1], i);
      assert.is(got[i][2], h.pid);
    }
    assert.is(got[n][1], 0x1_0000_0002n, '8-byte stores arrive as bigints');
    off();
  }));

test('interrupts: waitInterrupt returns each new count; ETIMEDOUT after its timeout; EBADF for a bad descriptor', () =>
  withRuntime({ memory: 4 << 20, devices: [KIT] }, 60_000, 'interrupt', async (rt) => {
    const dev = rt.device('/dev/kit0');
    const s = dev.state as KitState;
    const h = rt.spawn(PROG, 'interrupt', 3);
    while (rt.kernel.atomicLoad32(s.ram + 8) !== 1) await sleep(2);
    for (let i = 1; i <= 3; i++) {
      dev.interrupt();
      while (rt.kernel.atomicLoad32(s.ram + 12) !== i) await sleep(2);
    }
    const st = await h.exited;
    const r = st.result as { seen: number[]; timeout: { code: string }; badFd: { code: string } };
    // UIO: each wait returns a count newer than the last one this descriptor returned.
    assert.equal(r.seen, [1, 2, 3], JSON.stringify(r.seen));
    assert.is(r.timeout.code, 'ETIMEDOUT');
    assert.is(r.badFd.code, 'EBADF');
    assert.is(dev.interrupts, 3);
  }));

test('contiguous kernel memory: kernel.view is the arena itself (zero-copy, both ways); scattered memory refuses a view', () =>
  withRuntime({ memory: 4 << 20, devices: [KIT] }, 60_000, 'view', async (rt) => {
    const s = rt.device('/dev/kit0').state as KitState;
    const v = rt.kernel.view(s.ram, RAM_BYTES);
    assert.is(v.length, RAM_BYTES);
    v[0] = 0x2a; // host writes through the view...
    const word = await rt.run(PROG, 'ram');
    assert.is(word, 0x2a, '...the process reads it');
    assert.is(new DataView(v.buffer, v.byteOffset).getUint32(97 * 4, true), 97, 'the process writes, the view shows it');
    assert.is(rt.kernel.atomicLoad32(s.ram + 4), 0x55);
    rt.kernel.copy(s.ram + PAGE_SIZE, s.ram, 16);
    assert.is(rt.kernel.load8(s.ram + PAGE_SIZE), 0x2a);
    const scattered = rt.kernel.kmAlloc(8 * PAGE_SIZE);
    assert.throws(() => rt.kernel.view(scattered, 8 * PAGE_SIZE), (e: Error) => e instanceof RangeError && /contiguous/.test(e.message));
    assert.is(rt.kernel.view(scattered + 8, 16).length, 16, 'within one page is fine');
    // read/write check the whole range before touching anything, and quote the address passed
    const buf = new Uint8Array(2 * PAGE_SIZE).fill(7);
    const end = scattered + 8 * PAGE_SIZE - PAGE_SIZE;
    const before = rt.kernel.load8(end);
    assert.throws(() => rt.kernel.write(end, buf), (e: Error) => e instanceof RangeError && e.message.includes(`0x${end.toString(16)}`));
    assert.is(rt.kernel.load8(end), before, 'nothing written');
  }));

test('dirty log: processes write random pages while the host logs in a loop; the shadow rebuilt from the logs equals memory', () =>
  withRuntime({ memory: 8 << 20, maxProcesses: 4, devices: [KIT] }, 120_000, 'dirty log', async (rt) => {
    const s = rt.device('/dev/kit0').state as KitState;
    const mem = rt.kernel.view(s.ram, RAM_BYTES);
    const shadow = new Uint8Array(RAM_BYTES);
    rt.kernel.dirtyLog(s.ram, RAM_BYTES); // re-arm everything
    const procs = [1, 2, 3].map((seed) => rt.spawn(PROG, 'dirty', 400, seed * 7919));
    let done = false;
    void Promise.all(procs.map((h) => h.exited)).then(() => (done = true));
    let logs = 0;
    let reported = 0;
    for (;;) {
      const finished = done;
      const d = rt.kernel.dirtyLog(s.ram, RAM_BYTES);
      logs++;
      for (let pg = 0; pg < d.length; pg++) {
        if (d[pg] === 0) continue;
        reported++;
        shadow.set(mem.subarray(pg * PAGE_SIZE, (pg + 1) * PAGE_SIZE), pg * PAGE_SIZE);
      }
      if (finished) break;
      await sleep(0);
    }
    for (const h of procs) assert.is((await h.exited).result, 'done');
    assert.ok(logs > 2 && reported > 0, `${logs} logs, ${reported} pages reported`);
    assert.ok(Buffer.compare(shadow, mem) === 0, 'the shadow copy equals memory');
    assert.equal([...rt.kernel.dirtyLog(s.ram, RAM_BYTES)], [0, 0, 0, 0], 'nobody wrote since the last log');
  }));

test.run();
