/**
 * The mailbox's driver: `channels` request/reply channels, one per client process, in one
 * physically contiguous allocation; a table of owners; read-only registers with the geometry;
 * and a doorbell a client rings with its channel number when it has posted a request.
 *
 * Device offsets:
 *   [0, PAGE_SIZE)                              owner table: word i = pid of channel i's client, 0 = free
 *   [MBOX_CHANNEL0 + i * stride, + stride)      channel i (MBOX_* below)
 *   [MBOX_REGS, + PAGE_SIZE)                    registers (MMIO), 32-bit, read-only: MBOX_REG_*
 *   [MBOX_BELL, + PAGE_SIZE)                    doorbell: store the channel number at MBOX_BELL
 *
 * A channel: the client's line (MBOX_REQ_SEQ, MBOX_REQ_LEN, MBOX_WAITING), the host's line
 * (MBOX_REP_SEQ, MBOX_REP_LEN, MBOX_REP_STATUS), then the request area and the reply area,
 * maxMessage bytes each. Each line has one writer.
 */
import { PAGE_SIZE, roundPage } from '../../constants.js';
import { defineDriver } from '../../driver.js';
import type { KernelApi } from '../../kernel.js';
import { configInt, configObject, ramMmap, registerRead } from '../common.js';

export const MBOX_CHANNEL0 = PAGE_SIZE;
export const MBOX_REGS = 0x1000_0000;
export const MBOX_BELL = MBOX_REGS + PAGE_SIZE;

export const MBOX_REG_MAGIC = 0x00;
export const MBOX_REG_CHANNELS = 0x04;
export const MBOX_REG_MAX_MESSAGE = 0x08;
/** bytes from one channel to the next */
export const MBOX_REG_STRIDE = 0x0c;
/** device offset of channel 0 */
export const MBOX_REG_CHANNEL0 = 0x10;
/** bytes of RAM to map for the owner table and all channels */
export const MBOX_REG_SIZE = 0x14;
/** 'MBDP' little endian */
export const MBOX_MAGIC = 0x5044424d;

/** channel layout (byte offsets in a channel): the client's line */
export const MBOX_REQ_SEQ = 0;
export const MBOX_REQ_LEN = 4;
/** 1 while the client sleeps in wait32 on MBOX_REP_SEQ: the host notifies only then */
export const MBOX_WAITING = 8;
/** the host's line */
export const MBOX_REP_SEQ = 64;
export const MBOX_REP_LEN = 68;
/** 0, or the errno of a failed request (its reply holds the message) */
export const MBOX_REP_STATUS = 72;
export const MBOX_REQUEST = 128;

export const MAX_CHANNELS = PAGE_SIZE / 4;
export const MAX_MESSAGE = 1 << 20;

export interface MailboxConfig {
  /** clients at once (default 16, at most 1024) */
  channels?: number;
  /** bytes of a request or reply (default 1984: a channel is one page) */
  maxMessage?: number;
}

export interface MailboxState {
  readonly kind: 'mailbox';
  readonly channels: number;
  readonly maxMessage: number;
  readonly stride: number;
  /** kva of RAM (contiguous): the owner table, then the channels */
  readonly kva: number;
  readonly bytes: number;
}

/** Byte offset, within a channel, of its reply area. */
export function replyOffset(maxMessage: number): number {
  return MBOX_REQUEST + maxMessage;
}

function registers(s: MailboxState, index: number): number {
  switch (index * 4) {
    case MBOX_REG_MAGIC: return MBOX_MAGIC;
    case MBOX_REG_CHANNELS: return s.channels;
    case MBOX_REG_MAX_MESSAGE: return s.maxMessage;
    case MBOX_REG_STRIDE: return s.stride;
    case MBOX_REG_CHANNEL0: return MBOX_CHANNEL0;
    case MBOX_REG_SIZE: return s.bytes;
    default: return 0;
  }
}

export default defineDriver<MailboxState, MailboxConfig | undefined>({
  name: 'mailbox',
  attach(kernel: KernelApi, _unit: number, config: MailboxConfig | undefined): MailboxState {
    const c = configObject(config, 'mailbox config', ['channels', 'maxMessage']);
    const channels = configInt(c, 'mailbox config', 'channels', 16, 1, MAX_CHANNELS);
    const maxMessage = configInt(c, 'mailbox config', 'maxMessage', 1984, 1, MAX_MESSAGE);
    const stride = roundPage(replyOffset(maxMessage) + maxMessage);
    const bytes = MBOX_CHANNEL0 + channels * stride;
    if (bytes > MBOX_REGS) throw new RangeError(`mailbox config: ${channels} channels of ${stride} bytes take more than the ${MBOX_REGS} bytes of RAM a mailbox may have`);
    return { kind: 'mailbox', channels, maxMessage, stride, kva: kernel.kmAlloc(bytes, { zero: true, contiguous: true }), bytes };
  },
  mmap: (dev, off, _prot, kernel) => ramMmap(dev.state, off, kernel),
  mmio: [
    { offset: MBOX_REGS, size: PAGE_SIZE, read: (dev, off, size) => registerRead((i) => registers(dev.state, i), off - MBOX_REGS, size) },
    { offset: MBOX_BELL, size: PAGE_SIZE, doorbell: true },
  ],
});
