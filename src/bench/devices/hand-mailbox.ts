/**
 * The mailbox written by hand, for the device bench to compare devpager with: worker_threads and
 * one SharedArrayBuffer. Each client worker has its own channel (the same layout as
 * devpager/devices/mailbox: its line, the host's line, request, reply); it posts a request,
 * sets its bit in a pending bitmap (Atomics.or) and wakes the host only if the host said it
 * sleeps (cleared by the waker, so one wake-up per sleep); then waits for the reply with
 * Atomics.wait after saying it sleeps. The host takes the whole bitmap at once
 * (Atomics.exchange), answers each channel named in it, and, like devpager's doorbell pump,
 * yields to its event loop between rounds (setImmediate) and sleeps in Atomics.waitAsync when
 * nothing is pending.
 */
import { Worker } from 'node:worker_threads';
import { wake } from './hand-nic.js';
import { answer } from './mailbox-work.js';

export { wake };

export const HDR_PENDING = 0; // Int32 index: the pending bitmap (one word: up to 32 channels)
export const HDR_HOST_SLEEPING = 16;
export const HDR_KICK = 32;
export const CHANNEL0 = 4096;
export const STRIDE = 4096;
/** channel layout: the same offsets as devpager/devices/mailbox */
export const REQ_SEQ = 0;
export const REQ_LEN = 4;
export const WAITING = 8;
export const REP_SEQ = 64;
export const REP_LEN = 68;
export const REQUEST = 128;
export const MAX_MESSAGE = 1984;
export const REPLY = REQUEST + MAX_MESSAGE;

export class HandMailboxHost {
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #replies: Uint8Array[] = [];
  #closed = false;
  #scheduled = false;
  readonly #turn = (): void => {
    this.#scheduled = false;
    this.#service();
  };

  constructor(readonly mem: SharedArrayBuffer, readonly channels: number) {
    if (channels > 32) throw new RangeError('the hand-written mailbox has one pending word: at most 32 channels');
    this.#i32 = new Int32Array(mem);
    this.#u8 = new Uint8Array(mem);
    for (let ch = 0; ch < channels; ch++) this.#replies.push(this.#u8.subarray(CHANNEL0 + ch * STRIDE + REPLY, CHANNEL0 + ch * STRIDE + REPLY + MAX_MESSAGE));
    this.#service();
  }

  static memory(channels: number): SharedArrayBuffer {
    return new SharedArrayBuffer(CHANNEL0 + channels * STRIDE);
  }

  close(): void {
    this.#closed = true;
    Atomics.add(this.#i32, HDR_KICK, 1);
    Atomics.notify(this.#i32, HDR_KICK);
  }

  #serve(ch: number): void {
    const i32 = this.#i32;
    const base = CHANNEL0 + ch * STRIDE;
    const seq = Atomics.load(i32, (base + REQ_SEQ) >> 2);
    const len = i32[(base + REQ_LEN) >> 2];
    const n = answer(this.#u8.subarray(base + REQUEST, base + REQUEST + len), this.#replies[ch]);
    i32[(base + REP_LEN) >> 2] = n;
    Atomics.store(i32, (base + REP_SEQ) >> 2, seq);
    if (Atomics.load(i32, (base + WAITING) >> 2) !== 0) Atomics.notify(i32, (base + REP_SEQ) >> 2);
  }

  #service(): void {
    const i32 = this.#i32;
    while (!this.#closed) {
      let bits = Atomics.exchange(i32, HDR_PENDING, 0);
      if (bits !== 0) {
        while (bits !== 0) {
          const ch = 31 - Math.clz32(bits & -bits);
          bits &= bits - 1;
          this.#serve(ch);
        }
        if (!this.#scheduled) {
          this.#scheduled = true;
          setImmediate(this.#turn);
        }
        return;
      }
      const v = Atomics.load(i32, HDR_KICK);
      Atomics.store(i32, HDR_HOST_SLEEPING, 1);
      if (Atomics.load(i32, HDR_PENDING) !== 0) {
        Atomics.store(i32, HDR_HOST_SLEEPING, 0);
        continue;
      }
      const w = Atomics.waitAsync(i32, HDR_KICK, v);
      if (!w.async) continue;
      void w.value.then(() => this.#service());
      return;
    }
  }
}

export function startHandMailboxClient(mem: SharedArrayBuffer, ctl: SharedArrayBuffer, channel: number, calls: number, size: number, spin: number): Worker {
  return new Worker(new URL('./hand-mailbox-worker.js', import.meta.url), { workerData: { mem, ctl, channel, calls, size, spin }, name: `devbench-hand-mailbox-${channel}` });
}
