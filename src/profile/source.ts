/**
 * What the profiler needs from a Runtime: a small interface, so that src/profile/ depends on no
 * runtime internals beyond it (src/runtime/runtime.ts implements it).
 */
import type { Layout } from '../layout.js';
import type { HistogramData, RuntimeStats } from '../runtime-stats.js';
import type { NamedRegion } from '../driver.js';

/** One thread of a process this runtime ran: which slot (and so which trace ring) it had, and when. */
export interface ProcessRecord {
  pid: number;
  /** the thread's id; equal to pid for a process's first thread */
  tid: number;
  slot: number;
  /** the program module's URL */
  program: string;
  /** the host's performance.now() when it got its slot, and when it ended (null while it runs) */
  startMs: number;
  endMs: number | null;
}

/** A device as the report names it: its path, and the regions its driver declares. */
export interface DeviceNames {
  path: string;
  /** the driver's name (defineDriver({ name })) */
  driver: string;
  regions: readonly NamedRegion[];
}

export interface ProfileSource {
  readonly sab: SharedArrayBuffer;
  readonly layout: Layout;
  readonly options: {
    readonly trace: boolean;
    readonly traceEvents: number;
    readonly traceSample: number;
    readonly statsSample: number;
    readonly stats: boolean;
    readonly pagers: number;
    readonly cpus: number;
    readonly wait: string;
    readonly maxProcesses: number;
  };
  stats(): RuntimeStats;
  histogram(name: 'fault' | 'queueWait' | 'service' | 'park'): HistogramData;
  threads(): { host: number; pagers: number[]; slots: number[] };
  /** the threads run so far, oldest first (the newest ones, when there were very many) */
  processLog(): readonly ProcessRecord[];
  /** device names, by device index */
  deviceNames(): readonly DeviceNames[];
}

export interface ProcessRecorder {
  started(pid: number, tid: number, slot: number, program: string): ProcessRecord;
  ended(r: ProcessRecord): void;
  list(): readonly ProcessRecord[];
}

/** The runtime's log of threads, bounded: the oldest records go first. */
export function processRecorder(max = 65536): ProcessRecorder {
  const log: ProcessRecord[] = [];
  return {
    started(pid, tid, slot, program) {
      const r: ProcessRecord = { pid, tid, slot, program, startMs: performance.now(), endMs: null };
      log.push(r);
      if (log.length > max) log.splice(0, log.length - max);
      return r;
    },
    ended(r) {
      r.endMs = performance.now();
    },
    list: () => log,
  };
}
