/**
 * The trace as a Chrome Trace Event JSON file (Perfetto and chrome://tracing open it), streamed
 * from the rings to the file one thread at a time: memory holds one ring's copy and the flow
 * index, never the whole trace as objects or as one string.
 *
 * Mapping: the pagers are threads of one trace process ("devpager pagers"); each devpager
 * process is a trace process of its own, named `pid 101 prog.mjs`, whose thread is its slot's
 * ring (a process's threads will be threads of that trace process). Spans are `X` events, wake-ups
 * `i` instants, queue depths `C` counters, and a request is an `s`/`f` flow from the process's
 * fault (or system call) span to the pager's service span.
 *
 * A shootdown (trace-shootdowns.ts) is a slice on the pager's track, an instant on the target
 * thread's track, and an `s`/`f` flow (cat "shootdown") from the initiator's request span to the
 * instant; the `f` has no `bp` and comes just before the instant, so it binds to it.
 *
 * What overwriting cut is left out, so the file stays valid: a flow whose other end is gone from
 * its ring (or would end before it starts) is dropped; spans are complete events, so none is cut.
 * Within a thread, events go out sorted by time, and a child span is clipped to its parent.
 */
import { open } from 'node:fs/promises';
import { TRACE_EV } from '../layout.js';
import { K_DEPTH, K_DMMAP, K_FAULT, K_PARK, K_SERVE, K_SERVE_FAULT, K_SHOOTDOWN, K_SPIN, K_SYSCALL, K_WAKE, readRing, type RawRing } from '../trace.js';
import { deviceOf, kindOf, opName, rings, type RingInfo } from './trace-decode.js';
import { pageLabel, processLabel, SlotOwners } from './names.js';
import type { ProfileSource } from './source.js';
import { byRequest, SHOOTDOWN_ID, shootdownsOf, type Shootdown } from './trace-shootdowns.js';

/** Timestamps closer than this (µs) count as equal. */
const EPS = 1e-6;
/** The trace process that holds the pager threads. */
const PAGERS_PID = 1;
/** Slot rings whose process the runtime's log no longer knows. */
const UNKNOWN_PID = 2;
const FLUSH_BYTES = 1 << 20;

export interface TraceFileStats {
  path: string;
  bytes: number;
  /** events written to the file (metadata excluded) */
  events: number;
  /** trace events the rings kept, and those full rings overwrote */
  kept: number;
  lost: number;
  /** requests whose flow arrow was left out because one end was overwritten */
  flowsDropped: number;
  /** TLB shootdowns of other threads the file shows, and those whose arrow from the initiator's request was left out (its span overwritten) */
  shootdowns: number;
  shootdownArrowsDropped: number;
  /** µs between the first and the last event kept */
  spanUs: number;
}

const isSpan = (k: number) => k === K_FAULT || k === K_SYSCALL || k === K_SERVE || k === K_SERVE_FAULT || k === K_DMMAP || k === K_PARK || k === K_SPIN;
const startsFlow = (k: number) => k === K_FAULT || k === K_SYSCALL;
const endsFlow = (k: number) => k === K_SERVE || k === K_SERVE_FAULT;

/** Stream the trace of `src` to `path`. */
export async function writeTraceFile(src: ProfileSource, path: string): Promise<TraceFileStats> {
  const devices = src.deviceNames();
  const owners = new SlotOwners(src.processLog());
  const all: { r: RingInfo; raw: RawRing }[] = rings(src).map((r) => ({ r, raw: readRing(src.sab, src.layout, r.thread) }));

  // Pass 1: where each flow starts and ends (ts in µs), which processes own which rings.
  const flowStart = new Map<number, number>();
  const flowEnd = new Map<number, number>();
  const procThreads = new Map<number, { name: string; tids: Set<number> }>();
  let kept = 0;
  let lost = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const { r, raw } of all) {
    kept += raw.n;
    lost += raw.lost;
    const d = raw.data;
    for (let i = 0; i < raw.n; i++) {
      const b = i * TRACE_EV;
      const k = kindOf(d[b]);
      const ts = d[b + 1] * 1000;
      if (ts < first) first = ts;
      if (ts + d[b + 2] * 1000 > last) last = ts + d[b + 2] * 1000;
      if (startsFlow(k)) flowStart.set(d[b + 4], ts);
      else if (endsFlow(k)) flowEnd.set(d[b + 4], ts);
      if (r.role === 'process') {
        const p = owners.at(r.index, d[b + 1]);
        const pid = p?.pid ?? UNKNOWN_PID;
        let t = procThreads.get(pid);
        if (!t) procThreads.set(pid, (t = { name: p ? processLabel(p) : 'process unknown (not in the runtime log)', tids: new Set() }));
        t.tids.add(r.thread);
      }
    }
  }
  const flowOk = (id: number) => {
    const s = flowStart.get(id);
    const e = flowEnd.get(id);
    return s !== undefined && e !== undefined && e >= s - EPS;
  };
  let flowsDropped = 0;
  for (const id of flowStart.keys()) if (!flowOk(id)) flowsDropped++;
  for (const id of flowEnd.keys()) if (!flowStart.has(id)) flowsDropped++;

  // Shootdowns: the pager's slices (by flow id), the target threads' instants (by slot, in time
  // order), and the arrows that can start (their request span is still in its ring).
  const sds = shootdownsOf(all.filter((x) => x.r.role === 'pager').map((x) => ({ index: x.r.index, raw: x.raw })), owners);
  const sdById = new Map(sds.map((sd) => [sd.flowId, sd]));
  const endMs = (sd: Shootdown) => sd.tsMs + sd.durMs;
  const slotRing = new Map(all.filter((x) => x.r.role === 'process').map((x) => [x.r.index, x.r.thread]));
  const arrowOk = (sd: Shootdown) => {
    const st = sd.requestFlow !== 0 ? flowStart.get(sd.requestFlow) : undefined;
    return st !== undefined && st <= endMs(sd) * 1000 + EPS && slotRing.has(sd.targetSlot);
  };
  const instants = new Map<number, Shootdown[]>();
  let shootdownArrowsDropped = 0;
  for (const sd of sds) {
    if (sd.requestFlow !== 0 && !arrowOk(sd)) shootdownArrowsDropped++;
    const tid = slotRing.get(sd.targetSlot);
    if (tid === undefined) continue;
    let a = instants.get(sd.targetSlot);
    if (!a) instants.set(sd.targetSlot, (a = []));
    a.push(sd);
    // The target's track needs its name even when its ring kept no event of its own.
    const p = owners.at(sd.targetSlot, endMs(sd));
    const pid = p?.pid ?? UNKNOWN_PID;
    let t = procThreads.get(pid);
    if (!t) procThreads.set(pid, (t = { name: p ? processLabel(p) : 'process unknown (not in the runtime log)', tids: new Set() }));
    t.tids.add(tid);
    if (endMs(sd) * 1000 > last) last = endMs(sd) * 1000;
  }
  for (const a of instants.values()) a.sort((x, y) => endMs(x) - endMs(y));
  const outOf = byRequest(sds.filter(arrowOk));

  const fh = await open(path, 'w');
  let buf = '';
  let bytes = 0;
  let events = 0;
  let sep = '';
  const put = (json: string) => {
    buf += sep + json;
    sep = ',\n';
  };
  // One write at a time: a FileHandle does not order concurrent writes.
  const flush = async () => {
    const chunk = buf;
    buf = '';
    bytes += Buffer.byteLength(chunk);
    await fh.write(chunk);
  };
  const str = JSON.stringify;
  try {
    buf = '{"displayTimeUnit":"ns","traceEvents":[\n';
    sep = '';
    // Metadata: trace processes and threads, pagers first.
    put(`{"ph":"M","name":"process_name","pid":${PAGERS_PID},"tid":0,"ts":0,"args":{"name":"devpager pagers"}}`);
    put(`{"ph":"M","name":"process_sort_index","pid":${PAGERS_PID},"tid":0,"ts":0,"args":{"sort_index":0}}`);
    for (const { r } of all) {
      if (r.role !== 'pager') continue;
      put(`{"ph":"M","name":"thread_name","pid":${PAGERS_PID},"tid":${r.thread},"ts":0,"args":{"name":"pager ${r.index}"}}`);
    }
    for (const [pid, t] of procThreads) {
      put(`{"ph":"M","name":"process_name","pid":${pid},"tid":0,"ts":0,"args":{"name":${str(t.name)}}}`);
      put(`{"ph":"M","name":"process_sort_index","pid":${pid},"tid":0,"ts":0,"args":{"sort_index":${pid}}}`);
      for (const tid of t.tids) {
        const slot = all.find((x) => x.r.thread === tid)!.r.index;
        put(`{"ph":"M","name":"thread_name","pid":${pid},"tid":${tid},"ts":0,"args":{"name":"main (slot ${slot})"}}`);
      }
    }

    // Pass 2: each ring's events, sorted by start (longer first at a tie, so parents lead).
    for (const { r, raw } of all) {
      const d = raw.data;
      const order = Array.from({ length: raw.n }, (_, i) => i);
      order.sort((x, y) => d[x * TRACE_EV + 1] - d[y * TRACE_EV + 1] || d[y * TRACE_EV + 2] - d[x * TRACE_EV + 2]);
      const stack: number[] = []; // ends (µs) of the open spans
      const first = raw.written - raw.n;
      // This thread's shootdown instants, merged in by time (after the spans that start with them).
      const marks = r.role === 'process' ? (instants.get(r.index) ?? []) : [];
      let m = 0;
      const instantsBefore = (us: number) => {
        for (; m < marks.length && endMs(marks[m]) * 1000 < us; m++) {
          const sd = marks[m];
          const ts = endMs(sd) * 1000;
          const where = `"pid":${owners.at(r.index, endMs(sd))?.pid ?? UNKNOWN_PID},"tid":${r.thread},"ts":${ts}`;
          if (arrowOk(sd)) {
            put(`{"ph":"f","name":"shootdown","cat":"shootdown","id":${sd.flowId},${where}}`);
            events++;
          }
          put(`{"ph":"i","s":"t","name":${str(sd.instantName)},"cat":"shootdown",${where},"args":${str({ by: sd.initiator, op: sd.op })}}`);
          events++;
        }
      };
      for (const i of order) {
        const b = i * TRACE_EV;
        const word = d[b];
        const k = kindOf(word);
        const ts = d[b + 1] * 1000;
        const arg = d[b + 3];
        const flow = d[b + 4];
        instantsBefore(ts);
        const pid = r.role === 'pager' ? PAGERS_PID : (owners.at(r.index, d[b + 1])?.pid ?? UNKNOWN_PID);
        const where = `"pid":${pid},"tid":${r.thread},"ts":${ts}`;
        if (k === K_SHOOTDOWN) {
          const sd = sdById.get(SHOOTDOWN_ID(r.index, first + i));
          if (sd === undefined) continue;
          let end = ts + d[b + 2] * 1000;
          while (stack.length && stack[stack.length - 1] <= ts + EPS) stack.pop();
          const parent = stack[stack.length - 1];
          if (parent !== undefined && end > parent) end = parent;
          stack.push(end);
          put(`{"ph":"X","name":${str(sd.sliceName)},"cat":"shootdown",${where},"dur":${Math.max(0, end - ts)},"args":${str({ target: sd.target, by: sd.initiator, op: sd.op })}}`);
          events++;
        } else if (isSpan(k)) {
          let end = ts + d[b + 2] * 1000;
          while (stack.length && stack[stack.length - 1] <= ts + EPS) stack.pop();
          const parent = stack[stack.length - 1];
          if (parent !== undefined && end > parent) end = parent;
          stack.push(end);
          const dur = Math.max(0, end - ts);
          const { name, cat, args } = describe(k, word, arg, devices);
          put(`{"ph":"X","name":${str(name)},"cat":"${cat}",${where},"dur":${dur}${args ? `,"args":${args}` : ''}}`);
          events++;
          if (startsFlow(k) && flowOk(flow)) {
            put(`{"ph":"s","name":"request","cat":"flow","id":${flow},${where}}`);
            events++;
          }
          if (startsFlow(k)) {
            for (const sd of outOf.get(flow) ?? []) {
              put(`{"ph":"s","name":"shootdown","cat":"shootdown","id":${sd.flowId},${where}}`);
              events++;
            }
          } else if (endsFlow(k) && flowOk(flow)) {
            put(`{"ph":"f","bp":"e","name":"request","cat":"flow","id":${flow},${where}}`);
            events++;
          }
        } else if (k === K_WAKE) {
          put(`{"ph":"i","s":"t","name":"wake","cat":"wake",${where},"args":{"slot":${arg}}}`);
          events++;
        } else if (k === K_DEPTH) {
          put(`{"ph":"C","name":"queue depth (pager ${r.index})","cat":"counter",${where},"args":{"value":${arg}}}`);
          events++;
        }
        if (buf.length >= FLUSH_BYTES) await flush();
      }
      instantsBefore(Infinity);
    }
    buf += `\n],"otherData":${str({ keptEvents: kept, overwrittenEvents: lost, flowsDropped, shootdowns: sds.length, shootdownArrowsDropped })}}\n`;
    await flush();
  } finally {
    await fh.close();
  }
  return { path, bytes, events, kept, lost, flowsDropped, shootdowns: sds.length, shootdownArrowsDropped, spanUs: Number.isFinite(first) ? Math.max(0, last - first) : 0 };
}

/** Name, category and args (JSON) of a span. */
function describe(k: number, word: number, arg: number, devices: ReturnType<ProfileSource['deviceNames']>): { name: string; cat: string; args: string | null } {
  switch (k) {
    case K_FAULT:
      return { name: 'fault', cat: 'fault', args: `{"va":"0x${arg.toString(16)}"}` };
    case K_SYSCALL:
      return { name: opName(arg), cat: 'syscall', args: null };
    case K_SERVE:
      return { name: `serve ${opName(arg)}`, cat: 'serve', args: null };
    case K_SERVE_FAULT: {
      const dev = deviceOf(word);
      return { name: 'serve fault', cat: 'serve', args: JSON.stringify({ page: dev >= 0 ? pageLabel(devices, dev, arg) : `anonymous 0x${arg.toString(16)}` }) };
    }
    case K_DMMAP:
      return { name: 'd_mmap', cat: 'dmmap', args: JSON.stringify({ page: pageLabel(devices, deviceOf(word), arg) }) };
    case K_PARK:
      return { name: 'park', cat: 'park', args: null };
    default:
      return { name: 'spin', cat: 'spin', args: null };
  }
}
