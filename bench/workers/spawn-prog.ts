/**
 * Program for bench/spawn.ts. Its first statement reads the wall clock (performance.timeOrigin +
 * now, comparable across threads to well under a millisecond); then, with `pages` > 0, it maps
 * that many pages of /dev/foo0 and refaults them `rounds` times, timing each round.
 * It imports nothing at run time, so the same file runs against another build (--lib).
 */
import type { Process } from '../../src/index.js';

const O_RDWR = 2;
const PROT_READ = 1;
const MAP_SHARED = 1;
const PAGE = 4096;

export default function main(p: Process, pages: number, rounds: number): { firstMs: number; nsPerFault: number[] } {
  const firstMs = performance.timeOrigin + performance.now();
  const nsPerFault: number[] = [];
  if (pages > 0) {
    const fd = p.open('/dev/foo0', O_RDWR);
    const va = p.mmap(null, pages * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    for (let r = 0; r < rounds; r++) {
      if (r > 0) p.pmapRemove(va, pages * PAGE);
      const t0 = performance.now();
      for (let i = 0; i < pages; i++) p.load32(va + i * PAGE);
      nsPerFault.push(((performance.now() - t0) * 1e6) / pages);
    }
  }
  return { firstMs, nsPerFault };
}
