/**
 * The baselines `devpager bench` reads its figures against, run in the same Node process: the
 * spin floor, the park pager, the postMessage pager, and, when a C compiler and the kernel allow
 * it, Linux's own anonymous fault and userfaultfd. Every entry is either a result or a skip with
 * its reason; nothing is silently dropped.
 */
import { isSkipped, type BaselineResult, type SkippedBaseline } from './harness.js';
import { nativeBaselines } from './native.js';
import { parkPager } from './park.js';
import { postMessagePager } from './postmessage.js';
import { spinFloor } from './spin.js';

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
  /** the reading of `spinFloorReadings` with the median p50 (the first reading until more are added) */
  spinFloor: BaselineResult | SkippedBaseline;
  /**
   * Every spin floor measured in this run, in order. The floor is bimodal on a VM (190 or 350-430
   * ns here, by where the vCPUs land) and holds its mode for seconds, so one reading taken 10 s
   * from the reference cell could land in the other mode (p50/floor 4.21x in one run where
   * the other eight gave 1.55-2.7x): the bench reads it again next to the reference cell and at
   * the end, and reports the median.
   */
  spinFloorReadings: (BaselineResult | SkippedBaseline)[];
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
  o.onStep?.('baseline spin-floor');
  const floor = await measureSpinFloor(durationMs);
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
  return { spinFloor: floor, spinFloorReadings: [floor], park, postMessage: pm, native };
}

/** One spin-floor reading (a skip with its reason if it failed). */
export function measureSpinFloor(durationMs: number): Promise<BaselineResult | SkippedBaseline> {
  return guard('spin-floor', () => spinFloor({ durationMs, pairs: 1 }));
}

/** Add a reading and make `spinFloor` the reading with the median p50 (the lower middle of an even count). */
export function addSpinFloorReading(b: Baselines, r: BaselineResult | SkippedBaseline): void {
  b.spinFloorReadings.push(r);
  const ok = b.spinFloorReadings.filter((x): x is BaselineResult => !isSkipped(x)).sort((x, y) => x.p50Ns - y.p50Ns);
  if (ok.length > 0) b.spinFloor = ok[(ok.length - 1) >> 1];
}

/** The result named `name` with `procs` threads, if it ran. */
export function pick(list: (BaselineResult | SkippedBaseline)[], name: string, procs?: number): BaselineResult | undefined {
  for (const r of list) if (!isSkipped(r) && r.name === name && (procs === undefined || r.procs === procs)) return r;
  return undefined;
}
