/**
 * random: map a large device range (rangePages), touch pages in a seeded random order, and every
 * `removeEvery` touches p.pmapRemove a random chunk of `chunkPages` pages. A touch faults only if
 * the page is not resident; the program tracks residency itself (a byte per page, set on touch,
 * cleared with the chunk), so it counts exactly the faults it takes. The rest are TLB hits.
 */
import type { Process } from '../../process/types.js';
import {
  checkMask, MAP_SHARED, PAGE_SIZE, PROT_READ, finish, openControl, readyAndWait, stopped,
  type ProgramOptions, type ProgramResult,
} from './common.js';
import { mulberry32u } from '../../util/prng.js';

export default function main(p: Process, o: ProgramOptions): ProgramResult {
  const c = openControl(p, o);
  const mask = checkMask(o);
  const n = o.rangePages;
  const chunk = Math.min(o.chunkPages, n);
  const chunks = Math.floor(n / chunk);
  const va = p.mmap(null, n * PAGE_SIZE, PROT_READ, MAP_SHARED, c.fd, o.offsetPages * PAGE_SIZE);
  const resident = new Uint8Array(n);
  const rnd = mulberry32u((o.seed ^ Math.imul(o.index + 1, 0x9e3779b9)) >>> 0);
  const setupEnd = performance.now();
  const start = readyAndWait(p, c);
  let faults = 0;
  let touches = 0;
  for (;;) {
    const page = rnd() % n;
    if (resident[page] === 0) {
      resident[page] = 1;
      faults++;
    }
    p.load32(va + page * PAGE_SIZE);
    touches++;
    if ((touches & mask) === 0 && stopped(p, c, faults)) break;
    if (touches % o.removeEvery === 0) {
      const first = (rnd() % chunks) * chunk;
      p.pmapRemove(va + first * PAGE_SIZE, chunk * PAGE_SIZE);
      resident.fill(0, first, first + chunk);
    }
  }
  p.munmap(va, n * PAGE_SIZE);
  return finish(p, c, start, faults, touches, setupEnd);
}
