/**
 * The process: what a program's `main(p, ...args)` receives. Memory access through a software
 * TLB, page faults sent to the owning pager, and the process half of the system calls.
 *
 * The TLB (v86's software MMU, DESIGN.md 3) is two flat Int32Arrays private to the worker thread,
 * indexed by virtual page number over the 32-bit user address space: tlbR for reads, tlbW for
 * writes, each holding pfn+1 for a hit. A hit is one load, one test and one shift/or into the
 * arena view: no object, no Map, no allocation, no Atomics call. Everything else — a miss, a
 * misaligned or out-of-range address, a page without the right permission — falls into one slow
 * path, `translate`. A miss is one of two values: TLB_UNKNOWN (0), where the page table may hold
 * a PTE the TLB lacks, so `translate` reads it first; or TLB_ABSENT (-1), where this process
 * knows there is none, so `translate` faults at once.
 *
 * Invalidation: only this process's own munmap/mprotect/madvise/pmapRemove remove its PTEs (each
 * address space belongs to one process; see pager/fault.ts), so the process drops the affected TLB
 * range itself, in one batch, when the call returns. Nothing else can hold those entries. And only
 * its own faults enter PTEs (no fault-around), each filling the TLB from the reply, so a range
 * whose PTEs this process removed stays TLB_ABSENT until it faults there. That matters for speed:
 * the PTE it would read on a miss shares a cache line with the 15 PTEs around it, which the pager
 * writes on the next faults, so each such read pulled the line from the pager's core and the
 * pager's next PTE store pulled it back (BENCHMARKS.md, "What made the fault faster").
 */
import { clockMs } from '../clock.js';
import {
  MADV_FREE, MAP_ANON, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MS_ASYNC, MS_INVALIDATE, MS_SYNC, O_RDONLY,
  O_WRONLY, PAGE_SIZE, PROT_ALL, PROT_EXEC, PROT_READ, PROT_WRITE, VM_MAXUSER_ADDRESS,
} from '../constants.js';
import { ERRNO, SignalError, SyscallError, badType, errnoName, type ErrnoName, type SigInfo } from '../errors.js';
import {
  C, E_END, E_OBJ, E_START, ENTRY_F64, OBJ_ANON, RUN_ACTIVE, RUN_HELD, SLOT_PARKED,
  SLOT_PARK_KIND, SLOT_RUNNING, SLOT_SPINNING, PARK_GRANTED_OVERDUE, PARK_LATE, PARK_OVERDUE, PARK_YIELD, type Layout,
} from '../layout.js';
import { PTE_PROT, PTE_VALID, pteLoad } from '../pager/pmap.js';
import { SELF_WAKE_MS } from '../pager/runqueue.js';
import { entryIndex } from '../pager/vmmap.js';
import {
  OP_EXIT, OP_FAULT, OP_MADVISE, OP_MMAP, OP_MPROTECT, OP_MSYNC, OP_MUNMAP, OP_PMAP_REMOVE, PagerViews, R_ARG, R_FLOW, R_OP,
  R_POST_TS, R_SEQ, R_WEIGHT, RES_ERR, RES_PTE, RES_VAL, SlotViews, post, ringIfSleeping,
} from '../pager/protocol.js';
import { H, timedPark, type ThreadStats } from '../stats.js';
import { K_FAULT, K_PARK, K_SYSCALL, TraceGate, type TraceRing } from '../trace.js';
import { WAIT_PARK, WAIT_SPIN, type WaitMode } from '../wait.js';

const VPAGES = VM_MAXUSER_ADDRESS / PAGE_SIZE;
const FREAD = 1;
const FWRITE = 2;
const MAX_FDS = 64;

export interface DeviceEntry {
  path: string;
  index: number;
}

interface OpenFile {
  dev: number;
  mode: number; // FREAD | FWRITE
}

/**
 * Poll `done` until it holds `seq`, at most `limit` times. Returns the polls made, or -1. A leaf
 * of its own so that V8's on-stack compilation of the loop never covers the caller's cold
 * parking code (see Pager.spinIdle).
 */
function spinFor(done: Int32Array, seq: number, limit: number): number {
  for (let i = 0; i < limit; i++) if (Atomics.load(done, 0) === seq) return i;
  return -1;
}

/** TLB miss: the page table may hold a PTE (read it before faulting). */
const TLB_UNKNOWN = 0;
/** TLB miss: this process removed every PTE here since (or never faulted here): fault at once. */
const TLB_ABSENT = -1;

/** What an exited Process translates through: always a miss, so every access reaches the exit check. */
let DEAD_TLB: Int32Array | null = null;

/** Per worker thread: views and TLB arrays built once and reused by every process it runs. */
export class MachineViews {
  readonly m8: Uint8Array;
  readonly m16: Uint16Array;
  readonly m32: Uint32Array;
  readonly m32i: Int32Array;
  readonly m64: BigInt64Array;
  readonly tlbR = new Int32Array(VPAGES);
  readonly tlbW = new Int32Array(VPAGES);
  /**
   * Entries outside [dirtyLo, dirtyHi) are TLB_ABSENT in both arrays, so a new process resets
   * only the range its predecessors wrote: filling both 4 MiB arrays made every spawn cost ~1 ms
   * of memset, twice (at start and at exit), and 16 spawned at once ~30 ms. New arrays are all 0.
   */
  dirtyLo = 0;
  dirtyHi = VPAGES;
  /** the run line (layout.ts RUN_*) */
  readonly run: Int32Array;
  /** every pager's control block: a process that frees a CPU rings those asleep */
  readonly pagers: readonly PagerViews[];
  constructor(readonly sab: SharedArrayBuffer, readonly layout: Layout) {
    this.run = new Int32Array(sab, layout.runOff, 2);
    this.pagers = Array.from({ length: layout.pagers }, (_, i) => new PagerViews(sab, layout, i));
    const off = layout.framesOff;
    const bytes = layout.frames * PAGE_SIZE;
    this.m8 = new Uint8Array(sab, off, bytes);
    this.m16 = new Uint16Array(sab, off, bytes / 2);
    this.m32 = new Uint32Array(sab, off, bytes / 4);
    this.m32i = new Int32Array(sab, off, bytes / 4);
    this.m64 = new BigInt64Array(sab, off, bytes / 8);
  }

  /** Every TLB entry TLB_ABSENT again: a new address space has no PTE anywhere. */
  resetTlb(): void {
    if (this.dirtyLo < this.dirtyHi) {
      this.tlbR.fill(TLB_ABSENT, this.dirtyLo, this.dirtyHi);
      this.tlbW.fill(TLB_ABSENT, this.dirtyLo, this.dirtyHi);
    }
    this.dirtyLo = VPAGES;
    this.dirtyHi = 0;
  }

  /** Entries [lo, hi) may now hold something other than TLB_ABSENT. */
  dirty(lo: number, hi: number): void {
    if (lo < this.dirtyLo) this.dirtyLo = lo;
    if (hi > this.dirtyHi) this.dirtyHi = hi;
  }
}

export class Process {
  readonly pid: number;
  // Hot fields first; they are read on every access.
  // Not readonly: at exit they are swapped for the all-zero DEAD_TLB (see exit()).
  protected tlbR: Int32Array;
  protected tlbW: Int32Array;
  /** this worker thread's TLB arrays and their dirty range */
  private readonly mv: MachineViews;
  protected readonly m8: Uint8Array;
  protected readonly m16: Uint16Array;
  protected readonly m32: Uint32Array;
  protected readonly m32i: Int32Array;
  protected readonly m64: BigInt64Array;
  protected readonly counters: Float64Array;
  private readonly slot: SlotViews;
  private readonly pager: PagerViews;
  private readonly stats: ThreadStats;
  private readonly timing: boolean;
  private readonly wait: WaitMode;
  private readonly spin: number;
  /** polls before parking while no process waits for a CPU: adapts in [spin, loneSpinMax] */
  private loneSpin: number;
  private readonly loneSpinMax: number;
  /** floor of loneSpin: max(spin, 64), so that doubling can climb back from it */
  private readonly loneSpinMin: number;
  /** unanswered long spins in a row */
  private spinFails = 0;
  private readonly devices: readonly DeviceEntry[];
  private readonly fds: (OpenFile | null)[] = [];
  private readonly ptes: Int32Array;
  private readonly trace: TraceRing | null;
  /** when tracing: whether this request falls in a traced burst (trace.ts) */
  private readonly gate: TraceGate | null;
  private readonly spinners: Int32Array;
  private readonly spinBudget: number;
  private readonly sampleMask: number;
  private readonly run: Int32Array;
  private readonly allPagers: readonly PagerViews[];
  private readonly quantum: number;
  /** requests left before this process yields its CPU to a held waiter (runqueue.ts) */
  private quantumLeft: number;
  /** this quantum was given beyond `cpus` (the holders went quiet): its parks are not held */
  private overdue = false;
  private flowSeq = 0;
  /** sequence number of this process's last request (continues the slot's, see constructor) */
  private seq: number;
  /** @internal set when the process must die whatever the program does (SIGKILL). */
  killed: SigInfo | null = null;
  private exited = false;

  constructor(pid: number, mv: MachineViews, slot: SlotViews, pager: PagerViews, stats: ThreadStats, devices: readonly DeviceEntry[], timing: boolean, wait: WaitMode, spin: number, trace: TraceRing | null) {
    this.pid = pid;
    this.trace = trace;
    this.gate = trace !== null ? new TraceGate(mv.sab, mv.layout) : null;
    this.tlbR = mv.tlbR;
    this.tlbW = mv.tlbW;
    this.m8 = mv.m8;
    this.m16 = mv.m16;
    this.m32 = mv.m32;
    this.m32i = mv.m32i;
    this.m64 = mv.m64;
    this.ptes = mv.m32i;
    this.slot = slot;
    this.pager = pager;
    this.stats = stats;
    this.counters = stats.counters;
    this.timing = timing;
    this.wait = wait;
    this.spin = spin;
    this.loneSpinMax = Math.max(spin, mv.layout.pagerSpin);
    this.loneSpin = this.loneSpinMax;
    this.loneSpinMin = Math.min(this.loneSpinMax, Math.max(spin, 64));
    this.devices = devices;
    this.spinners = new Int32Array(mv.sab, mv.layout.spinnersOff, 1);
    // A slot outlives its processes: numbering continues from the last request the pager served.
    this.seq = Atomics.load(slot.done, 0);
    // Flow ids (seq * 2048 + slot) then stay unique per slot across its processes.
    this.flowSeq = this.seq;
    this.spinBudget = mv.layout.spinBudget;
    this.sampleMask = mv.layout.sample - 1;
    this.run = mv.run;
    this.allPagers = mv.pagers;
    this.quantum = mv.layout.quantum;
    this.quantumLeft = this.quantum;
    this.mv = mv;
    mv.resetTlb();
    // A new process runs: it holds a CPU until it parks (runqueue.ts).
    Atomics.store(slot.parked, SLOT_PARKED, 0);
    this.takeCpu();
  }

  // ------------------------------------------------------------------ memory access (hot)

  load8(va: number): number {
    const f = this.tlbR[va >>> 12];
    if (f > 0 && va === va >>> 0) return this.m8[(f - 1) * 4096 + (va & 4095)];
    return this.m8[this.translate(va, PROT_READ, 1)];
  }

  load16(va: number): number {
    const f = this.tlbR[va >>> 12];
    if (f > 0 && (va & 1) === 0 && va === va >>> 0) return this.m16[((f - 1) << 11) | ((va & 4095) >>> 1)];
    return this.m16[this.translate(va, PROT_READ, 2) >>> 1];
  }

  load32(va: number): number {
    const f = this.tlbR[va >>> 12];
    if (f > 0 && (va & 3) === 0 && va === va >>> 0) return this.m32[((f - 1) << 10) | ((va & 4095) >>> 2)];
    return this.m32[this.translate(va, PROT_READ, 4) / 4];
  }

  load64(va: number): bigint {
    const f = this.tlbR[va >>> 12];
    if (f > 0 && (va & 7) === 0 && va === va >>> 0) return this.m64[((f - 1) << 9) | ((va & 4095) >>> 3)];
    return this.m64[this.translate(va, PROT_READ, 8) / 8];
  }

  store8(va: number, v: number): void {
    const f = this.tlbW[va >>> 12];
    if (f > 0 && va === va >>> 0) this.m8[(f - 1) * 4096 + (va & 4095)] = v;
    else this.m8[this.translate(va, PROT_WRITE, 1)] = v;
  }

  store16(va: number, v: number): void {
    const f = this.tlbW[va >>> 12];
    if (f > 0 && (va & 1) === 0 && va === va >>> 0) this.m16[((f - 1) << 11) | ((va & 4095) >>> 1)] = v;
    else this.m16[this.translate(va, PROT_WRITE, 2) >>> 1] = v;
  }

  store32(va: number, v: number): void {
    const f = this.tlbW[va >>> 12];
    if (f > 0 && (va & 3) === 0 && va === va >>> 0) this.m32[((f - 1) << 10) | ((va & 4095) >>> 2)] = v;
    else this.m32[this.translate(va, PROT_WRITE, 4) / 4] = v;
  }

  store64(va: number, v: bigint): void {
    if (typeof v !== 'bigint') throw badType('store64 value', 'a bigint', v);
    const f = this.tlbW[va >>> 12];
    if (f > 0 && (va & 7) === 0 && va === va >>> 0) this.m64[((f - 1) << 9) | ((va & 4095) >>> 3)] = v;
    else this.m64[this.translate(va, PROT_WRITE, 8) / 8] = v;
  }

  /** Copy from virtual memory; crosses pages, faulting each as needed. */
  read(va: number, dst: Uint8Array): Uint8Array {
    if (!(dst instanceof Uint8Array)) throw badType('read dst', 'a Uint8Array', dst);
    for (let done = 0; done < dst.length; ) {
      const pa = this.translate(va + done, PROT_READ, 1);
      const n = Math.min(dst.length - done, PAGE_SIZE - (pa % PAGE_SIZE));
      dst.set(this.m8.subarray(pa, pa + n), done);
      done += n;
    }
    return dst;
  }

  write(va: number, src: Uint8Array): void {
    if (!(src instanceof Uint8Array)) throw badType('write src', 'a Uint8Array', src);
    for (let done = 0; done < src.length; ) {
      const pa = this.translate(va + done, PROT_WRITE, 1);
      const n = Math.min(src.length - done, PAGE_SIZE - (pa % PAGE_SIZE));
      this.m8.set(src.subarray(done, done + n), pa);
      done += n;
    }
  }

  // Atomics on mapped memory: real Atomics on the arena, so processes and the host can synchronise.
  atomicAdd32(va: number, v: number): number {
    return Atomics.add(this.m32, this.translate(va, PROT_WRITE, 4) / 4, v);
  }

  cas32(va: number, expected: number, v: number): number {
    return Atomics.compareExchange(this.m32, this.translate(va, PROT_WRITE, 4) / 4, expected >>> 0, v >>> 0);
  }

  atomicLoad32(va: number): number {
    return Atomics.load(this.m32, this.translate(va, PROT_READ, 4) / 4);
  }

  atomicStore32(va: number, v: number): number {
    return Atomics.store(this.m32, this.translate(va, PROT_WRITE, 4) / 4, v);
  }

  wait32(va: number, v: number, timeoutMs?: number): 'ok' | 'not-equal' | 'timed-out' {
    const i = this.translate(va, PROT_READ, 4) / 4;
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs))) throw badType('wait32 timeoutMs', 'a number of milliseconds', timeoutMs);
    // Blocked, this thread needs no CPU: let a held process have it meanwhile.
    this.releaseCpu();
    try {
      return Atomics.wait(this.m32i, i, v | 0, timeoutMs);
    } finally {
      this.takeCpu();
    }
  }

  notify32(va: number, count?: number): number {
    return Atomics.notify(this.m32i, this.translate(va, PROT_READ, 4) / 4, count);
  }

  /**
   * The slow path of every access: check the address, consult the PTE, fault if it does not allow
   * the access, fill the TLB, and return the physical byte address. Throws the signal an access
   * that cannot be satisfied raises.
   */
  protected translate(va: number, access: number, size: number): number {
    if (typeof va !== 'number') throw badType('virtual address', 'a number', va);
    if (va !== va >>> 0) {
      if (!Number.isInteger(va)) throw badType('virtual address', 'an integer', va);
      throw new SignalError('SIGSEGV', 'SEGV_MAPERR', va, 'address outside the 32-bit user address space');
    }
    if ((va & (size - 1)) !== 0) throw new SignalError('SIGBUS', 'BUS_ADRALN', va);
    if (this.exited) throw this.afterExit();
    if (this.killed !== null) throw this.stillKilled();
    const c = this.counters;
    c[C.tlbMisses]++;
    // The PTE as this process last saw it: from the table on a plain miss, none where the TLB
    // knows there is none, and from the fault's reply after a fault (the pager sends the PTE it
    // entered, saving a read of a line it just wrote).
    let pte = (access === PROT_READ ? this.tlbR : this.tlbW)[va >>> 12] === TLB_ABSENT ? 0 : pteLoad(this.ptes, this.slot.l1, va);
    for (let tries = 0; ; tries++) {
      // x86: a page entered writable is also readable (reference (e), hardware note).
      const rights = pte & PTE_PROT;
      const ok = (pte & PTE_VALID) !== 0 && (access === PROT_READ ? (rights & (PROT_READ | PROT_WRITE)) !== 0 : (rights & access) === access);
      if (ok) {
        const vpn = va >>> 12;
        const pfn = pte >>> 5;
        this.mv.dirty(vpn, vpn + 1);
        if ((rights & (PROT_READ | PROT_WRITE)) !== 0) this.tlbR[vpn] = pfn + 1;
        if ((rights & PROT_WRITE) !== 0) this.tlbW[vpn] = pfn + 1;
        return pfn * PAGE_SIZE + (va & 4095);
      }
      if (tries > 2) throw new Error(`devpager internal error: fault at 0x${va.toString(16)} resolved but PTE 0x${pte.toString(16)} still denies access ${access}`);
      const err = this.fault(va, access);
      if (err !== 0) throw this.signalFor(err, va);
      pte = this.slot.res[RES_PTE];
    }
  }

  private signalFor(err: number, va: number): SignalError {
    // amd64 trap.c: EINVAL -> SIGBUS/BUS_ADRERR; EACCES -> SIGSEGV/SEGV_ACCERR; ENOMEM -> SIGKILL;
    // anything else (EFAULT, EIO) -> SIGSEGV/SEGV_MAPERR.
    switch (err) {
      case ERRNO.EINVAL:
        return new SignalError('SIGBUS', 'BUS_ADRERR', va);
      case ERRNO.EACCES:
        return new SignalError('SIGSEGV', 'SEGV_ACCERR', va);
      case ERRNO.ENOMEM: {
        const e = new SignalError('SIGKILL', 'SI_KERNEL', va, `UVM: pid ${this.pid} killed: out of swap`);
        this.kill(e.toSigInfo());
        return e;
      }
      default:
        return new SignalError('SIGSEGV', 'SEGV_MAPERR', va, err === ERRNO.EIO ? 'the device pager could not map this page (d_mmap returned -1)' : undefined);
    }
  }

  private fault(va: number, access: number): number {
    const s = this.slot;
    const req = s.req;
    req[R_ARG] = va;
    req[R_ARG + 1] = access;
    req[R_OP] = OP_FAULT;
    const n = ++this.counters[C.faults];
    if (this.gate !== null) {
      // While tracing, the stats come from the traced bursts, each request weighted by the
      // share traced: 16 times the samples of 1 in 256, at no extra cost.
      if (this.gate.open()) return this.tracedCall(this.gate.every());
      req[R_FLOW] = 0; // neither traced nor timed, by the pager either
      req[R_POST_TS] = 0;
      return this.postAndWait(s);
    }
    if (!this.timing || (n & this.sampleMask) !== 0) {
      req[R_POST_TS] = 0; // not timed, by the pager either
      return this.postAndWait(s);
    }
    // Sampled faults alternate between two kinds, so that no measured window contains the other
    // side's clock reads (~90 ns each): even samples time the round trip here, with the pager
    // reading no clock; odd samples let the pager time queue wait and service (post time set).
    const weight = 2 * (this.sampleMask + 1);
    if (((n / (this.sampleMask + 1)) & 1) === 1) {
      req[R_POST_TS] = clockMs();
      req[R_WEIGHT] = weight;
      return this.postAndWait(s);
    }
    req[R_POST_TS] = 0;
    const t0 = clockMs();
    const err = this.postAndWait(s);
    this.faultTime((clockMs() - t0) * 1e6, weight);
    return err;
  }

  private faultTime(ns: number, weight: number): void {
    this.stats.record(H.fault, ns);
    this.counters[C.waitNs] += ns * weight;
    this.counters[C.timed]++;
  }

  /**
   * SIGKILL cannot be caught: once killed, the process's TLB is the all-zero one, so every access
   * reaches the slow path, and every access and system call throws SIGKILL again. The worker
   * reports the process as killed however the program ends.
   */
  private kill(info: SigInfo): void {
    this.killed = info;
    DEAD_TLB ??= new Int32Array(VPAGES);
    this.tlbR = DEAD_TLB;
    this.tlbW = DEAD_TLB;
  }

  private stillKilled(): SignalError {
    const k = this.killed!;
    return new SignalError('SIGKILL', 'SI_KERNEL', k.addr, `pid ${this.pid} was killed`);
  }

  /**
   * A Process kept past its program's end (a timer, a stored reference) must not touch the slot or
   * the TLB that the worker's next process now owns.
   */
  private afterExit(): Error {
    return new Error(`process ${this.pid} has exited: its Process object can no longer be used`);
  }

  /** Post the request already in the slot and wait for the reply. Returns the errno (0 = ok). */
  private call(): number {
    if (this.exited) throw this.afterExit();
    if (this.killed !== null && this.slot.req[R_OP] !== OP_EXIT) throw this.stillKilled();
    const req = this.slot.req;
    if (this.gate !== null) {
      if (this.gate.open()) return this.tracedCall(1);
      req[R_FLOW] = 0;
    }
    req[R_POST_TS] = this.timing ? clockMs() : 0; // system calls: every one is timed
    req[R_WEIGHT] = 1;
    return this.postAndWait(this.slot);
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
    const err = this.postAndWait(s);
    const t1 = clockMs();
    ring.emit(op === OP_FAULT ? K_FAULT : K_SYSCALL, t0, t1 - t0, arg, flow);
    if (op === OP_FAULT) this.faultTime((t1 - t0) * 1e6, weight);
    return err;
  }

  /**
   * Number the request, ring, and wait until the pager has stored that number in `done`: spin (by
   * the strategy), then park. Returns the reply's errno.
   */
  private postAndWait(s: SlotViews): number {
    // Sequence numbers are positive: while parked, the park state holds the one awaited.
    const seq = (this.seq + 1) & 0x7fffffff || 1;
    this.seq = seq;
    s.req[R_SEQ] = seq;
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
    if (--this.quantumLeft <= 0) {
      this.quantumLeft = this.quantum;
      this.overdue = false;
      if (Atomics.load(this.run, RUN_HELD) !== 0) {
        // Our quantum is over and answered processes wait for a CPU: park before posting, so that
        // the pager queues our wake-up behind theirs and gives our CPU to the oldest.
        c[C.yields]++;
        return this.park(s, seq, false);
      }
    }
    post(s, this.pager);
    if (mode !== WAIT_PARK) {
      // Adaptive. Within the `cpus` (RUN_ACTIVE <= spinBudget) this process holds one of the
      // CPUs the pagers leave, so it spins the long spin: a park would only let that CPU idle
      // and cost a wake-up. The long spin adapts: it halves each time it ends without the answer
      // and doubles back each time the answer comes, between max(spin, 64) and
      // max(spin, pagerSpin). (When this thread and its pager share one CPU, the pager cannot
      // answer while we spin; fixed 170 µs spins made each fault cost ~0.5 ms, taskset -c 0.)
      // Such spinners number at most the `cpus`, so they are not counted: the fast path writes
      // no shared word. Beyond the `cpus` (all processes starting at once, an overdue grant) a
      // spin keeps the CPU from the others: spin `spin` polls (a few µs), and only while fewer
      // than spinBudget such waiters do. The slot's spinning flag (line 6, plain stores, read by
      // the host only after this thread died) lets a reap give back a killed spinner's place.
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
        // the two threads no longer share a CPU (a whole runtime stayed at ~20k faults/s).
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
    parked[SLOT_PARK_KIND] = !posted ? PARK_YIELD : this.overdue ? PARK_OVERDUE : PARK_LATE;
    Atomics.store(parked, SLOT_PARKED, seq);
    Atomics.sub(run, RUN_ACTIVE, 1);
    parked[SLOT_RUNNING] = 0;
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
    // The quantum goes on: it restarts only when it ran out (postAndWait) or with an overdue
    // grant (beOverdue). (Restarting it at every late answer let a process that often parked
    // keep its CPU for ever: fairness 0.00 at 16 processes.)
    return s.res[RES_ERR];
  }

  /** Give our CPU back while blocked outside devpager's requests (wait32, exit). */
  private releaseCpu(): void {
    if (this.slot.parked[SLOT_RUNNING] === 0) return;
    Atomics.sub(this.run, RUN_ACTIVE, 1);
    this.slot.parked[SLOT_RUNNING] = 0;
    if (Atomics.load(this.run, RUN_HELD) === 0) return;
    // A pager holding a wake-up may be asleep: ring it so it hands the CPU on now.
    for (const p of this.allPagers) ringIfSleeping(p);
  }

  private takeCpu(): void {
    if (this.slot.parked[SLOT_RUNNING] !== 0) return;
    Atomics.add(this.run, RUN_ACTIVE, 1);
    this.slot.parked[SLOT_RUNNING] = 1;
  }

  private syscall(name: string, op: number, a: number, b: number, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    this.counters[C.syscalls]++;
    const req = this.slot.req;
    const x = R_ARG;
    req[x] = a;
    req[x + 1] = b;
    req[x + 2] = c;
    req[x + 3] = d;
    req[x + 4] = e;
    req[x + 5] = f;
    req[x + 6] = g;
    req[R_OP] = op;
    const err = this.call();
    if (err !== 0) throw new SyscallError(name, errnoName(err));
    return this.slot.res[RES_VAL];
  }

  /**
   * Drop TLB entries for [sva, eva) in one batch: after our own unmap/protect returns. `to` is
   * TLB_ABSENT where the call removed every PTE of the range, TLB_UNKNOWN where some may remain.
   * Counts the entries that held a translation.
   */
  private invalidate(sva: number, eva: number, to: number): void {
    const tr = this.tlbR;
    const tw = this.tlbW;
    let n = 0;
    const last = Math.min(eva, VM_MAXUSER_ADDRESS) / PAGE_SIZE;
    if (to !== TLB_ABSENT) this.mv.dirty(sva / PAGE_SIZE, last);
    for (let vpn = sva / PAGE_SIZE; vpn < last; vpn++) {
      if (tr[vpn] > 0 || tw[vpn] > 0) n++;
      tr[vpn] = to;
      tw[vpn] = to;
    }
    this.counters[C.tlbShootdowns] += n;
  }

  // ------------------------------------------------------------------ files

  open(path: string, flags: number = O_RDONLY): number {
    if (typeof path !== 'string') throw badType('open path', 'a string', path);
    int('open flags', flags);
    const acc = flags & 3;
    if (acc === 3) throw new SyscallError('open', 'EINVAL', 'O_ACCMODE 3');
    const d = this.devices.find((x) => x.path === path);
    if (!d) throw new SyscallError('open', 'ENOENT', path);
    let fd = this.fds.indexOf(null);
    if (fd < 0) fd = this.fds.length;
    if (fd >= MAX_FDS) throw new SyscallError('open', 'EMFILE');
    this.fds[fd] = { dev: d.index, mode: acc === O_RDONLY ? FREAD : acc === O_WRONLY ? FWRITE : FREAD | FWRITE };
    return fd;
  }

  close(fd: number): void {
    if (!this.validFd(fd)) throw new SyscallError('close', 'EBADF', String(fd));
    // close(2) does not unmap: the uvm_device holds no file reference (reference (d)).
    this.fds[fd] = null;
  }

  private validFd(fd: number): boolean {
    return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 && fd < this.fds.length && this.fds[fd] !== null;
  }

  // ------------------------------------------------------------------ VM system calls

  /** mmap(2), with NetBSD's checks in NetBSD's order (reference (b)). */
  mmap(addr: number | null, len: number, prot: number, flags: number, fd = -1, off = 0): number {
    const a = addr ?? 0;
    num('mmap addr', a);
    num('mmap len', len);
    int('mmap prot', prot);
    int('mmap flags', flags);
    int('mmap fd', fd);
    num('mmap off', off);
    prot &= PROT_ALL;
    if ((flags & (MAP_SHARED | MAP_PRIVATE)) === (MAP_SHARED | MAP_PRIVATE)) throw new SyscallError('mmap', 'EINVAL', 'MAP_SHARED and MAP_PRIVATE both set');
    if (len === 0 && !(flags & MAP_ANON)) throw new SyscallError('mmap', 'EINVAL', 'len is 0');
    if (len < 0) throw new SyscallError('mmap', 'ENOMEM', 'len does not fit the address space');
    const pageoff = ((off % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
    const pos = off - pageoff;
    const size = Math.ceil((len + pageoff) / PAGE_SIZE) * PAGE_SIZE;
    if (size > VM_MAXUSER_ADDRESS) throw new SyscallError('mmap', 'ENOMEM', 'len does not fit the address space');
    let where = a;
    if (flags & MAP_FIXED) {
      where = a - pageoff;
      if (where % PAGE_SIZE !== 0) throw new SyscallError('mmap', 'EINVAL', 'MAP_FIXED address not page aligned');
      if (where < 0) throw new SyscallError('mmap', 'EINVAL', 'address below VM_MIN_ADDRESS');
      if (where + size > VM_MAXUSER_ADDRESS) throw new SyscallError('mmap', 'EFBIG', 'range ends past VM_MAXUSER_ADDRESS');
    }
    let obj = OBJ_ANON;
    let maxprot = PROT_ALL;
    let mflags = flags;
    if (flags & MAP_ANON) {
      if (fd !== -1) throw new SyscallError('mmap', 'EINVAL', 'MAP_ANON with fd != -1');
      if (len === 0) return where; // uvm_mmap: size 0 maps nothing
    } else {
      if (!this.validFd(fd)) throw new SyscallError('mmap', 'EBADF', String(fd));
      const file = this.fds[fd]!;
      // vn_mmap (VCHR): no type -> MAP_SHARED; MAP_PRIVATE silently becomes MAP_SHARED.
      mflags = (flags & ~MAP_PRIVATE) | MAP_SHARED;
      maxprot = PROT_EXEC;
      if (file.mode & FREAD) maxprot |= PROT_READ;
      else if (prot & PROT_READ) throw new SyscallError('mmap', 'EACCES', 'PROT_READ on a descriptor not open for reading');
      if (file.mode & FWRITE) maxprot |= PROT_WRITE;
      else if (prot & PROT_WRITE) throw new SyscallError('mmap', 'EACCES', 'PROT_WRITE of a shared mapping on a descriptor not open for writing');
      obj = file.dev;
    }
    const start = this.syscall('mmap', OP_MMAP, where, size, prot, mflags, obj, pos, maxprot);
    // A new mapping has no PTE yet (MAP_FIXED removed those of what it replaced).
    this.invalidate(start, start + size, TLB_ABSENT);
    return start + pageoff;
  }

  /** Page-round [addr, addr+len) as the kernel does; null when len rounds to nothing. */
  private range(name: string, addr: number, len: number, errno: ErrnoName): [number, number] | null {
    num(`${name} addr`, addr);
    num(`${name} len`, len);
    const pageoff = ((addr % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
    const sva = addr - pageoff;
    const size = Math.ceil((len + pageoff) / PAGE_SIZE) * PAGE_SIZE;
    if (len < 0 || sva < 0 || sva + size > VM_MAXUSER_ADDRESS) throw new SyscallError(name, errno, 'range outside the user address space');
    if (size === 0) return null;
    return [sva, sva + size];
  }

  munmap(addr: number, len: number): void {
    const r = this.range('munmap', addr, len, 'EINVAL');
    if (!r) return; // len 0 is a no-op, not EINVAL
    this.syscall('munmap', OP_MUNMAP, r[0], r[1]);
    this.invalidate(r[0], r[1], TLB_ABSENT);
  }

  mprotect(addr: number, len: number, prot: number): void {
    int('mprotect prot', prot);
    const r = this.range('mprotect', addr, len, 'EINVAL');
    if (!r) return;
    try {
      this.syscall('mprotect', OP_MPROTECT, r[0], r[1], prot & PROT_ALL);
    } finally {
      this.invalidate(r[0], r[1], TLB_UNKNOWN); // lowered PTEs stay
    }
  }

  madvise(addr: number, len: number, advice: number): void {
    int('madvise advice', advice);
    if (advice < 0 || advice > MADV_FREE || advice === 5) throw new SyscallError('madvise', 'EINVAL', `advice ${advice}`);
    const r = this.range('madvise', addr, len, 'EINVAL');
    if (!r) return;
    this.syscall('madvise', OP_MADVISE, r[0], r[1], advice);
    if (advice === MADV_FREE) this.invalidate(r[0], r[1], TLB_UNKNOWN); // device PTEs stay
  }

  msync(addr: number, len: number, flags: number = MS_SYNC): void {
    int('msync flags', flags);
    // sys___msync13: unknown bits, no bit at all, or ASYNC with SYNC are all EINVAL.
    const known = MS_ASYNC | MS_SYNC | MS_INVALIDATE;
    if ((flags & ~known) !== 0 || (flags & known) === 0 || ((flags & MS_ASYNC) && (flags & MS_SYNC))) {
      throw new SyscallError('msync', 'EINVAL', `flags 0x${(flags >>> 0).toString(16)}`);
    }
    const r = this.range('msync', addr, len, 'ENOMEM');
    let sva: number;
    let eva: number;
    if (r) [sva, eva] = r;
    else {
      // len 0: the whole entry containing addr (NetBSD msync)
      const i = this.entryAt(addr - (((addr % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE));
      if (i < 0) throw new SyscallError('msync', 'ENOMEM');
      sva = this.slot.entries[i * ENTRY_F64 + E_START];
      eva = this.slot.entries[i * ENTRY_F64 + E_END];
    }
    this.syscall('msync', OP_MSYNC, sva, eva, flags);
  }

  /**
   * mincore(2): device pages are always resident (reference (c)); anonymous pages are resident
   * once touched. Read straight from the map and page tables, which only our pager writes.
   */
  mincore(addr: number, len: number): Uint8Array {
    num('mincore addr', addr);
    num('mincore len', len);
    if (addr % PAGE_SIZE !== 0 || addr < 0) throw new SyscallError('mincore', 'EINVAL', 'addr not page aligned');
    const eva = addr + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
    if (len <= 0 || eva <= addr) throw new SyscallError('mincore', 'EINVAL', 'empty range');
    if (eva > VM_MAXUSER_ADDRESS) throw new SyscallError('mincore', 'ENOMEM');
    const vec = new Uint8Array((eva - addr) / PAGE_SIZE);
    for (let va = addr, k = 0; va < eva; va += PAGE_SIZE, k++) {
      const i = this.entryAt(va);
      if (i < 0) throw new SyscallError('mincore', 'ENOMEM', `0x${va.toString(16)} is not mapped`);
      if (this.slot.entries[i * ENTRY_F64 + E_OBJ] !== OBJ_ANON) vec[k] = 1;
      else vec[k] = pteLoad(this.ptes, this.slot.l1, va) & PTE_VALID ? 1 : 0;
    }
    return vec;
  }

  private entryAt(va: number): number {
    return entryIndex(this.slot.entries, this.slot.nentries, va);
  }

  /**
   * Extension (not in NetBSD's syscall table): make the pmap forget the device PTEs of a range, as
   * a real pmap may at any time. The mapping stays; the next access faults and calls d_mmap again.
   * Returns the number of PTEs removed. Used by the `refault` benchmark.
   */
  pmapRemove(addr: number, len: number): number {
    const r = this.range('pmapRemove', addr, len, 'EINVAL');
    if (!r) return 0;
    const n = this.syscall('pmapRemove', OP_PMAP_REMOVE, r[0], r[1]);
    // Device PTEs are gone; anonymous ones stay (vmPmapRemove). Our map is ours to read between
    // our own requests; gaps hold no PTE and no TLB entry already.
    const e = this.slot.entries;
    for (let i = 0, ne = this.slot.nentries; i < ne; i++) {
      const b = i * ENTRY_F64;
      const sva = Math.max(r[0], e[b + E_START]);
      const eva = Math.min(r[1], e[b + E_END]);
      if (sva < eva) this.invalidate(sva, eva, e[b + E_OBJ] === OBJ_ANON ? TLB_UNKNOWN : TLB_ABSENT);
    }
    return n;
  }

  /** @internal exit: the pager tears the address space down. Idempotent. */
  exit(): void {
    if (this.exited) return;
    this.slot.req[R_OP] = OP_EXIT;
    this.call();
    this.releaseCpu();
    this.exited = true;
    // The worker's arrays are left as they are: the next process resets the range we dirtied.
    DEAD_TLB ??= new Int32Array(VPAGES);
    this.tlbR = DEAD_TLB;
    this.tlbW = DEAD_TLB;
  }
}

/**
 * With countAccesses on, every access is counted: the subclass adds one increment in front of the
 * TLB probe and is only instantiated then, so a runtime without it pays nothing on a hit (the
 * increment roughly doubles a hit's cost: bench/tlb.ts). The slow path always counts misses;
 * hits are accesses minus misses (runtime-stats.ts does the subtraction).
 */
export class CountingProcess extends Process {
  override load8(va: number): number {
    this.counters[C.accesses]++;
    return super.load8(va);
  }
  override load16(va: number): number {
    this.counters[C.accesses]++;
    return super.load16(va);
  }
  override load32(va: number): number {
    this.counters[C.accesses]++;
    return super.load32(va);
  }
  override load64(va: number): bigint {
    this.counters[C.accesses]++;
    return super.load64(va);
  }
  override store8(va: number, v: number): void {
    this.counters[C.accesses]++;
    super.store8(va, v);
  }
  override store16(va: number, v: number): void {
    this.counters[C.accesses]++;
    super.store16(va, v);
  }
  override store32(va: number, v: number): void {
    this.counters[C.accesses]++;
    super.store32(va, v);
  }
  override store64(va: number, v: bigint): void {
    this.counters[C.accesses]++;
    super.store64(va, v);
  }
}

function num(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw badType(name, 'a number', v);
  if (!Number.isInteger(v)) throw badType(name, 'an integer', v);
}
function int(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badType(name, 'an integer', v);
}
