/**
 * The TLB shootdown, stepped by hand on one thread (constructed interleavings, in the style of
 * test/physmem.test.ts): a pager and two threads of one address space, where "thread B" is a
 * ThreadMemory whose requests are served synchronously, so a test can put an operation of
 * thread A at any point of B's fault. Each assertion here fails if the shootdown is removed, made
 * asynchronous, or if the fill check or the store re-check goes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAP_ANON, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE, atop } from '../src/constants.js';
import { defineDriver } from '../src/driver.js';
import { KernelApi } from '../src/kernel.js';
import { C, FLAG_STATS, FLAG_TRACE, OBS_IN_KERNEL, P_EPOCH, S_INVSEQ, S_OBS, S_PAGER, S_STATUS, S_VMSPACE, STATUS_LIVE, TLB_BYTES, TRACE_EV, pagerThread } from '../src/layout.js';
import { Pager } from '../src/pager/pager.js';
import { OP_MMAP, OP_MUNMAP, OP_NOP, R_ARG, R_FLOW, R_OP, R_POST_TS, R_SEQ, R_WEIGHT, RES_ERR, RES_VAL, SlotViews } from '../src/pager/protocol.js';
import { K_SHOOTDOWN, KIND_BITS, readRing } from '../src/trace.js';
import { createArena } from '../src/physmem.js';
import { ACCESS_SIGNAL, ThreadMemory } from '../src/process/access.js';
import { MachineViews } from '../src/process/machine.js';
import type { Requester } from '../src/process/requester.js';
import { Tlb } from '../src/process/tlb.js';
import { DirtyLog } from '../src/runtime/dirty-log.js';

const X = 0x0200_0000;
const vpn = X / PAGE_SIZE;

function world(o: { trace?: boolean } = {}) {
  const { sab, layout, phys } = createArena({ memory: 4 << 20, maxProcs: 3, pagers: 1, maxDevices: 1, ...(o.trace ? { flags: FLAG_TRACE | FLAG_STATS, traceCap: 64 } : {}) });
  const tlbs = [new SharedArrayBuffer(TLB_BYTES), new SharedArrayBuffer(TLB_BYTES)];
  const kernel = new KernelApi(phys);
  const devMem = kernel.kmAlloc(4 * PAGE_SIZE, { zero: true });
  const driver = defineDriver({ name: 'ram', mmap: (_d, off, _p, k) => (off < 4 * PAGE_SIZE ? atop(k.pmapExtract(devMem + off)) : -1) });
  const pager = new Pager(sab, layout, 0, [{ driver, handle: { name: 'ram', unit: 0, state: null }, path: '/dev/ram0' }], tlbs);
  const serve = (pager as unknown as { serve(slot: number): void }).serve.bind(pager);
  const mv = new MachineViews(sab, layout);
  const slots = [0, 1].map((i) => new SlotViews(sab, layout, i));
  for (const s of slots) {
    Atomics.store(s.status, S_PAGER, 0);
    Atomics.store(s.status, S_VMSPACE, 0); // one address space, in slot 0
    Atomics.store(s.status, S_STATUS, STATUS_LIVE);
    Atomics.or(slots[0].threads, 0, 1 << s.index);
  }
  let seq = 0;
  /** A request from slot i, served now. */
  const request = (i: number, op: number, ...args: number[]): number => traced(i, 0, op, ...args);
  /** The same, traced with flow id `flow` (0: untraced), as a Requester in a traced burst posts it. */
  const traced = (i: number, flow: number, op: number, ...args: number[]): number => {
    const s = slots[i];
    for (let k = 0; k < args.length; k++) s.req[R_ARG + k] = args[k];
    s.req[R_OP] = op;
    s.req[R_POST_TS] = flow !== 0 ? performance.now() : 0;
    s.req[R_WEIGHT] = 1;
    s.req[R_FLOW] = flow;
    s.req[R_SEQ] = ++seq;
    serve(i);
    return s.res[RES_ERR] !== 0 ? -s.res[RES_ERR] : s.res[RES_VAL];
  };
  /** Thread B: its slow path for real, its requests served synchronously, with a hook inside each. */
  let hook: (() => void) | null = null;
  const epoch = pager.pv.epoch;
  const fakeReq = {
    counters: new Float64Array(64),
    slot: slots[1],
    setRequest(op: number, a: number, b = 0) {
      slots[1].req[R_OP] = op;
      slots[1].req[R_ARG] = a;
      slots[1].req[R_ARG + 1] = b;
    },
    // As the real Requester's spinning wait: nothing published on the way in (the pager sees the
    // request), the epoch on the way out.
    call() {
      slots[1].req[R_SEQ] = ++seq;
      slots[1].req[R_POST_TS] = 0;
      serve(1);
      const h = hook;
      hook = null;
      h?.(); // thread A runs here: after B's reply, before B fills its TLB
      Atomics.store(slots[1].spinning, S_OBS, Atomics.load(epoch, P_EPOCH));
      return slots[1].res[RES_ERR];
    },
    between() {
      Atomics.store(slots[1].spinning, S_OBS, Atomics.load(epoch, P_EPOCH));
    },
    quiesce() {
      Atomics.store(slots[1].spinning, S_OBS, Atomics.load(epoch, P_EPOCH));
    },
  };
  const tlbB = new Tlb(tlbs[1], slots[1].spinning);
  tlbB.reset();
  const b = new ThreadMemory(1, mv, tlbB, fakeReq as unknown as Requester, slots[1], slots[0]);
  const dirty = new DirtyLog(phys, layout, tlbs, [...slots, new SlotViews(sab, layout, 2)]);
  const isFree = (pfn: number) => (Atomics.load(phys.bitmap, pfn >>> 5) & (1 << (pfn & 31))) === 0;
  return { pager, request, traced, b, tlbB, slots, phys, isFree, setHook: (h: () => void) => (hook = h), dirty, devMem, fakeReq, sab, layout };
}

test('munmap takes the other thread\'s translation before it returns, and its frame waits until that thread passed a quiescent point', () => {
  const w = world();
  assert.is(w.request(0, OP_MMAP, X, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0, 7), X);
  const pa = w.b.translate(X, PROT_WRITE, 4);
  assert.ok(pa >= 0, 'B faulted the page in');
  const pfn = Math.floor(pa / PAGE_SIZE);
  assert.is(w.tlbB.w[vpn], pfn + 1, 'B holds a translation (a loop of TLB hits from here on)');
  const inv = Atomics.load(w.slots[1].inv, S_INVSEQ);
  // B "loaded its entry and was preempted": it is between accesses no more (not in the kernel).
  w.fakeReq.between();
  assert.is(w.request(0, OP_MUNMAP, X, X + PAGE_SIZE), 0);
  // When munmap returns in A, B's entry is gone: synchronously, not at some later point.
  assert.ok(w.tlbB.r[vpn] <= 0 && w.tlbB.w[vpn] <= 0, `B's entries are gone (${w.tlbB.r[vpn]}, ${w.tlbB.w[vpn]})`);
  assert.ok(Atomics.load(w.slots[1].inv, S_INVSEQ) > inv, "B's invalidation sequence was bumped");
  // B may still be inside an access through the old entry: the frame must not be reused yet.
  assert.not.ok(w.isFree(pfn), 'the frame waits while B may still reach it');
  for (let i = 0; i < 64; i++) assert.is.not(w.phys.allocFrame(3, false), pfn, 'the frame is never handed out meanwhile');
  assert.is(w.pager.shootdown.waiting, 1);
  // A left the kernel when its munmap returned (the Requester publishes the epoch it sees).
  Atomics.store(w.slots[0].spinning, S_OBS, Atomics.load(w.pager.pv.epoch, P_EPOCH));
  w.pager.shootdown.reclaim();
  assert.not.ok(w.isFree(pfn), 'A passing does not free it: B has not');
  // B passes a quiescent point (its next slow path): now the frame goes.
  w.fakeReq.between();
  w.pager.shootdown.reclaim();
  assert.ok(w.isFree(pfn), 'freed once B passed a quiescent point');
  assert.is(w.pager.stats.counters[C.shootdowns], 1);
});

test("a fill that raced another thread's munmap is seen and undone: B faults again and gets SIGSEGV", () => {
  const w = world();
  assert.is(w.request(0, OP_MMAP, X, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0, 7), X);
  // B faults; its reply is written; then, before B fills its TLB from that reply, A unmaps.
  w.setHook(() => assert.is(w.request(0, OP_MUNMAP, X, X + PAGE_SIZE), 0));
  const r = w.b.translate(X, PROT_READ, 4);
  assert.is(r, ACCESS_SIGNAL, `B must not use the translation A removed (got ${r})`);
  assert.is(w.b.signalInfo().signal, 'SIGSEGV');
  assert.ok(w.tlbB.r[vpn] <= 0, 'no stale entry left behind');
});

test('a store through a write entry the host re-armed meanwhile is logged again (dirty log)', () => {
  const w = world();
  const fd0 = w.request(0, OP_MMAP, X, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, 0, 7);
  assert.is(fd0, X);
  const pa = w.b.translate(X, PROT_WRITE, 4);
  assert.ok(pa >= 0);
  const entry = w.tlbB.w[vpn];
  assert.ok(entry > 0, 'B holds a write entry');
  assert.equal([...w.dirty.log(w.devMem, PAGE_SIZE)], [1], 'the fault marked the page');
  assert.ok(w.tlbB.w[vpn] <= 0, 're-arming took the write entry away');
  // B had loaded `entry` before the re-arm; its store lands now, then it re-checks its entry
  // (process/api.ts store32): the entry changed, so the frame is marked again.
  w.phys.m32[pa / 4] = 0xabc;
  if (w.tlbB.w[vpn] !== entry) w.b.storeRaced(entry);
  assert.equal([...w.dirty.log(w.devMem, PAGE_SIZE)], [1], 'the racing store is in the next log');
  assert.equal([...w.dirty.log(w.devMem, PAGE_SIZE)], [0], 'and a page nobody wrote since is not');
  // A read does not make a page dirty.
  assert.ok(w.b.translate(X, PROT_READ, 4) >= 0);
  assert.equal([...w.dirty.log(w.devMem, PAGE_SIZE)], [0], 'a read is not a write');
});

test('frames of several operations wait in batches: each goes as soon as the other thread passed its epoch, not before', () => {
  const w = world();
  const sd = w.pager.shootdown;
  const pfns: number[] = [];
  const epochs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const va = X + k * PAGE_SIZE;
    assert.is(w.request(0, OP_MMAP, va, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0, 7), va);
    const pa = w.b.translate(va, PROT_WRITE, 4);
    assert.ok(pa >= 0);
    pfns.push(Math.floor(pa / PAGE_SIZE));
  }
  // B loaded its entries and stays in its loop of hits: three munmaps by A, three batches.
  w.fakeReq.between();
  const bSaw = Atomics.load(w.pager.pv.epoch, P_EPOCH);
  for (let k = 0; k < 3; k++) {
    assert.is(w.request(0, OP_MUNMAP, X + k * PAGE_SIZE, X + (k + 1) * PAGE_SIZE), 0);
    epochs.push(Atomics.load(w.pager.pv.epoch, P_EPOCH));
  }
  Atomics.store(w.slots[0].spinning, S_OBS, OBS_IN_KERNEL);
  sd.reclaim();
  assert.ok(pfns.every((p) => !w.isFree(p)), 'nothing goes while B has passed none of their epochs');
  assert.is(sd.waiting, 3);
  // B passes the first two epochs only (a slow path between the second and third munmap).
  assert.ok(epochs[0] > bSaw);
  Atomics.store(w.slots[1].spinning, S_OBS, epochs[1]);
  sd.reclaim();
  assert.ok(w.isFree(pfns[0]) && w.isFree(pfns[1]), 'the batches B passed go, though a later one of the same address space must wait');
  assert.not.ok(w.isFree(pfns[2]), 'the batch of the epoch B has not passed stays');
  assert.is(sd.waiting, 1);
  w.fakeReq.between();
  sd.reclaim();
  assert.ok(w.isFree(pfns[2]));
  assert.is(sd.waiting, 0);
  const c = w.pager.stats.counters;
  assert.is(c[C.shootdownOps], 3, 'three operations reached B');
  assert.is(c[C.shootdowns], 3, 'one thread each');
  assert.is(c[C.limboFrames], 3);
});

test('a thread waiting in a request counts as quiescent: queued in the pending bitmap, or the one being served', () => {
  const w = world();
  const sd = w.pager.shootdown;
  assert.is(w.request(0, OP_MMAP, X, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0, 7), X);
  const pfn = Math.floor(w.b.translate(X, PROT_WRITE, 4) / PAGE_SIZE);
  w.fakeReq.between();
  assert.is(w.request(0, OP_MUNMAP, X, X + PAGE_SIZE), 0);
  Atomics.store(w.slots[0].spinning, S_OBS, OBS_IN_KERNEL);
  sd.reclaim();
  assert.not.ok(w.isFree(pfn), 'B published an older epoch and has no request: the frame waits');
  // B posts a request (its bit in the pager's pending bitmap) and spins for the reply.
  const pending = w.pager.pv.pending;
  Atomics.or(pending, 0, 1 << 1);
  sd.reclaim();
  assert.ok(w.isFree(pfn), 'a queued request comes after every access B made: the frame goes');
  Atomics.and(pending, 0, ~(1 << 1));
  // The same with the request in the pager's hands: the reclaim at the start of its service.
  assert.is(w.request(0, OP_MMAP, X, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0, 7), X);
  const pfn2 = Math.floor(w.b.translate(X, PROT_WRITE, 4) / PAGE_SIZE);
  w.fakeReq.between();
  assert.is(w.request(0, OP_MUNMAP, X, X + PAGE_SIZE), 0);
  sd.reclaim();
  assert.not.ok(w.isFree(pfn2), 'waits again');
  assert.is(w.request(1, OP_NOP), 0);
  assert.ok(w.isFree(pfn2), "served B's request: B was in the kernel while the pager reclaimed");
  assert.is(sd.waiting, 0);
});

test('a traced munmap writes one shootdown event per other thread, with its flow and op; an untraced one writes none', () => {
  const w = world({ trace: true });
  const ring = () => readRing(w.sab, w.layout, pagerThread(0));
  const shootdowns = () => {
    const r = ring();
    const out: { kind: number; op: number; ts: number; dur: number; arg: number; flow: number }[] = [];
    for (let i = 0; i < r.n; i++) {
      const b = i * TRACE_EV;
      const word = r.data[b];
      if (word % 2 ** KIND_BITS === K_SHOOTDOWN) out.push({ kind: K_SHOOTDOWN, op: Math.floor(word / 2 ** KIND_BITS), ts: r.data[b + 1], dur: r.data[b + 2], arg: r.data[b + 3], flow: r.data[b + 4] });
    }
    return out;
  };
  assert.is(w.request(0, OP_MMAP, X, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0, 7), X);
  assert.ok(w.b.translate(X, PROT_WRITE, 4) >= 0);
  assert.is(w.request(0, OP_MUNMAP, X, X + PAGE_SIZE), 0);
  assert.is(shootdowns().length, 0, 'an untraced request writes no shootdown event');
  assert.is(w.pager.stats.counters[C.shootdowns], 1, 'but counts');
  assert.is(w.request(0, OP_MMAP, X, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0, 7), X);
  assert.ok(w.b.translate(X, PROT_WRITE, 4) >= 0);
  const flow = 5 * 2048 + 0;
  const before = performance.now();
  assert.is(w.traced(0, flow, OP_MUNMAP, X, X + PAGE_SIZE), 0);
  const ev = shootdowns();
  assert.is(ev.length, 1, 'one event: one other thread');
  assert.equal({ op: ev[0].op, arg: ev[0].arg, flow: ev[0].flow }, { op: OP_MUNMAP, arg: 1, flow }, 'the target slot, the request flow, its op');
  assert.ok(ev[0].ts >= before && ev[0].dur >= 0 && ev[0].ts + ev[0].dur <= performance.now(), 'timed inside the request');
  assert.ok(w.pager.stats.counters[C.shootdownNs] > 0, 'the wait is timed (stats on)');
});

test.run();
