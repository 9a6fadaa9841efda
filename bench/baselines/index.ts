/**
 * Baselines that `devpager bench` runs in the same process and reports as ratios (issue 4).
 *
 * - spin-floor: raw spin ping-pong between two workers (the floor nothing can beat);
 * - park-pager: a pager thread answering faults only through Atomics.wait / Atomics.notify;
 * - postmessage-pager: the same through MessagePort postMessage, awaited in an async loop;
 * - linux-anon-fault, userfaultfd: the kernel's own fault paths, from C built at run time.
 *
 * All latencies are measured inside the faulting thread and given in nanoseconds; opsPerSec is
 * the aggregate over all faulting threads for the host-measured timed window.
 */
export { percentiles, type LatencySummary } from './stats.js';
export type { BaselineResult, SkippedBaseline } from './harness.js';
export { spinFloor, type SpinFloorOptions } from './spin.js';
export { parkPager } from './park.js';
export { postMessagePager } from './postmessage.js';
export { nativeBaselines } from './native.js';

import type { BaselineResult, SkippedBaseline } from './harness.js';
/** Narrowing helper for nativeBaselines() entries. */
export function isSkipped(r: BaselineResult | SkippedBaseline): r is SkippedBaseline {
  return 'skipped' in r;
}
