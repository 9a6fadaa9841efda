/**
 * Program of bench/fault-after-syscall.ts: map `span` pages of the bench device, then, round after
 * round, touch every page of a `chunk`-page chunk at a scattered offset (a fault each) and take
 * the chunk's PTEs away with p.pmapRemove. Returns µs per fault and per pmapRemove over the
 * second half of the rounds. It imports nothing at run time, so the same file runs against
 * another build (--lib).
 */
import type { Process } from '../../src/index.js';

const O_RDWR = 2;
const PROT_READ = 1;
const MAP_SHARED = 1;
const PAGE_SIZE = 4096;

export default function main(p: Process, o: { chunk: number; span: number; rounds: number }): { faultUs: number; pmapRemoveUs: number } {
  const fd = p.open('/dev/bench0', O_RDWR);
  const va = p.mmap(null, o.span * PAGE_SIZE, PROT_READ, MAP_SHARED, fd, PAGE_SIZE);
  const chunks = Math.floor(o.span / o.chunk);
  let touch = 0;
  let remove = 0;
  for (let r = 0; r < o.rounds; r++) {
    const first = ((r * 7919) % chunks) * o.chunk;
    const t0 = performance.now();
    for (let i = 0; i < o.chunk; i++) p.load32(va + (first + i) * PAGE_SIZE);
    const t1 = performance.now();
    p.pmapRemove(va + first * PAGE_SIZE, o.chunk * PAGE_SIZE);
    const t2 = performance.now();
    if (r >= o.rounds / 2) {
      touch += t1 - t0;
      remove += t2 - t1;
    }
  }
  const n = o.rounds - Math.ceil(o.rounds / 2);
  return { faultUs: (touch * 1000) / (n * o.chunk), pmapRemoveUs: (remove * 1000) / n };
}
