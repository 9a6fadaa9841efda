/**
 * The host's end of the mailbox: a server that answers every client's requests in the host's
 * event loop, never blocking it.
 *
 * Why doorbells: a client rings the doorbell with its channel number after posting a request,
 * and rt.device(path).onDoorbell runs the handler for exactly that channel, with the pid of the
 * process that rang. So the host learns which channel has work without scanning them, serves
 * the requests of all clients in the order they were rung, is woken (one Atomics.waitAsync,
 * in runtime/doorbells.ts) only when it sleeps, and checks the ringer owns the channel, so one
 * client cannot make the host serve — or answer into — another's. A per-channel
 * Atomics.waitAsync would keep one pending promise per client and cost a wake-up per request
 * even while the host is busy; a shared pending word would be a scan.
 *
 * The request and reply are views of device memory (kernel.view): the handler reads the
 * request where the client wrote it and may write its reply in place. The reply is published
 * with a sequentially consistent store of MBOX_REP_SEQ, and the client is woken (notify) only
 * if it said it sleeps (MBOX_WAITING) — the client sets that flag and then re-reads
 * MBOX_REP_SEQ, the host stores MBOX_REP_SEQ and then reads the flag, so one of the two always
 * sees the other.
 */
import { ERRNO, badType } from '../../errors.js';
import { hostDevice, isTypedArray, type HostRuntime } from '../common.js';
import {
  MBOX_BELL, MBOX_CHANNEL0, MBOX_REP_LEN, MBOX_REP_SEQ, MBOX_REP_STATUS, MBOX_REQUEST, MBOX_REQ_LEN, MBOX_REQ_SEQ, MBOX_WAITING, replyOffset,
  type MailboxState,
} from './driver.js';

/** Where a request came from. */
export interface MailboxCaller {
  pid: number;
  channel: number;
}

/**
 * Answer one request. `request` and `reply` are views of the channel in device memory (valid
 * until the handler returns, or its promise settles). Return the reply's length after writing
 * it into `reply`, or a Uint8Array to be copied there, or nothing for an empty reply; a promise
 * of those for an asynchronous answer (the channel waits, the others go on). A throw or a
 * rejection fails the client's call with EIO and the error's message.
 */
export type MailboxHandler = (request: Uint8Array, reply: Uint8Array, from: MailboxCaller) => number | Uint8Array | void | Promise<number | Uint8Array | void>;

export interface MailboxStats {
  /** requests answered, and those answered with an error */
  requests: number;
  failed: number;
  /** doorbell stores ignored: a channel number out of range, or rung by a process that does not own it */
  rejected: number;
}

export class MailboxServer {
  readonly path: string;
  readonly channels: number;
  readonly maxMessage: number;
  readonly #handler: MailboxHandler;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #stride: number;
  readonly #replyAt: number;
  /** each channel's reply area (a view, made once) */
  readonly #replies: Uint8Array[] = [];
  /** per channel: an asynchronous answer is under way / the bell rang again meanwhile */
  readonly #busy: Uint8Array;
  readonly #again: Uint8Array;
  readonly #unsubscribe: () => void;
  readonly #stats: MailboxStats = { requests: 0, failed: 0, rejected: 0 };
  #closed = false;

  constructor(rt: HostRuntime, path: string, handler: MailboxHandler) {
    const { dev, state } = hostDevice<MailboxState>(rt, path, 'mailbox', 'MailboxServer');
    if (typeof handler !== 'function') throw badType('MailboxServer handler', 'a function (request, reply, { pid, channel }) => reply length | Uint8Array | void', handler);
    this.path = path;
    this.channels = state.channels;
    this.maxMessage = state.maxMessage;
    this.#handler = handler;
    const v = rt.kernel.view(state.kva, state.bytes);
    this.#u8 = v;
    this.#i32 = new Int32Array(v.buffer, v.byteOffset, state.bytes / 4);
    this.#stride = state.stride;
    this.#replyAt = replyOffset(state.maxMessage);
    for (let ch = 0; ch < state.channels; ch++) {
      const at = MBOX_CHANNEL0 + ch * state.stride + this.#replyAt;
      this.#replies.push(v.subarray(at, at + state.maxMessage));
    }
    this.#busy = new Uint8Array(state.channels);
    this.#again = new Uint8Array(state.channels);
    this.#unsubscribe = dev.onDoorbell((off, value, pid) => {
      if (off !== MBOX_BELL || typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= this.channels || this.owner(value) !== pid) {
        this.#stats.rejected++;
        return;
      }
      this.#serve(value, pid);
    });
    // Requests posted before this server existed rang a bell nobody heard.
    for (let ch = 0; ch < this.channels; ch++) {
      const pid = this.owner(ch);
      if (pid !== 0) this.#serve(ch, pid);
    }
  }

  get stats(): MailboxStats {
    return { ...this.#stats };
  }

  /** The pid owning channel ch, 0 when it is free. */
  owner(ch: number): number {
    return Atomics.load(this.#i32, ch);
  }

  /**
   * Free a channel whose client is gone without closing it (a process that exited or was
   * killed keeps its channel: the device is not told about exits).
   */
  release(ch: number): void {
    if (typeof ch !== 'number' || !Number.isInteger(ch) || ch < 0 || ch >= this.channels) throw new RangeError(`MailboxServer release channel must be an integer in [0, ${this.channels - 1}], got ${String(ch)}`);
    Atomics.store(this.#i32, ch, 0);
  }

  /** Stop answering (the doorbell handler goes away; requests posted later wait for the next server). */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
  }

  #word(ch: number, off: number): number {
    return (MBOX_CHANNEL0 + ch * this.#stride + off) >>> 2;
  }

  #serve(ch: number, pid: number): void {
    if (this.#closed) return;
    if (this.#busy[ch]) {
      this.#again[ch] = 1;
      return;
    }
    const i32 = this.#i32;
    const seq = Atomics.load(i32, this.#word(ch, MBOX_REQ_SEQ));
    if (seq === Atomics.load(i32, this.#word(ch, MBOX_REP_SEQ))) return; // answered already
    const base = MBOX_CHANNEL0 + ch * this.#stride;
    const len = i32[this.#word(ch, MBOX_REQ_LEN)] >>> 0;
    const reply = this.#replies[ch];
    if (len > this.maxMessage) {
      this.#fail(ch, seq, ERRNO.EINVAL, `request length ${len} is more than the mailbox's ${this.maxMessage} bytes`);
      return;
    }
    const request = this.#u8.subarray(base + MBOX_REQUEST, base + MBOX_REQUEST + len);
    let r: ReturnType<MailboxHandler>;
    try {
      r = this.#handler(request, reply, { pid, channel: ch });
    } catch (e) {
      this.#fail(ch, seq, ERRNO.EIO, e);
      return;
    }
    if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
      this.#busy[ch] = 1;
      (r as Promise<number | Uint8Array | void>).then(
        (v) => this.#settled(ch, pid, () => this.#answer(ch, seq, v, reply)),
        (e: unknown) => this.#settled(ch, pid, () => this.#fail(ch, seq, ERRNO.EIO, e)),
      );
      return;
    }
    this.#answer(ch, seq, r as number | Uint8Array | void, reply);
  }

  #settled(ch: number, pid: number, publish: () => void): void {
    this.#busy[ch] = 0;
    if (this.#closed) return;
    publish();
    if (this.#again[ch]) {
      this.#again[ch] = 0;
      this.#serve(ch, pid);
    }
  }

  #answer(ch: number, seq: number, r: number | Uint8Array | void, reply: Uint8Array): void {
    let len: number;
    if (r === undefined) len = 0;
    else if (typeof r === 'number') {
      if (!Number.isInteger(r) || r < 0 || r > this.maxMessage) {
        this.#fail(ch, seq, ERRNO.EIO, `the handler returned ${r}, not a reply length in [0, ${this.maxMessage}]`);
        return;
      }
      len = r;
    } else if (isTypedArray(r, 'Uint8Array')) {
      const bytes = r as Uint8Array;
      if (bytes.length > this.maxMessage) {
        this.#fail(ch, seq, ERRNO.EIO, `the handler's reply of ${bytes.length} bytes is more than the mailbox's ${this.maxMessage}`);
        return;
      }
      if (bytes.buffer !== reply.buffer || bytes.byteOffset !== reply.byteOffset) reply.set(bytes);
      len = bytes.length;
    } else {
      this.#fail(ch, seq, ERRNO.EIO, 'the handler returned neither a length, a Uint8Array nor nothing');
      return;
    }
    this.#publish(ch, seq, len, 0);
    this.#stats.requests++;
  }

  #fail(ch: number, seq: number, errno: number, why: unknown): void {
    const base = MBOX_CHANNEL0 + ch * this.#stride + this.#replyAt;
    const text = new TextEncoder().encode(why instanceof Error ? why.message : String(why)).subarray(0, this.maxMessage);
    this.#u8.set(text, base);
    this.#publish(ch, seq, text.length, errno);
    this.#stats.requests++;
    this.#stats.failed++;
  }

  /** Reply length and status, then the sequence number (the release), then wake the client if it sleeps. */
  #publish(ch: number, seq: number, len: number, status: number): void {
    const i32 = this.#i32;
    i32[this.#word(ch, MBOX_REP_LEN)] = len;
    i32[this.#word(ch, MBOX_REP_STATUS)] = status;
    const at = this.#word(ch, MBOX_REP_SEQ);
    Atomics.store(i32, at, seq);
    if (Atomics.load(i32, this.#word(ch, MBOX_WAITING)) !== 0) Atomics.notify(i32, at);
  }
}
