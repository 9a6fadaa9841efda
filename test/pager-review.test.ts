/**
 * Regressions for defects found in review: a driver throwing an unprintable value must not kill
 * the pager; a SIGKILL caught by the program must not let the process go on.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessSignalError, Runtime } from '../src/index.js';
import { withTimeout } from './helpers.js';

const PROG = new URL('./fixtures/review-prog.js', import.meta.url);

test('a d_mmap that throws an unprintable value fails that mmap (EINVAL), is counted, and the pager lives on', () =>
  withTimeout(60_000, async () => {
    const rt = await Runtime.create({ memory: 1 << 20, devices: [{ name: 'unprintable', unit: 0, driver: new URL('./fixtures/unprintable-drv.js', import.meta.url) }] });
    try {
      assert.is(await rt.run(PROG, 'map-unprintable'), 'mmap failed: EINVAL');
      assert.ok(rt.stats().totals.driverBugs >= 1, 'counted as a driver bug');
      assert.is(await rt.run(PROG, 'map-unprintable'), 'mmap failed: EINVAL', 'the pager still serves');
    } finally {
      await rt.close();
    }
  }, 'unprintable throw'));

test('SIGKILL cannot be caught: every later access and syscall raises it again, and the process ends killed', () =>
  withTimeout(60_000, async () => {
    const rt = await Runtime.create({ memory: 16 * 4096 });
    try {
      const st = await rt.spawn(PROG, 'catch-sigkill').exited;
      assert.is(st.signal, 'SIGKILL', `status: ${JSON.stringify(st)}`);
      // The pager served exactly one mmap: the one before the kill. The program's mmap after it
      // (having caught the SIGKILL) must never reach the pager.
      assert.is(rt.stats().pagers[0].counters.syscalls, 1, 'no system call is served after SIGKILL');
      // rt.run reports it the same way
      try {
        await rt.run(PROG, 'catch-sigkill');
        assert.unreachable('must reject');
      } catch (e) {
        assert.instance(e, ProcessSignalError);
        assert.is((e as ProcessSignalError).signal, 'SIGKILL');
      }
      // the killed processes' memory came back: a new one can allocate again
      const again = await rt.spawn(PROG, 'catch-sigkill').exited;
      assert.is(again.signal, 'SIGKILL');
    } finally {
      await rt.close();
    }
  }, 'uncatchable SIGKILL'));

test.run();
