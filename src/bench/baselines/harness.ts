/**
 * Host side of the JS baselines: start workers, drive the phases, collect, always clean up.
 *
 * Every worker posts 'ready' once set up and 'done' after it has written its counters. A worker
 * `error`, or an `exit` before 'done', rejects the run; every wait has a timeout; `close()`
 * terminates every worker and is called from `finally`, so a failed run never leaves threads behind.
 */
import { Worker, type TransferListItem } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentiles, type LatencySummary } from './latency.js';
import {
  PHASE, PHASE_MEASURE, PHASE_STOP, PHASE_WARM, DOORBELL,
  nSamplesIndex, opsIndex, timeoutsIndex,
} from './layout.js';

export interface BaselineResult extends LatencySummary {
  name: string;
  procs: number;
  ops: number;
  elapsedMs: number;
  opsPerSec: number;
  /** Optional free text (e.g. how many safety-net wait timeouts fired, native program notes). */
  detail?: string;
}

export interface SkippedBaseline {
  name: string;
  skipped: string;
}

export function isSkipped(r: BaselineResult | SkippedBaseline): r is SkippedBaseline {
  return 'skipped' in r;
}

export const START_TIMEOUT_MS = 15_000;
export const STOP_TIMEOUT_MS = 10_000;

/** Option validation: errors name the option. `undefined` means "use the default". */
export function intOption(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`option ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

export function durationOption(v: number | undefined, dflt = 1000): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 600_000) {
    throw new RangeError(`option durationMs must be a number in (0, 600000], got ${String(v)}`);
  }
  return v;
}

/** Warm-up before the timed section: a fifth of the duration, clamped to [50, 300] ms. */
export function warmupMs(durationMs: number): number {
  return Math.min(300, Math.max(50, durationMs / 5));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`baseline: timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

interface Tracked {
  worker: Worker;
  label: string;
  ready: Promise<void>;
  done: Promise<void>;
}

export class WorkerGroup {
  private readonly tracked: Tracked[] = [];

  /** Start a worker; `data` goes in workerData, `transfer` (MessagePorts) is moved to it. */
  add(url: URL, label: string, data: unknown, transfer: readonly TransferListItem[] = []): void {
    const worker = new Worker(url, { workerData: data, transferList: [...transfer] });
    let readyRes!: () => void;
    let doneRes!: () => void;
    let readyRej!: (e: Error) => void;
    let doneRej!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => { readyRes = res; readyRej = rej; });
    const done = new Promise<void>((res, rej) => { doneRes = res; doneRej = rej; });
    ready.catch(() => {}); // observed via waitAll; never an unhandled rejection
    done.catch(() => {});
    let finished = false;
    worker.on('message', (m: unknown) => {
      if (m === 'ready') readyRes();
      else if (m === 'done') { finished = true; doneRes(); }
    });
    worker.on('error', (e: Error) => {
      const err = new Error(`baseline worker ${label} failed: ${e.message}`, { cause: e });
      readyRej(err);
      doneRej(err);
    });
    worker.on('exit', (code: number) => {
      if (finished) return;
      const err = new Error(`baseline worker ${label} exited (code ${code}) before finishing`);
      readyRej(err);
      doneRej(err);
    });
    this.tracked.push({ worker, label, ready, done });
  }

  /** Post a message to worker `i` (in the order it was added). */
  post(i: number, message: unknown): void {
    this.tracked[i]!.worker.postMessage(message);
  }

  get size(): number { return this.tracked.length; }

  async allReady(): Promise<void> {
    await withTimeout(Promise.all(this.tracked.map((t) => t.ready)), START_TIMEOUT_MS, 'workers to start');
  }

  async allDone(ms = STOP_TIMEOUT_MS): Promise<void> {
    await withTimeout(Promise.all(this.tracked.map((t) => t.done)), ms, 'workers to finish');
  }

  async doneOf(indices: number[], ms: number): Promise<void> {
    await withTimeout(Promise.all(indices.map((i) => this.tracked[i]!.done)), ms, 'workers to finish');
  }

  /** Terminate everything (idempotent; safe after the workers exited on their own). */
  async close(): Promise<void> {
    await Promise.allSettled(this.tracked.map((t) => t.worker.terminate()));
  }
}

export function setPhase(ctl: Int32Array, phase: number): void {
  Atomics.store(ctl, PHASE, phase);
  Atomics.notify(ctl, PHASE);
}

/**
 * WARM for warmupMs, MEASURE for durationMs, then STOP; returns the host's measured window.
 * Workers count an operation when the phase read at its start was MEASURE.
 */
export async function runWindow(ctl: Int32Array, durationMs: number, afterStop?: () => void): Promise<number> {
  setPhase(ctl, PHASE_WARM);
  await sleep(warmupMs(durationMs));
  setPhase(ctl, PHASE_MEASURE);
  const t0 = performance.now();
  await sleep(durationMs);
  setPhase(ctl, PHASE_STOP);
  const elapsed = performance.now() - t0;
  // Wake a pager parked on the doorbell so it sees STOP.
  Atomics.add(ctl, DOORBELL, 1);
  Atomics.notify(ctl, DOORBELL);
  afterStop?.();
  return elapsed;
}

/** Sum the counters of threads [0, threads) and summarise their samples. */
export function collect(
  name: string, ctl: Int32Array, samples: Float64Array, cap: number, threads: number, elapsedMs: number,
): BaselineResult {
  let ops = 0;
  let n = 0;
  let timeouts = 0;
  for (let i = 0; i < threads; i++) {
    ops += Atomics.load(ctl, opsIndex(i));
    n += Atomics.load(ctl, nSamplesIndex(i));
    timeouts += Atomics.load(ctl, timeoutsIndex(i));
  }
  const merged = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < threads; i++) {
    const ni = Atomics.load(ctl, nSamplesIndex(i));
    merged.set(samples.subarray(i * cap, i * cap + ni), k);
    k += ni;
  }
  const result: BaselineResult = {
    name, procs: threads, ops, elapsedMs, opsPerSec: elapsedMs > 0 ? (ops * 1000) / elapsedMs : NaN,
    ...percentiles(merged, n),
  };
  const notes: string[] = [];
  if (n < ops) notes.push(`latency from the first ${n} of ${ops} ops (sample buffer full)`);
  if (timeouts > 0) notes.push(`${timeouts} safety-net wait timeouts (a lost wake-up would show here)`);
  if (notes.length > 0) result.detail = notes.join('; ');
  return result;
}
