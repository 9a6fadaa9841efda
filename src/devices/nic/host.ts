/**
 * The host's end of the NIC, the device side of its two virtqueues (virtio.ts): it takes the
 * packets programs transmit (to onPacket handlers, to take(), or straight back into the receive
 * queue in echo mode) and puts packets into the receive queue (deliver). The rings and buffers
 * are read and written in place, through typed arrays on the arena (kernel.view): no copy but
 * the one into the receive buffer that any NIC makes.
 *
 * Notifications are suppressed both ways while the other side is busy, in whichever of virtio's
 * two ways the driver chose (virtio.ts):
 *   - kicks: while the host works through a queue, a transmitting program does not ring its
 *     doorbell (VRING_USED_F_NO_NOTIFY set, or avail_event left behind); a turn of the event loop
 *     that moved packets is followed by another one (setImmediate) that looks again, and only a
 *     turn that found nothing re-arms the doorbell — then looks once more, since the driver may
 *     have added buffers before it saw it re-armed (the usual re-check; without it that packet
 *     would wait for a kick that never comes);
 *   - interrupts: after publishing a used buffer the host interrupts only if the driver asked
 *     (no VRING_AVAIL_F_NO_INTERRUPT, or the publish crossed used_event); the driver re-checks
 *     after asking (program.ts). With the flags, the host looks after the first publish of a run
 *     of synchronous work (so a sleeping driver wakes while the rest of the batch is still being
 *     written) and once more when that run ends (a microtask), not after every buffer: a driver
 *     just woken clears the flag only microseconds later, and until then every further interrupt
 *     would be one more futex wake for nothing (QEMU likewise notifies once per flush). Event
 *     indices need no such care: only the publish that crosses used_event interrupts.
 * Both are store-then-load pairs on sequentially consistent words (Dekker): of two sides that
 * each store their flag or index and then load the other's, at least one sees the other's
 * store, so a wake-up is never lost.
 */
import { badType, describeThrown } from '../../errors.js';
import type { DeviceHandle } from '../../runtime/devices.js';
import { hostDevice, isTypedArray, type HostRuntime } from '../common.js';
import { CTL_FEATURES, CTL_GENERATION, CTL_STATUS, NIC_NOTIFY, NIC_RX, NIC_TX, STATUS_DRIVER_OK, type NicState } from './driver.js';
import {
  DESC_ADDR, DESC_BYTES, DESC_FLAGS, DESC_LEN, DESC_NEXT, RING_HEADER, USED_ELEM_BYTES, VIRTIO_RING_F_EVENT_IDX, VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_USED_F_NO_NOTIFY, needEvent,
} from './virtio.js';

/** Called with each transmitted packet: a view of the buffer in device memory, valid during the call. */
export type PacketHandler = (packet: Uint8Array) => void;

export interface NicOptions {
  /** put every transmitted packet back into the receive queue (default false) */
  echo?: boolean;
}

export interface NicStats {
  /** packets and bytes the programs transmitted that the host took */
  txPackets: number;
  txBytes: number;
  /** packets and bytes put into the receive queue (echoed or delivered) */
  rxPackets: number;
  rxBytes: number;
  /** doorbell stores (kicks) received */
  kicks: number;
  /** interrupts raised, and publishes after which the driver's flag or used_event said none was wanted */
  interrupts: number;
  interruptsSuppressed: number;
  /** turns of the event loop that serviced the queues */
  turns: number;
  /** descriptors that pointed outside device memory, looped, or had the wrong direction */
  badDescriptors: number;
  /** onPacket handlers that threw */
  handlerErrors: number;
}

export class Nic {
  readonly path: string;
  readonly queueSize: number;
  readonly bufferSize: number;
  readonly #dev: DeviceHandle;
  readonly #s: NicState;
  readonly #u8: Uint8Array;
  readonly #u16: Uint16Array;
  readonly #u32: Uint32Array;
  readonly #i32: Int32Array;
  readonly #ctl: Int32Array;
  readonly #mask: number;
  readonly #handlers = new Set<PacketHandler>();
  readonly #rxWaiters: (() => void)[] = [];
  readonly #unsubscribe: () => void;
  /** the device side's ring positions: next available entry to take, next used entry to fill */
  readonly #lastAvail = [0, 0];
  readonly #usedIdx = [0, 0];
  /** the used-ring flags as last published */
  readonly #usedFlags = [0, 0];
  /** a descriptor chain's segments (device offsets, lengths), reused */
  readonly #segOff: Int32Array;
  readonly #segLen: Int32Array;
  readonly #rxOff: Int32Array;
  readonly #rxLen: Int32Array;
  #generation = -1;
  /** the driver negotiated VIRTIO_RING_F_EVENT_IDX */
  #eventIdx = false;
  #echo: boolean;
  #busy = false;
  #again = false;
  #scheduled = false;
  #closed = false;
  /** a run of synchronous work has published; the queues published since its first interrupt check */
  #batchOpen = false;
  #batchQueues = 0;
  readonly #closeBatch = (): void => {
    this.#batchOpen = false;
    const m = this.#batchQueues;
    this.#batchQueues = 0;
    if (m !== 0) this.#interruptIfWanted(m);
  };
  readonly #stats: NicStats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, kicks: 0, interrupts: 0, interruptsSuppressed: 0, turns: 0, badDescriptors: 0, handlerErrors: 0 };

  constructor(rt: HostRuntime, path = '/dev/nic0', options: NicOptions = {}) {
    const { dev, state } = hostDevice<NicState>(rt, path, 'nic', 'Nic');
    if (options === null || typeof options !== 'object') throw badType('Nic options', 'an object { echo }', options);
    if (options.echo !== undefined && typeof options.echo !== 'boolean') throw badType('Nic options.echo', 'a boolean', options.echo);
    this.path = path;
    this.queueSize = state.queueSize;
    this.bufferSize = state.bufferSize;
    this.#dev = dev;
    this.#s = state;
    this.#mask = state.queueSize - 1;
    const v = rt.kernel.view(state.kva, state.bytes);
    this.#u8 = v;
    this.#u16 = new Uint16Array(v.buffer, v.byteOffset, state.bytes / 2);
    this.#u32 = new Uint32Array(v.buffer, v.byteOffset, state.bytes / 4);
    this.#i32 = new Int32Array(v.buffer, v.byteOffset, state.bytes / 4);
    const c = rt.kernel.view(state.ctl, 12);
    this.#ctl = new Int32Array(c.buffer, c.byteOffset, 3);
    this.#segOff = new Int32Array(state.queueSize);
    this.#segLen = new Int32Array(state.queueSize);
    this.#rxOff = new Int32Array(state.queueSize);
    this.#rxLen = new Int32Array(state.queueSize);
    this.#echo = options.echo ?? false;
    this.#unsubscribe = dev.onDoorbell((off) => {
      if (off !== NIC_NOTIFY + 4 * NIC_RX && off !== NIC_NOTIFY + 4 * NIC_TX) return;
      this.#stats.kicks++;
      this.#service();
    });
    this.#service();
  }

  /** Echo mode: every transmitted packet goes back into the receive queue. */
  get echo(): boolean {
    return this.#echo;
  }

  set echo(on: boolean) {
    if (typeof on !== 'boolean') throw badType('Nic echo', 'a boolean', on);
    this.#echo = on;
    this.#service();
  }

  get stats(): NicStats {
    return { ...this.#stats };
  }

  /**
   * Call fn with every packet programs transmit, as a view of its buffer in device memory (no
   * copy; valid during the call — copy it to keep it). In echo mode the handlers see each packet
   * before it goes back. Returns the unsubscribe function.
   */
  onPacket(fn: PacketHandler): () => void {
    if (typeof fn !== 'function') throw badType('Nic onPacket handler', 'a function (packet: Uint8Array) => void', fn);
    this.#handlers.add(fn);
    this.#service();
    return () => void this.#handlers.delete(fn);
  }

  /**
   * The next transmitted packet (a copy), or null if none waits. Only meaningful when neither
   * echo mode nor a handler takes the packets as they come.
   */
  take(): Uint8Array | null {
    if (!this.#ready()) return null;
    const avail = this.#availIdx(NIC_TX);
    while (this.#lastAvail[NIC_TX] !== avail) {
      const head = this.#availEntry(NIC_TX, this.#lastAvail[NIC_TX]);
      this.#lastAvail[NIC_TX] = (this.#lastAvail[NIC_TX] + 1) & 0xffff;
      const n = this.#chain(NIC_TX, head, this.#segOff, this.#segLen, false);
      let out: Uint8Array | null = null;
      if (n > 0) {
        let total = 0;
        for (let i = 0; i < n; i++) total += this.#segLen[i];
        out = this.#gather(n, total);
        this.#stats.txPackets++;
        this.#stats.txBytes += total;
      }
      this.#pushUsed(NIC_TX, head, 0);
      if (out !== null) return out; // else a bad descriptor: dropped (counted), look at the next
    }
    return null;
  }

  /**
   * Put a packet into the receive queue (copied into the driver's next receive buffer). Returns
   * false, leaving the queue as it was, when the driver has posted no free buffer (or is not set
   * up): a NIC with a full receive ring drops; rxReady() says when to try again.
   */
  deliver(packet: Uint8Array): boolean {
    if (!isTypedArray(packet, 'Uint8Array')) throw badType('Nic deliver packet', 'a Uint8Array', packet);
    if (packet.length > this.bufferSize) throw new RangeError(`Nic deliver packet: ${packet.length} bytes do not fit a ${this.bufferSize}-byte receive buffer`);
    if (!this.#ready()) return false;
    if (this.#availIdx(NIC_RX) === this.#lastAvail[NIC_RX]) {
      this.#setKicks(NIC_RX, true);
      return false;
    }
    const head = this.#availEntry(NIC_RX, this.#lastAvail[NIC_RX]);
    this.#lastAvail[NIC_RX] = (this.#lastAvail[NIC_RX] + 1) & 0xffff;
    const n = this.#chain(NIC_RX, head, this.#rxOff, this.#rxLen, true);
    let written = 0;
    for (let i = 0; i < n && written < packet.length; i++) {
      const k = Math.min(this.#rxLen[i], packet.length - written);
      this.#u8.set(packet.subarray(written, written + k), this.#rxOff[i]);
      written += k;
    }
    this.#pushUsed(NIC_RX, head, written);
    this.#stats.rxPackets++;
    this.#stats.rxBytes += written;
    return true;
  }

  /** Resolves once the driver has a free receive buffer posted (at once if it has one now). */
  rxReady(): Promise<void> {
    return new Promise((resolve) => {
      this.#rxWaiters.push(resolve);
      this.#service();
    });
  }

  /** Stop serving the device (the doorbell handler goes away; the rings stay as they are). */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
  }

  // ------------------------------------------------------------------ the queues

  /** Whether the driver is set up; notices a reset and starts the ring positions over. */
  #ready(): boolean {
    const gen = Atomics.load(this.#ctl, CTL_GENERATION / 4);
    if (gen !== this.#generation) {
      this.#generation = gen;
      this.#lastAvail[0] = this.#lastAvail[1] = 0;
      this.#usedIdx[0] = this.#usedIdx[1] = 0;
      this.#usedFlags[0] = this.#usedFlags[1] = 0;
    }
    if ((Atomics.load(this.#ctl, CTL_STATUS / 4) & STATUS_DRIVER_OK) === 0) return false;
    this.#eventIdx = (Atomics.load(this.#ctl, CTL_FEATURES / 4) & (1 << VIRTIO_RING_F_EVENT_IDX)) !== 0;
    return true;
  }

  /** One turn: move what can be moved; keep polling while that is something, else re-arm the doorbells. */
  #service(): void {
    if (this.#closed) return;
    if (this.#busy) {
      this.#again = true; // a handler called back into the device: finish that first
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        this.#turn();
      } while (this.#again);
    } finally {
      this.#busy = false;
    }
  }

  #turn(): void {
    if (!this.#ready()) return;
    this.#stats.turns++;
    for (;;) {
      if (this.#workPending()) {
        this.#setKicks(NIC_TX, false);
        this.#setKicks(NIC_RX, false);
        const moved = this.#transmit();
        if (this.#rxWaiters.length > 0 && this.#availIdx(NIC_RX) !== this.#lastAvail[NIC_RX]) {
          for (const r of this.#rxWaiters.splice(0)) r();
        }
        if (moved > 0) {
          this.#poll();
          return;
        }
      }
      // Idle: doorbells re-armed where a kick would bring work, then look once more.
      const rxStalled = this.#rxWaiters.length > 0 || (this.#echo && this.#availIdx(NIC_TX) !== this.#lastAvail[NIC_TX]);
      this.#setKicks(NIC_TX, this.#consuming());
      this.#setKicks(NIC_RX, rxStalled);
      if (!this.#workPending()) return;
    }
  }

  /** Something takes transmitted packets as they come (echo or a handler); else they wait for take(). */
  #consuming(): boolean {
    return this.#echo || this.#handlers.size > 0;
  }

  #workPending(): boolean {
    if (this.#rxWaiters.length > 0 && this.#availIdx(NIC_RX) !== this.#lastAvail[NIC_RX]) return true;
    if (!this.#consuming() || this.#availIdx(NIC_TX) === this.#lastAvail[NIC_TX]) return false;
    return !this.#echo || this.#availIdx(NIC_RX) !== this.#lastAvail[NIC_RX];
  }

  #poll(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#service();
    });
  }

  /** Take every transmitted packet there is (echo: while receive buffers last). Returns how many. */
  #transmit(): number {
    if (!this.#consuming()) return 0;
    const u8 = this.#u8;
    const segOff = this.#segOff;
    const segLen = this.#segLen;
    const txAvail = this.#availIdx(NIC_TX);
    let rxAvail = this.#echo ? this.#availIdx(NIC_RX) : 0;
    let moved = 0;
    while (this.#lastAvail[NIC_TX] !== txAvail && !this.#closed) {
      if (this.#echo && rxAvail === this.#lastAvail[NIC_RX]) {
        rxAvail = this.#availIdx(NIC_RX);
        if (rxAvail === this.#lastAvail[NIC_RX]) break; // no receive buffer: wait for the driver to post one
      }
      const head = this.#availEntry(NIC_TX, this.#lastAvail[NIC_TX]);
      this.#lastAvail[NIC_TX] = (this.#lastAvail[NIC_TX] + 1) & 0xffff;
      const n = this.#chain(NIC_TX, head, segOff, segLen, false);
      let total = 0;
      for (let i = 0; i < n; i++) total += segLen[i];
      if (n > 0) {
        this.#stats.txPackets++;
        this.#stats.txBytes += total;
        if (this.#handlers.size > 0) {
          const pkt = n === 1 ? u8.subarray(segOff[0], segOff[0] + total) : this.#gather(n, total);
          for (const fn of this.#handlers) this.#call(fn, pkt);
        }
        if (this.#echo) this.#echoOne(n, total);
      }
      this.#pushUsed(NIC_TX, head, 0);
      moved++;
    }
    return moved;
  }

  /** A handler that throws does not stop the queue: the packet still completes; the first error is shown. */
  #call(fn: PacketHandler, pkt: Uint8Array): void {
    try {
      fn(pkt);
    } catch (e) {
      this.#stats.handlerErrors++;
      if (this.#stats.handlerErrors === 1) console.warn(`devpager: a Nic onPacket handler of ${this.path} threw: ${describeThrown(e)} (further errors are only counted, in stats.handlerErrors)`);
    }
  }

  /** Copy the transmit chain in segOff/segLen (n segments, total bytes) into the next receive buffer. */
  #echoOne(n: number, total: number): void {
    const head = this.#availEntry(NIC_RX, this.#lastAvail[NIC_RX]);
    this.#lastAvail[NIC_RX] = (this.#lastAvail[NIC_RX] + 1) & 0xffff;
    const m = this.#chain(NIC_RX, head, this.#rxOff, this.#rxLen, true);
    const u8 = this.#u8;
    let written = 0;
    if (m === 1 && n === 1 && this.#rxLen[0] >= total) {
      u8.copyWithin(this.#rxOff[0], this.#segOff[0], this.#segOff[0] + total);
      written = total;
    } else {
      // Scatter-gather: walk both chains.
      let i = 0, iAt = 0, j = 0, jAt = 0;
      while (i < n && j < m) {
        const k = Math.min(this.#segLen[i] - iAt, this.#rxLen[j] - jAt);
        u8.copyWithin(this.#rxOff[j] + jAt, this.#segOff[i] + iAt, this.#segOff[i] + iAt + k);
        written += k;
        iAt += k;
        jAt += k;
        if (iAt === this.#segLen[i]) (i++, (iAt = 0));
        if (jAt === this.#rxLen[j]) (j++, (jAt = 0));
      }
    }
    this.#pushUsed(NIC_RX, head, written);
    this.#stats.rxPackets++;
    this.#stats.rxBytes += written;
  }

  #gather(n: number, total: number): Uint8Array {
    const out = new Uint8Array(total);
    for (let i = 0, at = 0; i < n; at += this.#segLen[i], i++) out.set(this.#u8.subarray(this.#segOff[i], this.#segOff[i] + this.#segLen[i]), at);
    return out;
  }

  /**
   * Follow the descriptor chain from `head` of queue q into off/len (device offsets and lengths of
   * its buffers). Returns the number of segments, or -1 for a bad chain (a buffer outside device
   * memory, a loop, a direction that does not fit the queue): the packet is dropped and counted,
   * the descriptor still goes back to the driver.
   */
  #chain(q: number, head: number, off: Int32Array, len: Int32Array, writable: boolean): number {
    const s = this.#s;
    const u16 = this.#u16;
    const u32 = this.#u32;
    let id = head;
    for (let n = 0; n < s.queueSize; n++) {
      if (id >= s.queueSize) break;
      const d = s.desc[q] + id * DESC_BYTES;
      const addr = u32[(d + DESC_ADDR) >>> 2];
      const hi = u32[(d + DESC_ADDR + 4) >>> 2];
      const l = u32[(d + DESC_LEN) >>> 2];
      const flags = u16[(d + DESC_FLAGS) >>> 1];
      if (hi !== 0 || addr < s.bufOffset || addr + l > s.bytes || ((flags & VRING_DESC_F_WRITE) !== 0) !== writable) break;
      off[n] = addr;
      len[n] = l;
      if ((flags & VRING_DESC_F_NEXT) === 0) return n + 1;
      id = u16[(d + DESC_NEXT) >>> 1];
    }
    this.#stats.badDescriptors++;
    return -1;
  }

  #availIdx(q: number): number {
    return Atomics.load(this.#i32, this.#s.avail[q] >>> 2) >>> 16;
  }

  #availEntry(q: number, idx: number): number {
    return this.#u16[(this.#s.avail[q] + RING_HEADER + 2 * (idx & this.#mask)) >>> 1];
  }

  /** Fill the next used entry of q and publish it (the atomic store of flags | idx), then maybe interrupt. */
  #pushUsed(q: number, id: number, len: number): void {
    const s = this.#s;
    const i = this.#usedIdx[q];
    const e = (s.used[q] + RING_HEADER + USED_ELEM_BYTES * (i & this.#mask)) >>> 2;
    this.#u32[e] = id;
    this.#u32[e + 1] = len;
    const next = (i + 1) & 0xffff;
    this.#usedIdx[q] = next;
    Atomics.store(this.#i32, s.used[q] >>> 2, (next << 16) | this.#usedFlags[q]);
    if (this.#eventIdx) {
      // Interrupt only when this publish crosses the index the driver asked to be woken at.
      if (needEvent(Atomics.load(this.#i32, s.usedEvent[q] >>> 2) & 0xffff, next, i)) this.#interrupt();
      else this.#stats.interruptsSuppressed++;
    } else if (!this.#batchOpen) {
      this.#batchOpen = true;
      queueMicrotask(this.#closeBatch);
      this.#interruptIfWanted(1 << q);
    } else this.#batchQueues |= 1 << q;
  }

  /** Flags: after publishing on the queues in mask, one interrupt unless the driver polls them all. */
  #interruptIfWanted(mask: number): void {
    for (let q = 0; q < 2; q++) {
      if ((mask & (1 << q)) !== 0 && (Atomics.load(this.#i32, this.#s.avail[q] >>> 2) & VRING_AVAIL_F_NO_INTERRUPT) === 0) {
        this.#interrupt();
        return;
      }
    }
    this.#stats.interruptsSuppressed++;
  }

  #interrupt(): void {
    this.#stats.interrupts++;
    this.#dev.interrupt();
  }

  /**
   * Arm q's doorbell (on: kick me when you add a buffer) or quiet it while the host works. Flags:
   * VRING_USED_F_NO_NOTIFY, stored only when it changes. Event index: on stores avail_event = the
   * next entry the host will take; off leaves it behind, where no publish of the driver crosses it.
   */
  #setKicks(q: number, on: boolean): void {
    if (this.#eventIdx) {
      if (on) Atomics.store(this.#i32, this.#s.availEvent[q] >>> 2, this.#lastAvail[q]);
      return;
    }
    const flags = on ? 0 : VRING_USED_F_NO_NOTIFY;
    if (this.#usedFlags[q] === flags) return;
    this.#usedFlags[q] = flags;
    Atomics.store(this.#i32, this.#s.used[q] >>> 2, (this.#usedIdx[q] << 16) | flags);
  }
}
