/**
 * The virtio 1.x split virtqueue (virtio spec 1.1, section 2.6), as the NIC lays it out in device
 * memory, byte for byte, little endian:
 *
 *   descriptor table   Q x { le64 addr; le32 len; le16 flags; le16 next }      at desc
 *   available ring     le16 flags; le16 idx; le16 ring[Q]; le16 used_event     at avail = desc + 16 Q
 *   used ring          le16 flags; le16 idx; { le32 id; le32 len } ring[Q]; le16 avail_event
 *                                                                              at used, 4096-aligned
 *
 * (the legacy vring_init layout with QUEUE_ALIGN 4096). The driver (the program) writes the
 * descriptors and the available ring; the device (the host) writes the used ring. A descriptor's
 * addr is a device offset (the device's own "bus address"): the host reads the buffer at
 * base + addr, the program at its mapping + addr.
 *
 * flags and idx of a ring share one aligned 32-bit word with a single writer, so each side
 * publishes both with one atomicStore32 (flags | idx << 16) and reads both with one
 * atomicLoad32: that is the release/acquire point of the ring (docs/devices.md, "Memory
 * ordering"). Indices run free modulo 2^16; Q is a power of two, so slot = idx & (Q - 1).
 * used_event and avail_event (VIRTIO_F_EVENT_IDX) each sit in the low half of an aligned 32-bit
 * word whose high half is padding, so they too are read and written with 32-bit atomics.
 *
 * Notification suppression, both kinds virtio has:
 *   - flags: the driver sets VRING_AVAIL_F_NO_INTERRUPT while it polls, the device sets
 *     VRING_USED_F_NO_NOTIFY while it works; the other side notifies after each publish
 *     unless the flag is set;
 *   - event indices (VIRTIO_F_EVENT_IDX, negotiated): each side writes the index at which it
 *     wants the next notification (used_event: "interrupt me when you use entry N"; avail_event:
 *     "kick me when you make entry N available"), and the other side notifies only when a
 *     publish crosses it (needEvent). Left alone while a side is busy, the index falls behind
 *     and no publish crosses it, so a busy side gets no notifications at all — and unlike the
 *     flags, a side woken once is not notified again for each further entry until it re-arms.
 * Either way a side re-arms, then looks at the ring again before it sleeps (store, then load,
 * on sequentially consistent words): of the two stores and two loads, one side sees the other's
 * store, so no wake-up is lost.
 */
import { PAGE_SIZE } from '../../constants.js';
import { alignUp } from '../common.js';

export const VRING_DESC_F_NEXT = 1;
/** the device writes this buffer (an RX buffer) */
export const VRING_DESC_F_WRITE = 2;
/** driver -> device: do not interrupt me when you use buffers (I am polling) */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;
/** device -> driver: do not notify (kick) me when you add buffers (I am polling) */
export const VRING_USED_F_NO_NOTIFY = 1;

export const DESC_BYTES = 16;
/** descriptor fields, byte offsets within a descriptor */
export const DESC_ADDR = 0;
export const DESC_LEN = 8;
export const DESC_FLAGS = 12;
export const DESC_NEXT = 14;
/** the ring entries start after flags and idx */
export const RING_HEADER = 4;
export const USED_ELEM_BYTES = 8;

export const MAX_QUEUE_SIZE = 32768;

/** feature bit: used_event / avail_event instead of the flags (virtio 1.1, 2.6.7 and 2.6.8) */
export const VIRTIO_RING_F_EVENT_IDX = 29;

/**
 * vring_need_event: does moving an index from `old` to `next` cross `event` (the side that
 * published must notify)? All modulo 2^16.
 */
export function needEvent(event: number, next: number, old: number): boolean {
  return ((next - event - 1) & 0xffff) < ((next - old) & 0xffff);
}

/** Byte offsets of one virtqueue's parts, relative to its start, and its page-rounded size. */
export interface VringLayout {
  size: number;
  desc: number;
  avail: number;
  used: number;
  /** avail.used_event and used.avail_event */
  usedEvent: number;
  availEvent: number;
  bytes: number;
}

export function vringLayout(size: number): VringLayout {
  const desc = 0;
  const avail = desc + DESC_BYTES * size;
  const used = alignUp(avail + RING_HEADER + 2 * size + 4, PAGE_SIZE);
  const bytes = alignUp(used + RING_HEADER + USED_ELEM_BYTES * size + 4, PAGE_SIZE);
  return { size, desc, avail, used, usedEvent: avail + RING_HEADER + 2 * size, availEvent: used + RING_HEADER + USED_ELEM_BYTES * size, bytes };
}

/** The header word of a ring: flags | idx << 16. */
export function ringWord(flags: number, idx: number): number {
  return ((idx & 0xffff) << 16 | (flags & 0xffff)) >>> 0;
}
