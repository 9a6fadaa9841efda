/**
 * The pager threads, from the host: starting them, the host's own requests to them (reap, revoke),
 * and keeping them alive — a supervisor in the Erlang/OTP sense:
 *
 *   - a pager that dies, whatever the cause (a driver calling process.exit, an out-of-memory
 *     error, a bug of ours), is replaced by a new thread of the same index, which takes over its
 *     address spaces from the arena: requests still queued in its pending bitmap are simply
 *     served by the replacement, none lost and none served twice;
 *   - the watchdog (like Linux's soft-lockup detector) samples each pager's P_CALL_SEQ word: a
 *     pager that stays in one driver call longer than driverTimeoutMs is terminated and replaced
 *     the same way;
 *   - in both cases the one request the pager was serving is answered here instead, with an error
 *     that makes its thread raise SIGSEGV naming the pager, the device and the offset
 *     (AUX_DRIVER_KILLED), and the event is counted and reported.
 */
import { Worker } from 'node:worker_threads';
import { describeThrown } from '../errors.js';
import {
  C, COUNTERS, HOST_THREAD, P_CALL_DEV, P_INJECT, P_CALL_KIND, P_CALL_OFF_F64, P_CALL_SEQ, P_CALL_SLOT, P_SERVING, PARK_GRANTED, RUN_ACTIVE, S_PAGER, S_STATUS,
  SLOT_PARKED, STATUS_LIVE, type Layout,
} from '../layout.js';
import { CALL_DMMAP, CALL_MMIO_READ } from '../pager/objects.js';
import {
  AUX_DRIVER_KILLED, OP_NAMES, PagerViews, R_ARG, R_OP, R_POST_TS, R_SEQ, RES_AUX, RES_DEV, RES_ERR, RES_MS, RES_PTE, RES_VAL, RES_WHY, SlotViews,
  WHY_DIED, WHY_TIMEOUT, post, ringShutdown,
} from '../pager/protocol.js';
import type { PagerMessage, PagerWorkerData } from '../workers/pager-worker.js';
import type { PinPlan } from '../affinity.js';
import type { AttachedDevice } from './devices.js';
import { workerExecArgv } from './worker-args.js';

const PAGER_URL = new URL('../workers/pager-worker.js', import.meta.url);
const EIO = 5;
/** how long a pager thread may take to start before its first driver module loads */
const START_MS = 10_000;
/** restarts of one pager in a row that fail before its processes are given up */
const MAX_FAILED_RESTARTS = 3;

export interface PagerSetOptions {
  sab: SharedArrayBuffer;
  layout: Layout;
  tlbs: SharedArrayBuffer[];
  devices: AttachedDevice[];
  pinning: PinPlan | null;
  strictPin: boolean;
  driverTimeoutMs: number;
  /** the pid running in a slot, for messages */
  pidOf(slot: number): number | null;
  /** pager p cannot be restarted: its processes are lost */
  lost(p: number, why: string): void;
}

interface Watch {
  seq: number;
  since: number;
}

export class PagerSet {
  readonly views: PagerViews[] = [];
  private readonly workers: (Worker | null)[] = [];
  private readonly slots: SlotViews[] = [];
  private readonly hostQueue: Promise<unknown>[] = [];
  private readonly watch: Watch[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private readonly counters: Float64Array;
  readonly userSlots: number;

  constructor(private readonly o: PagerSetOptions) {
    const l = o.layout;
    this.userSlots = l.maxProcs - l.pagers;
    for (let i = 0; i < l.maxProcs; i++) this.slots.push(new SlotViews(o.sab, l, i));
    for (let p = 0; p < l.pagers; p++) {
      this.views.push(new PagerViews(o.sab, l, p));
      this.workers.push(null);
      this.hostQueue.push(Promise.resolve());
      this.watch.push({ seq: 0, since: 0 });
    }
    this.counters = new Float64Array(o.sab, l.countersOff + HOST_THREAD * COUNTERS * 8, COUNTERS);
  }

  /** Start every pager; rejects (after stopping them) if one fails to start or a driver module overruns. */
  async start(): Promise<void> {
    await Promise.all(this.views.map((_, p) => this.spawn(p, false)));
    const every = Math.max(5, Math.min(250, Math.floor(this.o.driverTimeoutMs / 4)));
    this.timer = setInterval(() => this.sample(), every);
    this.timer.unref();
  }

  private spawn(p: number, restart: boolean): Promise<void> {
    const o = this.o;
    const data: PagerWorkerData = {
      sab: o.sab,
      tlbs: o.tlbs,
      index: p,
      restart,
      pin: o.pinning ? { cpus: o.pinning.pagers[p], strict: o.strictPin } : null,
      devices: o.devices.map((d) => ({ path: d.path, name: d.name, unit: d.unit, driverUrl: d.driverUrl, state: d.state })),
    };
    const w = new Worker(PAGER_URL, { workerData: data, name: `devpager-pager-${p}`, execArgv: workerExecArgv() });
    this.workers[p] = w;
    let loading = '';
    const ready = new Promise<void>((resolve, reject) => {
      // A thread start gets a generous allowance; each driver module then gets driverTimeoutMs.
      const overrun = () => {
        reject(new Error(loading ? `${loading}: the driver module did not finish loading in pager ${p} within driverTimeoutMs (${o.driverTimeoutMs} ms)` : `pager ${p} did not start within ${START_MS} ms`));
        void w.terminate();
      };
      let timer = setTimeout(overrun, START_MS);
      w.on('message', (m: PagerMessage) => {
        if ('loading' in m) {
          loading = m.loading;
          clearTimeout(timer);
          timer = setTimeout(overrun, o.driverTimeoutMs);
        } else if ('ready' in m) {
          clearTimeout(timer);
          resolve();
        }
      });
      w.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      w.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`pager ${p} exited during start (code ${code})`));
      });
    });
    w.on('error', (e) => this.died(p, w, `it threw ${describeThrown(e)}`));
    w.on('exit', (code) => this.died(p, w, `it exited (code ${code})`));
    return ready;
  }

  /** The pager thread `w` of index p is gone (or was terminated by the watchdog). */
  private died(p: number, w: Worker, why: string, how = WHY_DIED): void {
    if (this.closing || this.workers[p] !== w) return;
    this.workers[p] = null;
    // Dying inside driver code (a driver calling process.exit, say) is a driver bug too.
    if (how === WHY_DIED && this.inDriver(p)) this.counters[C.driverBugs]++;
    const serving = this.inDriver(p) ? this.views[p].watch[P_CALL_SLOT] : Atomics.load(this.views[p].watch, P_SERVING);
    const call = serving >= 0 && serving < this.slots.length ? this.describeCall(p, serving) : '';
    const victim = this.answerVictim(p, how);
    const pid = victim >= 0 ? this.o.pidOf(victim) : null;
    this.counters[C.pagerRestarts]++;
    console.warn(`devpager: pager ${p} ${how === WHY_TIMEOUT ? 'was stopped' : 'died'}: ${why}${call ? `; ${call}` : ''}${victim >= 0 ? `, so ${pid !== null ? `pid ${pid}` : `slot ${victim}`} gets SIGSEGV` : ''}; a new pager ${p} takes over`);
    this.restart(p, 1);
  }

  private restart(p: number, attempt: number): void {
    this.spawn(p, true).catch((e) => {
      if (this.closing) return;
      if (attempt < MAX_FAILED_RESTARTS) this.restart(p, attempt + 1);
      else this.o.lost(p, `pager ${p} could not be restarted: ${describeThrown(e)}`);
    });
  }

  /** "it was in /dev/foo0 d_mmap at device offset 0x3000" or "it was serving slot 3's munmap" */
  private describeCall(p: number, slot: number): string {
    const w = this.views[p].watch;
    const inCall = (Atomics.load(w, P_CALL_SEQ) & 1) === 1;
    if (!inCall) return `it was serving slot ${slot}'s ${OP_NAMES[this.slots[slot].req[R_OP]] ?? 'request'}`;
    const dev = this.o.devices[w[P_CALL_DEV]]?.path ?? `device ${w[P_CALL_DEV]}`;
    const kind = w[P_CALL_KIND] === CALL_DMMAP ? 'd_mmap' : w[P_CALL_KIND] === CALL_MMIO_READ ? 'an mmio read callback' : 'an mmio write callback';
    return `it was in ${dev} ${kind} at device offset 0x${this.views[p].callOff[P_CALL_OFF_F64].toString(16)}`;
  }

  /**
   * Answer the request the dead pager was serving, if it had not answered it: the thread raises
   * SIGSEGV. Returns the slot, or -1.
   */
  private answerVictim(p: number, why: number): number {
    const w = this.views[p].watch;
    const inCall = (Atomics.load(w, P_CALL_SEQ) & 1) === 1;
    const slot = inCall ? w[P_CALL_SLOT] : Atomics.load(w, P_SERVING);
    // The replacement starts out of any driver call.
    if (inCall) Atomics.add(w, P_CALL_SEQ, 1);
    Atomics.store(w, P_SERVING, -1);
    if (!(slot >= 0 && slot < this.slots.length)) return -1;
    const s = this.slots[slot];
    if (Atomics.load(s.status, S_STATUS) !== STATUS_LIVE) return -1;
    const seq = s.req[R_SEQ];
    if (Atomics.load(s.done, 0) === seq) return -1; // answered before it died
    const res = s.res;
    res[RES_ERR] = EIO;
    res[RES_AUX] = AUX_DRIVER_KILLED;
    res[RES_VAL] = p;
    res[RES_WHY] = why;
    res[RES_MS] = why === WHY_TIMEOUT ? performance.now() - this.watch[p].since : 0;
    res[RES_DEV] = inCall ? w[P_CALL_DEV] : -1;
    res[RES_PTE] = inCall ? this.views[p].callOff[P_CALL_OFF_F64] : -1;
    Atomics.store(s.done, 0, seq);
    if (slot < this.userSlots && Atomics.compareExchange(s.parked, SLOT_PARKED, seq, PARK_GRANTED) === seq) {
      Atomics.add(new Int32Array(this.o.sab, this.o.layout.runOff, 2), RUN_ACTIVE, 1);
      Atomics.notify(s.parked, SLOT_PARKED, 1);
    } else if (slot >= this.userSlots) Atomics.notify(s.done, 0, 1);
    return slot;
  }

  /** The watchdog's round: a pager in the same driver call since driverTimeoutMs is stopped. */
  private sample(): void {
    const now = performance.now();
    for (let p = 0; p < this.views.length; p++) {
      const w = this.workers[p];
      if (w === null) continue;
      const seq = Atomics.load(this.views[p].watch, P_CALL_SEQ);
      const st = this.watch[p];
      if ((seq & 1) === 0 || seq !== st.seq) {
        st.seq = seq;
        st.since = now;
        continue;
      }
      if (now - st.since < this.o.driverTimeoutMs) continue;
      this.counters[C.driverTimeouts]++;
      this.counters[C.driverBugs]++;
      const ms = Math.round(now - st.since);
      this.died(p, w, `a driver call ran for ${ms} ms, past driverTimeoutMs (${this.o.driverTimeoutMs} ms)`, WHY_TIMEOUT);
      void w.terminate();
    }
  }

  /** Fault injection: pager p dies at the n-th next point of `kind` (layout.ts INJECT_*). */
  injectDeath(p: number, kind: number, n: number): void {
    Atomics.store(this.views[p].control, P_INJECT, (kind << 24) | Math.max(1, Math.min(n, 0xffffff)));
  }

  /** True while pager p runs driver code (a host request to it may wait that long). */
  inDriver(p: number): boolean {
    return (Atomics.load(this.views[p].watch, P_CALL_SEQ) & 1) === 1;
  }

  /** The pager of a slot. */
  pagerOf(slot: number): number {
    return Atomics.load(this.slots[slot].status, S_PAGER);
  }

  /**
   * A host request to pager p through the host's own slot; serialised per pager. Waits as long as
   * it takes: a pager stuck in a driver is replaced by the watchdog, and the replacement serves it.
   */
  request(p: number, op: number, a: number, b = 0, c = 0): Promise<number> {
    const run = async () => {
      const s = this.slots[this.userSlots + p];
      const seq = (Atomics.load(s.done, 0) + 1) | 0;
      s.req[R_ARG] = a;
      s.req[R_ARG + 1] = b;
      s.req[R_ARG + 2] = c;
      s.req[R_OP] = op;
      s.req[R_POST_TS] = 0;
      s.req[R_SEQ] = seq;
      Atomics.store(s.parked, 0, 1);
      post(s, this.views[p]);
      while (Atomics.load(s.done, 0) !== seq) {
        if (this.closing) throw new Error(`pager ${p}: runtime closed before it answered host request ${OP_NAMES[op] ?? op}`);
        const w = Atomics.waitAsync(s.done, 0, (seq - 1) | 0, 100);
        if (w.async) await w.value;
      }
      if (s.res[RES_AUX] === AUX_DRIVER_KILLED) throw new Error(`pager ${p} died while serving host request ${OP_NAMES[op] ?? op}`);
      return s.res[RES_ERR] !== 0 ? -s.res[RES_ERR] : s.res[RES_VAL];
    };
    const next = this.hostQueue[p].then(run, run);
    this.hostQueue[p] = next.catch(() => undefined);
    return next;
  }

  /** Stop every pager: ask, then terminate what does not stop within 2 s (at once if stuck in a driver). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(
      this.workers.map(
        (w, p) =>
          new Promise<void>((resolve) => {
            if (w === null || w.threadId < 0) return resolve();
            const t = setTimeout(() => void w.terminate().then(() => resolve()), this.inDriver(p) ? 0 : 2000);
            w.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            ringShutdown(this.views[p]);
          }),
      ),
    );
  }
}
