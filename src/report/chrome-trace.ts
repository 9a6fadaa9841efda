/**
 * Timeline events -> Chrome Trace Event Format (the JSON that Perfetto and
 * chrome://tracing open), plus a validator for the properties those viewers
 * rely on.
 *
 * Input timestamps are microseconds on one clock shared by all threads, which
 * is also the unit of `ts`/`dur` in the format (`displayTimeUnit` only changes
 * how the viewer prints them).
 *
 * Mapping:
 *   - every thread         -> `M` thread_name + thread_sort_index (and one process_name)
 *   - span kinds           -> `X` complete events, cat = kind
 *   - 'wake', 'post', 'shootdown-target' -> `i` thread-scoped instants
 *   - 'counter'            -> `C` events, args { value }; a name used by several
 *     threads becomes "name (thread name)", since viewers key counters by name
 *   - flowId               -> an `s`/`f` pair with a shared id, cat "flow". An event
 *     with `flowEnd: true` ends a flow, `flowEnd: false` starts one; when
 *     `flowEnd` is absent a 'serve' span ends the flow and anything else
 *     (a 'post' instant or a 'fault' span) starts it. The `s` sits at the
 *     start event's ts, inside the posting thread's enclosing (fault) span;
 *     the `f` sits at the start of the ending span with `bp: "e"`, so both
 *     ends bind to the enclosing slice. A span's `flowOut` ids start more
 *     flows (cat "shootdown"); one that ends in an instant gets an `f` without
 *     `bp`, just before the instant at the same ts, so that it binds to the
 *     next slice of that thread: the instant (viewers import thread-scoped
 *     instants as zero-length slices). Its thread need not be in a span then.
 *
 * Ring-buffer data can be ragged at the edges, so the converter repairs what
 * a viewer would choke on and counts it in `otherData`: a child span that
 * outlives its parent is clipped to the parent's end, and a flow end without
 * its partner (or whose start has no enclosing span) is dropped.
 */
import type { ThreadInfo, TraceEvent } from './types.js';

export interface ChromeTraceEvent {
  ph: string;
  name?: string;
  cat?: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  id?: number | string;
  bp?: 'e';
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns';
  /** What the converter had to repair or drop. */
  otherData: {
    clippedSpans: number;
    droppedEvents: number;
    droppedFlowEnds: number;
  };
}

const SPAN_KINDS = new Set(['fault', 'serve', 'dmmap', 'pmap', 'spin', 'park', 'queue', 'shootdown']);
const INSTANT_KINDS = new Set(['wake', 'post', 'shootdown-target']);
const SHOOTDOWN_FLOW = 'shootdown';
const ROLE_ORDER = { host: 0, pager: 1, process: 2 } as const;
const FLOW_NAME = 'request';
const FLOW_CAT = 'flow';
/** Timestamps closer than this (µs) count as equal. */
const EPS = 1e-6;

function isFiniteNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Point-in-any-span lookup for one thread: the union of its span intervals,
 * sorted, searched by bisection (flows are checked one by one, so a linear
 * scan per flow would be quadratic on large traces).
 */
function coverage(spans: { ts: number; end: number }[]): (t: number) => boolean {
  const sorted = [...spans].sort((a, b) => a.ts - b.ts);
  const lo: number[] = [];
  const hi: number[] = [];
  for (const s of sorted) {
    if (lo.length && s.ts <= hi[hi.length - 1]! + EPS) hi[hi.length - 1] = Math.max(hi[hi.length - 1]!, s.end);
    else {
      lo.push(s.ts);
      hi.push(s.end);
    }
  }
  return (t) => {
    let a = 0;
    let b = lo.length - 1;
    let k = -1;
    while (a <= b) {
      const mid = (a + b) >> 1;
      if (lo[mid]! <= t + EPS) {
        k = mid;
        a = mid + 1;
      } else b = mid - 1;
    }
    return k >= 0 && t <= hi[k]! + EPS;
  };
}

function startsFlow(e: TraceEvent): boolean {
  if (e.flowEnd === true) return false;
  if (e.flowEnd === false) return true;
  return e.kind !== 'serve';
}

/** Phase order for events at the same ts: spans (longest first) before what they contain. */
function phaseRank(ph: string): number {
  return ph === 'X' ? 0 : ph === 's' ? 1 : ph === 'f' ? 2 : ph === 'i' ? 3 : 4;
}

export function toChromeTrace(
  threads: ThreadInfo[],
  events: TraceEvent[],
  opts: { pid?: number; processName?: string } = {},
): ChromeTrace {
  const pid = opts.pid ?? 1;
  const other = { clippedSpans: 0, droppedEvents: 0, droppedFlowEnds: 0 };

  // Threads: the given ones, plus a name for any thread id only seen in events.
  const info = new Map<number, ThreadInfo>();
  for (const t of threads) info.set(t.index, t);
  for (const e of events) if (!info.has(e.thread)) info.set(e.thread, { index: e.thread, name: `thread ${e.thread}`, role: 'process' });

  const meta: ChromeTraceEvent[] = [
    { ph: 'M', name: 'process_name', pid, tid: 0, ts: 0, args: { name: opts.processName ?? 'devpager' } },
  ];
  for (const t of [...info.values()].sort((a, b) => a.index - b.index)) {
    meta.push({ ph: 'M', name: 'thread_name', pid, tid: t.index, ts: 0, args: { name: t.name } });
    meta.push({ ph: 'M', name: 'thread_sort_index', pid, tid: t.index, ts: 0, args: { sort_index: ROLE_ORDER[t.role] * 100000 + t.index } });
  }

  const out: ChromeTraceEvent[] = [];

  // Spans, per thread, clipped so that they nest.
  const spansByThread = new Map<number, { ts: number; end: number; e: TraceEvent }[]>();
  for (const e of events) {
    if (!SPAN_KINDS.has(e.kind)) continue;
    if (!isFiniteNum(e.tsUs) || !isFiniteNum(e.durUs) || e.durUs < 0) {
      other.droppedEvents++;
      continue;
    }
    let a = spansByThread.get(e.thread);
    if (!a) spansByThread.set(e.thread, (a = []));
    a.push({ ts: e.tsUs, end: e.tsUs + e.durUs, e });
  }
  // Enclosing-span lookup for flow binding: thread -> sorted spans after clipping.
  const clipped = new Map<number, { ts: number; end: number }[]>();
  for (const [tid, arr] of spansByThread) {
    arr.sort((a, b) => a.ts - b.ts || b.end - a.end);
    const stack: { ts: number; end: number }[] = [];
    const kept: { ts: number; end: number }[] = [];
    for (const s of arr) {
      while (stack.length && stack[stack.length - 1]!.end <= s.ts + EPS) stack.pop();
      const parent = stack[stack.length - 1];
      let end = s.end;
      if (parent && end > parent.end + EPS) {
        end = parent.end;
        other.clippedSpans++;
      }
      const e = s.e;
      const ev: ChromeTraceEvent = { ph: 'X', name: e.name ?? e.kind, cat: e.kind, ts: s.ts, dur: end - s.ts, pid, tid };
      const args: Record<string, unknown> = { ...(e.args ?? {}) };
      if (e.flowId !== undefined) args.flowId = e.flowId;
      if (Object.keys(args).length) ev.args = args;
      out.push(ev);
      const node = { ts: s.ts, end };
      stack.push(node);
      kept.push(node);
    }
    clipped.set(tid, kept);
  }
  const cover = new Map([...clipped].map(([tid, arr]) => [tid, coverage(arr)]));
  const enclosed = (tid: number, ts: number): boolean => cover.get(tid)?.(ts) ?? false;

  // Counter tracks are keyed by (pid, name) in the viewers, so a name that several
  // threads use (each pager's "queue depth") gets the thread's name appended.
  const counterThreads = new Map<string, Set<number>>();
  for (const e of events) {
    if (e.kind !== 'counter') continue;
    const n = e.name ?? 'counter';
    let set = counterThreads.get(n);
    if (!set) counterThreads.set(n, (set = new Set()));
    set.add(e.thread);
  }
  const counterName = (e: TraceEvent) => {
    const n = e.name ?? 'counter';
    return counterThreads.get(n)!.size > 1 ? `${n} (${info.get(e.thread)!.name})` : n;
  };

  // Instants and counters.
  for (const e of events) {
    if (INSTANT_KINDS.has(e.kind)) {
      if (!isFiniteNum(e.tsUs)) {
        other.droppedEvents++;
        continue;
      }
      // A shootdown's instant shares the category of its slice and its flow.
      const cat = e.kind === 'shootdown-target' ? SHOOTDOWN_FLOW : e.kind;
      const ev: ChromeTraceEvent = { ph: 'i', s: 't', name: e.name ?? e.kind, cat, ts: e.tsUs, pid, tid: e.thread };
      const args: Record<string, unknown> = { ...(e.args ?? {}) };
      if (e.flowId !== undefined) args.flowId = e.flowId;
      if (Object.keys(args).length) ev.args = args;
      out.push(ev);
    } else if (e.kind === 'counter') {
      if (!isFiniteNum(e.tsUs) || !isFiniteNum(e.value)) {
        other.droppedEvents++;
        continue;
      }
      out.push({ ph: 'C', name: counterName(e), cat: 'counter', ts: e.tsUs, pid, tid: e.thread, args: { value: e.value } });
    }
  }

  // Flows: pair each start with the earliest unused end at or after it (ids may be reused).
  const starts = new Map<number, TraceEvent[]>();
  const ends = new Map<number, TraceEvent[]>();
  const put = (m: Map<number, TraceEvent[]>, id: number, e: TraceEvent) => {
    let a = m.get(id);
    if (!a) m.set(id, (a = []));
    a.push(e);
  };
  for (const e of events) {
    if (!isFiniteNum(e.tsUs)) continue;
    if (SPAN_KINDS.has(e.kind) && !isFiniteNum(e.durUs)) continue;
    if (e.flowId !== undefined) put(startsFlow(e) ? starts : ends, e.flowId, e);
    if (e.flowOut) for (const id of e.flowOut) put(starts, id, e);
  }
  for (const [id, ss] of starts) {
    ss.sort((a, b) => a.tsUs - b.tsUs);
    const es = (ends.get(id) ?? []).sort((a, b) => a.tsUs - b.tsUs);
    ends.delete(id);
    let j = 0;
    let k = 0;
    for (const s of ss) {
      while (j < es.length && es[j]!.tsUs < s.tsUs - EPS) {
        j++;
        other.droppedFlowEnds++;
      }
      const f = es[j];
      const toInstant = f !== undefined && INSTANT_KINDS.has(f.kind);
      if (!f || !enclosed(s.thread, s.tsUs) || (!toInstant && !enclosed(f.thread, f.tsUs))) {
        other.droppedFlowEnds++;
        continue;
      }
      j++;
      const outId: number | string = k === 0 ? id : `${id}#${k}`;
      k++;
      const name = f.kind === 'shootdown-target' ? SHOOTDOWN_FLOW : FLOW_NAME;
      const cat = f.kind === 'shootdown-target' ? SHOOTDOWN_FLOW : FLOW_CAT;
      out.push({ ph: 's', name, cat, id: outId, ts: s.tsUs, pid, tid: s.thread });
      out.push(toInstant ? { ph: 'f', name, cat, id: outId, ts: f.tsUs, pid, tid: f.thread } : { ph: 'f', bp: 'e', name, cat, id: outId, ts: f.tsUs, pid, tid: f.thread });
    }
    other.droppedFlowEnds += es.length - j;
  }
  for (const es of ends.values()) other.droppedFlowEnds += es.length;

  out.sort(
    (a, b) =>
      a.ts! - b.ts! ||
      phaseRank(a.ph) - phaseRank(b.ph) ||
      (a.ph === 'X' && b.ph === 'X' ? b.dur! - a.dur! : 0) ||
      a.tid - b.tid,
  );
  return { traceEvents: [...meta, ...out], displayTimeUnit: 'ns', otherData: other };
}

// ---------------------------------------------------------------- validation

const KNOWN_PH = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'b', 'n', 'e', 's', 't', 'f', 'M', 'P', 'O', 'N', 'D', 'R', 'c']);
const MAX_PROBLEMS = 200;

/**
 * Checks a Chrome trace for what Perfetto/chrome://tracing need. Returns a
 * list of problems, empty when the trace is fine:
 *   - the container and each event's required fields (finite numbers, names);
 *   - events of each thread appear in ts order;
 *   - X spans of one thread nest (no partial overlap);
 *   - every flow id has both an `s` and an `f`, the `f` not before the `s`,
 *     each bound inside a slice of its thread;
 *   - every thread that has events has a thread_name.
 */
export function validateChromeTrace(obj: unknown): string[] {
  const problems: string[] = [];
  let extra = 0;
  const add = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else extra++;
  };
  const finish = () => (extra ? [...problems, `... and ${extra} more problems`] : problems);

  let evs: unknown;
  if (Array.isArray(obj)) evs = obj;
  else if (obj && typeof obj === 'object') {
    evs = (obj as { traceEvents?: unknown }).traceEvents;
    const unit = (obj as { displayTimeUnit?: unknown }).displayTimeUnit;
    if (unit !== undefined && unit !== 'ns' && unit !== 'ms') add(`displayTimeUnit must be "ns" or "ms", got ${JSON.stringify(unit)}`);
  }
  if (!Array.isArray(evs)) {
    add('traceEvents is not an array');
    return finish();
  }

  type Ev = Record<string, unknown>;
  const key = (e: Ev) => `${String(e.pid)}/${String(e.tid)}`;
  const isId = (v: unknown) => typeof v === 'number' || typeof v === 'string';
  const named = new Set<string>();
  const used = new Map<string, number>(); // thread key -> first event index
  const lastTs = new Map<string, { ts: number; i: number }>();
  const spans = new Map<string, { ts: number; end: number; name: string; i: number }[]>();
  const flows = new Map<string, { s: { ts: number; k: string; i: number }[]; f: { ts: number; k: string; i: number; bp: unknown }[] }>();

  evs.forEach((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      add(`event ${i}: not an object`);
      return;
    }
    const e = raw as Ev;
    const where = `event ${i} (${String(e.ph)} ${JSON.stringify(e.name ?? '')})`;
    if (typeof e.ph !== 'string' || !KNOWN_PH.has(e.ph)) {
      add(`event ${i}: unknown or missing ph ${JSON.stringify(e.ph)}`);
      return;
    }
    if (!isFiniteNum(e.pid) && typeof e.pid !== 'string') add(`${where}: pid missing or not finite`);
    if (!isFiniteNum(e.tid) && typeof e.tid !== 'string') add(`${where}: tid missing or not finite`);
    const k = key(e);

    if (e.ph === 'M') {
      const args = e.args as Ev | undefined;
      if (typeof e.name !== 'string') add(`${where}: metadata without name`);
      else if (!args || typeof args !== 'object') add(`${where}: metadata without args`);
      else if (e.name === 'thread_name' || e.name === 'process_name') {
        if (typeof args.name !== 'string' || args.name === '') add(`${where}: args.name must be a non-empty string`);
        else if (e.name === 'thread_name') named.add(k);
      } else if (e.name === 'thread_sort_index' || e.name === 'process_sort_index') {
        if (!isFiniteNum(args.sort_index)) add(`${where}: args.sort_index must be a finite number`);
      }
      return;
    }

    if (!isFiniteNum(e.ts)) {
      add(`${where}: ts missing or not finite`);
      return;
    }
    const ts = e.ts;
    if (!used.has(k)) used.set(k, i);
    const prev = lastTs.get(k);
    if (prev && ts < prev.ts - EPS) add(`${where}: ts ${ts} on thread ${k} comes after event ${prev.i} with ts ${prev.ts} (events out of order)`);
    if (!prev || ts >= prev.ts) lastTs.set(k, { ts, i });

    if (e.ph !== 'E' && (typeof e.name !== 'string' || e.name === '')) add(`${where}: name missing`);
    switch (e.ph) {
      case 'X': {
        if (typeof e.cat !== 'string') add(`${where}: cat missing`);
        if (!isFiniteNum(e.dur) || e.dur < 0) {
          add(`${where}: dur missing, negative or not finite`);
          break;
        }
        let a = spans.get(k);
        if (!a) spans.set(k, (a = []));
        a.push({ ts, end: ts + e.dur, name: String(e.name), i });
        break;
      }
      case 'C': {
        const args = e.args as Ev | undefined;
        const vals = args && typeof args === 'object' ? Object.values(args) : [];
        if (vals.length === 0 || !vals.every(isFiniteNum)) add(`${where}: counter args must be finite numbers`);
        break;
      }
      case 'i':
      case 'I':
        if (e.s !== undefined && e.s !== 't' && e.s !== 'p' && e.s !== 'g') add(`${where}: instant scope must be t, p or g`);
        break;
      case 's':
      case 't':
      case 'f': {
        if (typeof e.cat !== 'string') add(`${where}: cat missing`);
        if (!isId(e.id)) {
          add(`${where}: flow id missing`);
          break;
        }
        if (e.ph === 't') break;
        const fk = `${String(e.cat)}:${String(e.id)}`;
        let fl = flows.get(fk);
        if (!fl) flows.set(fk, (fl = { s: [], f: [] }));
        if (e.ph === 's') fl.s.push({ ts, k, i });
        else {
          if (e.bp !== undefined && e.bp !== 'e') add(`${where}: bp must be "e"`);
          fl.f.push({ ts, k, i, bp: e.bp });
        }
        break;
      }
    }
  });

  // Nesting of complete events.
  const sortedSpans = new Map<string, { ts: number; end: number; name: string; i: number }[]>();
  for (const [k, arr] of spans) {
    arr.sort((a, b) => a.ts - b.ts || b.end - a.end);
    sortedSpans.set(k, arr);
    const stack: { ts: number; end: number; name: string; i: number }[] = [];
    for (const s of arr) {
      while (stack.length && stack[stack.length - 1]!.end <= s.ts + EPS) stack.pop();
      const p = stack[stack.length - 1];
      if (p && s.end > p.end + EPS)
        add(`thread ${k}: span ${JSON.stringify(s.name)} [${s.ts}, ${s.end}] (event ${s.i}) partially overlaps ${JSON.stringify(p.name)} [${p.ts}, ${p.end}] (event ${p.i})`);
      stack.push(s);
    }
  }
  const cover = new Map([...sortedSpans].map(([k, arr]) => [k, coverage(arr)]));
  const inSlice = (k: string, ts: number) => cover.get(k)?.(ts) ?? false;

  // Flows.
  for (const [fk, fl] of flows) {
    if (fl.s.length === 0) add(`flow ${fk}: has an "f" (event ${fl.f[0]!.i}) but no "s"`);
    else if (fl.f.length === 0) add(`flow ${fk}: has an "s" (event ${fl.s[0]!.i}) but no "f"`);
    else if (fl.s.length !== fl.f.length) add(`flow ${fk}: ${fl.s.length} "s" but ${fl.f.length} "f" events`);
    const n = Math.min(fl.s.length, fl.f.length);
    for (let j = 0; j < n; j++) {
      if (fl.f[j]!.ts < fl.s[j]!.ts - EPS) add(`flow ${fk}: "f" (event ${fl.f[j]!.i}) is before its "s" (event ${fl.s[j]!.i})`);
    }
    for (const s of fl.s) if (!inSlice(s.k, s.ts)) add(`flow ${fk}: "s" (event ${s.i}) is not inside any slice of thread ${s.k}`);
    for (const f of fl.f) if (f.bp === 'e' && !inSlice(f.k, f.ts)) add(`flow ${fk}: "f" (event ${f.i}) is not inside any slice of thread ${f.k}`);
  }

  // Thread names.
  for (const [k, i] of used) if (!named.has(k)) add(`thread ${k} (first used by event ${i}) has no thread_name metadata`);

  return finish();
}
