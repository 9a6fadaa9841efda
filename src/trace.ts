/**
 * Tracing: per-thread rings of fixed-size events in the arena, written by their thread alone
 * (plain stores, no allocation), read by the host after (or during) a run and exported as Chrome
 * Trace Event JSON (report/chrome-trace.ts). A full ring stops recording and counts what it
 * dropped, rather than overwriting: overwriting would cut spans and flows in half.
 *
 * Timestamps are clockMs() (clock.ts): one timeline for every thread.
 */
import { TRACE_EV, TRACE_HDR, type Layout } from './layout.js';
import type { SpanKind, TraceEvent } from './report/types.js';

export const K_FAULT = 1;
export const K_SERVE = 2;
export const K_DMMAP = 3;
export const K_PMAP = 4;
export const K_PARK = 5;
export const K_SPIN = 6;
export const K_WAKE = 7;
export const K_POST = 8;
export const K_DEPTH = 9;
export const K_SYSCALL = 10;

const KIND_NAMES: Record<number, SpanKind | 'wake' | 'post' | 'counter' | 'syscall'> = {
  [K_FAULT]: 'fault', [K_SERVE]: 'serve', [K_DMMAP]: 'dmmap', [K_PMAP]: 'pmap', [K_PARK]: 'park', [K_SPIN]: 'spin',
  [K_WAKE]: 'wake', [K_POST]: 'post', [K_DEPTH]: 'counter', [K_SYSCALL]: 'syscall',
};

export class TraceRing {
  private readonly buf: Float64Array;
  private readonly hdr: Float64Array;
  private readonly cap: number;
  constructor(sab: SharedArrayBuffer, l: Layout, thread: number) {
    const off = l.traceOff + thread * l.traceBytesPerThread;
    this.hdr = new Float64Array(sab, off, TRACE_HDR);
    this.buf = new Float64Array(sab, off + TRACE_HDR * 8, l.traceCap * TRACE_EV);
    this.cap = l.traceCap;
  }
  /** Record an event; `dur` 0 for instants. */
  emit(kind: number, ts: number, dur: number, arg: number, flow: number): void {
    // The head lives in the arena (not a field) so a host-side reset takes effect at once.
    const h = this.hdr[0];
    if (h >= this.cap) {
      this.hdr[1]++;
      return;
    }
    const b = h * TRACE_EV;
    const buf = this.buf;
    buf[b] = kind;
    buf[b + 1] = ts;
    buf[b + 2] = dur;
    buf[b + 3] = arg;
    buf[b + 4] = flow;
    this.hdr[0] = h + 1;
  }
}

export interface ThreadTrace {
  thread: number;
  events: TraceEvent[];
  dropped: number;
}

/** Host: decode one thread's ring into report/types TraceEvents (µs). */
export function readRing(sab: SharedArrayBuffer, l: Layout, thread: number, opNames: readonly string[]): ThreadTrace {
  const off = l.traceOff + thread * l.traceBytesPerThread;
  const hdr = new Float64Array(sab, off, TRACE_HDR);
  const n = Math.min(hdr[0], l.traceCap);
  const buf = new Float64Array(sab, off + TRACE_HDR * 8, l.traceCap * TRACE_EV);
  const events: TraceEvent[] = [];
  for (let i = 0; i < n; i++) {
    const b = i * TRACE_EV;
    const k = buf[b];
    const tsUs = buf[b + 1] * 1000;
    const durUs = buf[b + 2] * 1000;
    const arg = buf[b + 3];
    const flow = buf[b + 4];
    const name = KIND_NAMES[k];
    switch (k) {
      case K_FAULT:
        events.push({ thread, kind: 'fault', tsUs, durUs, name: 'fault', args: { va: `0x${arg.toString(16)}` } });
        break;
      case K_SYSCALL:
        events.push({ thread, kind: 'fault', tsUs, durUs, name: opNames[arg] ?? 'syscall', args: { op: opNames[arg] ?? arg } });
        break;
      case K_POST:
        events.push({ thread, kind: 'post', tsUs, flowId: flow, name: 'request' });
        break;
      case K_SERVE:
        events.push({ thread, kind: 'serve', tsUs, durUs, flowId: flow, flowEnd: true, name: `serve ${opNames[arg] ?? arg}`, args: { op: opNames[arg] ?? arg } });
        break;
      case K_DMMAP:
        events.push({ thread, kind: 'dmmap', tsUs, durUs, name: 'd_mmap', args: { off: `0x${arg.toString(16)}` } });
        break;
      case K_PMAP:
        events.push({ thread, kind: 'pmap', tsUs, durUs, name: 'pmap_enter' });
        break;
      case K_PARK:
        events.push({ thread, kind: 'park', tsUs, durUs, name: 'park' });
        break;
      case K_SPIN:
        events.push({ thread, kind: 'spin', tsUs, durUs, name: 'spin' });
        break;
      case K_WAKE:
        events.push({ thread, kind: 'wake', tsUs, name: 'wake', args: { slot: arg } });
        break;
      case K_DEPTH:
        events.push({ thread, kind: 'counter', tsUs, name: 'queue depth', value: arg });
        break;
      default:
        if (name === undefined) continue;
    }
  }
  return { thread, events, dropped: hdr[1] };
}

export function resetRing(sab: SharedArrayBuffer, l: Layout, thread: number): void {
  new Float64Array(sab, l.traceOff + thread * l.traceBytesPerThread, TRACE_HDR).fill(0);
}
