/** Program for bench/fault-loop.ts: map `pages` of /dev/foo0, then `rounds` x { pmapRemove; touch each page }. */
import type { Process } from '../../src/index.js';
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/index.js';

export default function main(p: Process, pages: number, rounds: number): { nsPerFault: number[] } {
  const fd = p.open('/dev/foo0', O_RDWR);
  const va = p.mmap(null, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const nsPerFault: number[] = [];
  for (let r = 0; r < rounds; r++) {
    p.pmapRemove(va, pages * PAGE_SIZE);
    const t0 = performance.now();
    for (let i = 0; i < pages; i++) p.load32(va + i * PAGE_SIZE);
    nsPerFault.push(((performance.now() - t0) * 1e6) / pages);
  }
  return { nsPerFault };
}
