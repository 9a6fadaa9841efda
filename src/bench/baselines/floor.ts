/**
 * The spin floor of a bench run: what the fault p50 is compared with. Nothing a pager does beats
 * one cache-line round trip between two threads, so the floor must be that round trip at its best:
 *
 * - it is read both unpinned (two plain workers, what a user's own ping-pong gets) and pinned the
 *   way a one-pager runtime pins its threads (src/affinity.ts pinPlan: the answering thread on
 *   the pager's CPU, the pinging one on the processes' CPUs), since the cells it is compared with
 *   run pinned, and the scheduler's placement of two unpinned threads can make the round trip
 *   several times slower;
 * - each kind is read at several moments (the start, right before the reference cell, the end),
 *   because a VM's round trip has modes that each last seconds, and one reading far from the
 *   reference cell can land in another one; each kind's floor is its median reading;
 * - the run's floor is the lowest of the two kinds' floors and of the readings right before the
 *   reference cell: the cell runs in the mode around it, and medians taken mostly in a slower
 *   mode would put a fault round trip below a bare ping-pong, which it cannot be.
 *
 * Every reading is kept (and written to the JSON); a kind that cannot be read (pinning not
 * possible here, a worker failed) is a skip with its reason, and the floor is then the other kind.
 */
import { allowedCpus, pinPlan, pinUnavailable } from '../../affinity.js';
import { atMedian } from '../median-run.js';
import { isSkipped, type BaselineResult, type SkippedBaseline } from './harness.js';
import { spinFloor } from './spin.js';

/** When in the run a reading was taken. */
export type FloorMoment = 'start' | 'reference' | 'end';

export const UNPINNED = 'spin-floor';
export const PINNED = 'spin-floor-pinned';

export interface FloorReading {
  moment: FloorMoment;
  pinned: boolean;
  result: BaselineResult | SkippedBaseline;
}

export interface SpinFloor {
  /** the floor the ratios use: the lowest of `pinned`, `unpinned` and `reference` (a skip if all are) */
  floor: BaselineResult | SkippedBaseline;
  /** which of the three `floor` is */
  source: 'pinned' | 'unpinned' | 'reference';
  /** the lower reading taken right before the reference cell, or why there is none */
  reference: BaselineResult | SkippedBaseline;
  /** each kind's reading with the median p50 (atMedian), or its latest skip */
  pinned: BaselineResult | SkippedBaseline;
  unpinned: BaselineResult | SkippedBaseline;
  /** every reading of the run, in order */
  readings: FloorReading[];
}

export function emptyFloor(): SpinFloor {
  return { ...summariseFloor([]), readings: [] };
}

/** The CPUs a one-pager runtime gives its pager (pong) and its processes (ping), or why there are none. */
function cellPinning(): { ping: number[]; pong: number[] } | string {
  const why = pinUnavailable();
  if (why !== null) return why;
  const plan = pinPlan(allowedCpus(), 1);
  if (plan === null) return 'one CPU: nothing to pin apart';
  return { ping: plan.processes, pong: plan.pagers[0] };
}

async function read(name: string, durationMs: number, pin?: { ping: number[]; pong: number[] }): Promise<BaselineResult | SkippedBaseline> {
  try {
    return await spinFloor({ durationMs, pairs: 1, pin, name });
  } catch (e) {
    return { name, skipped: `failed: ${(e as Error).message}` };
  }
}

/**
 * Read the floor both ways at `moment` and update `f`. The two kinds alternate which goes first,
 * so that neither always follows the other.
 */
export async function readSpinFloor(f: SpinFloor, moment: FloorMoment, durationMs: number): Promise<void> {
  const pin = cellPinning();
  const order = f.readings.length % 4 === 0 ? [false, true] : [true, false];
  for (const pinned of order) {
    const result = !pinned ? await read(UNPINNED, durationMs)
      : typeof pin === 'string' ? { name: PINNED, skipped: `cannot pin like the cells: ${pin}` }
      : await read(PINNED, durationMs, pin);
    f.readings.push({ moment, pinned, result });
  }
  Object.assign(f, summariseFloor(f.readings));
}

/** Each kind's median reading (or its latest skip), the lower reading next to the reference cell, and the lowest of these: the run's floor. */
export function summariseFloor(readings: readonly FloorReading[]): Omit<SpinFloor, 'readings'> {
  const measured = (rs: (BaselineResult | SkippedBaseline)[]) => rs.filter((r): r is BaselineResult => !isSkipped(r));
  const kind = (pinned: boolean, name: string): BaselineResult | SkippedBaseline => {
    const mine = readings.filter((r) => r.pinned === pinned).map((r) => r.result);
    return atMedian(measured(mine), (r) => r.p50Ns) ?? mine[mine.length - 1] ?? { name, skipped: 'not measured' };
  };
  const lowest = (rs: BaselineResult[]) => rs.reduce((a, b) => (b.p50Ns < a.p50Ns ? b : a));
  const pinned = kind(true, PINNED);
  const unpinned = kind(false, UNPINNED);
  const near = measured(readings.filter((r) => r.moment === 'reference').map((r) => r.result));
  const reference = near.length > 0 ? lowest(near) : { name: UNPINNED, skipped: 'not read next to the reference cell' };
  // Ties go to the medians: the reference reading is the floor only where it is lower.
  const candidates = [pinned, unpinned, reference].filter((r): r is BaselineResult => !isSkipped(r));
  if (candidates.length === 0) return { pinned, unpinned, reference, floor: unpinned, source: 'unpinned' };
  const floor = lowest(candidates);
  return { pinned, unpinned, reference, floor, source: floor === pinned ? 'pinned' : floor === unpinned ? 'unpinned' : 'reference' };
}
