/**
 * The process half of the request protocol (pager/protocol.ts) and of the run queue
 * (pager/runqueue.ts): post a request from this thread's slot, wait for the reply by the wait
 * strategy, give the CPU back while parked, and tell the pagers when this thread is between
 * memory accesses (S_OBS) so that frames it might still reach are not reused too early.
 *
 * One Requester per thread, built by the process worker; everything here runs in the worker's own
 * realm, never in the program's (process/realm.ts).
 */
import { clockMs } from '../clock.js';
import {
  C, OBS_IN_KERNEL, P_EPOCH, PARK_GRANTED_OVERDUE, PARK_LATE, PARK_OVERDUE, PARK_YIELD, RUN_ACTIVE, RUN_HELD,
  RUNNING_PREEMPTED, S_OBS, SLOT_PARK_KIND, SLOT_PARKED, SLOT_RUNNING, SLOT_SPINNING, type Layout,
} from '../layout.js';
import {
  OP_FAULT, type PagerViews, R_ARG, R_FLOW, R_OP, R_POST_TS, R_SEQ, R_WEIGHT, RES_ERR, type SlotViews, post, ringIfSleeping,
} from '../pager/protocol.js';
import { SELF_WAKE_MS } from '../pager/runqueue.js';
import { H, timedPark, type ThreadStats } from '../stats.js';
import { K_FAULT, K_PARK, K_SYSCALL, TraceGate, type TraceRing } from '../trace.js';
import { WAIT_PARK, WAIT_SPIN, type WaitMode } from '../wait.js';

/**
 * Poll `done` until it holds `seq`, at most `limit` times. Returns the polls made, or -1. A leaf
 * of its own so that V8's on-stack compilation of the loop never covers the caller's cold
 * parking code (see Pager.spinIdle).
 */
function spinFor(done: Int32Array, seq: number, limit: number): number {
  for (let i = 0; i < limit; i++) if (Atomics.load(done, 0) === seq) return i;
  return -1;
}

export interface RequesterOptions {
  /** the arena (the trace gate's word lives in it) */
  sab: SharedArrayBuffer;
  timing: boolean;
  wait: WaitMode;
  trace: TraceRing | null;
}

export class Requester {
  readonly slot: SlotViews;
  readonly counters: Float64Array;
  private readonly pager: PagerViews;
  private readonly stats: ThreadStats;
  private readonly timing: boolean;
  private readonly trace: TraceRing | null;
  private readonly wait: WaitMode;
  private readonly spin: number;
  /** polls before parking while no process waits for a CPU: adapts in [loneSpinMin, loneSpinMax] */
  private loneSpin: number;
  private readonly loneSpinMax: number;
  /** floor of loneSpin: max(spin, 64), so that doubling can climb back from it */
  private readonly loneSpinMin: number;
  /** unanswered long spins in a row */
  private spinFails = 0;
  private readonly spinners: Int32Array;
  private readonly spinBudget: number;
  private readonly sampleMask: number;
  private readonly run: Int32Array;
  private readonly allPagers: readonly PagerViews[];
  private readonly quantum: number;
  /** requests left before this thread yields its CPU to a held waiter (runqueue.ts) */
  private quantumLeft: number;
  /** this quantum was given beyond `cpus` (the holders went quiet): its parks are not held */
  private overdue = false;
  /** the program has ended (ending()): the thread's last requests neither yield nor queue for a CPU */
  private ended = false;
  private flowSeq = 0;
  /** when tracing: whether this request falls in a traced burst (trace.ts) */
  private readonly gate: TraceGate | null;
  /** sequence number of this thread's last request (continues the slot's) */
  private seq: number;
  /** slot line 6, where S_OBS lives */
  private readonly obs: Int32Array;
  private readonly epoch: Int32Array;
  /** what this thread last stored in S_OBS */
  private published = OBS_IN_KERNEL;

  constructor(layout: Layout, slot: SlotViews, pager: PagerViews, allPagers: readonly PagerViews[], run: Int32Array, spinners: Int32Array, stats: ThreadStats, o: RequesterOptions) {
    this.slot = slot;
    this.pager = pager;
    this.allPagers = allPagers;
    this.run = run;
    this.spinners = spinners;
    this.stats = stats;
    this.counters = stats.counters;
    this.timing = o.timing;
    this.trace = o.trace;
    this.gate = o.trace !== null ? new TraceGate(o.sab, layout) : null;
    this.wait = o.wait;
    this.spin = layout.spin;
    this.loneSpinMax = Math.max(layout.spin, layout.pagerSpin);
    this.loneSpin = this.loneSpinMax;
    this.loneSpinMin = Math.min(this.loneSpinMax, Math.max(layout.spin, 64));
    this.spinBudget = layout.spinBudget;
    this.sampleMask = layout.sample - 1;
    this.quantum = layout.quantum;
    this.quantumLeft = this.quantum;
    this.obs = slot.spinning;
    this.epoch = pager.epoch;
    // A slot outlives its threads: numbering continues from the last request the pager served.
    this.seq = Atomics.load(slot.done, 0);
    // Flow ids (seq * 2048 + slot) then stay unique per slot across its threads.
    this.flowSeq = this.seq;
    // A new thread runs: it holds a CPU until it parks (runqueue.ts).
    Atomics.store(slot.parked, SLOT_PARKED, 0);
    this.takeCpu();
    this.between();
  }

  /**
   * A quiescent point: this thread holds no translation it loaded before now. Publishes the pager
   * epoch it saw; the load is sequentially consistent, so every TLB read after it sees whatever
   * an invalidator stored before bumping that epoch, and the store is, so that the accesses
   * before it are done by the time a pager reads it (pager/shootdown.ts).
   */
  between(): void {
    const e = Atomics.load(this.epoch, P_EPOCH);
    Atomics.store(this.obs, S_OBS, e);
    this.published = e;
  }

  /**
   * between(), only if the epoch moved since this thread last published one. The test is a plain
   * read, a hint: one that misses a bump only delays the frames of that epoch to the next
   * quiescent point, while an Atomics call here would be paid by every TLB miss.
   */
  quiesce(): void {
    if (this.epoch[P_EPOCH] !== this.published) this.between();
  }

  /**
   * This thread stops touching memory until leave(): it parks, or blocks outside devpager's
   * requests. A thread that only spins for a reply publishes nothing: its pager sees its request
   * instead (Pager.inRequest).
   */
  enter(): void {
    Atomics.store(this.obs, S_OBS, OBS_IN_KERNEL);
    this.published = OBS_IN_KERNEL;
  }

  /** After a request or a blocking wait (OBS_IN_KERNEL is never an epoch: it always publishes). */
  leave(): void {
    this.quiesce();
  }

  /**
   * Post the request already in the slot and wait for the reply; a fault is timed 1 in `sample`,
   * a system call always (stats on). Returns the errno (0 = ok).
   */
  call(): number {
    const req = this.slot.req;
    if (req[R_OP] === OP_FAULT) {
      const n = ++this.counters[C.faults];
      if (this.gate !== null) {
        // While tracing, the stats come from the traced bursts, each request weighted by the
        // share traced: more samples than the untraced sampling takes, at no extra cost.
        if (this.gate.open()) return this.tracedCall(this.gate.every());
        req[R_FLOW] = 0; // neither traced nor timed, by the pager either
        req[R_POST_TS] = 0;
        return this.postAndWait();
      }
      if (!this.timing || (n & this.sampleMask) !== 0) {
        req[R_POST_TS] = 0; // not timed, by the pager either
        return this.postAndWait();
      }
      // Sampled faults alternate between two kinds, so that no measured window contains the other
      // side's clock reads: even samples time the round trip here, with the pager reading no
      // clock; odd samples let the pager time queue wait and service (post time set).
      const weight = 2 * (this.sampleMask + 1);
      if (((n / (this.sampleMask + 1)) & 1) === 1) {
        req[R_POST_TS] = clockMs();
        req[R_WEIGHT] = weight;
        return this.postAndWait();
      }
      req[R_POST_TS] = 0;
      const t0 = clockMs();
      const err = this.postAndWait();
      this.faultTime((clockMs() - t0) * 1e6, weight);
      return err;
    }
    if (this.gate !== null) {
      if (this.gate.open()) return this.tracedCall(1);
      req[R_FLOW] = 0;
    }
    req[R_POST_TS] = this.timing ? clockMs() : 0; // system calls: every one is timed
    req[R_WEIGHT] = 1;
    return this.postAndWait();
  }

  private faultTime(ns: number, weight: number): void {
    this.stats.record(H.fault, ns);
    this.counters[C.waitNs] += ns * weight;
    this.counters[C.timed]++;
  }

  /**
   * A request in a traced burst: one span for the whole request, which starts a flow to the
   * pager's service, and park spans. Two clock reads and one event; the span's start is the post
   * time the pager reads. It counts in the stats with `weight`: the untraced requests it stands
   * for (system calls are all timed, so theirs is 1).
   */
  private tracedCall(weight: number): number {
    const s = this.slot;
    const req = s.req;
    const ring = this.trace!;
    const flow = ++this.flowSeq * 2048 + s.index;
    const op = req[R_OP];
    const arg = op === OP_FAULT ? req[R_ARG] : op;
    const t0 = clockMs();
    req[R_POST_TS] = t0;
    req[R_WEIGHT] = weight;
    req[R_FLOW] = flow;
    const err = this.postAndWait();
    const t1 = clockMs();
    ring.emit(op === OP_FAULT ? K_FAULT : K_SYSCALL, t0, t1 - t0, arg, flow);
    if (op === OP_FAULT) this.faultTime((t1 - t0) * 1e6, weight);
    return err;
  }

  /**
   * Number the request, ring, and wait until the pager has stored that number in `done`: spin (by
   * the strategy), then park. Returns the reply's errno.
   */
  private postAndWait(): number {
    const s = this.slot;
    // Sequence numbers are positive: while parked, the park state holds the one awaited.
    const seq = (this.seq + 1) & 0x7fffffff || 1;
    this.seq = seq;
    s.req[R_SEQ] = seq;
    const err = this.waitFor(s, seq);
    this.leave();
    return err;
  }

  private waitFor(s: SlotViews, seq: number): number {
    const done = s.done;
    const c = this.counters;
    const mode = this.wait;
    if (mode === WAIT_SPIN) {
      post(s, this.pager);
      let polls = 0;
      for (;;) {
        const i = spinFor(done, seq, 1 << 30);
        if (i >= 0) {
          c[C.spins] += polls + i;
          return s.res[RES_ERR];
        }
        polls += 1 << 30;
      }
    }
    // A program that has ended (ending()) exits without waiting its turn behind running processes.
    if (!this.ended) {
      if (s.parked[SLOT_RUNNING] === RUNNING_PREEMPTED) {
        // A pager took our CPU while we were away from devpager for long (runqueue.ts): queue for
        // one again behind whoever waits, as at the end of a quantum.
        c[C.yields]++;
        return this.park(s, seq, false);
      }
      if (--this.quantumLeft <= 0) {
        this.quantumLeft = this.quantum;
        this.overdue = false;
        if (Atomics.load(this.run, RUN_HELD) !== 0) {
          // Our quantum is over and answered threads wait for a CPU: park before posting, so that
          // the pager queues our wake-up behind theirs and gives our CPU to the oldest.
          c[C.yields]++;
          return this.park(s, seq, false);
        }
      }
    }
    post(s, this.pager);
    if (mode !== WAIT_PARK) {
      // Adaptive. Within the `cpus` (RUN_ACTIVE <= spinBudget) this thread holds one of the CPUs
      // the pagers leave, so it spins the long spin: a park would only let that CPU idle and cost
      // a wake-up. The long spin adapts: it halves each time it ends without the answer and
      // doubles back each time the answer comes, between max(spin, 64) and max(spin, pagerSpin),
      // because a thread sharing one CPU with its pager only delays the answer by spinning.
      // Such spinners number at most the `cpus`, so they are not counted: the fast path writes
      // no shared word. Beyond the `cpus` (all threads starting at once, an overdue grant) a spin
      // keeps the CPU from the others: spin `spin` polls, and only while fewer than spinBudget
      // such waiters do. The slot's spinning flag (read by the host only after this thread died)
      // lets a reap give back a killed spinner's place.
      if (Atomics.load(this.run, RUN_ACTIVE) <= this.spinBudget) {
        const i = spinFor(done, seq, this.loneSpin);
        if (i >= 0) {
          c[C.spins] += i;
          this.spinFails = 0;
          if (this.loneSpin < this.loneSpinMax) this.loneSpin = Math.min(this.loneSpinMax, this.loneSpin * 2);
          return s.res[RES_ERR];
        }
        // Every 32nd unanswered spin in a row tries the full length again: once both sides spin
        // short, each parks before the other answers and neither spin ever succeeds, even after
        // the two threads no longer share a CPU.
        c[C.spins] += this.loneSpin;
        this.loneSpin = ++this.spinFails % 32 === 0 ? this.loneSpinMax : Math.max(this.loneSpinMin, this.loneSpin >> 1);
      } else {
        const spinners = this.spinners;
        const flag = s.spinning;
        flag[SLOT_SPINNING] = 1;
        const spun = Atomics.add(spinners, 0, 1) < this.spinBudget;
        const i = spun ? spinFor(done, seq, this.spin) : -1;
        Atomics.sub(spinners, 0, 1);
        flag[SLOT_SPINNING] = 0;
        if (i >= 0) {
          c[C.spins] += i;
          return s.res[RES_ERR];
        }
        if (spun) c[C.spins] += this.spin;
      }
    }
    return this.park(s, seq, true);
  }

  /**
   * Park until request `seq` is answered and a pager gives us a CPU again (runqueue.ts). Our CPU
   * goes back first; `posted` false means the request is posted only after that, so the pager
   * is sure to see us parked and queue us.
   */
  private park(s: SlotViews, seq: number, posted: boolean): number {
    const parked = s.parked;
    const run = this.run;
    this.enter();
    parked[SLOT_PARK_KIND] = !posted ? PARK_YIELD : this.overdue || this.ended ? PARK_OVERDUE : PARK_LATE;
    Atomics.store(parked, SLOT_PARKED, seq);
    // Our CPU goes back, unless a pager already took it (RUNNING_PREEMPTED).
    if (Atomics.exchange(parked, SLOT_RUNNING, 0) === 1) Atomics.sub(run, RUN_ACTIVE, 1);
    if (!posted) post(s, this.pager);
    else if (Atomics.load(s.done, 0) === seq && Atomics.compareExchange(parked, SLOT_PARKED, seq, 0) === seq) {
      // Answered between our last poll and the store above: the pager saw us running.
      return this.resume(s, true);
    }
    for (;;) {
      const r = timedPark(this.stats, this.timing, this.trace, K_PARK, parked, SLOT_PARKED, seq, SELF_WAKE_MS);
      const state = Atomics.load(parked, SLOT_PARKED);
      if (state !== seq) {
        // Granted; beyond `cpus` if the pager saw the CPU holders go quiet: then run a whole
        // quantum without being held.
        if (state === PARK_GRANTED_OVERDUE) this.beOverdue();
        return this.resume(s, false);
      }
      // Answered, and no grant for SELF_WAKE_MS (the pager cannot run?): take a CPU anyway (the
      // CAS decides against a grant).
      if (r === 'timed-out' && Atomics.load(s.done, 0) === seq && Atomics.compareExchange(parked, SLOT_PARKED, seq, 0) === seq) {
        this.beOverdue();
        return this.resume(s, true);
      }
    }
  }

  private beOverdue(): void {
    this.counters[C.holdTimeouts]++;
    this.overdue = true;
    this.quantumLeft = this.quantum;
  }

  private resume(s: SlotViews, countSelf: boolean): number {
    if (countSelf) Atomics.add(this.run, RUN_ACTIVE, 1);
    s.parked[SLOT_RUNNING] = 1;
    Atomics.store(s.parked, SLOT_PARKED, 0);
    // The quantum goes on: it restarts only when it ran out (waitFor) or with an overdue grant
    // (beOverdue). Restarting it at every late answer let a thread that often parked keep its
    // CPU for ever.
    return s.res[RES_ERR];
  }

  /** Give our CPU back while blocked outside devpager's requests (wait32, joins, exit). */
  releaseCpu(): void {
    const was = Atomics.exchange(this.slot.parked, SLOT_RUNNING, 0);
    if (was === 0) return;
    if (was === 1) Atomics.sub(this.run, RUN_ACTIVE, 1); // RUNNING_PREEMPTED: a pager took it already
    if (Atomics.load(this.run, RUN_HELD) === 0) return;
    // A pager holding a wake-up may be asleep: ring it so it hands the CPU on now.
    for (const p of this.allPagers) ringIfSleeping(p);
  }

  /**
   * The thread's program has returned (or thrown): from here on the worker only tidies up (the
   * realm, shared objects) and exits, touching no program memory. The CPU goes back now, so that
   * a held process runs instead of waiting for a pager to find this one quiet (preemptQuiet);
   * and the exit request is answered at once (PARK_OVERDUE), not queued behind the processes
   * that still run.
   */
  ending(): void {
    this.ended = true;
    this.releaseCpu();
    this.enter();
  }

  takeCpu(): void {
    if (this.ended || this.slot.parked[SLOT_RUNNING] !== 0) return;
    Atomics.add(this.run, RUN_ACTIVE, 1);
    this.slot.parked[SLOT_RUNNING] = 1;
  }

  /**
   * Block in `wait` with the CPU given back and this thread marked as not touching memory, for
   * blocking calls that are not pager requests (wait32, waitInterrupt, host requests).
   */
  blocked<T>(wait: () => T): T {
    this.releaseCpu();
    this.enter();
    try {
      return wait();
    } finally {
      this.leave();
      this.takeCpu();
    }
  }

  /** Arguments a..g into the request lines; op last. */
  setRequest(op: number, a: number, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): void {
    const req = this.slot.req;
    req[R_ARG] = a;
    req[R_ARG + 1] = b;
    req[R_ARG + 2] = c;
    req[R_ARG + 3] = d;
    req[R_ARG + 4] = e;
    req[R_ARG + 5] = f;
    req[R_ARG + 6] = g;
    req[R_OP] = op;
  }
}
