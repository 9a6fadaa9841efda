/**
 * The software TLB's two kinds of miss (src/process/tlb.ts, src/process/access.ts): where this process removed every PTE
 * itself (munmap, pmapRemove of device pages, a new mapping) a miss faults without reading the
 * page table; where PTEs may remain (mprotect, anonymous pages under pmapRemove) it reads them
 * first, so a resident page is not faulted again and d_mmap is not called again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixture, logDevice, logState, withRuntime } from './fixtures/pager-host.js';
import { S_TLB_HI, S_TLB_LO, VPAGES } from '../src/layout.js';
import { TLB_ABSENT, TLB_UNKNOWN, Tlb } from '../src/process/tlb.js';

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

test('a new mapping is absent in the TLB beyond the published range, which grows to cover it; a reset makes it unknown again', () => {
  const line = new Int32Array(16);
  const tlb = new Tlb(new SharedArrayBuffer(VPAGES * 8), line);
  tlb.reset();
  // A fresh thread has published nothing: an invalidation only reaches the published range.
  assert.is(tlb.invalidate(100, 200, TLB_ABSENT), 0);
  assert.is(tlb.r[150], TLB_UNKNOWN, 'invalidate stays within the published range');
  assert.is(tlb.absent(100, 200), 0, 'no entry held a translation');
  for (const vpn of [100, 150, 199]) {
    assert.is(tlb.r[vpn], TLB_ABSENT, `r[${vpn}]`);
    assert.is(tlb.w[vpn], TLB_ABSENT, `w[${vpn}]`);
  }
  assert.is(tlb.r[99], TLB_UNKNOWN, 'below the mapping');
  assert.is(tlb.r[200], TLB_UNKNOWN, 'above the mapping');
  // Published for invalidators (pager/shootdown.ts scans only this range).
  assert.is(line[S_TLB_LO], 100);
  assert.is(line[S_TLB_HI], 200);
  // MAP_FIXED over pages that held translations counts them.
  tlb.r[150] = 7;
  tlb.w[151] = 9;
  assert.is(tlb.absent(140, 160), 2);
  assert.is(tlb.r[150], TLB_ABSENT);
  assert.is(tlb.absent(160, 160), 0, 'an empty range');
  // The next thread of the slot starts from the reset value everywhere it was written.
  tlb.reset();
  assert.is(tlb.r[100], TLB_UNKNOWN);
  assert.is(tlb.w[199], TLB_UNKNOWN);
  assert.is(line[S_TLB_HI], 0);
});

test.run();
