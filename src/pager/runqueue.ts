/**
 * Which parked process a pager wakes, and when: admission of processes to the CPUs.
 *
 * When processes outnumber the cores, waking every answered process at once makes each fault a
 * futex wake, a context switch and a futex wait, and leaves the pager one runnable thread among
 * all of them, while a parked thread would be out of the scheduler's way. So, like a kernel's run
 * queue, a pager lets only `spinBudget` processes (the cores the pagers leave) hold a CPU at once
 * (docs/architecture.md, "The run queue"; how it came about:
 * docs/experiments/processes-beyond-the-cpus.md):
 *
 *   - a process counts itself in RUN_ACTIVE while it runs; it gives its CPU back when it parks;
 *   - a pager that answers a parked process queues it here, then wakes queued processes, oldest
 *     first, while RUN_ACTIVE < spinBudget, counting a CPU for each one it wakes (the grant CAS
 *     below, so that a process which woke itself meanwhile is never counted twice); a process
 *     that parked only because its answer was late, while it held one of the CPUs, goes first;
 *   - a running process whose quantum (`quantum` requests) is used up, and that sees held
 *     waiters, parks before posting its next request: its CPU goes to the oldest (process/requester.ts);
 *   - a pager that holds wake-ups but has served no request for OVERDUE_AFTER_MS knows that the
 *     processes holding the CPUs are not coming back to devpager (a long computation, an
 *     await): it wakes the oldest queued process anyway, beyond `cpus`, and that process then
 *     runs a whole quantum without being held (PARK_OVERDUE), as if the operating system had
 *     given it a time slice. The worst case is the operating system's scheduling, as without
 *     the queue. The pager decides, not a per-process timeout: while the holders are merely
 *     slow, timed-out processes would crowd the CPU and starve the rest;
 *   - as a last resort, against a pager that cannot run, a held process wakes itself after
 *     SELF_WAKE_MS.
 * The queue is the pager's own (plain arrays, no lock); only RUN_ACTIVE and RUN_HELD are shared.
 * A stale entry — its process woke itself, or exited — fails the grant CAS and is dropped, and
 * exits and reaps purge their slot's entries, so a later park on that slot never matches one.
 */
import {
  C, PARK_GRANTED, PARK_GRANTED_OVERDUE, PARK_LATE, PARK_OVERDUE, RUN_ACTIVE, RUN_HELD, RUNNING_PREEMPTED, SLOT_PARK_KIND, SLOT_PARKED, SLOT_RUNNING,
} from '../layout.js';
import { clockMs } from '../clock.js';
import { K_WAKE, type TraceRing } from '../trace.js';
import type { SlotViews } from './protocol.js';

/** Idle time of a pager with queued wake-ups after which it wakes one beyond `cpus`. */
export const OVERDUE_AFTER_MS = 20;
/**
 * A thread counted on a CPU that has made no request for this long, while wake-ups wait, loses its
 * CPU (RUNNING_PREEMPTED): it is computing, spinning or blocked outside devpager, and the others
 * should not wait for it (preemptQuiet).
 */
export const PREEMPT_AFTER_MS = 5;
/** How long a held process waits for its wake-up before it takes a CPU on its own. */
export const SELF_WAKE_MS = 1000;

export class RunQueue {
  private readonly slot: Int32Array;
  private readonly seq: Int32Array;
  /** clockMs() when each entry was queued (stats on): the run-queue wait, counted at its grant */
  private readonly since: Float64Array;
  private head = 0;
  private n = 0;

  constructor(
    private readonly run: Int32Array,
    private readonly slots: readonly SlotViews[],
    private readonly budget: number,
    private readonly counters: Float64Array,
    private readonly trace: TraceRing | null,
    private readonly timing: boolean,
    userSlots: number,
  ) {
    // One entry per slot at most (answered() drops a slot's older, stale entry).
    this.slot = new Int32Array(slots.length);
    this.seq = new Int32Array(slots.length);
    this.since = new Float64Array(slots.length);
    this.quietDone = new Int32Array(userSlots);
    this.quietTicks = new Int32Array(userSlots);
  }

  // preemptQuiet's memory: each user slot's `done` at the last look, and for how many looks it held still.
  private readonly quietDone: Int32Array;
  private readonly quietTicks: Int32Array;

  get length(): number {
    return this.n;
  }

  /** A parked process was answered: queue it behind the others, then wake whom the CPUs allow. */
  answered(slot: number, seq: number): void {
    // An older entry of this slot is stale (its process woke itself since): drop it, so the
    // queue holds one entry per slot at most and never overflows.
    this.drop(slot);
    const kind = this.slots[slot].parked[SLOT_PARK_KIND];
    if (kind === PARK_OVERDUE) {
      // Within the quantum it was given beyond `cpus` (the CPU holders went quiet): a CPU at once.
      Atomics.add(this.run, RUN_ACTIVE, 1);
      this.grant(slot, seq);
      return;
    }
    const cap = this.slot.length;
    let at: number;
    if (kind === PARK_LATE && Atomics.load(this.run, RUN_ACTIVE) < this.budget) {
      // Parked only because its answer was late, and it held one of the `cpus` (not one of the
      // extra runners of an overcommitted moment, such as all processes starting at once): it
      // still has the rest of its quantum and goes first. Sending it to the back would make
      // every late answer a cold context switch; letting the extra runners cut in too would
      // starve the oldest waiters.
      this.head = (this.head + cap - 1) % cap;
      at = this.head;
    } else {
      at = (this.head + this.n) % cap; // the back of the queue
    }
    this.slot[at] = slot;
    this.seq[at] = seq;
    this.since[at] = this.timing ? clockMs() : 0;
    this.n++;
    Atomics.add(this.run, RUN_HELD, 1);
    this.dispatch();
    if (this.queued(slot)) this.counters[C.held]++;
  }

  /** Wake queued processes, oldest first, while a CPU is free. Returns how many were woken. */
  dispatch(): number {
    const run = this.run;
    const cap = this.slot.length;
    let woke = 0;
    while (this.n > 0) {
      // An entry whose thread took a CPU itself since (its late check or SELF_WAKE_MS won the
      // CAS) is stale: it goes without a CPU, or it would count as held until one came free.
      const head = this.slot[this.head];
      if (Atomics.load(this.slots[head].parked, SLOT_PARKED) !== this.seq[this.head]) {
        this.head = (this.head + 1) % cap;
        this.n--;
        Atomics.sub(run, RUN_HELD, 1);
        continue;
      }
      // Look before claiming: the idle pager calls this on every poll, and an RMW on every poll
      // would bounce the run line between the pager and every running process.
      if (Atomics.load(run, RUN_ACTIVE) >= this.budget) break;
      if (Atomics.add(run, RUN_ACTIVE, 1) >= this.budget) {
        Atomics.sub(run, RUN_ACTIVE, 1);
        break;
      }
      const slot = this.slot[this.head];
      const seq = this.seq[this.head];
      const since = this.since[this.head];
      this.head = (this.head + 1) % cap;
      this.n--;
      Atomics.sub(run, RUN_HELD, 1);
      if (this.grant(slot, seq)) {
        woke++;
        if (this.timing) this.counters[C.heldNs] += (clockMs() - since) * 1e6;
      }
    }
    return woke;
  }

  /**
   * The pager saw no request for OVERDUE_AFTER_MS while wake-ups were queued: whoever holds the
   * CPUs is busy outside devpager. Wake the oldest queued process beyond `cpus`.
   */
  grantOverdue(): boolean {
    const cap = this.slot.length;
    while (this.n > 0) {
      const slot = this.slot[this.head];
      const seq = this.seq[this.head];
      this.head = (this.head + 1) % cap;
      this.n--;
      Atomics.sub(this.run, RUN_HELD, 1);
      Atomics.add(this.run, RUN_ACTIVE, 1);
      if (this.grant(slot, seq, PARK_GRANTED_OVERDUE)) return true;
    }
    return false;
  }

  /**
   * With wake-ups held: take the CPU of every thread that holds one but made no request (its
   * `done` word did not move) over the last PREEMPT_AFTER_MS calls of this, one a millisecond.
   * The thread runs on, as the operating system schedules it; it only stops counting against the
   * `cpus` devpager lets run, and queues again at its next request. Returns how many were taken.
   */
  preemptQuiet(): number {
    const slots = this.slots;
    let taken = 0;
    for (let i = 0; i < this.quietDone.length; i++) {
      const p = slots[i].parked;
      const done = Atomics.load(slots[i].done, 0);
      if (Atomics.load(p, SLOT_RUNNING) !== 1 || done !== this.quietDone[i]) {
        this.quietDone[i] = done;
        this.quietTicks[i] = 0;
        continue;
      }
      if (++this.quietTicks[i] < PREEMPT_AFTER_MS) continue;
      this.quietTicks[i] = 0;
      if (Atomics.compareExchange(p, SLOT_RUNNING, 1, RUNNING_PREEMPTED) === 1) {
        Atomics.sub(this.run, RUN_ACTIVE, 1);
        this.counters[C.preempted]++;
        taken++;
      }
    }
    if (taken > 0) this.dispatch();
    return taken;
  }

  /** Wake the process parked on `seq`, a CPU already counted for it. False if it woke itself. */
  private grant(slot: number, seq: number, how = PARK_GRANTED): boolean {
    const parked = this.slots[slot].parked;
    if (Atomics.compareExchange(parked, SLOT_PARKED, seq, how) === seq) {
      Atomics.notify(parked, SLOT_PARKED, 1);
      this.counters[C.wakeups]++;
      if (this.trace !== null) this.trace.emit(K_WAKE, clockMs(), 0, slot, 0);
      return true;
    }
    Atomics.sub(this.run, RUN_ACTIVE, 1); // it woke itself (SELF_WAKE_MS): it counted itself
    return false;
  }

  /**
   * The slot's process exits or was reaped: drop its entries. For a reap (the thread is dead),
   * also give back a CPU it was still counted on: running, or granted but not yet awake.
   */
  purge(slot: number, dead: boolean): void {
    this.drop(slot);
    if (!dead) return;
    const parked = this.slots[slot].parked;
    const state = Atomics.load(parked, SLOT_PARKED);
    const running = Atomics.exchange(parked, SLOT_RUNNING, 0);
    if (running === 1 || state === PARK_GRANTED || state === PARK_GRANTED_OVERDUE) Atomics.sub(this.run, RUN_ACTIVE, 1);
    Atomics.store(parked, SLOT_PARKED, 0);
  }

  private queued(slot: number): boolean {
    const cap = this.slot.length;
    for (let i = 0; i < this.n; i++) if (this.slot[(this.head + i) % cap] === slot) return true;
    return false;
  }

  /** Remove the slot's entry, if any, keeping the others in order. */
  private drop(slot: number): void {
    const cap = this.slot.length;
    let kept = 0;
    for (let i = 0; i < this.n; i++) {
      const at = (this.head + i) % cap;
      if (this.slot[at] === slot) continue;
      const to = (this.head + kept) % cap;
      this.slot[to] = this.slot[at];
      this.seq[to] = this.seq[at];
      this.since[to] = this.since[at];
      kept++;
    }
    if (kept !== this.n) Atomics.sub(this.run, RUN_HELD, this.n - kept);
    this.n = kept;
  }
}
