/**
 * The floor: a raw spin ping-pong between two workers. Nothing any pager does can beat one
 * cache-line round trip between two threads, so every other figure is read against this one.
 *
 * `pairs` > 1 runs that many independent pairs at once (2*pairs spinning threads) to show what
 * pure spinning does with more threads than cores: a round trip only completes while both threads
 * of a pair happen to be on a CPU together.
 */
import { PHASE_WARM, PHASE_STOP, ctlBytes, elapsedIndex, LINE } from './layout.js';
import {
  WorkerGroup, collect, durationOption, intOption, runWindow, setPhase, STOP_TIMEOUT_MS,
  type BaselineResult,
} from './harness.js';

export interface SpinFloorOptions {
  /** Time exactly this many round trips per pair (after a warm-up); when set, durationMs is ignored. */
  iterations?: number;
  /** Timed window in duration mode (default 1000). */
  durationMs?: number;
  /** Independent ping-pong pairs run at once (default 1). procs in the result = pairs (the pinging threads). */
  pairs?: number;
  /**
   * Pin each pinging thread to `ping` and each answering thread to `pong` (Linux CPU numbers,
   * through taskset), as a runtime pins its processes and its pager; a thread that cannot be
   * pinned fails the run. Default: not pinned.
   */
  pin?: { ping: readonly number[]; pong: readonly number[] };
  /** The result's name (default 'spin-floor'). */
  name?: string;
}

const WORKER = new URL('./spin-worker.js', import.meta.url);

export async function spinFloor(opts: SpinFloorOptions = {}): Promise<BaselineResult> {
  const iterations = intOption('iterations', opts.iterations, 0, 1, 50_000_000);
  const durationMs = durationOption(opts.durationMs);
  const pairs = intOption('pairs', opts.pairs, 1, 1, 32);
  // Record at most 4 Mi samples in total (32 MiB); beyond that ops are counted, not timed.
  const cap = Math.max(1, Math.floor((iterations > 0 ? Math.min(iterations * pairs, 1 << 22) : 1 << 22) / pairs));

  const ctlBuf = new SharedArrayBuffer(ctlBytes(pairs));
  const ctl = new Int32Array(ctlBuf);
  const words = new SharedArrayBuffer(2 * LINE * pairs * 4);
  const samples = new SharedArrayBuffer(8 * cap * pairs);
  const group = new WorkerGroup();
  try {
    for (let p = 0; p < pairs; p++) {
      for (const role of ['ping', 'pong'] as const) {
        const cpus = opts.pin ? [...opts.pin[role]] : null;
        group.add(WORKER, `spin-${role}-${p}`, { role, pair: p, ctl: ctlBuf, words, samples, cap, iterations, cpus });
      }
    }
    await group.allReady();
    let elapsedMs: number;
    if (iterations > 0) {
      setPhase(ctl, PHASE_WARM);
      const pingers = Array.from({ length: pairs }, (_, p) => 2 * p);
      // Allow 50 µs per round trip (100x the unloaded floor) on top of the start-up margin; an
      // oversubscribed run that is slower than that fails with a timeout instead of hanging.
      await group.doneOf(pingers, STOP_TIMEOUT_MS + iterations * 0.05);
      setPhase(ctl, PHASE_STOP);
      const ctl64 = new Float64Array(ctlBuf);
      elapsedMs = 0;
      for (let p = 0; p < pairs; p++) elapsedMs = Math.max(elapsedMs, ctl64[elapsedIndex(p)]!);
    } else {
      elapsedMs = await runWindow(ctl, durationMs);
    }
    await group.allDone();
    return collect(opts.name ?? 'spin-floor', ctl, new Float64Array(samples), cap, pairs, elapsedMs);
  } finally {
    setPhase(ctl, PHASE_STOP);
    await group.close();
  }
}
