/**
 * The host end of the doorbells (the device kit; QEMU's ioeventfd): every thread posts its stores
 * to doorbell registers into a ring of its own (process/device-io.ts), and this pump drains the
 * rings in the host's event loop and calls each device's onDoorbell handlers with (off, value,
 * pid), in order per thread, none dropped. A thread whose ring is full waits until the pump has
 * taken an entry: back-pressure, not loss.
 *
 * The pump never blocks the event loop: between drains it waits with Atomics.waitAsync on the
 * bell word, after announcing that it sleeps (BELL_SLEEPING); a thread rings the bell only when
 * it sees that announcement, the same Dekker pattern as the pagers' doorbell (pager/protocol.ts).
 */
import { describeThrown } from '../errors.js';
import {
  BELL_RING, BELL_SLEEPING, C, DB_DEV, DB_ENTRY_F64, DB_HEAD, DB_OFF, DB_PID, DB_RING, DB_SIZE, DB_TAIL, DB_VALUE, DB_VALUE_HI, DB_WAITING,
  type Layout,
} from '../layout.js';
import { DoorbellRing } from '../process/device-io.js';
import type { DoorbellHandler } from './devices.js';

export class DoorbellPump {
  private readonly rings: DoorbellRing[] = [];
  private readonly bell: Int32Array;
  private readonly handlers = new Map<number, Set<DoorbellHandler>>();
  private running = false;
  private closed = false;
  private warned = false;

  constructor(sab: SharedArrayBuffer, layout: Layout, userSlots: number, private readonly counters: Float64Array, private readonly pathOf: (dev: number) => string) {
    for (let i = 0; i < userSlots; i++) this.rings.push(new DoorbellRing(sab, layout, i));
    this.bell = new Int32Array(sab, layout.bellOff, 32);
  }

  subscribe(dev: number, fn: DoorbellHandler): () => void {
    let set = this.handlers.get(dev);
    if (!set) this.handlers.set(dev, (set = new Set()));
    set.add(fn);
    return () => void set!.delete(fn);
  }

  /** Start draining (once); returns at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  close(): void {
    this.closed = true;
    Atomics.add(this.bell, BELL_RING, 1);
    Atomics.notify(this.bell, BELL_RING);
  }

  private async loop(): Promise<void> {
    const bell = this.bell;
    while (!this.closed) {
      this.drain();
      const v = Atomics.load(bell, BELL_RING);
      Atomics.store(bell, BELL_SLEEPING, 1);
      let slept = false;
      if (!this.pending() && !this.closed) {
        const w = Atomics.waitAsync(bell, BELL_RING, v, 1000);
        if (w.async) slept = (await w.value) === 'ok';
      }
      Atomics.store(bell, BELL_SLEEPING, 0);
      // Let the event loop run between drains even when the rings never empty; a wake-up from
      // the bell came through the event loop already, so its stores are drained at once.
      if (!slept) await new Promise<void>((r) => setImmediate(r));
    }
  }

  private pending(): boolean {
    for (const r of this.rings) if (Atomics.load(r.ctl, DB_HEAD) !== Atomics.load(r.ctl, DB_TAIL)) return true;
    return false;
  }

  /** Deliver everything queued now, ring by ring. */
  drain(): number {
    let n = 0;
    for (const r of this.rings) {
      let head = Atomics.load(r.ctl, DB_HEAD);
      const tail = Atomics.load(r.ctl, DB_TAIL);
      if (head === tail) continue;
      const e = r.entries;
      while (head !== tail) {
        const b = (head % DB_RING) * DB_ENTRY_F64;
        const dev = e[b + DB_DEV];
        const size = e[b + DB_SIZE];
        const value = size === 8 ? (BigInt(e[b + DB_VALUE_HI] >>> 0) << 32n) | BigInt(e[b + DB_VALUE] >>> 0) : e[b + DB_VALUE];
        this.deliver(dev, e[b + DB_OFF], value, e[b + DB_PID]);
        head++;
        n++;
        // Free the entry before the handler of the next one runs, so a waiting thread goes on.
        Atomics.store(r.ctl, DB_HEAD, head);
        if (Atomics.load(r.ctl, DB_WAITING) !== 0) Atomics.notify(r.ctl, DB_HEAD);
      }
    }
    this.counters[C.doorbells] += n;
    return n;
  }

  private deliver(dev: number, off: number, value: number | bigint, pid: number): void {
    const set = this.handlers.get(dev);
    if (!set) return;
    for (const fn of set) {
      try {
        fn(off, value, pid);
      } catch (e) {
        if (!this.warned) {
          this.warned = true;
          console.warn(`devpager: an onDoorbell handler of ${this.pathOf(dev)} threw: ${describeThrown(e)} (further handler errors are not shown)`);
        }
      }
    }
  }
}
