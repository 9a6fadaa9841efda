/**
 * Host-side device emulation through the KernelApi: the host and a process exchange messages in
 * device memory, each side sleeping until the other notifies (p.wait32 / kernel.waitAsync32), as
 * a mailbox or NIC ring driver would.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { withTimeout } from './helpers.js';

const FOO = new URL('../src/drivers/foo.js', import.meta.url);
const PROG = new URL('./fixtures/mailbox-prog.js', import.meta.url);

test('host and process ping-pong through device memory with waitAsync32 / wait32 / notify', () =>
  withTimeout(60_000, async () => {
    const rt = await Runtime.create({ memory: 16 << 20, devices: [{ name: 'foo', unit: 0, driver: FOO }] });
    try {
      const { obj1 } = rt.device('/dev/foo0').state as { obj1: number };
      const k = rt.kernel;
      const rounds = 50;
      const proc = rt.spawn(PROG, rounds);
      for (let r = 1; r <= rounds; r++) {
        k.store32(obj1 + 8, r * 7);
        k.store32(obj1, r);
        k.notify32(obj1);
        // wait for the answer without blocking the event loop
        while (k.load32(obj1 + 4) !== r) await k.waitAsync32(obj1 + 4, r - 1, 5000);
        assert.is(k.load32(obj1 + 12), r * 14, `round ${r}: the process doubled the request`);
      }
      const st = await proc.exited;
      assert.is(st.result, rounds);
    } finally {
      await rt.close();
    }
  }, 'mailbox'));

test('waitAsync32: not-equal at once, timed-out after the timeout, and a bad timeout is a RangeError', () =>
  withTimeout(30_000, async () => {
    const rt = await Runtime.create({ memory: 8 << 20, devices: [{ name: 'foo', unit: 0, driver: FOO }] });
    try {
      const { obj1 } = rt.device('/dev/foo0').state as { obj1: number };
      rt.kernel.store32(obj1, 5);
      assert.is(await rt.kernel.waitAsync32(obj1, 4), 'not-equal');
      const t0 = Date.now();
      assert.is(await rt.kernel.waitAsync32(obj1, 5, 30), 'timed-out');
      assert.ok(Date.now() - t0 >= 25, 'it waited');
      assert.throws(() => rt.kernel.waitAsync32(obj1, 5, -1), /timeoutMs/);
      assert.throws(() => rt.kernel.waitAsync32(obj1 + 2, 5, 1), /aligned/);
    } finally {
      await rt.close();
    }
  }, 'waitAsync32 edges'));

test.run();
