/**
 * The program's side of the mailbox: claim a channel (cas32 of this pid into the owner table),
 * map it, and make calls — write the request into the channel, publish its sequence number,
 * ring the doorbell (a posted store: the program goes on at once), and wait for the reply's
 * sequence number.
 *
 * Waiting: poll the reply word `spin` times, then say so (MBOX_WAITING), look once more, and
 * block in wait32 on it, which gives the CPU back to the host that is to answer. The host
 * notifies only a client that said it sleeps (host.ts has the other half).
 */
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../constants.js';
import { SyscallError, badRange, badType, errnoName } from '../../errors.js';
import type { Process } from '../../process/types.js';
import { isTypedArray } from '../common.js';
import {
  MBOX_BELL, MBOX_MAGIC, MBOX_REGS, MBOX_REG_CHANNEL0, MBOX_REG_CHANNELS, MBOX_REG_MAGIC, MBOX_REG_MAX_MESSAGE, MBOX_REG_STRIDE,
  MBOX_REP_LEN, MBOX_REP_SEQ, MBOX_REP_STATUS, MBOX_REQUEST, MBOX_REQ_LEN, MBOX_REQ_SEQ, MBOX_WAITING, replyOffset,
} from './driver.js';

export interface MailboxClientOptions {
  /** polls of the reply word before a call blocks (default 0: block at once, leaving the CPU to the host) */
  spin?: number;
}

export class MailboxClient {
  readonly fd: number;
  /** this client's channel */
  readonly channel: number;
  /** the longest request or reply, in bytes */
  readonly maxMessage: number;
  readonly #p: Process;
  readonly #spin: number;
  readonly #owners: number;
  readonly #chan: number;
  readonly #stride: number;
  readonly #bell: number;
  readonly #reply: number;
  #seq: number;
  #closed = false;

  /** @internal use openMailbox */
  constructor(p: Process, path: string, options: MailboxClientOptions) {
    if (options === null || typeof options !== 'object') throw badType('openMailbox options', 'an object { spin }', options);
    const spin = options.spin ?? 0;
    if (typeof spin !== 'number' || !Number.isInteger(spin) || spin < 0) throw badRange('openMailbox options.spin', 'an integer >= 0', spin);
    this.#p = p;
    this.#spin = spin;
    const fd = p.open(path, O_RDWR);
    this.fd = fd;
    try {
      let regs: number;
      try {
        regs = p.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, MBOX_REGS);
      } catch (e) {
        if (e instanceof SyscallError && e.code === 'EINVAL') throw new SyscallError('open', 'ENODEV', `${path} is not a devpager mailbox (no register page at offset 0x${MBOX_REGS.toString(16)})`);
        throw e;
      }
      if (p.load32(regs + MBOX_REG_MAGIC) !== MBOX_MAGIC) throw new SyscallError('open', 'ENODEV', `${path} is not a devpager mailbox`);
      const channels = p.load32(regs + MBOX_REG_CHANNELS);
      this.maxMessage = p.load32(regs + MBOX_REG_MAX_MESSAGE);
      this.#stride = p.load32(regs + MBOX_REG_STRIDE);
      const channel0 = p.load32(regs + MBOX_REG_CHANNEL0);
      p.munmap(regs, PAGE_SIZE);
      this.#owners = p.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      let ch = -1;
      for (let i = 0; i < channels && ch < 0; i++) if (p.cas32(this.#owners + 4 * i, 0, p.pid) === 0) ch = i;
      if (ch < 0) throw new SyscallError('open', 'EBUSY', `all ${channels} channels of ${path} have a client`);
      this.channel = ch;
      this.#chan = p.mmap(null, this.#stride, PROT_READ | PROT_WRITE, MAP_SHARED, fd, channel0 + ch * this.#stride);
      this.#bell = p.mmap(null, PAGE_SIZE, PROT_WRITE, MAP_SHARED, fd, MBOX_BELL);
      this.#reply = this.#chan + replyOffset(this.maxMessage);
      // A channel outlives its clients: numbering continues from the last request posted.
      this.#seq = p.atomicLoad32(this.#chan + MBOX_REQ_SEQ);
    } catch (e) {
      p.close(fd);
      throw e;
    }
  }

  /** Send a request and wait for the reply, which comes back in a new array. ETIMEDOUT after timeoutMs. */
  call(request: Uint8Array, timeoutMs?: number): Uint8Array {
    const len = this.#call(request, timeoutMs);
    const out = new Uint8Array(len);
    this.#p.read(this.#reply, out);
    return out;
  }

  /**
   * Send a request and copy the reply into `reply`; returns its length. A `reply` shorter than
   * the reply is a RangeError (the reply is lost then).
   */
  callInto(request: Uint8Array, reply: Uint8Array, timeoutMs?: number): number {
    if (!isTypedArray(reply, 'Uint8Array')) throw badType('MailboxClient callInto reply', 'a Uint8Array', reply);
    const len = this.#call(request, timeoutMs);
    if (len > reply.length) throw badRange('MailboxClient callInto reply length', `at least the reply's ${len} bytes`, reply.length);
    this.#p.read(this.#reply, len === reply.length ? reply : reply.subarray(0, len));
    return len;
  }

  /** Post, ring, wait; the reply's length (its status checked). */
  #call(request: Uint8Array, timeoutMs: number | undefined): number {
    const p = this.#p;
    if (!isTypedArray(request, 'Uint8Array')) throw badType('MailboxClient call request', 'a Uint8Array', request);
    if (request.length > this.maxMessage) throw badRange('MailboxClient call request length', `at most ${this.maxMessage} bytes`, request.length);
    if (this.#closed) throw new SyscallError('call', 'EBADF', 'the MailboxClient is closed');
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    const chan = this.#chan;
    // A call that timed out earlier may still be answered: the request area is the host's until then.
    if (p.atomicLoad32(chan + MBOX_REP_SEQ) !== this.#seq) this.#await(this.#seq, deadline, timeoutMs);
    p.write(chan + MBOX_REQUEST, request);
    p.store32(chan + MBOX_REQ_LEN, request.length);
    const seq = (this.#seq + 1) >>> 0;
    this.#seq = seq;
    p.atomicStore32(chan + MBOX_REQ_SEQ, seq);
    p.store32(this.#bell, this.channel);
    this.#await(seq, deadline, timeoutMs);
    const len = p.load32(chan + MBOX_REP_LEN);
    const status = p.load32(chan + MBOX_REP_STATUS);
    if (status !== 0) {
      const why = new Uint8Array(Math.min(len, this.maxMessage));
      p.read(this.#reply, why);
      throw new SyscallError('call', errnoName(status), `mailbox request failed: ${new TextDecoder().decode(why)}`);
    }
    return len;
  }

  #await(seq: number, deadline: number, timeoutMs: number | undefined): void {
    const p = this.#p;
    const at = this.#chan + MBOX_REP_SEQ;
    for (let i = 0; i < this.#spin; i++) if (p.atomicLoad32(at) === seq) return;
    p.atomicStore32(this.#chan + MBOX_WAITING, 1);
    try {
      for (;;) {
        const now = p.atomicLoad32(at);
        if (now === seq) return;
        const left = deadline - performance.now();
        if (left <= 0) throw new SyscallError('call', 'ETIMEDOUT', `no reply within ${timeoutMs} ms`);
        p.wait32(at, now, left === Infinity ? undefined : left);
      }
    } finally {
      p.atomicStore32(this.#chan + MBOX_WAITING, 0);
    }
  }

  /** Give the channel back (after the last call was answered), unmap, close the descriptor. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const p = this.#p;
    p.cas32(this.#owners + 4 * this.channel, p.pid, 0);
    p.munmap(this.#chan, this.#stride);
    p.munmap(this.#bell, PAGE_SIZE);
    p.munmap(this.#owners, PAGE_SIZE);
    p.close(this.fd);
  }
}

/** Open a mailbox (default /dev/mbox0) and claim a channel of it; EBUSY when every channel has a client. */
export function openMailbox(p: Process, path = '/dev/mbox0', options: MailboxClientOptions = {}): MailboxClient {
  if (p === null || typeof p !== 'object' || typeof p.mmap !== 'function') throw badType('openMailbox process', 'the Process main() received', p);
  return new MailboxClient(p, path, options);
}
