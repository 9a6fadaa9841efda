/**
 * The host's process table: slots, pids and tids, and the life of every process and thread.
 *
 * A slot is one thread (layout.ts). A process is its first thread's slot, which also holds the
 * address space (S_VMSPACE), plus the slots of the threads it spawned; every thread of a process
 * is served by the process's pager, which is what keeps the fault path free of locks. Threads
 * run as tasks of the piscina pool, each with a MessagePort for the requests only the host can
 * serve (process/host-channel.ts): spawnThread, fork, join, wait, and the end of a thread group.
 *
 * exit(2)'s rules: when a process's first thread returns, its other threads are ended before its
 * address space is torn down; a signal one thread does not catch ends the whole process; a
 * thread killed mid-request (its worker terminated) is reaped by its pager.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { ERRNO, ProcessSignalError, fromWire, describeThrown, type SigInfo, type SignalName, type WireError } from '../errors.js';
import {
  P_ASSIGNED, RUN_ACTIVE, S_HOSTSEQ, S_PAGER, S_PID, S_STATUS, S_THREAD, S_TID, S_VMSPACE, SLOT_SPINNING, STATUS_FORKING, STATUS_FREE, STATUS_LIVE,
  type Layout,
} from '../layout.js';
import { OP_REAP, SlotViews } from '../pager/protocol.js';
import type { HostAnswer, HostRequest } from '../process/host-channel.js';
import type { ProcessOutcome, ProcessTask } from '../workers/process-worker.js';
import type { ProcessRecorder } from '../profile/source.js';
import type { PagerSet } from './pagers.js';

export interface ProcessStatus {
  pid: number;
  result?: unknown;
  signal?: SignalName;
  siginfo?: SigInfo;
  error?: Error;
  /** the program called process.exit(code) */
  exitCode?: number;
  /** with `signal`: what devpager knows of why, when the signal alone does not say (a dead pager, a driver overrun) */
  detail?: string;
}

export interface ProcessHandle {
  readonly pid: number;
  readonly exited: Promise<ProcessStatus>;
  /** SIGKILL: end every thread of the process now. */
  kill(): void;
}

const SIGKILL_INFO: SigInfo = { signal: 'SIGKILL', signo: 9, code: 'SI_KERNEL', addr: 0 };

/**
 * The pager a new process goes to: the one serving the fewest live processes, the lowest index
 * among equals. Pure, so that its choice can be tested alone.
 */
export function choosePager(load: readonly number[]): number {
  let best = 0;
  for (let p = 1; p < load.length; p++) if (load[p] < load[best]) best = p;
  return best;
}

interface ThreadRec {
  tid: number;
  slot: number;
  proc: ProcRec;
  abort: AbortController;
  port: MessagePort | null;
  /** settles when the thread's task has ended and its slot is released */
  done: Promise<ProcessOutcome | null>;
  outcome: ProcessOutcome | null;
  joined: boolean;
  hostSeq: number;
}

interface ProcRec {
  pid: number;
  url: string;
  pager: number;
  leader: ThreadRec | null;
  threads: Map<number, ThreadRec>;
  /** the signal that ends the whole process, once one thread died of it, and what it said */
  fatal: { siginfo: SigInfo; detail?: string } | null;
  killed: boolean;
  exited: Promise<ProcessStatus>;
  resolveExit: (s: ProcessStatus) => void;
  status: ProcessStatus | null;
  /** children forked by this process that nobody has waited for */
  children: Map<number, ProcRec>;
  /** a reserved slot for a fork in progress */
  forkSlot: number;
}

export interface ProcessTableOptions {
  layout: Layout;
  sab: SharedArrayBuffer;
  tlbs: SharedArrayBuffer[];
  pagers: PagerSet;
  pool: () => Piscina;
  userSlots: number;
  /** told of every thread that gets a slot, and when it lets it go (the profile's names) */
  log: ProcessRecorder;
}

export class ProcessTable {
  private readonly slots: SlotViews[] = [];
  private readonly free: number[] = [];
  private readonly slotWaiters: (() => void)[] = [];
  private readonly procs = new Map<number, ProcRec>();
  /** threads by slot, while they hold it */
  private readonly bySlot = new Map<number, ThreadRec>();
  private readonly load: number[];
  private readonly spinners: Int32Array;
  private readonly run: Int32Array;
  private nextId = 100;
  private closing = false;
  /** every spawn not yet ended, including those still waiting for a slot */
  private readonly pending = new Set<AbortController>();

  constructor(private readonly o: ProcessTableOptions) {
    const l = o.layout;
    for (let i = 0; i < l.maxProcs; i++) this.slots.push(new SlotViews(o.sab, l, i));
    for (let i = o.userSlots - 1; i >= 0; i--) this.free.push(i);
    this.load = new Array(l.pagers).fill(0);
    this.spinners = new Int32Array(o.sab, l.spinnersOff, 1);
    this.run = new Int32Array(o.sab, l.runOff, 2);
  }

  /** live pids by slot (stats) */
  liveSlots(): Map<number, number> {
    const m = new Map<number, number>();
    for (const [slot, t] of this.bySlot) m.set(slot, t.proc.pid);
    return m;
  }

  /** Process threads that exist, and spawns still waiting for a slot (Runtime.setWaitStrategy). */
  inFlight(): number {
    return this.bySlot.size + this.pending.size;
  }

  pidOf(slot: number): number | null {
    return this.bySlot.get(slot)?.proc.pid ?? null;
  }

  /** rt.spawn: a new process running `url`; waits for a free slot if none is. */
  spawn(url: string, args: unknown[]): ProcessHandle {
    const proc = this.newProc(url);
    const abort = new AbortController();
    this.pending.add(abort);
    void (async () => {
      const slot = await this.takeSlot(abort.signal);
      if (slot < 0) return this.finish(proc, { pid: proc.pid, signal: 'SIGKILL', siginfo: SIGKILL_INFO });
      const pager = choosePager(this.load);
      this.setLoad(pager, 1);
      proc.pager = pager;
      this.startThread(proc, proc.pid, slot, slot, url, args, abort, true);
    })().finally(() => this.pending.delete(abort));
    return { pid: proc.pid, exited: proc.exited, kill: () => this.kill(proc, abort) };
  }

  private newProc(url: string): ProcRec {
    let resolveExit!: (s: ProcessStatus) => void;
    const exited = new Promise<ProcessStatus>((r) => (resolveExit = r));
    const proc: ProcRec = {
      pid: this.nextId++, url, pager: 0, leader: null, threads: new Map(), fatal: null, killed: false, exited, resolveExit, status: null,
      children: new Map(), forkSlot: -1,
    };
    this.procs.set(proc.pid, proc);
    return proc;
  }

  private kill(proc: ProcRec, spawnAbort?: AbortController): void {
    proc.killed = true;
    spawnAbort?.abort();
    for (const t of proc.threads.values()) t.abort.abort();
  }

  /** Take a free slot, waiting for one (rt.spawn); -1 if aborted meanwhile. */
  private takeSlot(signal: AbortSignal): Promise<number> {
    const s = this.free.pop();
    if (s !== undefined) return Promise.resolve(s);
    if (signal.aborted) return Promise.resolve(-1);
    return new Promise((resolve) => {
      const wake = () => {
        const n = this.free.pop();
        if (n !== undefined) resolve(n);
        else this.slotWaiters.push(wake);
      };
      signal.addEventListener('abort', () => {
        const i = this.slotWaiters.indexOf(wake);
        if (i >= 0) this.slotWaiters.splice(i, 1);
        resolve(-1);
      });
      this.slotWaiters.push(wake);
    });
  }

  private releaseSlot(slot: number): void {
    this.free.push(slot);
    this.slotWaiters.shift()?.();
  }

  /** The pager sees how many processes it serves: with none it parks even in 'spin' mode. */
  private setLoad(p: number, delta: number): void {
    this.load[p] += delta;
    Atomics.store(this.o.pagers.views[p].control, P_ASSIGNED, this.load[p]);
  }

  private threadBit(vmspace: number, slot: number, on: boolean): void {
    const words = this.slots[vmspace].threads;
    if (on) Atomics.or(words, slot >>> 5, 1 << (slot & 31));
    else Atomics.and(words, slot >>> 5, ~(1 << (slot & 31)));
  }

  /** Start one thread of `proc` in `slot` (the process's first thread when slot === vmspace). */
  private startThread(proc: ProcRec, tid: number, slot: number, vmspace: number, url: string, args: unknown[], abort: AbortController, leader: boolean): ThreadRec {
    const s = this.slots[slot];
    Atomics.store(s.status, S_PID, proc.pid);
    Atomics.store(s.status, S_TID, tid);
    Atomics.store(s.status, S_PAGER, proc.pager);
    Atomics.store(s.status, S_VMSPACE, vmspace);
    this.threadBit(vmspace, slot, true);
    Atomics.store(s.status, S_STATUS, STATUS_LIVE);
    const channel = new MessageChannel();
    const t: ThreadRec = { tid, slot, proc, abort, port: channel.port1, done: null as unknown as Promise<ProcessOutcome | null>, outcome: null, joined: false, hostSeq: Atomics.load(s.status, S_HOSTSEQ) };
    proc.threads.set(tid, t);
    if (leader) proc.leader = t;
    this.bySlot.set(slot, t);
    channel.port1.on('message', (m: HostRequest & { id: number }) => void this.hostRequest(t, m));
    channel.port1.unref();
    const task: ProcessTask = { sab: this.o.sab, tlb: this.o.tlbs[slot], slot, vmspace, pid: proc.pid, tid, pager: proc.pager, url, args, port: channel.port2 };
    const rec = this.o.log.started(proc.pid, tid, slot, url);
    t.done = this.runTask(t, task, channel.port2);
    const ended = () => this.o.log.ended(rec);
    t.done.then(ended, ended);
    return t;
  }

  private async runTask(t: ThreadRec, task: ProcessTask, port: MessagePort): Promise<ProcessOutcome | null> {
    const s = this.slots[t.slot];
    const proc = t.proc;
    let outcome: ProcessOutcome | null = null;
    let lost = false;
    /** a reap left to finish later: the slot is released when it does */
    let later: Promise<void> | null = null;
    try {
      outcome = (await this.o.pool().run(task, { signal: t.abort.signal, transferList: [port] as unknown as NonNullable<Parameters<Piscina['run']>[1]>['transferList'] })) as ProcessOutcome;
    } catch (e) {
      // The thread died (killed, or crashed): its slot was not cleaned up by OP_EXIT.
      Atomics.store(s.status, S_STATUS, STATUS_FREE);
      // Piscina rejects a killed task before its thread has stopped: wait until it has, so that
      // the cleanup below cannot race its last stores (the spinner and CPU counts, the frames).
      await this.threadGone(Atomics.load(s.status, S_THREAD));
      if (s.spinning[SLOT_SPINNING] !== 0) {
        Atomics.sub(this.spinners, 0, 1);
        s.spinning[SLOT_SPINNING] = 0;
      }
      if (t === proc.leader) {
        // The address space goes with the first thread's reap: its other threads must be gone first.
        const others = [...proc.threads.values()].filter((x) => x !== t);
        for (const x of others) x.abort.abort();
        await Promise.allSettled(others.map((x) => x.done));
      }
      if (!this.closing) {
        const reaped = this.reap(proc.pager, t.slot).catch((re) => {
          // A slot whose address space could not be torn down is never handed out again.
          lost = true;
          console.warn(`devpager: slot ${t.slot} retired: ${describeThrown(re)}`);
          throw re;
        });
        // A pager stuck in a driver is replaced by the watchdog, and its replacement reaps: the
        // process has ended for its waiters now, and its slot comes back when the reap is done.
        if (this.o.pagers.inDriver(proc.pager)) later = reaped;
        else await reaped.catch(() => undefined);
      } else lost = true; // the arena goes with the runtime

      if (!t.abort.signal.aborted) outcome = { kind: 'error', error: { name: (e as Error)?.name ?? 'Error', message: `the thread of pid ${proc.pid} died: ${describeThrown(e)}` } };
    } finally {
      Atomics.store(s.status, S_STATUS, STATUS_FREE);
      this.threadBit(Atomics.load(s.status, S_VMSPACE), t.slot, false);
      this.bySlot.delete(t.slot);
      t.port?.close();
      t.port = null;
      if (later !== null) later.then(() => this.releaseSlot(t.slot), () => undefined);
      else if (!lost) this.releaseSlot(t.slot);
    }
    t.outcome = outcome;
    this.threadEnded(t, outcome);
    return outcome;
  }

  /** Resolve once the pool thread `tid` has exited (at most 2 s: a thread that lives on was not killed). */
  private threadGone(tid: number): Promise<void> {
    const w = this.o.pool().threads.find((x) => x.threadId === tid);
    if (!w) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      w.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async reap(pager: number, slot: number): Promise<void> {
    const err = await this.o.pagers.request(pager, OP_REAP, slot);
    if (err < 0) throw new Error(`reap of slot ${slot} failed: errno ${-err}`);
  }

  private threadEnded(t: ThreadRec, outcome: ProcessOutcome | null): void {
    const proc = t.proc;
    // A signal no thread caught ends the whole process (the first one wins).
    if (outcome?.kind === 'signal' && proc.fatal === null) {
      proc.fatal = outcome.detail !== undefined ? { siginfo: outcome.siginfo, detail: outcome.detail } : { siginfo: outcome.siginfo };
      if (t !== proc.leader) this.kill(proc);
    }
    if (t === proc.leader) void this.leaderEnded(proc, outcome);
  }

  /** The first thread is gone: the process is, once its other threads are. */
  private async leaderEnded(proc: ProcRec, outcome: ProcessOutcome | null): Promise<void> {
    for (const t of proc.threads.values()) if (t !== proc.leader) t.abort.abort();
    await Promise.allSettled([...proc.threads.values()].map((t) => t.done));
    this.setLoad(proc.pager, -1);
    let st: ProcessStatus;
    if (proc.fatal !== null) {
      st = { pid: proc.pid, signal: proc.fatal.siginfo.signal, siginfo: proc.fatal.siginfo };
      if (proc.fatal.detail !== undefined) st.detail = proc.fatal.detail;
    } else if (outcome === null || proc.killed) st = { pid: proc.pid, signal: 'SIGKILL', siginfo: SIGKILL_INFO };
    else if (outcome.kind === 'exit') st = outcome.exitCode !== undefined ? { pid: proc.pid, result: outcome.result, exitCode: outcome.exitCode } : { pid: proc.pid, result: outcome.result };
    else if (outcome.kind === 'error') st = { pid: proc.pid, error: fromWire(outcome.error as WireError) };
    else st = { pid: proc.pid, signal: outcome.siginfo.signal, siginfo: outcome.siginfo };
    this.finish(proc, st);
  }

  private finish(proc: ProcRec, st: ProcessStatus): void {
    proc.status = st;
    // A process nobody will wait for (it was not forked, or its parent is gone) leaves the table.
    const parent = [...this.procs.values()].find((p) => p.children.has(proc.pid));
    if (!parent) this.procs.delete(proc.pid);
    for (const c of proc.children.values()) if (c.status !== null) this.procs.delete(c.pid);
    proc.resolveExit(st);
  }

  // ------------------------------------------------------------------ requests from threads

  private answer(t: ThreadRec, a: HostAnswer): void {
    if (t.port === null) return;
    t.port.postMessage(a);
    const s = this.slots[t.slot];
    Atomics.add(s.status, S_HOSTSEQ, 1);
    Atomics.notify(s.status, S_HOSTSEQ);
  }

  private async hostRequest(t: ThreadRec, m: HostRequest & { id: number }): Promise<void> {
    const fail = (errno: number, detail: string) => this.answer(t, { id: m.id, errno, detail });
    const proc = t.proc;
    try {
      switch (m.op) {
        case 'thread': {
          if (this.closing) return fail(ERRNO.EAGAIN, 'the runtime is closing');
          const slot = this.free.pop();
          if (slot === undefined) return fail(ERRNO.EAGAIN, `no thread slot free (maxProcesses ${this.o.userSlots} counts every thread)`);
          const tid = this.nextId++;
          this.startThread(proc, tid, slot, proc.leader!.slot, m.url, m.args, new AbortController(), false);
          return this.answer(t, { id: m.id, errno: 0, value: tid });
        }
        case 'join': {
          const target = proc.threads.get(m.tid);
          if (target === undefined || target === proc.leader) return fail(ERRNO.ESRCH, `no thread ${m.tid} in pid ${proc.pid}`);
          if (target === t) return fail(ERRNO.EDEADLK, 'a thread cannot join itself');
          if (target.joined) return fail(ERRNO.ESRCH, `thread ${m.tid} was already joined`);
          const out = await target.done;
          if (out === null) return fail(ERRNO.ESRCH, `thread ${m.tid} was killed`);
          if (out.kind === 'exit') return this.answer(t, { id: m.id, errno: 0, value: out.result });
          if (out.kind === 'error') return this.answer(t, { id: m.id, errno: 0, value: out.error, thrown: true });
          return fail(ERRNO.ESRCH, `thread ${m.tid} died of ${out.siginfo.signal}`);
        }
        case 'joined': {
          const target = proc.threads.get(m.tid);
          if (target) {
            target.joined = true;
            proc.threads.delete(m.tid);
          }
          return;
        }
        case 'fork-reserve': {
          if (this.closing) return fail(ERRNO.EAGAIN, 'the runtime is closing');
          const slot = this.free.pop();
          if (slot === undefined) return fail(ERRNO.EAGAIN, `no process slot free (maxProcesses ${this.o.userSlots})`);
          const child = this.newProc(proc.url);
          proc.children.set(child.pid, child);
          child.forkSlot = slot;
          child.pager = choosePager(this.load);
          this.setLoad(child.pager, 1);
          // The parent's pager builds the child's address space: the child's slot is live for it,
          // with no thread yet.
          const s = this.slots[slot];
          Atomics.store(s.status, S_PID, child.pid);
          Atomics.store(s.status, S_TID, child.pid);
          Atomics.store(s.status, S_PAGER, child.pager);
          Atomics.store(s.status, S_VMSPACE, slot);
          Atomics.store(s.status, S_STATUS, STATUS_FORKING);
          return this.answer(t, { id: m.id, errno: 0, value: { slot, pid: child.pid } });
        }
        case 'fork-start': {
          const child = [...proc.children.values()].find((c) => c.forkSlot === m.child);
          if (!child) return fail(ERRNO.ESRCH, `no fork in progress for slot ${m.child}`);
          child.forkSlot = -1;
          child.url = m.url;
          this.startThread(child, child.pid, m.child, m.child, m.url, m.args, new AbortController(), true);
          return this.answer(t, { id: m.id, errno: 0 });
        }
        case 'fork-abort': {
          const child = [...proc.children.values()].find((c) => c.forkSlot === m.child);
          if (!child) return;
          proc.children.delete(child.pid);
          this.procs.delete(child.pid);
          this.setLoad(child.pager, -1);
          Atomics.store(this.slots[m.child].status, S_STATUS, STATUS_FREE);
          this.releaseSlot(m.child);
          return;
        }
        case 'wait': {
          const child = proc.children.get(m.pid);
          if (!child) return fail(ERRNO.ECHILD, `pid ${m.pid} is not a child of pid ${proc.pid} (or was waited for)`);
          const st = await child.exited;
          return this.answer(t, { id: m.id, errno: 0, value: wireStatus(st) });
        }
        case 'waited': {
          const child = proc.children.get(m.pid);
          if (child?.status) {
            proc.children.delete(m.pid);
            this.procs.delete(m.pid);
          }
          return;
        }
        case 'exit-group': {
          const others = [...proc.threads.values()].filter((x) => x !== t);
          for (const x of others) x.abort.abort();
          await Promise.allSettled(others.map((x) => x.done));
          return this.answer(t, { id: m.id, errno: 0 });
        }
      }
    } catch (e) {
      fail(ERRNO.EIO, describeThrown(e));
    }
  }

  /** Kill everything (close): every spawn, pending or running. */
  killAll(): void {
    this.closing = true;
    for (const a of this.pending) a.abort();
    for (const p of this.procs.values()) this.kill(p);
  }

  /** Every process's end. */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.procs.values()].map((p) => p.exited));
    for (const w of this.slotWaiters.splice(0)) w();
  }

  /** Pager p is gone for good: its processes die with SIGKILL. */
  lost(p: number): void {
    for (const proc of this.procs.values()) if (proc.pager === p) this.kill(proc);
  }

  get running(): number {
    return Atomics.load(this.run, RUN_ACTIVE);
  }
}

/** A status as plain data for a thread (an Error does not clone with its class). */
function wireStatus(st: ProcessStatus): unknown {
  if (!st.error) return st;
  return { ...st, error: { name: st.error.name, message: st.error.message, ...(st.error as unknown as Record<string, unknown>) } };
}

/** rt.run's outcome as a value or a rejection. */
export function statusToResult(st: ProcessStatus): unknown {
  if (st.signal) throw new ProcessSignalError(st.pid, st.siginfo ?? { ...SIGKILL_INFO, signal: st.signal }, st.detail);
  if (st.error) throw st.error;
  return st.result;
}
