/**
 * Accesses to a device's register pages, from the thread's side (the device kit). A register
 * page never gets a PTE:
 *
 *   - an MMIO page: every load and store is a request (OP_MMIO) to the pager serving this thread,
 *     which runs the driver's read or write callback with the exact device offset, size and value
 *     and answers with the value read;
 *   - a doorbell page: a store is posted into this thread's doorbell ring and the thread goes on
 *     at once; the host drains the rings in order and calls rt.device(path).onDoorbell handlers
 *     (runtime/doorbells.ts). A full ring makes the thread wait for the host: back-pressure, never
 *     a dropped store.
 *
 * 64-bit values travel as two 32-bit halves, since the request lines hold Float64 numbers.
 */
import { BELL_RING, BELL_SLEEPING, DB_BYTES, DB_DEV, DB_ENTRY_F64, DB_HEAD, DB_OFF, DB_PID, DB_RING, DB_SIZE, DB_TAIL, DB_VALUE, DB_VALUE_HI, DB_WAITING, type Layout } from '../layout.js';
import { OP_MMIO, RES_PTE, RES_VAL } from '../pager/protocol.js';
import { ACCESS_DONE } from './access.js';
import type { Requester } from './requester.js';

/** One slot's doorbell ring and the host's bell (layout.ts DB_*, BELL_*). */
export class DoorbellRing {
  /** DB_TAIL, DB_WAITING (the thread writes), DB_HEAD (the host writes) */
  readonly ctl: Int32Array;
  readonly entries: Float64Array;
  readonly capacity = DB_RING;
  /** BELL_RING (threads add + notify), BELL_SLEEPING (the host: it waits on BELL_RING) */
  readonly bell: Int32Array;
  constructor(sab: SharedArrayBuffer, l: Layout, slot: number) {
    const base = l.doorbellsOff + slot * DB_BYTES;
    this.ctl = new Int32Array(sab, base, 32);
    this.entries = new Float64Array(sab, base + 128, DB_RING * DB_ENTRY_F64);
    this.bell = new Int32Array(sab, l.bellOff, 32);
  }
}

/** Wake the host if it said it sleeps (Dekker with its BELL_SLEEPING store and ring scan). */
export function ringBell(bell: Int32Array): void {
  if (Atomics.load(bell, BELL_SLEEPING) !== 0) {
    Atomics.add(bell, BELL_RING, 1);
    Atomics.notify(bell, BELL_RING);
  }
}

export class DeviceIo {
  resultLo = 0;
  result64 = 0n;
  private tail: number;

  constructor(private readonly req: Requester, private readonly ring: DoorbellRing, private readonly pid: number) {
    this.tail = Atomics.load(ring.ctl, DB_TAIL);
  }

  /** A load or store of an MMIO page: 0-style codes (an errno) or ACCESS_DONE. */
  mmio(va: number, access: number, size: number, value: number, value64: bigint): number {
    let lo = value;
    let hi = 0;
    if (size === 8) {
      lo = Number(BigInt.asUintN(32, value64));
      hi = Number(BigInt.asUintN(32, value64 >> 32n));
    }
    this.req.setRequest(OP_MMIO, va, access, size, lo >>> 0, hi >>> 0);
    const err = this.req.call();
    if (err !== 0) return err;
    const res = this.req.slot.res;
    this.resultLo = res[RES_VAL];
    if (size === 8) this.result64 = BigInt.asUintN(64, (BigInt(res[RES_PTE] >>> 0) << 32n) | BigInt(res[RES_VAL] >>> 0));
    return ACCESS_DONE;
  }

  /** A store of a doorbell page: post it and go on. */
  doorbell(dev: number, off: number, size: number, value: number, value64: bigint): number {
    const r = this.ring;
    const tail = this.tail;
    if (tail - Atomics.load(r.ctl, DB_HEAD) >= r.capacity) this.waitForRoom();
    const b = (tail % r.capacity) * DB_ENTRY_F64;
    const e = r.entries;
    e[b + DB_DEV] = dev;
    e[b + DB_OFF] = off;
    e[b + DB_SIZE] = size;
    e[b + DB_PID] = this.pid;
    if (size === 8) {
      e[b + DB_VALUE] = Number(BigInt.asUintN(32, value64));
      e[b + DB_VALUE_HI] = Number(BigInt.asUintN(32, value64 >> 32n));
    } else {
      e[b + DB_VALUE] = value;
      e[b + DB_VALUE_HI] = 0;
    }
    this.tail = tail + 1;
    Atomics.store(r.ctl, DB_TAIL, tail + 1);
    ringBell(r.bell);
    return ACCESS_DONE;
  }

  /** Back-pressure: block (CPU given back) until the host has taken an entry. */
  private waitForRoom(): void {
    const r = this.ring;
    this.req.blocked(() => {
      for (;;) {
        const head = Atomics.load(r.ctl, DB_HEAD);
        if (this.tail - head < r.capacity) return;
        Atomics.store(r.ctl, DB_WAITING, 1);
        Atomics.add(r.bell, BELL_RING, 1);
        Atomics.notify(r.bell, BELL_RING);
        Atomics.wait(r.ctl, DB_HEAD, head, 100);
      }
    });
    Atomics.store(r.ctl, DB_WAITING, 0);
  }
}
