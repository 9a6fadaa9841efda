/**
 * a pager thread that dies comes back.
 *
 * Stat assumed: rt.stats().pagerRestarts, pager threads replaced since Runtime.create. The victim's
 * error message names the pager, the device and the device offset whose d_mmap killed it.
 *
 * The fuzzing device's EXIT_OFF page (fixtures/fuzz-drv.ts) calls process.exit inside d_mmap at
 * fault time, which ends the pager thread that serves the fault.
 *
 *   node dist/test/run.js containment-pager-restart
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessSignalError, Runtime, type RuntimeOptions } from '../src/index.js';
import { withTimeout } from './helpers.js';
import { fuzzDevice } from './fixtures/fuzz-host.js';
import { DEV_PATH, EXIT_OFF } from './fixtures/fuzz-layout.js';
import { exitGuard, fixtureUrl } from './fixtures/repro-util.js';

const HOSTILE = fixtureUrl('hostile-prog');
const NEIGHBOUR = { pages: 64, rounds: 60 };

for (const pagers of [1, 2]) {
  test(`14.3 a pager killed by process.exit inside d_mmap (${pagers} pager${pagers > 1 ? 's' : ''}): only its process is signalled, the runtime stays usable, restarts are counted`, async () => {
    const opts: RuntimeOptions = { memory: 32 << 20, pagers, devices: [fuzzDevice()] };
    const rt = await withTimeout(15_000, Runtime.create(opts), 'Runtime.create');
    try {
      await withTimeout(60_000, async () => {
        const free0 = rt.stats().memory.freeFrames;
        const neighbours = [0, 1, 2].map(() => rt.spawn(HOSTILE, 'faults', NEIGHBOUR));
        let err: unknown = null;
        try {
          await withTimeout(15_000, rt.run(HOSTILE, 'exit-fault'), 'the victim');
        } catch (e) {
          err = e;
        }
        assert.instance(err, ProcessSignalError, `the victim is signalled: ${String(err)}`);
        const e = err as ProcessSignalError;
        assert.ok(e.addr !== 0, `the signal carries the faulting address, not 0: ${e.message}`);
        assert.match(e.message, /pager/, `the message names the pager: ${e.message}`);
        assert.ok(e.message.includes(DEV_PATH), `the message names the device: ${e.message}`);
        assert.ok(e.message.includes(`0x${EXIT_OFF.toString(16)}`), `the message names the offset 0x${EXIT_OFF.toString(16)}: ${e.message}`);
        for (const [i, h] of neighbours.entries()) {
          const st = await withTimeout(20_000, h.exited, `neighbour ${i}`);
          assert.equal(st.result, { faults: NEIGHBOUR.pages * NEIGHBOUR.rounds, ms: (st.result as { ms: number } | undefined)?.ms }, `neighbour ${i} ran to its end: ${JSON.stringify(st)}`);
        }
        for (let i = 0; i < 3; i++) {
          const r = (await withTimeout(10_000, rt.run(HOSTILE, 'faults', { pages: 16, rounds: 2 }), `a process after the restart (${i})`)) as { faults: number };
          assert.is(r.faults, 32);
        }
        const restarts = (rt.stats() as unknown as { pagerRestarts?: unknown }).pagerRestarts;
        assert.is(restarts, 1, 'rt.stats().pagerRestarts');
        assert.is(rt.device(DEV_PATH).refs, 0, 'device references of the victim given back');
        assert.is(rt.stats().memory.freeFrames, free0, 'frames of the victim given back');
      }, 'pager restart');
    } finally {
      await withTimeout(20_000, rt.close(), 'rt.close');
    }
  });
}

exitGuard(test);
test.run();
