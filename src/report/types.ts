/**
 * Input types for the presentation layer of `devpager profile`.
 *
 * Everything under src/report/ is pure: plain data in, strings/objects out.
 * Nothing here touches workers or SharedArrayBuffers, so the renderers can be
 * tested with synthetic data and reused for reports loaded from JSON.
 */

export type WaitStrategy = 'spin' | 'park' | 'adaptive';

/** One measurement of the throughput sweep. */
export interface SweepPoint {
  workload: string;
  procs: number;
  pagers: number;
  wait: WaitStrategy;
  faultsPerSec: number;
  p50Ns: number;
  p99Ns: number;
}

/**
 * Bucket i counts values in [boundsNs[i], boundsNs[i+1]);
 * boundsNs.length === counts.length + 1.
 */
export interface Histogram {
  name: string;
  boundsNs: number[];
  counts: number[];
}

export type SpanKind = 'fault' | 'serve' | 'dmmap' | 'pmap' | 'spin' | 'park' | 'queue';

/**
 * One timeline record. Timestamps are microseconds on one clock shared by all
 * threads. Spans carry `durUs`; 'wake' and 'post' are instants; 'counter'
 * carries `name` and `value`. A 'post' (or a fault span) with `flowId` starts a
 * flow; a 'serve' span with the same `flowId` (or any event with
 * `flowEnd: true`) ends it.
 */
export interface TraceEvent {
  thread: number;
  kind: SpanKind | 'wake' | 'post' | 'counter';
  tsUs: number;
  durUs?: number;
  flowId?: number;
  flowEnd?: boolean;
  name?: string;
  value?: number;
  args?: Record<string, number | string>;
}

export interface ThreadInfo {
  index: number;
  name: string;
  role: 'host' | 'pager' | 'process';
}

/** Where one thread's wall time went, in nanoseconds. */
export interface ThreadTime {
  thread: string;
  role: 'pager' | 'process' | 'host';
  spinningNs: number;
  parkedNs: number;
  servingNs: number;
  dmmapNs: number;
  faultWaitNs: number;
  otherNs: number;
  totalNs: number;
}

export interface HotItem {
  label: string;
  value: number;
  unit: string;
}

export interface ProfileReport {
  title: string;
  generatedAt: string;
  machine: Record<string, string | number>;
  options: Record<string, string | number | boolean>;
  /** One sentence naming the main contention point, e.g.
   *  "pager 0's request queue: requests waited 71% of fault time queued". */
  verdict: string;
  threadTimes: ThreadTime[];
  hotPages: HotItem[];
  hotQueues: HotItem[];
  /** Per-fault latency. */
  latency: Histogram;
  /** Queue wait, service, park, ... */
  extraHistograms?: Histogram[];
  /** Throughput vs processes, one line per wait strategy. */
  sweep: SweepPoint[];
  /** For the per-thread timeline (spans). */
  timeline: { threads: ThreadInfo[]; events: TraceEvent[] };
  counters: Record<string, number>;
}
