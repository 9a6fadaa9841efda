/**
 * TLB shootdowns in the trace: what a K_SHOOTDOWN event of a pager's ring (src/trace.ts) becomes,
 * the same for rt.traceEvents() / rt.chromeTrace() (trace-decode.ts) and for the streamed trace
 * file (trace-file.ts).
 *
 * The pager writes one event per other thread whose TLB it wrote while serving a traced request;
 * the threads themselves did nothing at that moment (no interrupts: pager/shootdown.ts). So one
 * event is shown three ways:
 *   - a slice on the pager's track, `shootdown → pid 104 tid 106`, over that thread's invalidation;
 *   - an instant on the target thread's track when its entries are gone (the slice's end),
 *     `TLB entries shot down by pid 104 tid 105, munmap`;
 *   - a flow arrow from the initiator's request slice (its fault or system call span, which
 *     holds the shootdown: the initiator waits for the reply) to that instant. When full rings
 *     overwrote the initiator's span, the arrow is left out and the slice and the instant stay.
 *
 * Shootdown flows get ids of their own, disjoint from the request flows (seq * 2048 + slot,
 * below 2^52 for any run): SHOOTDOWN_FLOW_BASE + pager * 2^36 + the event's number in its
 * ring since the last reset. Both decoders compute the same id for the same event.
 */
import type { RawRing } from '../trace.js';
import { K_SHOOTDOWN, KIND_BITS, SHOOTDOWN_BY_HOST } from '../trace.js';
import { TRACE_EV } from '../layout.js';
import { SlotOwners } from './names.js';
import type { ProcessRecord } from './source.js';
import { FLOW_SLOT_MOD, opName } from './trace-decode.js';

export const SHOOTDOWN_FLOW_BASE = 2 ** 52;
const PAGER_STRIDE = 2 ** 36;
/** The flow id of pager `pager`'s event number `n` (since its ring's last reset). */
export const SHOOTDOWN_ID = (pager: number, n: number) => SHOOTDOWN_FLOW_BASE + pager * PAGER_STRIDE + n;
const KIND_MOD = 2 ** KIND_BITS;

/** One thread's TLB entries taken by a pager, as decoded from its ring. */
export interface Shootdown {
  pager: number;
  /** the pager's invalidation of this thread's TLB, ms (clockMs) */
  tsMs: number;
  durMs: number;
  /** the thread whose entries went, and the one whose request did it (-1: the host, a revoke) */
  targetSlot: number;
  initiatorSlot: number;
  op: string;
  /** the initiator's request flow (0: none) */
  requestFlow: number;
  /** this shootdown's own flow id */
  flowId: number;
  /** slice name on the pager's track, and instant name on the target's */
  sliceName: string;
  instantName: string;
  target: string;
  initiator: string;
}

/** `pid 104`, `pid 104 tid 106`, or `slot 3` when the log no longer knows the slot's thread. */
export function threadLabel(p: ProcessRecord | null, slot: number): string {
  if (!p) return `slot ${slot}`;
  return p.tid !== p.pid ? `pid ${p.pid} tid ${p.tid}` : `pid ${p.pid}`;
}

/** Every shootdown the pager rings kept, in ring order (pager by pager, oldest first). */
export function shootdownsOf(pagers: readonly { index: number; raw: RawRing }[], owners: SlotOwners): Shootdown[] {
  const out: Shootdown[] = [];
  for (const { index, raw } of pagers) {
    const d = raw.data;
    const first = raw.written - raw.n;
    for (let i = 0; i < raw.n; i++) {
      const b = i * TRACE_EV;
      const word = d[b];
      if (word % KIND_MOD !== K_SHOOTDOWN) continue;
      const tsMs = d[b + 1];
      const durMs = d[b + 2];
      const targetSlot = d[b + 3];
      const flow = d[b + 4];
      const op = opName(Math.floor(word / KIND_MOD));
      const byHost = flow === SHOOTDOWN_BY_HOST;
      const initiatorSlot = byHost ? -1 : flow % FLOW_SLOT_MOD;
      const target = threadLabel(owners.at(targetSlot, tsMs), targetSlot);
      const initiator = byHost ? 'the host' : threadLabel(owners.at(initiatorSlot, tsMs), initiatorSlot);
      out.push({
        pager: index, tsMs, durMs, targetSlot, initiatorSlot, op, requestFlow: byHost ? 0 : flow,
        flowId: SHOOTDOWN_ID(index, first + i),
        sliceName: `shootdown → ${target}`,
        instantName: `TLB entries shot down by ${initiator}, ${op}`,
        target, initiator,
      });
    }
  }
  return out;
}

/** Shootdown flows by the request flow that starts them. */
export function byRequest(sds: readonly Shootdown[]): Map<number, Shootdown[]> {
  const m = new Map<number, Shootdown[]>();
  for (const s of sds) {
    if (s.requestFlow === 0) continue;
    let a = m.get(s.requestFlow);
    if (!a) m.set(s.requestFlow, (a = []));
    a.push(s);
  }
  return m;
}
