/**
 * The benchmark device (`devpager bench`): a mapping that is virtually large but physically small.
 *
 *   device offsets [0, pages * PAGE_SIZE)  -> a ring of `ring` kmAlloc'd frames: page i -> frame i % ring
 *   device offset  CTL_OFFSET (one page)   -> the control page (start/stop words, see CTL_* below)
 *   anything else                          -> -1
 *
 * So a million-page mapping costs `ring` frames of memory, and every page is still translated with
 * pmapExtract per page (kernel memory is physically scattered), exactly as a real driver does.
 *
 * The control page is how the host drives the workload programs: the host writes words with
 * rt.kernel.store32 + rt.kernel.notify32, and processes map the page and read (a TLB hit), wait on
 * (p.wait32) or bump (p.atomicAdd32) them. Words that different parties write sit on different
 * 64-byte lines.
 */
import { PAGE_SIZE, atop } from '../constants.js';
import { defineDriver } from '../driver.js';

/** Device offset of the control page: far above any data page (10^6 pages end below 2^32). */
export const CTL_OFFSET = 2 ** 40;

/** Control page words (byte offsets within the page). */
export const CTL_PHASE = 0; // host writes: PHASE_*; processes read / wait on it
export const CTL_READY = 64; // processes atomicAdd 1 once set up and waiting for the start
export const CTL_STOPPED = 128; // processes atomicAdd 1 when they have seen PHASE_STOP
/**
 * From here, one Int32 word per process (by its index in the cell): the faults it has counted so
 * far, stored at every stop check. The host reads them all at the end of the timed window, the
 * way will-it-scale samples its per-task counters while the tasks keep running. Several words
 * share a line, but each is written once every `checkEvery` faults, so the sharing costs nothing
 * measurable.
 */
export const CTL_COUNTS = 256;
/** processes a cell can count: the words between CTL_COUNTS and the end of the page */
export const CTL_MAX_PROCS = (PAGE_SIZE - CTL_COUNTS) / 4;

export const PHASE_SETUP = 0;
export const PHASE_RUN = 1;
export const PHASE_STOP = 2;

export const DEFAULT_PAGES = 1_000_000;
export const DEFAULT_RING = 4096;

export interface BenchConfig {
  /** pages of the data range (default 10^6) */
  pages?: number;
  /** physical frames behind the data range, reused round robin (default 4096 = 16 MiB) */
  ring?: number;
}

export interface BenchState {
  pages: number;
  ring: number;
  /** kva of the ring (ring pages, scattered) */
  ringKva: number;
  /** kva of the control page */
  ctlKva: number;
  /** bytes of the data range, cached for d_mmap */
  bytes: number;
}

function posInt(name: string, v: unknown, def: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new RangeError(`bench config.${name} must be an integer in [1, ${max}], got ${String(v)}`);
  }
  return v;
}

export default defineDriver<BenchState, BenchConfig | undefined>({
  name: 'bench',
  attach(kernel, _unit, config) {
    const pages = posInt('pages', config?.pages, DEFAULT_PAGES, 2 ** 28);
    const ring = posInt('ring', config?.ring, Math.min(DEFAULT_RING, pages), 1 << 20);
    const ringKva = kernel.kmAlloc(ring * PAGE_SIZE, { zero: true });
    const ctlKva = kernel.kmAlloc(PAGE_SIZE, { zero: true });
    return { pages, ring, ringKva, ctlKva, bytes: pages * PAGE_SIZE };
  },
  mmap(dev, off, _prot, kernel) {
    const s = dev.state;
    if (off >= 0 && off < s.bytes) {
      // pages < 2^28, so the page number is an int32 and this is an integer modulo (a float one
      // is a call into C on every fault)
      const pa = kernel.pmapExtract(s.ringKva + (((off / PAGE_SIZE) | 0) % s.ring) * PAGE_SIZE);
      return pa < 0 ? -1 : atop(pa);
    }
    if (off === CTL_OFFSET) {
      const pa = kernel.pmapExtract(s.ctlKva);
      return pa < 0 ? -1 : atop(pa);
    }
    return -1;
  },
});
