/**
 * One clock for every thread. performance.now() counts from each worker's own timeOrigin, so raw
 * values from two threads cannot be compared; adding (this thread's timeOrigin - the host's)
 * puts every thread on the host's timeline, in milliseconds with sub-microsecond resolution.
 */
import { headerTimeOrigin } from './layout.js';

let delta = 0;

/** Call once per thread with the arena, before taking timestamps. */
export function initClock(sab: SharedArrayBuffer): void {
  delta = performance.timeOrigin - headerTimeOrigin(sab);
}

/** Milliseconds since the host's timeOrigin, comparable across threads. */
export function clockMs(): number {
  return performance.now() + delta;
}
