/**
 * The NIC echo written by hand, for the device bench to compare devpager with: what a good
 * engineer writes with worker_threads and one SharedArrayBuffer, no library. Two single-producer
 * single-consumer rings of fixed 2048-byte slots (transmit: worker -> host, receive: host ->
 * worker), head and tail words published with Atomics.store, and wake-ups only for a side that
 * said it sleeps — cleared by the side that wakes it (compareExchange 1 -> 0), so a sleeper gets
 * one wake-up however many packets arrive before it runs. The host echoes in its event loop:
 * while packets move it looks again on the next turn (setImmediate); when none do, it says it
 * sleeps, looks once more, and waits with Atomics.waitAsync. The worker polls `spin` times, then
 * says it sleeps, looks once more, and blocks in Atomics.wait.
 *
 * Layout of the header words (Int32Array, one 64-byte line each): H_* below; the slots' lengths
 * and bytes follow in their own arrays.
 */
import { Worker } from 'node:worker_threads';

export const H_TX_HEAD = 0; // host: next transmit slot to take
export const H_TX_TAIL = 16; // worker: next transmit slot to fill
export const H_RX_HEAD = 32; // worker: next receive slot to read
export const H_RX_TAIL = 48; // host: next receive slot to fill
export const H_HOST_SLEEPING = 64;
export const H_WORKER_SLEEPING = 80;
export const H_KICK = 96; // the host waits on it
export const H_WAKE = 112; // the worker waits on it
export const H_WORDS = 128;
export const SLOT = 2048;

export interface HandNicShared {
  ctl: SharedArrayBuffer;
  hdr: SharedArrayBuffer;
  lens: SharedArrayBuffer;
  data: SharedArrayBuffer;
  queueSize: number;
}

/** Wake a side that said it sleeps, once: whoever clears its flag notifies. */
export function wake(h: Int32Array, flag: number, word: number): void {
  if (Atomics.load(h, flag) === 1 && Atomics.compareExchange(h, flag, 1, 0) === 1) {
    Atomics.add(h, word, 1);
    Atomics.notify(h, word);
  }
}

export function makeShared(queueSize: number): HandNicShared {
  return {
    ctl: new SharedArrayBuffer(4096),
    hdr: new SharedArrayBuffer(H_WORDS * 4),
    lens: new SharedArrayBuffer(2 * queueSize * 4),
    data: new SharedArrayBuffer(2 * queueSize * SLOT),
    queueSize,
  };
}

/** The host's end: echo every transmitted packet into the receive ring. */
export class HandEchoHost {
  readonly #h: Int32Array;
  readonly #lens: Int32Array;
  readonly #data: Uint8Array;
  readonly #q: number;
  #txHead = 0;
  #rxTail = 0;
  #closed = false;
  #scheduled = false;
  readonly #turn = (): void => {
    this.#scheduled = false;
    this.#service();
  };

  constructor(s: HandNicShared) {
    this.#h = new Int32Array(s.hdr);
    this.#lens = new Int32Array(s.lens);
    this.#data = new Uint8Array(s.data);
    this.#q = s.queueSize;
    this.#service();
  }

  close(): void {
    this.#closed = true;
    Atomics.add(this.#h, H_KICK, 1);
    Atomics.notify(this.#h, H_KICK);
  }

  #move(): number {
    const h = this.#h;
    const q = this.#q;
    const mask = q - 1;
    const tail = Atomics.load(h, H_TX_TAIL);
    let moved = 0;
    while (this.#txHead !== tail) {
      if (this.#rxTail - Atomics.load(h, H_RX_HEAD) >= q) break; // receive ring full
      const from = this.#txHead & mask;
      const to = this.#rxTail & mask;
      const len = this.#lens[from];
      this.#data.copyWithin((q + to) * SLOT, from * SLOT, from * SLOT + len);
      this.#lens[q + to] = len;
      Atomics.store(h, H_RX_TAIL, ++this.#rxTail);
      Atomics.store(h, H_TX_HEAD, ++this.#txHead);
      wake(h, H_WORKER_SLEEPING, H_WAKE);
      moved++;
    }
    return moved;
  }

  #service(): void {
    const h = this.#h;
    while (!this.#closed) {
      if (this.#move() > 0) {
        if (!this.#scheduled) {
          this.#scheduled = true;
          setImmediate(this.#turn);
        }
        return;
      }
      const v = Atomics.load(h, H_KICK);
      Atomics.store(h, H_HOST_SLEEPING, 1);
      const pending = this.#txHead !== Atomics.load(h, H_TX_TAIL) && this.#rxTail - Atomics.load(h, H_RX_HEAD) < this.#q;
      if (pending) {
        Atomics.store(h, H_HOST_SLEEPING, 0);
        continue;
      }
      const w = Atomics.waitAsync(h, H_KICK, v);
      if (w.async) void w.value.then(() => this.#service());
      else continue;
      return;
    }
  }
}

/** Start the echo worker: it runs rounds as the RoundControl over s.ctl says. */
export function startHandNicWorker(s: HandNicShared, packets: number, seed: number, spin: number): Worker {
  return new Worker(new URL('./hand-nic-worker.js', import.meta.url), { workerData: { ...s, packets, seed, spin }, name: 'devbench-hand-nic' });
}
