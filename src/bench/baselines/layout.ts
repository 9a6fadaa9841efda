/**
 * Shared-memory layout of the JS baselines (imported by the host side and by the worker files).
 *
 * Every word that a different thread writes sits on its own 64-byte line (16 Int32s), so
 * the measurement is not polluted by false sharing.
 *
 * Control block `ctl` (Int32Array, host-created):
 *
 * | index            | word        | writer                    | readers                 |
 * |------------------|-------------|---------------------------|-------------------------|
 * | 0                | PHASE       | host                      | all workers             |
 * | 16               | DONE        | faulting threads (add)    | pager                   |
 * | 32               | DOORBELL    | faulting threads (add)    | pager (waits on it)     |
 * | 48 + 16*i + 0    | OPS[i]      | thread i, once at the end | host                    |
 * | 48 + 16*i + 1    | NSAMPLES[i] | thread i, once at the end | host                    |
 * | 48 + 16*i + 2    | TIMEOUTS[i] | thread i, once at the end | host                    |
 * | 48 + 16*i + 4..5 | ELAPSED[i]  | thread i (Float64 view)   | host (iterations mode)  |
 *
 * Samples (Float64Array, host-created): thread i owns [i*cap, (i+1)*cap), nanoseconds.
 */

export const LINE = 16; // Int32s per 64-byte cache line

export const PHASE = 0;
export const DONE = LINE;
export const DOORBELL = 2 * LINE;
const THREAD_BASE = 3 * LINE;

export const PHASE_INIT = 0;
export const PHASE_WARM = 1; // run, do not record
export const PHASE_MEASURE = 2; // run and record
export const PHASE_STOP = 3;

export function opsIndex(i: number): number { return THREAD_BASE + LINE * i; }
export function nSamplesIndex(i: number): number { return THREAD_BASE + LINE * i + 1; }
export function timeoutsIndex(i: number): number { return THREAD_BASE + LINE * i + 2; }
/** Index into a Float64Array view of the same buffer. */
export function elapsedIndex(i: number): number { return (THREAD_BASE + LINE * i + 4) / 2; }

export function ctlBytes(threads: number): number { return (THREAD_BASE + LINE * threads) * 4; }

/** Park / postMessage pager request slots (Int32Array `q`): faulter writes REQ+VA, pager writes REP. */
export function reqIndex(i: number): number { return 2 * LINE * i; }
export function vaIndex(i: number): number { return 2 * LINE * i + 1; }
export function repIndex(i: number): number { return 2 * LINE * i + LINE; }
export function queueBytes(threads: number): number { return 2 * LINE * threads * 4; }

/** The "pager work": build a PTE-like word for a virtual address (frame | R | W | VALID). */
export const PAGE_SHIFT = 12;
export const PAGES_PER_PROC = 256; // power of two
export const PTE_VALID = 1;
export const PTE_R = 2;
export const PTE_W = 4;
const FRAME_BASE = 0x100;
export function pteFor(vpn: number): number {
  return (((FRAME_BASE + vpn) << PAGE_SHIFT) | PTE_VALID | PTE_R | PTE_W) | 0;
}

/** How long a blocked thread sleeps before re-checking the phase: a safety net, never the wake path. */
export const WAIT_SAFETY_MS = 200;

/** Block (Atomics.wait) until the host leaves PHASE_INIT. Only used before any timing. */
export function waitForStart(ctl: Int32Array): void {
  while (Atomics.load(ctl, PHASE) === PHASE_INIT) Atomics.wait(ctl, PHASE, PHASE_INIT, WAIT_SAFETY_MS);
}
