/**
 * page_fault (will-it-scale page_fault1, on a device): mmap N pages of the bench device, touch
 * each page once (one load32 per page: one fault each), munmap, repeat. Every round pays mmap
 * (udv_attach: d_mmap for each page), N faults and munmap.
 */
import type { Process } from '../../process/types.js';
import {
  checkMask, MAP_SHARED, PAGE_SIZE, PROT_READ, finish, openControl, readyAndWait, stopped,
  type ProgramOptions, type ProgramResult,
} from './common.js';

export default function main(p: Process, o: ProgramOptions): ProgramResult {
  const c = openControl(p, o);
  const mask = checkMask(o);
  const len = o.pages * PAGE_SIZE;
  const off = o.offsetPages * PAGE_SIZE;
  const setupEnd = performance.now();
  const start = readyAndWait(p, c);
  let faults = 0;
  for (;;) {
    const va = p.mmap(null, len, PROT_READ, MAP_SHARED, c.fd, off);
    let stop = false;
    for (let i = 0; i < o.pages; i++) {
      p.load32(va + i * PAGE_SIZE);
      faults++;
      if ((faults & mask) === 0 && stopped(p, c, faults)) {
        stop = true;
        break;
      }
    }
    p.munmap(va, len);
    if (stop) break;
  }
  return finish(p, c, start, faults, faults, setupEnd);
}
