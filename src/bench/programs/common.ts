/**
 * What every workload program shares: the control page handshake with the host, the options the
 * host passes and the result it returns. Programs run in process threads; they
 * touch memory only through the Process API (`p`), like a user program would.
 *
 * Handshake (words of the bench device's control page, src/drivers/bench.ts):
 *   program: open /dev/bench0, map the control page, set up its own mappings, then
 *            atomicAdd(READY, 1) and wait32 on PHASE while it is SETUP;
 *   host:    when READY == procs, resets the stats and stores PHASE = RUN (+ notify);
 *   program: runs, and every CHECK_EVERY faults (or touches) stores its fault count in its word of
 *            COUNTS and reads PHASE (stopped()), a TLB hit each, no syscall, until it reads
 *            STOP; then atomicAdd(STOPPED, 1) and returns;
 *   host:    reads every COUNTS word, then stores PHASE = STOP: faults/s is their sum over the
 *            window (see cell.ts).
 */
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../constants.js';
import { CTL_COUNTS, CTL_OFFSET, CTL_PHASE, CTL_READY, CTL_STOPPED, PHASE_SETUP, PHASE_STOP } from '../../drivers/bench.js';
import type { Process } from '../../process/types.js';

export { PAGE_SIZE, PROT_READ, MAP_SHARED };

/** Default for ProgramOptions.checkEvery. */
export const CHECK_EVERY = 64;

export interface ProgramOptions {
  /** device path of the bench device */
  dev: string;
  /** this process's index in the cell, 0..procs-1 */
  index: number;
  /** pages of the mapping a round touches (page_fault, refault, shared) */
  pages: number;
  /** first device page of this process's mapping */
  offsetPages: number;
  /** PRNG seed (random, sparse) */
  seed: number;
  /** random: pages of the (large) mapping; sparse: pages of the mapping */
  rangePages: number;
  /** random: pages per pmapRemove chunk; sparse: pages sampled per round */
  chunkPages: number;
  /** random: touches between two pmapRemove of a random chunk */
  removeEvery: number;
  /**
   * Read the stop word every this many faults (touches for `random`); a power of two. Default 64:
   * the read is a TLB hit, but it is still not free.
   */
  checkEvery: number;
}

/** checkEvery - 1, validated: a mask for `(faults & mask) === 0`. */
export function checkMask(o: ProgramOptions): number {
  const n = o.checkEvery ?? CHECK_EVERY;
  if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) throw new RangeError(`checkEvery must be a power of two, got ${n}`);
  return n - 1;
}

export interface ProgramResult {
  /** faults this process took in the timed window (counted by the program itself) */
  faults: number;
  /** memory accesses (faulting or not) in the window */
  touches: number;
  /** from the start word seen to the stop word seen, in this thread */
  elapsedMs: number;
  /** the same two instants on the wall clock (performance.timeOrigin + now), ms */
  startAbsMs: number;
  endAbsMs: number;
  /** how long this process's setup (open, mmap of its ranges) took, ms */
  setupMs: number;
}

export interface Control {
  fd: number;
  /** virtual address of the control page */
  va: number;
  /** virtual address of the PHASE word (read every CHECK_EVERY faults) */
  phase: number;
  /** virtual address of this process's word in COUNTS */
  count: number;
  t0: number;
}

/** Open the device and map its control page. */
export function openControl(p: Process, o: ProgramOptions): Control {
  const t0 = performance.now();
  const fd = p.open(o.dev, O_RDWR);
  const va = p.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, CTL_OFFSET);
  p.load32(va + CTL_PHASE); // fault the control page in now: the stop check is then a TLB hit
  return { fd, va, phase: va + CTL_PHASE, count: va + CTL_COUNTS + 4 * o.index, t0 };
}

/**
 * The stop check, made every checkEvery faults (touches): publish the fault count for the host's
 * window count, then read the stop word. Both are TLB hits on the control page.
 */
export function stopped(p: Process, c: Control, faults: number): boolean {
  p.store32(c.count, faults);
  return p.load32(c.phase) === PHASE_STOP;
}

/** Say "ready", wait for the start word. Returns the start time (this thread's performance.now()). */
export function readyAndWait(p: Process, c: Control): number {
  p.atomicAdd32(c.va + CTL_READY, 1);
  while (p.load32(c.phase) === PHASE_SETUP) p.wait32(c.phase, PHASE_SETUP, 1000);
  return performance.now();
}

/** Say "stopped" and build the result. */
export function finish(p: Process, c: Control, start: number, faults: number, touches: number, setupEnd: number): ProgramResult {
  const end = performance.now();
  p.atomicAdd32(c.va + CTL_STOPPED, 1);
  return {
    faults, touches, elapsedMs: end - start,
    startAbsMs: performance.timeOrigin + start, endAbsMs: performance.timeOrigin + end,
    setupMs: setupEnd - c.t0,
  };
}
