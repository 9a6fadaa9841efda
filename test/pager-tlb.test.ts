/**
 * The software TLB's two kinds of miss (src/process/tlb.ts, src/process/access.ts): where this process removed every PTE
 * itself (munmap, pmapRemove of device pages, a new mapping) a miss faults without reading the
 * page table; where PTEs may remain (mprotect, anonymous pages under pmapRemove) it reads them
 * first, so a resident page is not faulted again and d_mmap is not called again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixture, logDevice, logState, withRuntime } from './fixtures/pager-host.js';

test('misses after mprotect read the page table; after pmapRemove and munmap they fault; anonymous PTEs survive pmapRemove', () =>
  withRuntime({ memory: 1 << 20, devices: [logDevice()] }, 60_000, 'tlb states', async (rt) => {
    const out = (await rt.run(fixture('tlb-prog'), logState(rt).offC)) as Record<string, number>;
    assert.equal(out, {
      'first touch': 1,
      hit: 0,
      'after mprotect(READ), read': 0,
      'after pmapRemove, read': 1,
      'after pmapRemove, untouched page read': 1,
      'remapped at the same address': 1,
      'after munmap + mmap, read': 1,
      'pmapRemove over both: PTEs removed': 1,
      'anon value after pmapRemove': 0x1234,
      'after pmapRemove over both, device read': 1,
    });
    // Every fault of the program: the control page, the four device faults counted above before
    // the anonymous mapping, the anonymous store and the last device read. The anonymous load
    // after pmapRemove found its PTE; a TLB that took it for absent would have faulted an 8th time.
    assert.is(rt.stats().totals.faults, 7, 'faults in all');
  }));

test("a new process on the same worker thread starts with an empty TLB: it cannot reach its predecessor's pages", () =>
  withRuntime({ memory: 1 << 20, maxProcesses: 1, prestart: 1 }, 60_000, 'tlb reset', async (rt) => {
    for (let round = 0; round < 3; round++) {
      const va = (await rt.run(fixture('tlb-prog'), 'map-and-touch')) as number;
      const st = await rt.spawn(fixture('tlb-prog'), 'touch', va).exited;
      assert.is(st.signal, 'SIGSEGV', `round ${round}: ${JSON.stringify(st)}`);
      assert.is(st.siginfo?.code, 'SEGV_MAPERR');
      assert.is(st.siginfo?.addr, va);
    }
  }));

test.run();
