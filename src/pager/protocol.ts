/**
 * The request protocol between a requester (a process, or the host) and the pager that owns it.
 *
 * Payload in the slot, doorbell in a bitmap (as piscina's worker loop does; the whole protocol:
 * docs/architecture.md, "The request protocol"): the requester writes
 * its request — op, sequence number, arguments — into the request lines of its slot, then sets
 * its bit in the owning pager's pending bitmap with one Atomics.or. The pager takes every queued
 * request at once with Atomics.exchange(word, 0), serves them, writes each reply into the reply
 * line and publishes it by storing the request's sequence number into the `done` word. No lock,
 * no allocation, and a requester that dies between its writes cannot wedge the queue (there is no
 * claimed-but-unpublished cell to wait on).
 *
 * Every line has one writer, so a round trip moves as few cache lines between cores as possible:
 * the request line (requester -> pager), the pending word (both ways), and the reply line with its
 * `done` word (pager -> requester). A fault's reply carries the PTE it entered, so the requester
 * fills its TLB without reading the page table the pager just wrote.
 *
 * Sleeping is Dekker-style on both sides, so a notify (a futex system call) is only paid when
 * the other side really parked:
 *   pager:     store sleeping=1; d=load doorbell; re-scan pending; if empty wait(doorbell, d)
 *   requester: or pending bit;    if load(sleeping) { add doorbell; notify doorbell }
 * Sequential consistency of Atomics guarantees that either the pager's re-scan sees the bit or the
 * requester sees sleeping=1. The same pattern guards the reply with the slot's park state, which
 * a parked process sets to the sequence number it waits for (runqueue.ts).
 */
import {
  FD_WORDS, LINE, MAX_FDS, P_DOORBELL, P_SHUTDOWN, P_SLEEPING, PAGER_LINES, S_NENTRIES,
  S_PAGER, S_PID, S_VMSPACE, ENTRY_F64, L1_ENTRIES, type Layout,
} from '../layout.js';

// Request (Float64 indices in the two request lines, written by the requester only).
export const R_OP = 0;
export const R_SEQ = 1;
/** clockMs() when posted, if the pager is to time this request; 0 otherwise */
export const R_POST_TS = 2;
/** how many requests this timed one stands for (sampling) */
export const R_WEIGHT = 3;
/** trace flow id */
export const R_FLOW = 4;
/** arguments a..g */
export const R_ARG = 5;
// Reply (Float64 indices after the `done` word, written by the pager only).
export const RES_VAL = 0;
export const RES_ERR = 1;
/** for OP_FAULT: the PTE entered */
export const RES_PTE = 2;
/** for OP_FAULT of a register page: the device index; AUX_DRIVER_KILLED in a reply the host wrote */
export const RES_AUX = 3;
/** with AUX_DRIVER_KILLED: why (WHY_*) and for how long the driver call ran, in ms */
export const RES_WHY = 4;
export const RES_MS = 5;
/**
 * The pager serving this request died, or overran driverTimeoutMs in driver code, and the host
 * answered in its place: the thread raises SIGSEGV. RES_VAL holds the pager, RES_PTE the device
 * offset, and the device index is in RES_MS's neighbour RES_DEV.
 */
export const AUX_DRIVER_KILLED = -7;
export const RES_DEV = 6;
export const WHY_DIED = 1;
export const WHY_TIMEOUT = 2;

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
/** fork: copy the address space into slot a (reserved by the host), by inheritance */
export const OP_FORK = 10;
export const OP_MINHERIT = 11;
/** host only: remove every translation of device a's offsets [b, b + c) (rt.device(path).revoke) */
export const OP_REVOKE = 12;
/** a load or store of a register page: the driver's mmio callback runs on the pager */
export const OP_MMIO = 13;
export const OP_NAMES = ['nop', 'fault', 'mmap', 'munmap', 'mprotect', 'madvise', 'msync', 'pmapRemove', 'exit', 'reap', 'fork', 'minherit', 'revoke', 'mmio'];

/**
 * Reply flags for OP_FAULT, in RES_VAL: the page is a register page of the driver (no PTE is ever
 * entered; every access is an OP_MMIO or, for a doorbell, a post), RES_PTE holding the device
 * offset of the page and RES_VAL's high bits the entry's protection.
 */
export const FAULT_MMIO = 1;
export const FAULT_DOORBELL = 2;

/** Views of one slot. Every thread builds these once per slot, at setup. */
export class SlotViews {
  readonly index: number;
  readonly req: Float64Array; // lines 0-1, requester
  readonly done: Int32Array; // line 2, word 0: sequence number of the last request served (pager)
  readonly res: Float64Array; // line 2 after the done word (pager)
  readonly parked: Int32Array; // line 3 (requester): SLOT_PARKED, SLOT_RUNNING, SLOT_PARK_KIND
  readonly status: Int32Array; // line 4 (host)
  readonly meta: Int32Array; // line 5 (pager)
  /** line 6 (requester): SLOT_SPINNING, S_OBS, S_TLB_LO, S_TLB_HI */
  readonly spinning: Int32Array;
  readonly inv: Int32Array; // line 7 (pagers, host): S_INVSEQ
  readonly fds: Int32Array; // lines 8-15: the descriptor table (of the address space's slot)
  readonly threads: Int32Array; // thread bitmap (of the address space's slot)
  readonly l1: Int32Array;
  readonly entries: Float64Array;
  constructor(sab: SharedArrayBuffer, l: Layout, slot: number) {
    const base = l.slotsOff + slot * l.slotBytes;
    this.index = slot;
    this.req = new Float64Array(sab, base, 16);
    this.done = new Int32Array(sab, base + 2 * LINE, 2);
    this.res = new Float64Array(sab, base + 2 * LINE + 8, 7);
    this.parked = new Int32Array(sab, base + 3 * LINE, 4);
    this.status = new Int32Array(sab, base + 4 * LINE, 16);
    this.meta = new Int32Array(sab, base + 5 * LINE, 16);
    this.spinning = new Int32Array(sab, base + 6 * LINE, 4);
    this.inv = new Int32Array(sab, base + 7 * LINE, 1);
    this.fds = new Int32Array(sab, base + l.slotFdsOff, MAX_FDS * FD_WORDS);
    this.threads = new Int32Array(sab, base + l.slotThreadsOff, l.pendingWords);
    this.l1 = new Int32Array(sab, base + l.slotL1Off, L1_ENTRIES);
    this.entries = new Float64Array(sab, base + l.slotEntriesOff, l.mapEntries * ENTRY_F64);
  }
  get pid(): number {
    return Atomics.load(this.status, S_PID);
  }
  get pager(): number {
    return Atomics.load(this.status, S_PAGER);
  }
  /** the slot holding this thread's address space */
  get vmspace(): number {
    return Atomics.load(this.status, S_VMSPACE);
  }
  get nentries(): number {
    return Atomics.load(this.meta, S_NENTRIES);
  }
}

/** Is there a live thread of address space `vm` (its thread bitmap) other than the one in slot `self`? */
export function hasOtherThreads(vm: SlotViews, self: number): boolean {
  const words = vm.threads;
  for (let w = 0; w < words.length; w++) {
    let bits = Atomics.load(words, w);
    if (w === self >>> 5) bits &= ~(1 << (self & 31));
    if (bits !== 0) return true;
  }
  return false;
}

export class PagerViews {
  readonly index: number;
  readonly doorbell: Int32Array;
  readonly sleeping: Int32Array;
  readonly control: Int32Array;
  /** line 3: P_EPOCH (pager writes, rarely; every thread reads it) */
  readonly epoch: Int32Array;
  /** line 4: P_SERVING and the P_CALL_* words (pager writes, every request; the host's watchdog reads) */
  readonly watch: Int32Array;
  readonly callOff: Float64Array;
  readonly pending: Int32Array;
  constructor(sab: SharedArrayBuffer, l: Layout, p: number) {
    const base = l.pagersOff + p * l.pagerBytes;
    this.index = p;
    this.doorbell = new Int32Array(sab, base, 1);
    this.sleeping = new Int32Array(sab, base + LINE, 1);
    this.control = new Int32Array(sab, base + 2 * LINE, 4);
    this.epoch = new Int32Array(sab, base + 3 * LINE, 8);
    this.watch = new Int32Array(sab, base + 4 * LINE, 8);
    this.callOff = new Float64Array(sab, base + 4 * LINE, 8);
    this.pending = new Int32Array(sab, base + PAGER_LINES * LINE, l.pendingWords);
  }
}

/**
 * Requester side: the request (with a new sequence number in R_SEQ) is already in `s.req`; ring.
 * The reply is there once `s.done[0]` equals that sequence number.
 */
export function post(s: SlotViews, p: PagerViews): void {
  const slot = s.index;
  Atomics.or(p.pending, slot >>> 5, 1 << (slot & 31));
  ringIfSleeping(p);
}

/** Wake the pager if it announced it sleeps (the requester half of the Dekker pattern above). */
export function ringIfSleeping(p: PagerViews): void {
  if (Atomics.load(p.sleeping, P_SLEEPING) !== 0) {
    Atomics.add(p.doorbell, P_DOORBELL, 1);
    Atomics.notify(p.doorbell, P_DOORBELL, 1);
  }
}

/**
 * Pager side: publish the reply to request `seq` (read from the request before this call: once
 * `done` holds it, the requester may already be writing its next request). Returns the slot's
 * park state just after: 0 if the requester is still spinning (nothing to do), `seq` if it
 * parked on this request and the caller must wake it or hold its wake-up (runqueue.ts); any
 * other value belongs to a later request, not to this reply.
 */
export function reply(s: SlotViews, seq: number, val: number, err: number, pte: number, aux = 0): number {
  const res = s.res;
  res[RES_VAL] = val;
  res[RES_ERR] = err;
  res[RES_PTE] = pte;
  res[RES_AUX] = aux;
  Atomics.store(s.done, 0, seq);
  return Atomics.load(s.parked, 0);
}

export function ringShutdown(p: PagerViews): void {
  Atomics.store(p.control, P_SHUTDOWN, 1);
  Atomics.add(p.doorbell, P_DOORBELL, 1);
  Atomics.notify(p.doorbell, P_DOORBELL);
}
