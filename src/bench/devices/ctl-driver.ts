/**
 * The device bench's own device: a control page through which the host starts each round of a
 * program and learns when it is done, RAM pages to fault on, one register page and one doorbell
 * page (the MMIO and doorbell latencies of latency.ts).
 *
 * Device offsets:
 *   [0, PAGE_SIZE)                          control page (contiguous): CTL_* words
 *   [DATA, DATA + DATA_PAGES * PAGE_SIZE)   RAM, physically scattered, for the fault round trip
 *   [REGS, + PAGE_SIZE)                     MMIO: every load returns the word REG_VALUE of the control page
 *   [BELL, + PAGE_SIZE)                     doorbells
 */
import { PAGE_SIZE, atop } from '../../constants.js';
import { defineDriver } from '../../driver.js';

export const DATA = 16 * PAGE_SIZE;
export const DATA_PAGES = 256;
export const REGS = 0x1000_0000;
export const BELL = REGS + PAGE_SIZE;

/** control page, byte offsets; words with different writers sit on different 64-byte lines */
export const CTL_GO = 0; // host: the round to run (round control, rounds.ts)
export const CTL_DONE = 64; // programs: atomicAdd 1 when their round is done
export const CTL_BAD = 128; // programs: atomicAdd the bytes that came back wrong
export const CTL_ACK = 192; // host: latency samples acknowledged
export const CTL_STAMP = 256; // host or program: a clock reading (float64) for a one-way latency
export const CTL_REG_VALUE = 320; // what the register page reads
export const CTL_RESULT = 384; // programs: float64 results (latency.ts)

export interface CtlState {
  readonly kind: 'devbench';
  readonly ctl: number;
  readonly data: number;
}

export default defineDriver<CtlState>({
  name: 'devbench',
  attach(kernel) {
    return { kind: 'devbench', ctl: kernel.kmAlloc(PAGE_SIZE, { zero: true, contiguous: true }), data: kernel.kmAlloc(DATA_PAGES * PAGE_SIZE, { zero: true }) };
  },
  mmap(dev, off, _prot, kernel) {
    const s = dev.state;
    let kva = -1;
    if (off >= 0 && off < PAGE_SIZE) kva = s.ctl + off;
    else if (off >= DATA && off < DATA + DATA_PAGES * PAGE_SIZE) kva = s.data + (off - DATA);
    if (kva < 0) return -1;
    const pa = kernel.pmapExtract(kva);
    return pa < 0 ? -1 : atop(pa);
  },
  mmio: [
    { offset: REGS, size: PAGE_SIZE, read: (dev, _off, _size, kernel) => kernel.load32(dev.state.ctl + CTL_REG_VALUE) },
    { offset: BELL, size: PAGE_SIZE, doorbell: true },
  ],
});
