/**
 * The request protocol between a requester (a process, or the host) and the pager that owns it.
 *
 * Payload in the slot, doorbell in a bitmap (piscina's habit, DESIGN.md 1): the requester writes
 * its request into line 0 of its slot, sets ST_PENDING, then sets its bit in the owning pager's
 * pending bitmap with one Atomics.or. The pager takes every queued request at once with
 * Atomics.exchange(word, 0), serves them, writes each reply into line 1 of the slot and publishes
 * it with one Atomics.store(state, ST_DONE). No lock, no allocation, and a requester that dies
 * between its writes cannot wedge the queue (there is no claimed-but-unpublished cell to wait on).
 *
 * Sleeping is Dekker-style on both sides, so a notify (a futex syscall, ~µs) is only paid when
 * the other side really parked:
 *   pager:     store sleeping=1; d=load doorbell; re-scan pending; if empty wait(doorbell, d)
 *   requester: or pending bit;    if load(sleeping) { add doorbell; notify doorbell }
 * Sequential consistency of Atomics guarantees that either the pager's re-scan sees the bit or the
 * requester sees sleeping=1. The same pattern guards the reply with the slot's parked flag.
 */
import {
  LINE, P_DOORBELL, P_HEARTBEAT, P_SHUTDOWN, P_SLEEPING, PAGER_LINES, S_MAPVERSION, S_NENTRIES,
  S_PAGER, S_PARKED, S_PID, S_POST_TS, S_REQ_A, S_REQ_OP, S_RES_AUX, S_RES_ERR, S_RES_VAL, S_STATE, S_STATUS,
  ST_DONE, ST_PENDING, ENTRY_F64, L1_ENTRIES, type Layout,
} from '../layout.js';

export const OP_NOP = 0;
export const OP_FAULT = 1;
export const OP_MMAP = 2;
export const OP_MUNMAP = 3;
export const OP_MPROTECT = 4;
export const OP_MADVISE = 5;
export const OP_MSYNC = 6;
export const OP_PMAP_REMOVE = 7;
export const OP_EXIT = 8;
/** host only: tear down the address space of slot a (its process died without OP_EXIT) */
export const OP_REAP = 9;
export const OP_NAMES = ['nop', 'fault', 'mmap', 'munmap', 'mprotect', 'madvise', 'msync', 'pmapRemove', 'exit', 'reap'];

/** Views of one slot. Every thread builds these once per slot, at setup. */
export class SlotViews {
  readonly index: number;
  readonly req: Float64Array; // line 0
  readonly state: Int32Array; // line 1, word 0
  readonly res: Float64Array; // line 1
  readonly parked: Int32Array; // line 2, word 0
  readonly postTs: Float64Array; // line 2
  readonly status: Int32Array; // line 3
  readonly meta: Int32Array; // line 4
  readonly l1: Int32Array;
  readonly entries: Float64Array;
  constructor(sab: SharedArrayBuffer, l: Layout, slot: number) {
    const base = l.slotsOff + slot * l.slotBytes;
    this.index = slot;
    this.req = new Float64Array(sab, base, 8);
    this.state = new Int32Array(sab, base + LINE, 2);
    this.res = new Float64Array(sab, base + LINE, 8);
    this.parked = new Int32Array(sab, base + 2 * LINE, 2);
    this.postTs = new Float64Array(sab, base + 2 * LINE, 8);
    this.status = new Int32Array(sab, base + 3 * LINE, 16);
    this.meta = new Int32Array(sab, base + 4 * LINE, 16);
    this.l1 = new Int32Array(sab, base + l.slotL1Off, L1_ENTRIES);
    this.entries = new Float64Array(sab, base + l.slotEntriesOff, l.mapEntries * ENTRY_F64);
  }
  get pid(): number {
    return Atomics.load(this.status, S_PID);
  }
  get pager(): number {
    return Atomics.load(this.status, S_PAGER);
  }
  get nentries(): number {
    return Atomics.load(this.meta, S_NENTRIES);
  }
  get mapVersion(): number {
    return Atomics.load(this.meta, S_MAPVERSION);
  }
}

export class PagerViews {
  readonly index: number;
  readonly doorbell: Int32Array;
  readonly sleeping: Int32Array;
  readonly control: Int32Array;
  readonly heartbeat: Int32Array;
  readonly pending: Int32Array;
  constructor(sab: SharedArrayBuffer, l: Layout, p: number) {
    const base = l.pagersOff + p * l.pagerBytes;
    this.index = p;
    this.doorbell = new Int32Array(sab, base, 1);
    this.sleeping = new Int32Array(sab, base + LINE, 1);
    this.control = new Int32Array(sab, base + 2 * LINE, 2);
    this.heartbeat = new Int32Array(sab, base + 3 * LINE, 2);
    this.pending = new Int32Array(sab, base + PAGER_LINES * LINE, l.pendingWords);
  }
}

/** Requester side: publish the request already written into `s.req` and ring the doorbell. */
export function post(s: SlotViews, p: PagerViews): void {
  Atomics.store(s.state, S_STATE, ST_PENDING);
  const slot = s.index;
  Atomics.or(p.pending, slot >>> 5, 1 << (slot & 31));
  if (Atomics.load(p.sleeping, P_SLEEPING) !== 0) {
    Atomics.add(p.doorbell, P_DOORBELL, 1);
    Atomics.notify(p.doorbell, P_DOORBELL, 1);
  }
}

/** Pager side: publish the reply and wake the requester only if it parked. */
export function reply(s: SlotViews, val: number, err: number, aux: number): boolean {
  const res = s.res;
  res[S_RES_VAL] = val;
  res[S_RES_ERR] = err;
  res[S_RES_AUX] = aux;
  Atomics.store(s.state, S_STATE, ST_DONE);
  if (Atomics.load(s.parked, S_PARKED) !== 0) {
    Atomics.notify(s.state, S_STATE, 1);
    return true;
  }
  return false;
}

export function ringShutdown(p: PagerViews): void {
  Atomics.store(p.control, P_SHUTDOWN, 1);
  Atomics.add(p.doorbell, P_DOORBELL, 1);
  Atomics.notify(p.doorbell, P_DOORBELL);
}

export { S_REQ_OP, S_REQ_A, S_RES_VAL, S_RES_ERR, S_RES_AUX, S_STATE, S_STATUS, S_PID, S_PAGER, S_PARKED, S_POST_TS, P_HEARTBEAT, P_SHUTDOWN, ST_DONE, ST_PENDING };
