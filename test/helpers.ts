/**
 * Shared test utilities.
 *
 * uvu has no timeouts of its own, so anything that can hang (workers above all) goes through
 * withTimeout or spawnWorker, which always settle and always clean up.
 */
import { Worker } from 'node:worker_threads';

/**
 * Settle with `promiseOrFn` (a promise, or a function returning a value or a promise), or reject
 * with `Error("<what>: timed out after <ms> ms")` if it takes longer than `ms`. The timer is
 * cleared either way, so a passing test does not keep the process alive.
 */
export function withTimeout<T>(ms: number, promiseOrFn: Promise<T> | (() => T | Promise<T>), what: string): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) throw new RangeError(`withTimeout ms must be a finite number > 0, got ${ms}`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  let work: Promise<T>;
  try {
    work = Promise.resolve(typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    work = Promise.reject(e);
  }
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- seeded PRNG

export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number;
  /** A uniformly chosen element (throws on an empty array). */
  pick<T>(arr: readonly T[]): T;
  /** true with probability p. */
  chance(p: number): boolean;
}

/** mulberry32: tiny, fast, good enough for test schedules, and reproducible from `seed`. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int n must be a positive integer, got ${n}`);
    return Math.floor(next() * n);
  };
  return {
    seed: seed >>> 0,
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    pick<T>(arr: readonly T[]): T {
      if (arr.length === 0) throw new RangeError('rng.pick of an empty array');
      return arr[int(arr.length)];
    },
    chance: (p) => next() < p,
  };
}

/** Base seed for randomised tests: DEVPAGER_TEST_SEED if set, else a fixed default (reproducible). */
export function testSeed(fallback = 0x5eed1234): number {
  const s = process.env.DEVPAGER_TEST_SEED;
  if (s === undefined || s === '') return fallback >>> 0;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new RangeError(`DEVPAGER_TEST_SEED must be an integer, got ${JSON.stringify(s)}`);
  return n >>> 0;
}

// ---------------------------------------------------------------- workers

export interface SpawnOptions {
  /** Hard limit for the worker to post its result (default 30 s). */
  timeoutMs?: number;
  /** Names the worker in error messages (default: the file name). */
  what?: string;
  /** Aborting rejects and terminates the worker (e.g. when a sibling worker already failed). */
  signal?: AbortSignal;
}

/**
 * Start a worker and resolve with the first message it posts (its result). Rejects if the worker
 * throws ('error'), exits before posting (any exit code), or does not answer within the timeout.
 * The worker is terminated in every case before the promise settles.
 */
export function spawnWorker<T = unknown>(url: URL, workerData: unknown, opts: SpawnOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const what = opts.what ?? `worker ${url.pathname.split('/').pop()}`;
  let worker: Worker;
  try {
    worker = new Worker(url, { workerData });
  } catch (e) {
    return Promise.reject(e);
  }
  const result = new Promise<T>((resolve, reject) => {
    worker.once('message', (m: T) => resolve(m));
    worker.on('error', (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `${what} threw: ${err.message}`;
      reject(err);
    });
    worker.once('exit', (code) => reject(new Error(`${what} exited with code ${code} before posting a result`)));
    const sig = opts.signal;
    if (sig) {
      const onAbort = () => reject(new Error(`${what}: aborted (${String(sig.reason)})`));
      if (sig.aborted) onAbort();
      else {
        sig.addEventListener('abort', onAbort, { once: true });
        worker.once('exit', () => sig.removeEventListener('abort', onAbort));
      }
    }
  });
  const done = withTimeout(timeoutMs, result, what);
  // terminate() is a no-op on a worker that already exited; its promise never rejects for that.
  return done.then(
    async (v) => { await worker.terminate(); return v; },
    async (e) => { await worker.terminate(); throw e; },
  );
}

/** Count set bits of a 32-bit integer. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
