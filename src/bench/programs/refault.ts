/**
 * refault: map N device pages once, then repeat { p.pmapRemove(whole range); touch each page }.
 * Each touch faults and calls d_mmap again; there is no mmap/munmap in the loop, so this is the
 * purest measure of the fault path. Each process maps its own device offsets (offsetPages), so
 * with the default ring their frames are distinct.
 */
import type { Process } from '../../process/types.js';
import {
  checkMask, MAP_SHARED, PAGE_SIZE, PROT_READ, finish, openControl, readyAndWait, stopped,
  type ProgramOptions, type ProgramResult,
} from './common.js';

export function refaultLoop(p: Process, o: ProgramOptions, offsetPages: number): ProgramResult {
  const c = openControl(p, o);
  const mask = checkMask(o);
  const len = o.pages * PAGE_SIZE;
  const va = p.mmap(null, len, PROT_READ, MAP_SHARED, c.fd, offsetPages * PAGE_SIZE);
  const setupEnd = performance.now();
  const start = readyAndWait(p, c);
  let faults = 0;
  for (let stop = false; !stop; ) {
    p.pmapRemove(va, len);
    for (let i = 0; i < o.pages; i++) {
      p.load32(va + i * PAGE_SIZE);
      faults++;
      if ((faults & mask) === 0 && stopped(p, c, faults)) {
        stop = true;
        break;
      }
    }
  }
  p.munmap(va, len);
  return finish(p, c, start, faults, faults, setupEnd);
}

export default function main(p: Process, o: ProgramOptions): ProgramResult {
  return refaultLoop(p, o, o.offsetPages);
}
