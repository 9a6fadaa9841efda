/**
 * The profile report of a runtime, built from what it recorded: the same ProfileReport for
 * `rt.profile()`, for a host script run under `devpager profile -- node host.mjs`, and for
 * `devpager profile --workload`.
 */
import os from 'node:os';
import { TRACE_EV } from '../layout.js';
import type { RuntimeStats } from '../runtime-stats.js';
import type { OverheadNote, ProfileReport, SweepPoint, TraceSummary } from '../report/types.js';
import { TRACE_BURST } from '../trace.js';
import { buildProfileReport } from './analyze.js';
import { traceHotSpots } from './hot.js';
import { processLabel, SlotOwners } from './names.js';
import type { ProcessRecord, ProfileSource } from './source.js';
import { decodeTrace, snapshotRings, type RingReader } from './trace-decode.js';

export interface ProfileOptions {
  /** report title (default "devpager profile") */
  title?: string;
  /** a stats snapshot to report on (default: rt.stats() now) */
  stats?: RuntimeStats;
  /** the profiled window, ms (default: the stats' uptime) */
  windowMs?: number;
  /** what tracing cost (default: a statement that it was not measured) */
  overhead?: OverheadNote;
  /** a throughput sweep to chart (built-in workloads only) */
  sweep?: SweepPoint[];
  /** extra options to list in the report */
  options?: Record<string, string | number | boolean>;
}

/** Bytes per event in a Chrome trace file, when no file was written to measure it. */
export const ESTIMATED_FILE_BYTES_PER_EVENT = 130;
/** The timeline shows this many µs around the busiest moment. */
const TIMELINE_US = 2000;

export const OVERHEAD_NOT_MEASURED: OverheadNote = {
  measured: false,
  text: 'tracing overhead: not measured in this run (a profiled program runs once, traced); `devpager bench --trace-overhead` measures traced against untraced throughput on the built-in workloads',
};

export function machineInfo(): Record<string, string | number> {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${os.release()}` };
}

/** How long the processes and threads of `log` lived within the last `windowMs`, summed (ms). */
function lifetimesIn(log: readonly ProcessRecord[], windowMs: number, now = performance.now()): number {
  const from = now - windowMs;
  let ms = 0;
  for (const r of log) ms += Math.max(0, Math.min(r.endMs ?? now, now) - Math.max(r.startMs, from));
  return ms;
}

/** The report of everything `src` recorded so far. */
export function profileOf(src: ProfileSource, opts: ProfileOptions = {}): ProfileReport {
  const stats = opts.stats ?? src.stats();
  const windowMs = opts.windowMs ?? stats.uptimeMs;
  const o = src.options;
  const owners = new SlotOwners(src.processLog());
  const read = o.trace ? snapshotRings(src) : null;
  const seen = read ? timeRanges(src, read) : null;
  const slotName = (slot: number) => {
    let ps = owners.processes(slot);
    // With a trace, the processes whose time the rings hold (not those of an earlier phase).
    const r = seen?.get(slot);
    if (r) ps = ps.filter((p) => p.startMs <= r.to && (p.endMs === null || p.endMs >= r.from));
    if (ps.length === 0) return `slot ${slot}`;
    const last = ps[ps.length - 1];
    return ps.length === 1 ? `${processLabel(last)} (slot ${slot})` : `${processLabel(last)} and ${ps.length - 1} before it (slot ${slot})`;
  };
  let trace = null;
  let hot = null;
  let traceSummary: TraceSummary | null = null;
  if (read) {
    const mid = busiestMomentUs(src, read);
    const d = decodeTrace(src, { fromUs: mid - TIMELINE_US, toUs: mid + TIMELINE_US }, read);
    trace = { threads: d.threads, events: d.events };
    hot = traceHotSpots(src, read);
    const kept = d.written - d.lost;
    traceSummary = {
      keptEvents: kept,
      lostEvents: d.lost,
      eventsPerSec: windowMs > 0 ? (d.written * 1000) / windowMs : 0,
      ringEvents: o.traceEvents,
      sample: o.traceSample,
      burst: TRACE_BURST,
      memoryBytesPerEvent: TRACE_EV * 8,
      fileBytesPerEvent: ESTIMATED_FILE_BYTES_PER_EVENT,
      fileBytesEstimated: true,
    };
  }
  return buildProfileReport({
    title: opts.title ?? 'devpager profile',
    machine: machineInfo(),
    options: {
      pagers: o.pagers, cpus: o.cpus, wait: o.wait, maxProcesses: o.maxProcesses, stats: o.stats, statsSample: o.statsSample,
      trace: o.trace, traceEvents: o.traceEvents, traceSample: o.traceSample, devices: src.deviceNames().map((d) => d.path).join(' ') || 'none',
      ...(opts.options ?? {}),
    },
    stats,
    windowMs,
    processMs: lifetimesIn(src.processLog(), windowMs),
    histograms: { fault: src.histogram('fault'), queueWait: src.histogram('queueWait'), service: src.histogram('service'), park: src.histogram('park') },
    trace,
    hot,
    traceSummary,
    sweep: opts.sweep ?? [],
    slotName,
    overhead: opts.overhead ?? OVERHEAD_NOT_MEASURED,
  });
}

/**
 * The median start time of the events the rings hold, µs: the middle of the run's activity
 * (the middle of its time range can fall in an idle gap, such as a pager's long park).
 */
function busiestMomentUs(src: ProfileSource, read: RingReader): number {
  const t = src.threads();
  const starts: number[] = [];
  for (const thread of [...t.pagers, ...t.slots]) {
    const raw = read(thread);
    // Every 16th event is plenty for a median.
    for (let i = 0; i < raw.n; i += 16) starts.push(raw.data[i * TRACE_EV + 1] * 1000);
  }
  if (starts.length === 0) return 0;
  starts.sort((a, b) => a - b);
  return starts[starts.length >> 1];
}

/** The time range (clockMs) of the events each slot's ring holds. */
function timeRanges(src: ProfileSource, read: RingReader): Map<number, { from: number; to: number }> {
  const out = new Map<number, { from: number; to: number }>();
  src.threads().slots.forEach((thread, slot) => {
    const raw = read(thread);
    if (raw.n === 0) return;
    let from = Infinity;
    let to = -Infinity;
    for (let i = 0; i < raw.n; i++) {
      const ts = raw.data[i * TRACE_EV + 1];
      if (ts < from) from = ts;
      if (ts + raw.data[i * TRACE_EV + 2] > to) to = ts + raw.data[i * TRACE_EV + 2];
    }
    out.set(slot, { from, to });
  });
  return out;
}
