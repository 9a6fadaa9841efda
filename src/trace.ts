/**
 * Tracing: one ring of fixed-size events per thread, in the arena, written by its thread alone
 * (plain stores, no allocation, no lock), read by the host during or after a run. A full ring
 * overwrites its oldest events, so a long run keeps its latest `traceEvents` events per thread in
 * bounded memory; the header counts every event ever written, and the host counts the
 * overwritten ones from it.
 *
 * Every event is complete when written: a span carries its start and duration, so overwriting
 * never leaves half a span; a flow (a request posted by a process, served by a pager) is two
 * events in two rings, and the exporter drops a flow whose other end was overwritten
 * (src/profile/trace-file.ts).
 *
 * An event is TRACE_EV doubles: [kind | device << KIND_BITS, ts, dur, arg, flow]. Timestamps are
 * clockMs() (clock.ts): one timeline for every thread. `device` is the device index + 1 on
 * events that name a device page (0: none).
 */
import { HOST_THREAD, TRACE_EV, TRACE_HDR, type Layout } from './layout.js';

/** A process's fault: ts = posted, dur = round trip, arg = virtual address, flow = its request. */
export const K_FAULT = 1;
/** A pager's service of a request other than a fault: arg = op, flow = the request. */
export const K_SERVE = 2;
/** d_mmap in a traced request (1 in DMMAP_SAMPLE of them): arg = device offset. */
export const K_DMMAP = 3;
export const K_PARK = 5;
export const K_SPIN = 6;
/** A pager woke a parked process: arg = its slot. */
export const K_WAKE = 7;
/** The number of requests a pager took in one round, when it changed: arg = depth. */
export const K_DEPTH = 9;
/** A process's system call: arg = op, flow = its request. */
export const K_SYSCALL = 10;
/** A pager's service of a fault: arg = device offset (device events) or virtual address (anonymous). */
export const K_SERVE_FAULT = 11;
/**
 * A pager took translations from another thread's TLB while serving a traced request
 * (pager/shootdown.ts): ts/dur = that thread's invalidation, arg = its slot, flow = the request's
 * (SHOOTDOWN_BY_HOST for a revoke); the bits above the kind hold the request's op, not a device.
 */
export const K_SHOOTDOWN = 12;
/** K_SHOOTDOWN's flow when the host asked (a revoke): no process waits for it. */
export const SHOOTDOWN_BY_HOST = -1;

/** 1 traced d_mmap call in this many is timed: its two clock reads are a fast driver's cost over again. */
export const DMMAP_SAMPLE = 4;
/** Low bits of an event's first word hold the kind; the bits above, the device index + 1. */
export const KIND_BITS = 16;

/** Header words: events ever written (monotonic), and where the next one goes. */
const H_COUNT = 0;
const H_POS = 1;

/**
 * Tracing goes in bursts: a traced request costs two clock reads and an event on each side, more
 * than the fault itself (docs/experiments/timed-fault.md), so by default 1 burst in `traceSample`
 * is traced and the others only counted; the stats take their timings from the traced requests,
 * each weighted by `traceSample` (src/process/requester.ts). A burst is TRACE_BURST requests served
 * by the pagers, the same moments for every process, so a burst shows all threads at work; a
 * process decides per request (it reads the clock before posting) and the pager follows it.
 *
 * The gate lives in the host thread's ring header, which no event ever touches (the host writes
 * no events), so the word a process reads per request stays in its cache: G_PHASE, advanced by
 * the pagers once per TRACE_BURST requests each (plain increments: a lost one only stretches a
 * burst), and G_MASK, traceSample - 1, set once at create.
 */
export const TRACE_BURST = 128;
/** RuntimeOptions.traceSample's default. */
export const TRACE_SAMPLE_DEFAULT = 16;
const G_PHASE = 2;
const G_MASK = 3;

export class TraceGate {
  private readonly w: Float64Array;
  private served = 0;
  constructor(sab: SharedArrayBuffer, l: Layout) {
    this.w = new Float64Array(sab, l.traceOff + HOST_THREAD * l.traceBytesPerThread, TRACE_HDR);
  }
  /** Is a burst open (trace this request)? */
  open(): boolean {
    return (this.w[G_PHASE] & this.w[G_MASK]) === 0;
  }
  /** Pager: one more request served; every TRACE_BURST of them, the next phase. */
  count(): void {
    if (++this.served >= TRACE_BURST) {
      this.served = 0;
      this.w[G_PHASE]++;
    }
  }
  /** 1 request in this many is traced, on average. */
  every(): number {
    return this.w[G_MASK] + 1;
  }
}

/** Host, at create: trace 1 burst in `sample` (a power of two; 1 traces every request). */
export function configureTrace(sab: SharedArrayBuffer, l: Layout, sample: number): void {
  if (l.traceCap === 0) return;
  const w = new Float64Array(sab, l.traceOff + HOST_THREAD * l.traceBytesPerThread, TRACE_HDR);
  w[G_MASK] = sample - 1;
  w[G_PHASE] = 0;
}

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
  /** Record an event; `dur` 0 for instants. The oldest event makes room when the ring is full. */
  emit(kind: number, ts: number, dur: number, arg: number, flow: number): void {
    // Position and count live in the arena (not in fields) so that a host-side reset takes
    // effect at once.
    const hdr = this.hdr;
    let pos = hdr[H_POS];
    if (pos >= this.cap) pos = 0;
    const b = pos * TRACE_EV;
    const buf = this.buf;
    buf[b] = kind;
    buf[b + 1] = ts;
    buf[b + 2] = dur;
    buf[b + 3] = arg;
    buf[b + 4] = flow;
    hdr[H_POS] = pos + 1;
    hdr[H_COUNT]++;
  }
}

/** One thread's ring as the host copied it: `n` events, oldest first, TRACE_EV doubles each. */
export interface RawRing {
  thread: number;
  /** events, oldest first */
  data: Float64Array;
  n: number;
  /** events written since the last reset */
  written: number;
  /** of those, events overwritten (or being overwritten while the host copied) */
  lost: number;
}

/**
 * Host: copy one thread's ring, oldest event first. Safe while the thread writes: events that
 * the writer may have overwritten during the copy are left out (and counted as lost).
 */
export function readRing(sab: SharedArrayBuffer, l: Layout, thread: number): RawRing {
  const off = l.traceOff + thread * l.traceBytesPerThread;
  const hdr = new Float64Array(sab, off, TRACE_HDR);
  const cap = l.traceCap;
  const ring = new Float64Array(sab, off + TRACE_HDR * 8, cap * TRACE_EV);
  const c1 = hdr[H_COUNT];
  const copy = ring.slice();
  const c2 = hdr[H_COUNT];
  // Event i sits at i % cap; it is gone once event i + cap is written (or being written).
  const lo = Math.max(0, c1 - cap, c2 - cap + 1);
  const n = Math.max(0, c1 - lo);
  const data = new Float64Array(n * TRACE_EV);
  for (let k = 0; k < n; k++) {
    const at = ((lo + k) % cap) * TRACE_EV;
    data.set(copy.subarray(at, at + TRACE_EV), k * TRACE_EV);
  }
  return { thread, data, n, written: c1, lost: c1 - n };
}

/** Events ever written to a thread's ring since its last reset (cheap: one header word). */
export function ringWritten(sab: SharedArrayBuffer, l: Layout, thread: number): number {
  return new Float64Array(sab, l.traceOff + thread * l.traceBytesPerThread, TRACE_HDR)[H_COUNT];
}

/** Forget a ring's events (the host ring's gate words stay). */
export function resetRing(sab: SharedArrayBuffer, l: Layout, thread: number): void {
  if (l.traceCap === 0) return;
  new Float64Array(sab, l.traceOff + thread * l.traceBytesPerThread, TRACE_HDR).fill(0, 0, G_PHASE);
}
