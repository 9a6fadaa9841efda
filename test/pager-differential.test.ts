/**
 * Differential test of the access path: a program runs a seeded random sequence of mmap (anonymous
 * and device, fixed and not, every prot and open mode), munmap (partial, holes, unaligned),
 * mprotect (up and down, past maxprot), pmapRemove, mincore and accesses (load/store 8/16/32,
 * atomicAdd32, read/write spans) over a 48-page window that straddles a page-table boundary, and
 * compares every outcome — value, errno, signal and exact address, and the exact d_mmap call
 * sequence — with a pure-JS reference translator (fixtures/diff-prog.ts). The host then checks the
 * model's device shadow against the driver's kernel memory.
 *
 * Seeds: DEVPAGER_TEST_SEED (if set) is the first; every mismatch names the seed and step.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PAGE_SIZE } from '../src/index.js';
import { testSeed } from './helpers.js';
import { A_PAGES, B_FIRST, B_PAGES, devByte, type DiffResult } from './fixtures/diff-prog.js';
import { LOG_PATH, fixture, logDevice, logState, withRuntime } from './fixtures/pager-host.js';

const PS = PAGE_SIZE;
const PROG = fixture('diff-prog');
const OFFC = 64 * PS;
const CFG = { sizeA: A_PAGES * PS, offB: B_FIRST * PS, sizeB: B_PAGES * PS, offC: OFFC };
const STEPS = 3000;
const base = testSeed(0xd1ff);
const SEEDS = [base, base + 1, base + 2, base + 3, base + 4];

function fillDevice(rt: Parameters<typeof logState>[0], seed: number): void {
  const st = logState(rt);
  for (let pg = 0; pg < B_FIRST + B_PAGES; pg++) {
    const inA = pg < A_PAGES;
    const inB = pg >= B_FIRST && pg < B_FIRST + B_PAGES;
    if (!inA && !inB) continue;
    const b = new Uint8Array(PS);
    for (let i = 0; i < PS; i++) b[i] = devByte(seed, pg, i);
    rt.kernel.write(inA ? st.a + pg * PS : st.b + (pg - B_FIRST) * PS, b);
  }
}

function checkShadow(rt: Parameters<typeof logState>[0], r: DiffResult): void {
  const st = logState(rt);
  for (const [pg, bytes] of r.shadow) {
    const k = new Uint8Array(PS);
    rt.kernel.read(pg < A_PAGES ? st.a + pg * PS : st.b + (pg - B_FIRST) * PS, k);
    for (let i = 0; i < PS; i++) {
      if (k[i] !== bytes[i]) assert.unreachable(`seed ${r.seed}: device page ${pg} byte ${i}: model ${bytes[i]}, kernel memory ${k[i]}`);
    }
  }
}

for (const seed of SEEDS) {
  test(`differential: seed ${seed}, ${STEPS} steps`, async () => {
    await withRuntime({ memory: 32 << 20, devices: [logDevice(CFG)] }, 90_000, `differential seed ${seed}`, async (rt) => {
      fillDevice(rt, seed);
      const free0 = rt.stats().memory.freeFrames;
      const r = (await rt.run(PROG, { dev: LOG_PATH, seed, steps: STEPS, offC: OFFC })) as DiffResult;
      if (r.mismatches.length > 0) assert.unreachable(r.mismatches.join('\n'));
      assert.is(r.steps, STEPS, `seed ${seed}: all steps ran`);
      // The sequence exercised the interesting outcomes (guards against a generator that degenerated).
      const kinds = Object.keys(r.counts);
      for (const k of ['mmap:ok', 'mmap:EINVAL', 'mmap:EACCES', 'munmap:ok', 'mprotect:ok', 'mprotect:EACCES', 'load32:SIGSEGV', 'store32:SIGSEGV', 'load32:SIGBUS', 'read:ok', 'write:ok']) {
        assert.ok(kinds.includes(k), `seed ${seed}: outcome ${k} never happened (${kinds.join(', ')})`);
      }
      checkShadow(rt, r);
      assert.is(rt.device(LOG_PATH).refs, 0, 'refs 0 after exit');
      assert.is(rt.stats().memory.freeFrames, free0, 'every anonymous frame and page table freed at exit');
    });
  });
}

test.run();
