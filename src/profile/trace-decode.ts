/**
 * Trace rings (src/trace.ts) decoded into the report's TraceEvents (µs, named threads), on the
 * host. For the timeline and for rt.traceEvents(); the trace file is streamed from the rings
 * without building these objects (trace-file.ts).
 */
import { OP_NAMES } from '../pager/protocol.js';
import { toChromeTrace, type ChromeTrace } from '../report/chrome-trace.js';
import type { ThreadInfo, TraceEvent } from '../report/types.js';
import { K_DEPTH, K_DMMAP, K_FAULT, K_PARK, K_SERVE, K_SERVE_FAULT, K_SPIN, K_SYSCALL, K_WAKE, KIND_BITS, readRing, type RawRing } from '../trace.js';
import { TRACE_EV } from '../layout.js';
import { pageLabel, processLabel, SlotOwners } from './names.js';
import type { DeviceNames, ProfileSource } from './source.js';
import { byRequest, shootdownsOf } from './trace-shootdowns.js';

const KIND_MOD = 2 ** KIND_BITS;

/** The slot a request came from: flow ids are (per-slot sequence) * 2048 + slot (process/requester.ts). */
export const FLOW_SLOT_MOD = 2048;

export function opName(op: number): string {
  return OP_NAMES[op] ?? `op ${op}`;
}

/** What one raw event is, without allocating: kind, and the device index (-1 for none). */
export function kindOf(word: number): number {
  return word % KIND_MOD;
}
export function deviceOf(word: number): number {
  return Math.floor(word / KIND_MOD) - 1;
}

/** One ring's threads: a pager's, or a slot's with the processes that held it. */
export interface RingInfo {
  thread: number;
  role: 'pager' | 'process';
  /** pager index, or slot */
  index: number;
}

export function rings(src: ProfileSource): RingInfo[] {
  const t = src.threads();
  return [
    ...t.pagers.map((thread, index) => ({ thread, role: 'pager' as const, index })),
    ...t.slots.map((thread, index) => ({ thread, role: 'process' as const, index })),
  ];
}

/** How the profile reads a ring: live from the arena, or from one snapshot shared by its parts. */
export type RingReader = (thread: number) => RawRing;

export function liveRings(src: ProfileSource): RingReader {
  return (thread) => readRing(src.sab, src.layout, thread);
}

/** Copy every ring once, so that a report's parts see the same events and copy nothing again. */
export function snapshotRings(src: ProfileSource): RingReader {
  const copies = new Map(rings(src).map((r) => [r.thread, readRing(src.sab, src.layout, r.thread)]));
  return (thread) => copies.get(thread) ?? readRing(src.sab, src.layout, thread);
}

/** Decode one raw event into a TraceEvent; null for kinds the report does not show. */
export function decodeEvent(data: Float64Array, b: number, thread: number, devices: readonly DeviceNames[]): TraceEvent | null {
  const word = data[b];
  const k = kindOf(word);
  const tsUs = data[b + 1] * 1000;
  const durUs = data[b + 2] * 1000;
  const arg = data[b + 3];
  const flow = data[b + 4];
  switch (k) {
    case K_FAULT:
      return { thread, kind: 'fault', tsUs, durUs, flowId: flow, flowEnd: false, name: 'fault', args: { va: `0x${arg.toString(16)}` } };
    case K_SYSCALL:
      return { thread, kind: 'fault', tsUs, durUs, flowId: flow, flowEnd: false, name: opName(arg), args: { op: opName(arg) } };
    case K_SERVE:
      return { thread, kind: 'serve', tsUs, durUs, flowId: flow, flowEnd: true, name: `serve ${opName(arg)}`, args: { op: opName(arg) } };
    case K_SERVE_FAULT: {
      const dev = deviceOf(word);
      const page = dev >= 0 ? pageLabel(devices, dev, arg) : `anonymous 0x${arg.toString(16)}`;
      return { thread, kind: 'serve', tsUs, durUs, flowId: flow, flowEnd: true, name: 'serve fault', args: { page } };
    }
    case K_DMMAP:
      return { thread, kind: 'dmmap', tsUs, durUs, name: 'd_mmap', args: { page: pageLabel(devices, deviceOf(word), arg) } };
    case K_PARK:
      return { thread, kind: 'park', tsUs, durUs, name: 'park' };
    case K_SPIN:
      return { thread, kind: 'spin', tsUs, durUs, name: 'spin' };
    case K_WAKE:
      return { thread, kind: 'wake', tsUs, name: 'wake', args: { slot: arg } };
    case K_DEPTH:
      return { thread, kind: 'counter', tsUs, name: 'queue depth', value: arg };
    default:
      return null;
  }
}

export interface DecodedTrace {
  threads: ThreadInfo[];
  events: TraceEvent[];
  /** events overwritten in full rings (the rings keep the latest) */
  lost: number;
  written: number;
}

/**
 * Every ring decoded, or only the events inside [fromUs, toUs] (spans overlapping it). A slot's
 * ring is named after the process(es) that held the slot. A pager's shootdown event becomes a
 * slice on its track and an instant on the target thread's, with a flow from the initiator's
 * request span when the rings still hold it (trace-shootdowns.ts).
 */
export function decodeTrace(src: ProfileSource, window?: { fromUs: number; toUs: number }, read: RingReader = liveRings(src)): DecodedTrace {
  const devices = src.deviceNames();
  const owners = new SlotOwners(src.processLog());
  const threads: ThreadInfo[] = [];
  const events: TraceEvent[] = [];
  const all = rings(src).map((r) => ({ r, raw: read(r.thread) }));
  const slotThread = src.threads().slots;
  const inWindow = (tsUs: number, durUs: number) => !window || (tsUs <= window.toUs && tsUs + durUs >= window.fromUs);
  const sds = shootdownsOf(all.filter((x) => x.r.role === 'pager').map((x) => ({ index: x.r.index, raw: x.raw })), owners);
  // The request spans the rings hold, by flow: the arrows that can start.
  const starts = new Map<number, number>();
  if (sds.length > 0) {
    for (const { r, raw } of all) {
      if (r.role !== 'process') continue;
      for (let i = 0; i < raw.n; i++) {
        const k = kindOf(raw.data[i * TRACE_EV]);
        if (k === K_FAULT || k === K_SYSCALL) starts.set(raw.data[i * TRACE_EV + 4], raw.data[i * TRACE_EV + 1] * 1000);
      }
    }
  }
  const arrow = (requestFlow: number, endUs: number) => {
    const s = requestFlow !== 0 ? starts.get(requestFlow) : undefined;
    return s !== undefined && s <= endUs;
  };
  const outOf = byRequest(sds);
  // Instants for each target slot's track, and the flows that end in them.
  const instants = new Map<number, TraceEvent[]>();
  const ends = new Set<number>();
  for (const sd of sds) {
    const tsUs = sd.tsMs * 1000;
    const durUs = sd.durMs * 1000;
    if (!inWindow(tsUs, durUs)) continue;
    events.push({ thread: all.find((x) => x.r.role === 'pager' && x.r.index === sd.pager)!.r.thread, kind: 'shootdown', tsUs, durUs, name: sd.sliceName, args: { target: sd.target, by: sd.initiator, op: sd.op } });
    const endUs = tsUs + durUs;
    const thread = slotThread[sd.targetSlot];
    if (thread === undefined || !inWindow(endUs, 0)) continue;
    const e: TraceEvent = { thread, kind: 'shootdown-target', tsUs: endUs, name: sd.instantName, args: { by: sd.initiator, op: sd.op } };
    if (arrow(sd.requestFlow, endUs)) {
      e.flowId = sd.flowId;
      e.flowEnd = true;
      ends.add(sd.flowId);
    }
    let a = instants.get(sd.targetSlot);
    if (!a) instants.set(sd.targetSlot, (a = []));
    a.push(e);
  }
  let lost = 0;
  let written = 0;
  for (const { r, raw } of all) {
    lost += raw.lost;
    written += raw.written;
    const pids = new Set<number>();
    let n = 0;
    for (let i = 0; i < raw.n; i++) {
      const b = i * TRACE_EV;
      if (!inWindow(raw.data[b + 1] * 1000, raw.data[b + 2] * 1000)) continue;
      const e = decodeEvent(raw.data, b, r.thread, devices);
      if (e === null) continue;
      if (r.role === 'process') {
        const p = owners.at(r.index, raw.data[b + 1]);
        if (p) pids.add(p.pid);
        const out = e.flowId !== undefined ? outOf.get(e.flowId) : undefined;
        if (out) {
          const ids = out.filter((sd) => ends.has(sd.flowId)).map((sd) => sd.flowId);
          if (ids.length > 0) e.flowOut = ids;
        }
      }
      events.push(e);
      n++;
    }
    if (r.role === 'process') {
      const mine = instants.get(r.index);
      if (mine) {
        for (const e of mine) {
          const p = owners.at(r.index, e.tsUs / 1000);
          if (p) pids.add(p.pid);
          events.push(e);
        }
        n += mine.length;
      }
    }
    if (r.role === 'pager') threads.push({ index: r.thread, name: `pager ${r.index}`, role: 'pager' });
    else if (n > 0) threads.push({ index: r.thread, name: slotName(owners, r.index, pids), role: 'process' });
  }
  return { threads, events, lost, written };
}

/** `pid 101 prog.mjs` (and the others that used the same slot); `slot 3` when none is known. */
export function slotName(owners: SlotOwners, slot: number, pids: Set<number>): string {
  const ps = owners.processes(slot).filter((p) => pids.has(p.pid));
  if (ps.length === 0) return `slot ${slot}`;
  const first = processLabel(ps[0]);
  return ps.length === 1 ? first : `${first} (+${ps.length - 1} more in slot ${slot})`;
}

export type { RawRing };

const TRACE_OFF = 'tracing is off: create the Runtime with { trace: true }';

/** rt.traceEvents(): every ring decoded; `dropped` counts the events that full rings overwrote. */
export function traceEventsOf(src: ProfileSource): { threads: ThreadInfo[]; events: TraceEvent[]; dropped: number } {
  if (!src.options.trace) throw new Error(TRACE_OFF);
  const d = decodeTrace(src);
  return { threads: d.threads, events: d.events, dropped: d.lost };
}

/** rt.chromeTrace(): the whole trace as one object (trace-file.ts streams a large one instead). */
export function chromeTraceOf(src: ProfileSource): ChromeTrace {
  const { threads, events } = traceEventsOf(src);
  return toChromeTrace(threads, events);
}
