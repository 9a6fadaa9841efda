/**
 * sparse (the scaling probe): map rangePages device pages (e.g. 10^6), pick chunkPages distinct
 * pages of it with a seeded PRNG, then repeat { touch every sampled page, in the sampled (random)
 * order; p.pmapRemove(whole range) }. Compared with `refault` over a small mapping, it shows what
 * a large mapping costs per fault (page-table footprint, map lookup, TLB invalidation).
 */
import type { Process } from '../../process/types.js';
import {
  checkMask, MAP_SHARED, PAGE_SIZE, PROT_READ, finish, openControl, readyAndWait, stopped,
  type ProgramOptions, type ProgramResult,
} from './common.js';
import { mulberry32u } from '../../util/prng.js';

export default function main(p: Process, o: ProgramOptions): ProgramResult & { mmapMs: number } {
  const c = openControl(p, o);
  const mask = checkMask(o);
  const n = o.rangePages;
  const s = Math.min(o.chunkPages, n);
  const t0 = performance.now();
  const va = p.mmap(null, n * PAGE_SIZE, PROT_READ, MAP_SHARED, c.fd, o.offsetPages * PAGE_SIZE);
  const mmapMs = performance.now() - t0;
  const rnd = mulberry32u(o.seed >>> 0);
  const taken = new Uint8Array(n);
  const sample = new Float64Array(s);
  for (let k = 0; k < s; ) {
    const page = rnd() % n;
    if (taken[page] !== 0) continue;
    taken[page] = 1;
    sample[k++] = va + page * PAGE_SIZE;
  }
  const setupEnd = performance.now();
  const start = readyAndWait(p, c);
  let faults = 0;
  for (let stop = false; !stop; ) {
    for (let k = 0; k < s; k++) {
      p.load32(sample[k]);
      faults++;
      if ((faults & mask) === 0 && stopped(p, c, faults)) {
        stop = true;
        break;
      }
    }
    p.pmapRemove(va, n * PAGE_SIZE);
  }
  p.munmap(va, n * PAGE_SIZE);
  return { ...finish(p, c, start, faults, faults, setupEnd), mmapMs };
}
