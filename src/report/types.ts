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
  /** tasks: processes, or threads of one process (mode) */
  procs: number;
  /** how the tasks ran (default processes) */
  mode?: 'processes' | 'threads';
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

export type SpanKind = 'fault' | 'serve' | 'dmmap' | 'pmap' | 'spin' | 'park' | 'queue' | 'shootdown';

/** Instants: a wake-up, a post, and the moment a thread's TLB entries were shot down. */
export type InstantKind = 'wake' | 'post' | 'shootdown-target';

/**
 * One timeline record. Timestamps are microseconds on one clock shared by all
 * threads. Spans carry `durUs`; 'wake', 'post' and 'shootdown-target' are
 * instants; 'counter' carries `name` and `value`. A 'post' (or a fault span)
 * with `flowId` starts a flow; a 'serve' span with the same `flowId` (or any
 * event with `flowEnd: true`) ends it. A span may start more flows
 * (`flowOut`: a request that shot down other threads' TLB entries).
 */
export interface TraceEvent {
  thread: number;
  kind: SpanKind | InstantKind | 'counter';
  tsUs: number;
  durUs?: number;
  flowId?: number;
  flowEnd?: boolean;
  /** further flows this event starts (ended by events with flowEnd: true) */
  flowOut?: number[];
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
  /** Every specific contention point found (slow driver, hot page, CPUs), most fault time first. */
  findings?: string[];
  /** Which part of the fault round trip dominates (queue, service, run queue, handoff). */
  breakdown?: string;
  /** What TLB shootdowns cost, when threads shared an address space (rt.stats().shootdown). */
  shootdowns?: string;
  /** What tracing cost in this run, or a plain statement that it was not measured. */
  overhead?: OverheadNote;
  /** How large the trace is, and what full rings overwrote (null: tracing was off). */
  trace?: TraceSummary | null;
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

/** The cost of tracing, as measured next to the profiled run (or not). */
export interface OverheadNote {
  measured: boolean;
  /** traced throughput / untraced, in the same run */
  ratio?: number;
  /** one sentence for the report */
  text: string;
}

/** Size of the trace and what the rings kept. */
export interface TraceSummary {
  /** events the rings hold, and events full rings overwrote */
  keptEvents: number;
  lostEvents: number;
  /** trace events written per second of the run, all threads */
  eventsPerSec: number;
  /** ring capacity per thread */
  ringEvents: number;
  /** 1 burst of `burst` requests in `sample` was traced */
  sample: number;
  burst: number;
  /** bytes per event in memory, and in the trace file (measured when one was written, else estimated) */
  memoryBytesPerEvent: number;
  fileBytesPerEvent: number;
  fileBytesEstimated: boolean;
  /** the trace file, when one was written */
  file?: string;
  fileBytes?: number;
}
