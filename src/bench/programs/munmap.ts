/**
 * munmap: a storm of unmaps against touches. Every task maps the same `rangePages` at one fixed
 * address, then touches pages in a seeded random order and, every `removeEvery` touches, maps a
 * random chunk of `chunkPages` pages again over itself with MAP_FIXED: an unmap of the chunk
 * (every translation of it goes, in every thread of the address space) and a new mapping of the
 * same device pages, in one call, so that no other task ever finds a hole there.
 *
 * As processes, each task has its own address space and its own device pages, and only its own
 * TLB to clear. As threads (mode 'threads'), the tasks share one mapping: every remap is a
 * shootdown of the others' entries, and their next touches of the chunk fault or refill.
 * A task cannot tell which of its touches faulted (another thread may have faulted the page in,
 * or out), so it publishes touches; the cell counts faults with the runtime's counters.
 */
import type { Process } from '../../process/types.js';
import { MAP_FIXED } from '../../constants.js';
import { mulberry32u } from '../../util/prng.js';
import {
  checkMask, MAP_SHARED, PAGE_SIZE, PROT_READ, finish, openControl, readyAndWait, stopped,
  type ProgramOptions, type ProgramResult,
} from './common.js';

/** Where every task maps the range: the same address in each address space, and one shared mapping among threads. */
export const STORM_VA = 0x4000_0000;

export default function main(p: Process, o: ProgramOptions): ProgramResult & { remaps: number } {
  const c = openControl(p, o);
  const mask = checkMask(o);
  const n = o.rangePages;
  const chunk = Math.min(o.chunkPages, n);
  const chunks = Math.floor(n / chunk);
  const off = o.offsetPages * PAGE_SIZE;
  const va = p.mmap(STORM_VA, n * PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, c.fd, off);
  const rnd = mulberry32u((o.seed ^ Math.imul(o.index + 1, 0x9e3779b9)) >>> 0);
  const setupEnd = performance.now();
  const start = readyAndWait(p, c);
  let touches = 0;
  let remaps = 0;
  for (;;) {
    p.load32(va + (rnd() % n) * PAGE_SIZE);
    touches++;
    if ((touches & mask) === 0 && stopped(p, c, touches)) break;
    if (touches % o.removeEvery === 0) {
      const first = (rnd() % chunks) * chunk;
      p.mmap(va + first * PAGE_SIZE, chunk * PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, c.fd, off + first * PAGE_SIZE);
      remaps++;
    }
  }
  // The mapping stays: the other threads may still touch it; the process's exit unmaps it.
  const r = finish(p, c, start, touches, touches, setupEnd);
  return { ...r, remaps };
}
