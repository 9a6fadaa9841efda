/**
 * The run queue's protocol (src/pager/runqueue.ts with the requester's park in
 * src/process/requester.ts), stepped on one thread in every order, as test/physmem.test.ts
 * constructs its races. A thread that parks on its request, the pager's reply, its answered()
 * and dispatch(), the thread's late check and its self-wake after SELF_WAKE_MS can happen in any
 * order the atomics allow. Whatever the order, the thread resumes exactly once, and then the CPU
 * count (RUN_ACTIVE) equals the threads that hold a CPU and nothing is left held (RUN_HELD).
 *
 * The requester's steps below are its park() and resume(), word for word, cut where another
 * thread can run between them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createArena } from '../src/physmem.js';
import { C, COUNTERS, OBS_IN_KERNEL, PARK_LATE, PARK_GRANTED_OVERDUE, RUN_ACTIVE, RUN_HELD, S_OBS, SLOT_PARK_KIND, SLOT_PARKED, SLOT_RUNNING, slotThread } from '../src/layout.js';
import { OP_NOP, PagerViews, SlotViews, reply } from '../src/pager/protocol.js';
import { RunQueue } from '../src/pager/runqueue.js';
import { MachineViews } from '../src/process/machine.js';
import { Requester } from '../src/process/requester.js';
import { ThreadStats } from '../src/stats.js';
import { WAIT_ADAPTIVE } from '../src/wait.js';

interface World {
  run: Int32Array;
  slots: SlotViews[];
  q: RunQueue;
  counters: Float64Array;
}

function world(budget: number): World {
  const { sab, layout } = createArena({ memory: 1 << 20, pagers: 1, maxProcs: 4 });
  const run = new Int32Array(sab, layout.runOff, 2);
  const slots = Array.from({ length: layout.maxProcs }, (_, i) => new SlotViews(sab, layout, i));
  const counters = new Float64Array(COUNTERS);
  return { run, slots, q: new RunQueue(run, slots, budget, counters, null, false, 3), counters };
}

/** A running thread: counted in RUN_ACTIVE, SLOT_RUNNING 1 (requester.takeCpu). */
function running(w: World, slot: number): void {
  Atomics.add(w.run, RUN_ACTIVE, 1);
  w.slots[slot].parked[SLOT_RUNNING] = 1;
}

/** The thread's side of one late request: its steps, and whether (and how) it has resumed. */
class Parker {
  resumed = 0;
  selfCounted = false;
  constructor(private readonly w: World, readonly slot: number, readonly seq: number) {}
  private get p(): Int32Array {
    return this.w.slots[this.slot].parked;
  }
  /** park(): the park state, then the CPU goes back. */
  store(): void {
    this.p[SLOT_PARK_KIND] = PARK_LATE;
    Atomics.store(this.p, SLOT_PARKED, this.seq);
  }
  giveCpu(): void {
    if (Atomics.exchange(this.p, SLOT_RUNNING, 0) === 1) Atomics.sub(this.w.run, RUN_ACTIVE, 1);
  }
  /** The check right after parking: answered meanwhile, and the CAS wins against a grant. */
  lateCheck(): void {
    if (this.resumed) return;
    const s = this.w.slots[this.slot];
    if (Atomics.load(s.done, 0) === this.seq && Atomics.compareExchange(this.p, SLOT_PARKED, this.seq, 0) === this.seq) this.resume(true);
  }
  /** After a wait: granted, or (timed out) answered and taking a CPU itself. */
  wake(timedOut: boolean): void {
    if (this.resumed) return;
    const state = Atomics.load(this.p, SLOT_PARKED);
    if (state !== this.seq && state !== 0) return this.resume(false);
    const s = this.w.slots[this.slot];
    if (timedOut && Atomics.load(s.done, 0) === this.seq && Atomics.compareExchange(this.p, SLOT_PARKED, this.seq, 0) === this.seq) this.resume(true);
  }
  private resume(countSelf: boolean): void {
    this.resumed++;
    this.selfCounted = countSelf;
    if (countSelf) Atomics.add(this.w.run, RUN_ACTIVE, 1);
    this.p[SLOT_RUNNING] = 1;
    Atomics.store(this.p, SLOT_PARKED, 0);
  }
}

/** The pager: reply, then (it saw the thread parked on this request) queue its wake-up. */
function pagerReply(w: World, t: Parker): void {
  const parked = reply(w.slots[t.slot], t.seq, 0, 0, 0);
  if (parked === t.seq) w.q.answered(t.slot, t.seq);
}

/** Every order of `steps` that keeps each list's own order. */
function interleavings<T>(a: T[], b: T[]): T[][] {
  if (a.length === 0) return [b];
  if (b.length === 0) return [a];
  return [...interleavings(a.slice(1), b).map((x) => [a[0], ...x]), ...interleavings(a, b.slice(1)).map((x) => [b[0], ...x])];
}

function check(w: World, threads: Parker[], label: string): void {
  for (const t of threads) assert.is(t.resumed, 1, `${label}: slot ${t.slot} resumed ${t.resumed} times`);
  const holding = w.slots.slice(0, 3).filter((s) => s.parked[SLOT_RUNNING] === 1).length;
  assert.is(Atomics.load(w.run, RUN_ACTIVE), holding, `${label}: RUN_ACTIVE counts the threads holding a CPU`);
  assert.is(Atomics.load(w.run, RUN_HELD), 0, `${label}: nothing left held`);
  assert.is(w.q.length, 0, `${label}: the queue is empty`);
  for (const s of w.slots.slice(0, 3)) assert.is(Atomics.load(s.parked, SLOT_PARKED), 0, `${label}: no park state left`);
}

type Step = 'store' | 'giveCpu' | 'lateCheck' | 'timeout' | 'reply' | 'dispatch';

function step(w: World, t: Parker, s: Step): void {
  if (s === 'store') t.store();
  else if (s === 'giveCpu') t.giveCpu();
  else if (s === 'lateCheck') t.lateCheck();
  else if (s === 'timeout') t.wake(true);
  else if (s === 'reply') pagerReply(w, t);
  else w.q.dispatch();
}

/** Slot 1 holds the only CPU; slot 0 parks on request `seq` and the pager answers it (held). */
function heldBehindSlot1(w: World, seq: number): Parker {
  running(w, 1);
  running(w, 0);
  const t = new Parker(w, 0, seq);
  t.store();
  t.giveCpu();
  pagerReply(w, t);
  return t;
}

test('a late answer, a free CPU: park, late check, reply, grant and self-wake in every order', () => {
  const thread: Step[] = ['store', 'giveCpu', 'lateCheck', 'timeout'];
  const pager: Step[] = ['reply', 'dispatch'];
  let n = 0;
  for (const order of interleavings(thread, pager)) {
    const w = world(1);
    running(w, 0);
    const t = new Parker(w, 0, 7);
    for (const s of order) step(w, t, s);
    // Whatever is left: the pager's next polls dispatch, the thread's wait ends.
    w.q.dispatch();
    t.wake(false);
    t.wake(true);
    check(w, [t], order.join(','));
    n++;
  }
  assert.is(n, 15);
});

test('a full CPU: the wake-up is held until the holder parks; the held thread may wake itself meanwhile', () => {
  const thread: Step[] = ['store', 'giveCpu', 'lateCheck', 'timeout'];
  const pager: Step[] = ['reply', 'dispatch'];
  for (const order of interleavings(thread, pager)) {
    for (const holderLeaves of [0, 1, 2, 3, 4, 5, 6]) {
      const w = world(1);
      running(w, 0);
      running(w, 1); // the holder: counts too (the moment of overcommit at start)
      const t = new Parker(w, 0, 9);
      const holder = new Parker(w, 1, 3);
      const label = `${order.join(',')} holder parks after step ${holderLeaves}`;
      order.forEach((s, i) => {
        if (i === holderLeaves) holder.giveCpu();
        step(w, t, s);
      });
      if (holderLeaves >= order.length) holder.giveCpu();
      w.q.dispatch();
      t.wake(false);
      t.wake(true);
      assert.is(t.resumed, 1, `${label}: resumed once`);
      assert.ok(Atomics.load(w.run, RUN_ACTIVE) <= 2, `${label}: RUN_ACTIVE ${Atomics.load(w.run, RUN_ACTIVE)}`);
      // The holder never parked on a request: it holds no CPU now; only the thread does.
      holder.resumed = 1;
      check(w, [t, holder], label);
    }
  }
});

test('a stale entry: the thread woke itself, asked again and parked again; one entry, one grant', () => {
  const w = world(1);
  const first = heldBehindSlot1(w, 11);
  assert.is(Atomics.load(w.run, RUN_HELD), 1);
  first.wake(true); // SELF_WAKE_MS passed: takes a CPU itself
  assert.is(first.resumed, 1);
  const second = new Parker(w, 0, 12);
  second.store();
  second.giveCpu();
  pagerReply(w, second); // answered() drops the stale entry of seq 11
  assert.is(Atomics.load(w.run, RUN_HELD), 1, 'one entry for the slot');
  new Parker(w, 1, 0).giveCpu(); // the holder blocks outside devpager (releaseCpu)
  assert.is(w.q.dispatch(), 1, 'the CPU goes to the queued request');
  second.wake(false);
  assert.is(second.resumed, 1);
  assert.is(w.counters[C.wakeups], 1, 'one grant: none for the stale entry');
  check(w, [second], 'stale entry');
});

test('an overdue grant is a CPU beyond the budget, given back like any other', () => {
  const w = world(1);
  const t = heldBehindSlot1(w, 5);
  assert.is(w.q.grantOverdue(), true);
  assert.is(Atomics.load(w.slots[0].parked, SLOT_PARKED), PARK_GRANTED_OVERDUE);
  t.wake(false);
  assert.is(Atomics.load(w.run, RUN_ACTIVE), 2, 'both count: one beyond the budget');
  check(w, [t], 'overdue');
});

/**
 * A Requester on this thread, its quantum used up while another thread is held: the next request
 * must yield its CPU (park before posting) unless the thread's program has ended. The pager's
 * answer is in place before the request (`done` holds its number), so a yield ends by the
 * thread's self-wake after SELF_WAKE_MS, and a request that does not yield returns at once.
 */
function endingWorld(): { req: Requester; run: Int32Array; slot: SlotViews; counters: Float64Array } {
  const { sab, layout } = createArena({ memory: 1 << 20, pagers: 1, maxProcs: 4 });
  const mv = new MachineViews(sab, layout);
  const slot = new SlotViews(sab, layout, 0);
  const stats = new ThreadStats(sab, layout, slotThread(layout, 0));
  const req = new Requester(layout, slot, new PagerViews(sab, layout, 0), mv.pagers, mv.run, mv.spinners, stats, { sab, timing: false, wait: WAIT_ADAPTIVE, trace: null });
  (req as unknown as { quantumLeft: number }).quantumLeft = 1;
  Atomics.add(mv.run, RUN_HELD, 1); // someone waits for a CPU
  Atomics.store(slot.done, 0, Atomics.load(slot.done, 0) + 1); // the pager's answer, ahead of time
  return { req, run: mv.run, slot, counters: stats.counters };
}

test('a thread whose quantum is up yields its CPU to a held thread at its next request', () => {
  const { req, run, counters } = endingWorld();
  assert.is(Atomics.load(run, RUN_ACTIVE), 1, 'a new thread holds a CPU');
  req.setRequest(OP_NOP, 0);
  assert.is(req.call(), 0);
  assert.is(counters[C.yields], 1, 'it parked before posting');
});

test('a thread whose program ended gives its CPU back at once, never takes one again, and its exit does not yield', () => {
  const { req, run, slot, counters } = endingWorld();
  req.ending();
  assert.is(Atomics.load(run, RUN_ACTIVE), 0, 'the CPU went back when the program ended');
  assert.is(slot.parked[SLOT_RUNNING], 0);
  assert.is(Atomics.load(slot.spinning, S_OBS), OBS_IN_KERNEL, 'it touches no program memory any more');
  req.takeCpu(); // what a blocking host request does on its way out
  assert.is(Atomics.load(run, RUN_ACTIVE), 0, 'takeCpu after ending counts nothing');
  const t0 = performance.now();
  req.setRequest(OP_NOP, 0);
  assert.is(req.call(), 0);
  assert.is(counters[C.yields], 0, 'the exit request did not queue behind the held thread');
  assert.ok(performance.now() - t0 < 500, 'answered without a self-wake');
  assert.is(Atomics.load(run, RUN_ACTIVE), 0);
});

test.run();
