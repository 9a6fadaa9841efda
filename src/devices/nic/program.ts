/**
 * The program's side of the NIC: the driver half of its virtqueues (virtio.ts). openNic resets
 * the device, sets up both rings — every receive buffer posted, every transmit descriptor free —
 * and says DRIVER_OK; then send/receive move packets with plain loads and stores through the
 * mapping (TLB hits), one copy each way between the program's array and the device buffer.
 *
 * Waiting (docs/devices.md, "Waiting without burning a CPU"): the helper polls the used ring
 * `spin` times, then asks for an interrupt on the queue it waits for (used_event = the next
 * entry it will read, or VRING_AVAIL_F_NO_INTERRUPT cleared), looks again (the device may have
 * used a buffer before it saw the request), and only then blocks in waitInterrupt, which gives
 * the CPU back. While the program is not waiting it asks for none (used_event left one behind
 * the entry it reads next, which the device crosses only after 65535 more; or the flag set),
 * so the host raises no interrupt for it. Kicks work the same way the other way round: after a
 * publish the helper rings the queue's doorbell only if the device asked (avail_event crossed,
 * or no VRING_USED_F_NO_NOTIFY).
 *
 * One thread drives a NicPort: its ring positions live in the object.
 */
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../constants.js';
import { SyscallError, badRange, badType } from '../../errors.js';
import type { Process } from '../../process/types.js';
import { isTypedArray } from '../common.js';
import {
  NIC_NOTIFY, NIC_REGS, NIC_REG_BUF_COUNT, NIC_REG_BUF_OFFSET, NIC_REG_BUF_SIZE, NIC_REG_DEVICE_FEATURES, NIC_REG_DEVICE_ID, NIC_REG_DRIVER_FEATURES,
  NIC_REG_MAGIC, NIC_REG_MEM_SIZE, NIC_REG_Q, NIC_REG_QUEUE_NUM_MAX, NIC_REG_STATUS, NIC_REG_VERSION, NIC_RX, NIC_TX, STATUS_ACKNOWLEDGE, STATUS_DRIVER,
  STATUS_DRIVER_OK, STATUS_FEATURES_OK, VIRTIO_ID_NET, VIRTIO_MAGIC, VIRTIO_VERSION,
} from './driver.js';
import {
  DESC_ADDR, DESC_BYTES, DESC_FLAGS, DESC_LEN, RING_HEADER, USED_ELEM_BYTES, VIRTIO_RING_F_EVENT_IDX, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_WRITE,
  VRING_USED_F_NO_NOTIFY, needEvent, ringWord, vringLayout,
} from './virtio.js';

export interface NicPortOptions {
  /** polls of the used ring before a wait blocks (default 64); 0 blocks at once */
  spin?: number;
  /**
   * notification suppression by event indices, VIRTIO_RING_F_EVENT_IDX (default true, when the
   * device offers it); false: by the flags alone
   */
  eventIdx?: boolean;
}

const DEFAULT_SPIN = 64;

export class NicPort {
  readonly fd: number;
  readonly queueSize: number;
  /** the largest packet: one buffer */
  readonly bufferSize: number;
  readonly #p: Process;
  readonly #spin: number;
  readonly #mask: number;
  readonly #regs: number;
  readonly #bell: number;
  readonly #mem: number;
  readonly #memSize: number;
  /** virtual addresses of the rings, by queue */
  readonly #desc: number[];
  readonly #avail: number[];
  readonly #used: number[];
  /** virtual addresses of each queue's used_event and avail_event words */
  readonly #usedEvent: number[];
  readonly #availEvent: number[];
  /** negotiated VIRTIO_RING_F_EVENT_IDX */
  readonly eventIdx: boolean;
  /** virtual address of buffer 0 of each queue */
  readonly #buf: number[];
  /** driver-side positions: next avail entry to fill, next used entry to read, the avail flags */
  readonly #availIdx = [0, 0];
  readonly #lastUsed = [0, 0];
  readonly #availFlags = [0, 0];
  /** free transmit descriptors (a stack) */
  readonly #free: Int32Array;
  #freeTop: number;
  #closed = false;

  /** @internal use openNic */
  constructor(p: Process, path: string, options: NicPortOptions) {
    if (options === null || typeof options !== 'object') throw badType('openNic options', 'an object { spin, eventIdx }', options);
    const spin = options.spin ?? DEFAULT_SPIN;
    if (typeof spin !== 'number' || !Number.isInteger(spin) || spin < 0) throw badRange('openNic options.spin', 'an integer >= 0', spin);
    if (options.eventIdx !== undefined && typeof options.eventIdx !== 'boolean') throw badType('openNic options.eventIdx', 'a boolean', options.eventIdx);
    this.#p = p;
    this.#spin = spin;
    const fd = p.open(path, O_RDWR);
    this.fd = fd;
    try {
      const regs = mapOrNoDevice(p, fd, PROT_READ | PROT_WRITE, NIC_REGS, path);
      this.#regs = regs;
      if (p.load32(regs + NIC_REG_MAGIC) !== VIRTIO_MAGIC || p.load32(regs + NIC_REG_VERSION) !== VIRTIO_VERSION || p.load32(regs + NIC_REG_DEVICE_ID) !== VIRTIO_ID_NET) {
        throw new SyscallError('open', 'ENODEV', `${path} is not a virtio network device`);
      }
      const q = p.load32(regs + NIC_REG_QUEUE_NUM_MAX);
      this.queueSize = q;
      this.#mask = q - 1;
      this.bufferSize = p.load32(regs + NIC_REG_BUF_SIZE);
      const bufOffset = p.load32(regs + NIC_REG_BUF_OFFSET);
      if (p.load32(regs + NIC_REG_BUF_COUNT) < 2 * q) throw new SyscallError('open', 'ENODEV', `${path}: fewer buffers than descriptors`);
      this.#memSize = p.load32(regs + NIC_REG_MEM_SIZE);
      // Reset (virtio 3.1.1): the device forgets the rings, which the pager zeroes.
      p.store32(regs + NIC_REG_STATUS, 0);
      p.store32(regs + NIC_REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
      const eventIdx = options.eventIdx !== false && (p.load32(regs + NIC_REG_DEVICE_FEATURES) & (1 << VIRTIO_RING_F_EVENT_IDX)) !== 0;
      this.eventIdx = eventIdx;
      p.store32(regs + NIC_REG_DRIVER_FEATURES, eventIdx ? 1 << VIRTIO_RING_F_EVENT_IDX : 0);
      p.store32(regs + NIC_REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
      const mem = p.mmap(null, this.#memSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      this.#mem = mem;
      this.#bell = mapOrNoDevice(p, fd, PROT_WRITE, NIC_NOTIFY, path);
      const reg = (queue: number, k: number) => mem + p.load32(regs + NIC_REG_Q + 16 * queue + k);
      this.#desc = [reg(NIC_RX, 0), reg(NIC_TX, 0)];
      this.#avail = [reg(NIC_RX, 4), reg(NIC_TX, 4)];
      this.#used = [reg(NIC_RX, 8), reg(NIC_TX, 8)];
      const l = vringLayout(q);
      this.#usedEvent = [this.#avail[NIC_RX] - l.avail + l.usedEvent, this.#avail[NIC_TX] - l.avail + l.usedEvent];
      this.#availEvent = [this.#used[NIC_RX] - l.used + l.availEvent, this.#used[NIC_TX] - l.used + l.availEvent];
      this.#buf = [mem + bufOffset, mem + bufOffset + q * this.bufferSize];
      // Receive: descriptor i is buffer i, device-writable, all posted. Transmit: descriptor i is
      // transmit buffer i, all free.
      for (let i = 0; i < q; i++) {
        this.#setDesc(NIC_RX, i, bufOffset + i * this.bufferSize, this.bufferSize, VRING_DESC_F_WRITE);
        p.store16(this.#avail[NIC_RX] + RING_HEADER + 2 * i, i);
        this.#setDesc(NIC_TX, i, bufOffset + (q + i) * this.bufferSize, 0, 0);
      }
      this.#free = new Int32Array(q);
      for (let i = 0; i < q; i++) this.#free[i] = q - 1 - i;
      this.#freeTop = q;
      this.#availIdx[NIC_RX] = q & 0xffff;
      this.#interrupts(NIC_RX, false);
      this.#interrupts(NIC_TX, false);
      this.#publish(NIC_RX);
      this.#publish(NIC_TX);
      p.store32(regs + NIC_REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
      this.#kick(NIC_RX); // the receive buffers are there
    } catch (e) {
      p.close(fd);
      throw e;
    }
  }

  // ------------------------------------------------------------------ transmit

  /**
   * Queue a packet for transmission (one copy, into a transmit buffer). Returns false when every
   * transmit descriptor is in flight; nothing is queued then.
   */
  trySend(packet: Uint8Array): boolean {
    const p = this.#p;
    if (!isTypedArray(packet, 'Uint8Array')) throw badType('NicPort send packet', 'a Uint8Array', packet);
    if (packet.length === 0 || packet.length > this.bufferSize) throw badRange('NicPort send packet length', `1 to ${this.bufferSize} bytes (one buffer)`, packet.length);
    if (this.#closed) throw new SyscallError('send', 'EBADF', 'the NicPort is closed');
    if (this.#freeTop === 0 && this.#reclaim() === 0) return false;
    const id = this.#free[--this.#freeTop];
    p.write(this.#buf[NIC_TX] + id * this.bufferSize, packet);
    p.store32(this.#desc[NIC_TX] + id * DESC_BYTES + DESC_LEN, packet.length);
    const i = this.#availIdx[NIC_TX];
    p.store16(this.#avail[NIC_TX] + RING_HEADER + 2 * (i & this.#mask), id);
    this.#availIdx[NIC_TX] = (i + 1) & 0xffff;
    this.#publish(NIC_TX);
    this.#kickIfWanted(NIC_TX, i);
    return true;
  }

  /** trySend, waiting (waitSend) while the transmit queue is full. ETIMEDOUT after timeoutMs. */
  send(packet: Uint8Array, timeoutMs?: number): void {
    while (!this.trySend(packet)) this.waitSend(timeoutMs);
  }

  /**
   * Wait until the device has taken every packet queued for transmission (all transmit
   * descriptors back): what to do before close(), whose reset drops what is still queued.
   * ETIMEDOUT after timeoutMs.
   */
  flush(timeoutMs?: number): void {
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      this.#reclaim();
      if (this.#freeTop === this.queueSize) return;
      const left = deadline - performance.now();
      if (left <= 0) throw new SyscallError('flush', 'ETIMEDOUT', `${this.queueSize - this.#freeTop} packets still queued after ${timeoutMs} ms`);
      this.#wait(false, true, left === Infinity ? undefined : left);
    }
  }

  /** Transmit descriptors the device has finished with go back on the free stack. */
  #reclaim(): number {
    const p = this.#p;
    const idx = p.atomicLoad32(this.#used[NIC_TX]) >>> 16;
    let n = 0;
    while (this.#lastUsed[NIC_TX] !== idx) {
      const id = p.load32(this.#used[NIC_TX] + RING_HEADER + USED_ELEM_BYTES * (this.#lastUsed[NIC_TX] & this.#mask));
      if (id >= this.queueSize) throw new SyscallError('send', 'EIO', `the device returned transmit descriptor ${id}, outside the queue`);
      this.#free[this.#freeTop++] = id;
      this.#lastUsed[NIC_TX] = (this.#lastUsed[NIC_TX] + 1) & 0xffff;
      n++;
    }
    return n;
  }

  // ------------------------------------------------------------------ receive

  /**
   * Copy the next received packet into dst and return its length, or -1 if none is there. The
   * buffer goes back to the device at once. A dst shorter than the packet is a RangeError and
   * leaves the packet where it is.
   */
  tryReceive(dst: Uint8Array): number {
    const p = this.#p;
    if (!isTypedArray(dst, 'Uint8Array')) throw badType('NicPort receive dst', 'a Uint8Array', dst);
    if (this.#closed) throw new SyscallError('receive', 'EBADF', 'the NicPort is closed');
    const used = this.#used[NIC_RX];
    const i = this.#lastUsed[NIC_RX];
    if (p.atomicLoad32(used) >>> 16 === i) return -1;
    const e = used + RING_HEADER + USED_ELEM_BYTES * (i & this.#mask);
    const id = p.load32(e);
    const len = p.load32(e + 4);
    if (id >= this.queueSize || len > this.bufferSize) throw new SyscallError('receive', 'EIO', `the device returned receive descriptor ${id} with ${len} bytes`);
    if (len > dst.length) throw badRange('NicPort receive dst length', `at least the packet's ${len} bytes`, dst.length);
    p.read(this.#buf[NIC_RX] + id * this.bufferSize, len === dst.length ? dst : dst.subarray(0, len));
    this.#lastUsed[NIC_RX] = (i + 1) & 0xffff;
    // The buffer goes back to the device.
    const a = this.#availIdx[NIC_RX];
    p.store16(this.#avail[NIC_RX] + RING_HEADER + 2 * (a & this.#mask), id);
    this.#availIdx[NIC_RX] = (a + 1) & 0xffff;
    this.#publish(NIC_RX);
    this.#kickIfWanted(NIC_RX, a);
    return len;
  }

  /** The next packet, in a new array of its length, waiting for one (ETIMEDOUT after timeoutMs). */
  receive(timeoutMs?: number): Uint8Array {
    const buf = new Uint8Array(this.bufferSize);
    for (;;) {
      const n = this.tryReceive(buf);
      if (n >= 0) return buf.slice(0, n);
      this.waitReceive(timeoutMs);
    }
  }

  // ------------------------------------------------------------------ waiting

  /** Block until a packet has arrived (ETIMEDOUT after timeoutMs). */
  waitReceive(timeoutMs?: number): void {
    this.#wait(true, false, timeoutMs);
  }

  /** Block until a transmit descriptor is free (ETIMEDOUT after timeoutMs). */
  waitSend(timeoutMs?: number): void {
    if (this.#freeTop > 0 || this.#reclaim() > 0) return;
    this.#wait(false, true, timeoutMs);
  }

  /** Block until either: a packet arrived or a transmit descriptor came back. */
  wait(timeoutMs?: number): void {
    this.#reclaim();
    this.#wait(true, true, timeoutMs);
  }

  #ready(rx: boolean, tx: boolean): boolean {
    const p = this.#p;
    return (rx && p.atomicLoad32(this.#used[NIC_RX]) >>> 16 !== this.#lastUsed[NIC_RX]) || (tx && p.atomicLoad32(this.#used[NIC_TX]) >>> 16 !== this.#lastUsed[NIC_TX]);
  }

  #wait(rx: boolean, tx: boolean, timeoutMs: number | undefined): void {
    if (this.#closed) throw new SyscallError('wait', 'EBADF', 'the NicPort is closed');
    for (let i = 0; i <= this.#spin; i++) if (this.#ready(rx, tx)) return;
    // Interrupts on, then look once more: a buffer used before the device saw them on is seen now.
    if (rx) this.#interrupts(NIC_RX, true);
    if (tx) this.#interrupts(NIC_TX, true);
    try {
      if (!this.#ready(rx, tx)) this.#p.waitInterrupt(this.fd, timeoutMs);
    } finally {
      if (rx) this.#interrupts(NIC_RX, false);
      if (tx) this.#interrupts(NIC_TX, false);
    }
  }

  // ------------------------------------------------------------------ setup and the ring words

  /** Reset the device (it lets go of every buffer, sent or not: see flush), unmap, close the descriptor. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const p = this.#p;
    p.store32(this.#regs + NIC_REG_STATUS, 0);
    p.munmap(this.#mem, this.#memSize);
    p.munmap(this.#regs, PAGE_SIZE);
    p.munmap(this.#bell, PAGE_SIZE);
    p.close(this.fd);
  }

  #setDesc(q: number, i: number, addr: number, len: number, flags: number): void {
    const p = this.#p;
    const d = this.#desc[q] + i * DESC_BYTES;
    p.store32(d + DESC_ADDR, addr);
    p.store32(d + DESC_ADDR + 4, 0);
    p.store32(d + DESC_LEN, len);
    p.store16(d + DESC_FLAGS, flags);
  }

  /** Publish q's available index (and flags): everything written before is visible to the device. */
  #publish(q: number): void {
    this.#p.atomicStore32(this.#avail[q], ringWord(this.#availFlags[q], this.#availIdx[q]));
  }

  /**
   * Ask for interrupts on q (on) or not. Event index: used_event = the next used entry this side
   * reads, or one behind it (the device crosses that only after 65535 more entries). Flags:
   * VRING_AVAIL_F_NO_INTERRUPT. Either is published with a sequentially consistent store, before
   * the caller looks at the used ring again.
   */
  #interrupts(q: number, on: boolean): void {
    if (this.eventIdx) {
      this.#p.atomicStore32(this.#usedEvent[q], (on ? this.#lastUsed[q] : this.#lastUsed[q] - 1) & 0xffff);
      return;
    }
    this.#availFlags[q] = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
    this.#publish(q);
  }

  /**
   * After publishing entry `old` of q (the load comes after the publish: see host.ts): kick
   * unless the device said it polls — avail_event not crossed, or VRING_USED_F_NO_NOTIFY.
   */
  #kickIfWanted(q: number, old: number): void {
    const want = this.eventIdx
      ? needEvent(this.#p.atomicLoad32(this.#availEvent[q]) & 0xffff, this.#availIdx[q], old)
      : (this.#p.atomicLoad32(this.#used[q]) & VRING_USED_F_NO_NOTIFY) === 0;
    if (want) this.#kick(q);
  }

  #kick(q: number): void {
    this.#p.store32(this.#bell + 4 * q, q);
  }
}

function mapOrNoDevice(p: Process, fd: number, prot: number, off: number, path: string): number {
  try {
    return p.mmap(null, PAGE_SIZE, prot, MAP_SHARED, fd, off);
  } catch (e) {
    if (e instanceof SyscallError && e.code === 'EINVAL') throw new SyscallError('open', 'ENODEV', `${path} is not a virtio network device (no register page at offset 0x${off.toString(16)})`);
    throw e;
  }
}

/** Open a NIC (default /dev/nic0): reset it, set up its queues, and return the port to send and receive on. */
export function openNic(p: Process, path = '/dev/nic0', options: NicPortOptions = {}): NicPort {
  if (p === null || typeof p !== 'object' || typeof p.mmap !== 'function') throw badType('openNic process', 'the Process main() received', p);
  return new NicPort(p, path, options);
}
