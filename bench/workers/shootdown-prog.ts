/**
 * Program for bench/shootdown.ts: `threads` threads of one process hold TLB entries for every page
 * of an anonymous mapping of `pages` pages; the first thread times its munmap. Each round: map,
 * touch every page (first thread: writes, which fault the pages in; the others then read them,
 * which fills their TLBs from the shared page table), wait until all have, then munmap, timed.
 * The other threads sit in wait32 meanwhile, as a thread of a real program might.
 * No run-time imports, so that it runs unchanged in any build.
 */
import type { Process } from '../../src/index.js';

const PROT_RW = 3;
const MAP_PRIVATE = 2;
const MAP_ANON = 0x1000;
const MAP_FIXED = 0x10;
const PAGE = 4096;
/** the control page: round number, then the holders' count of rounds done */
const CTL = 0x3000_0000;
const AREA = 0x4000_0000;

export interface ShootdownArgs {
  pages: number;
  threads: number;
  rounds: number;
  self: string;
}

function touchAll(p: Process, pages: number): void {
  for (let i = 0; i < pages; i++) p.load32(AREA + i * PAGE);
}

export default function main(p: Process, a: ShootdownArgs | { holder: true; pages: number }): number[] | null {
  if ('holder' in a) {
    // A holder: every new round, read every page, say so, wait for the next.
    for (let seen = 0; ; ) {
      while (p.atomicLoad32(CTL) === seen) p.wait32(CTL, seen, 1000);
      seen = p.atomicLoad32(CTL);
      if (seen === 0xffffffff) return null;
      touchAll(p, a.pages);
      p.atomicAdd32(CTL + 4, 1);
      p.notify32(CTL + 4);
    }
  }
  p.mmap(CTL, PAGE, PROT_RW, MAP_ANON | MAP_PRIVATE | MAP_FIXED, -1, 0);
  const holders = Array.from({ length: a.threads - 1 }, () => p.spawnThread(a.self, { holder: true, pages: a.pages }));
  const us: number[] = [];
  for (let r = 1; r <= a.rounds; r++) {
    p.mmap(AREA, a.pages * PAGE, PROT_RW, MAP_ANON | MAP_PRIVATE | MAP_FIXED, -1, 0);
    for (let i = 0; i < a.pages; i++) p.store32(AREA + i * PAGE, r);
    p.atomicStore32(CTL, r);
    p.notify32(CTL);
    const want = r * (a.threads - 1);
    for (let done = p.atomicLoad32(CTL + 4); done < want; done = p.atomicLoad32(CTL + 4)) p.wait32(CTL + 4, done, 1000);
    const t0 = performance.now();
    p.munmap(AREA, a.pages * PAGE);
    us.push((performance.now() - t0) * 1000);
  }
  p.atomicStore32(CTL, 0xffffffff);
  p.notify32(CTL);
  for (const h of holders) h.join(10_000);
  return us;
}
