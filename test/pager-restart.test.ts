/**
 * Pagers killed at the points the arena is consistent between — a fault served but not answered,
 * an mmap or a munmap done but not answered, a reply out but its thread not yet woken — while
 * processes churn mappings: the replacement takes over, only the victim of each kill is signalled,
 * and at the end no frame, page or device reference is lost or duplicated.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixture, logDevice, withRuntime } from './fixtures/pager-host.js';

const PROG = fixture('churn-prog');

test('pagers killed under load at every injection point: one victim each, nothing lost, nothing shared by mistake', () =>
  withRuntime({ memory: 8 << 20, maxProcesses: 4, prestart: 4, devices: [logDevice()] }, 120_000, 'pager restarts', async (rt) => {
    // Warm up once, so the baseline counts the frames a first run leaves (page tables are per process).
    await rt.run(PROG, 5, 2);
    const baseFrames = rt.kernel.freeFrames();
    const kinds = ['fault', 'mmap', 'munmap', 'reply'] as const;
    let victims = 0;
    let clean = 0;
    for (const kind of kinds) {
      for (let round = 0; round < 3; round++) {
        const procs = [0, 1, 2].map(() => rt.spawn(PROG, 200, 2));
        rt.injectPagerDeath(0, kind, 40 + 17 * round);
        const sts = await Promise.all(procs.map((h) => h.exited));
        for (const st of sts) {
          if (st.signal) {
            victims++;
            assert.is(st.signal, 'SIGSEGV', `${kind}: a victim gets SIGSEGV (${JSON.stringify(st)})`);
          } else {
            assert.equal(st.result, { rounds: 200, bad: 0 }, `${kind}: a survivor's memory is intact`);
            clean++;
          }
        }
        // Let the injection fire if the processes ended first, so the next round starts clean.
        rt.injectPagerDeath(0, kind, 1);
        await rt.run(PROG, 3, 1).catch(() => undefined);
      }
    }
    const st = rt.stats();
    assert.ok(st.totals.pagerRestarts >= kinds.length * 3, `restarts: ${st.totals.pagerRestarts}`);
    assert.ok(clean > 0, 'most processes are not victims');
    assert.ok(victims <= st.totals.pagerRestarts, `no more victims (${victims}) than kills`);
    assert.is(rt.device('/dev/log0').refs, 0, 'no device reference left');
    assert.is(rt.kernel.freeFrames(), baseFrames, 'no frame lost or held twice');
  }));

test.run();
