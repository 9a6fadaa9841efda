/**
 * The baselines `devpager bench` reads its figures against, run in the same Node process: the
 * spin floor, the park pager, the postMessage pager, and, when a C compiler and the kernel allow
 * it, Linux's own anonymous fault and userfaultfd. Every entry is either a result or a skip with
 * its reason; nothing is silently dropped.
 */
import { emptyFloor, readSpinFloor, type SpinFloor } from './floor.js';
import { isSkipped, type BaselineResult, type SkippedBaseline } from './harness.js';
import { nativeBaselines } from './native.js';
import { parkPager } from './park.js';
import { postMessagePager } from './postmessage.js';

export type { BaselineResult, SkippedBaseline };
export { isSkipped };

export interface BaselineOptions {
  /** timed window of each baseline, ms (each also warms up for max(50, d/5) ms first) */
  durationMs: number;
  /** faulting threads for the park and postMessage pagers (default [1]) */
  procs?: number[];
  /** run the C baselines (default true) */
  native?: boolean;
  /** called before each baseline starts */
  onStep?: (label: string) => void;
}

export interface Baselines {
  /** the spin floor, read pinned and unpinned at several moments of the run (floor.ts) */
  spinFloor: SpinFloor;
  park: (BaselineResult | SkippedBaseline)[];
  postMessage: (BaselineResult | SkippedBaseline)[];
  native: (BaselineResult | SkippedBaseline)[];
}

/** How many onStep calls runBaselines makes (for progress displays). */
export function baselineSteps(o: BaselineOptions): number {
  const n = (o.procs ?? [1]).length;
  return 1 + 2 * n + (o.native === false ? 0 : 1);
}

async function guard(name: string, f: () => Promise<BaselineResult>): Promise<BaselineResult | SkippedBaseline> {
  try {
    return await f();
  } catch (e) {
    return { name, skipped: `failed: ${(e as Error).message}` };
  }
}

export async function runBaselines(o: BaselineOptions): Promise<Baselines> {
  const procs = o.procs ?? [1];
  const durationMs = o.durationMs;
  o.onStep?.('baseline spin-floor, unpinned and pinned');
  const floor = emptyFloor();
  await readSpinFloor(floor, 'start', durationMs);
  const park: (BaselineResult | SkippedBaseline)[] = [];
  const pm: (BaselineResult | SkippedBaseline)[] = [];
  for (const n of procs) {
    o.onStep?.(`baseline park-pager x${n}`);
    park.push(await guard('park-pager', () => parkPager({ procs: n, durationMs })));
  }
  for (const n of procs) {
    o.onStep?.(`baseline postmessage-pager x${n}`);
    pm.push(await guard('postmessage-pager', () => postMessagePager({ procs: n, durationMs })));
  }
  let native: (BaselineResult | SkippedBaseline)[] = [];
  if (o.native !== false) {
    o.onStep?.('baseline native (cc: anon fault, userfaultfd)');
    try {
      native = await nativeBaselines({ durationMs });
    } catch (e) {
      native = [{ name: 'native', skipped: `failed: ${(e as Error).message}` }];
    }
  }
  return { spinFloor: floor, park, postMessage: pm, native };
}

/** The result named `name` with `procs` threads, if it ran. */
export function pick(list: (BaselineResult | SkippedBaseline)[], name: string, procs?: number): BaselineResult | undefined {
  for (const r of list) if (!isSkipped(r) && r.name === name && (procs === undefined || r.procs === procs)) return r;
  return undefined;
}
