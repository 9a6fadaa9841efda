/**
 * Counters and latency histograms: per thread, in the arena, written by their thread alone with
 * plain stores (no lock, no allocation, no Atomics), read racily by the host. A racy read can be
 * one increment stale; it is never torn, since each value is one aligned word.
 *
 * Histograms are log-linear (HDR-style): exact below 16 ns, then 8 sub-buckets per power of two,
 * so a bucket spans 12.5 % of its lower bound; src/quantile.ts reads quantiles from them.
 */
import { clockMs } from './clock.js';
import { quantileNs } from './quantile.js';
import {
  C, COUNTER_NAMES, COUNTERS, HBUCKETS, HIST_NAMES, NHIST, type HistName, type Layout,
} from './layout.js';

const C_PARKS = C.parks;
const C_PARK_NS = C.parkNs;
const H_PARK = HIST_NAMES.indexOf('park');

export function bucketOf(ns: number): number {
  const v = ns >= 2147483647 ? 2147483647 : ns < 0 ? 0 : ns | 0;
  if (v < 16) return v;
  const e = 31 - Math.clz32(v);
  return 16 + (e - 4) * 8 + ((v >>> (e - 3)) & 7);
}

/** Smallest value that lands in bucket i. */
export function bucketLow(i: number): number {
  if (i < 16) return i;
  const e = 4 + ((i - 16) >> 3);
  const sub = (i - 16) & 7;
  return (8 + sub) * 2 ** (e - 3);
}

export class ThreadStats {
  readonly counters: Float64Array;
  readonly hists: Int32Array;
  constructor(sab: SharedArrayBuffer, l: Layout, thread: number) {
    this.counters = new Float64Array(sab, l.countersOff + thread * COUNTERS * 8, COUNTERS);
    this.hists = new Int32Array(sab, l.histsOff + thread * NHIST * HBUCKETS * 4, NHIST * HBUCKETS);
  }
  record(hist: number, ns: number): void {
    this.hists[hist * HBUCKETS + bucketOf(ns)]++;
  }
}

/**
 * Atomics.wait(word, index, expected), counted as a park; when `timing`, its duration goes into
 * the park counter and histogram, and into `trace` as a park span. Shared by pagers and processes.
 */
export function timedPark(
  st: ThreadStats, timing: boolean, trace: { emit(kind: number, ts: number, dur: number, arg: number, flow: number): void } | null,
  traceKind: number, word: Int32Array, index: number, expected: number, timeoutMs = Infinity,
): 'ok' | 'not-equal' | 'timed-out' {
  const c = st.counters;
  c[C_PARKS]++;
  if (!timing) return Atomics.wait(word, index, expected, timeoutMs);
  const t0 = clockMs();
  const r = Atomics.wait(word, index, expected, timeoutMs);
  const t1 = clockMs();
  const ns = (t1 - t0) * 1e6;
  c[C_PARK_NS] += ns;
  st.record(H_PARK, ns);
  if (trace !== null) trace.emit(traceKind, t0, t1 - t0, 0, 0);
  return r;
}

export const H: { readonly [K in HistName]: number } = Object.fromEntries(HIST_NAMES.map((n, i) => [n, i])) as { [K in HistName]: number };

export interface Percentiles {
  count: number;
  p50Ns: number;
  p90Ns: number;
  p99Ns: number;
  p999Ns: number;
  maxNs: number;
  meanNs: number;
}

/** Sum one histogram over a set of threads. */
export function mergeHist(sab: SharedArrayBuffer, l: Layout, threads: number[], hist: number): Float64Array {
  const out = new Float64Array(HBUCKETS);
  for (const t of threads) {
    const h = new Int32Array(sab, l.histsOff + (t * NHIST + hist) * HBUCKETS * 4, HBUCKETS);
    for (let i = 0; i < HBUCKETS; i++) out[i] += h[i];
  }
  return out;
}

/** The lower bound of every bucket, and the upper bound of the last: the histograms' bounds. */
export const BUCKET_BOUNDS: readonly number[] = Array.from({ length: HBUCKETS + 1 }, (_, i) => bucketLow(i));

/**
 * Percentiles from bucket counts, through the one estimator (src/quantile.ts: within one bucket,
 * < 12.5 % above 16 ns). The mean takes each bucket's midpoint; the max is the upper bound of
 * the highest non-empty bucket.
 */
export function percentiles(b: Float64Array): Percentiles {
  let count = 0;
  let sum = 0;
  let max = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) continue;
    count += b[i];
    sum += b[i] * ((bucketLow(i) + bucketLow(i + 1)) / 2);
    max = bucketLow(i + 1);
  }
  const at = (q: number) => (count === 0 ? 0 : quantileNs(b, BUCKET_BOUNDS, q));
  return { count, p50Ns: at(0.5), p90Ns: at(0.9), p99Ns: at(0.99), p999Ns: at(0.999), maxNs: max, meanNs: count ? Math.round(sum / count) : 0 };
}

export function readCounters(sab: SharedArrayBuffer, l: Layout, thread: number): Record<string, number> {
  const c = new Float64Array(sab, l.countersOff + thread * COUNTERS * 8, COUNTERS);
  const out: Record<string, number> = {};
  COUNTER_NAMES.forEach((n, i) => (out[n] = c[i]));
  return out;
}

export function resetThread(sab: SharedArrayBuffer, l: Layout, thread: number): void {
  new Float64Array(sab, l.countersOff + thread * COUNTERS * 8, COUNTERS).fill(0);
  new Int32Array(sab, l.histsOff + thread * NHIST * HBUCKETS * 4, NHIST * HBUCKETS).fill(0);
}
