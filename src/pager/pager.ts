/**
 * The pager: one long-lived thread that owns a set of address spaces and serves their requests.
 *
 * Service loop (piscina's worker habit): take every queued request at once from the pending
 * bitmap, serve them in slot order, reply to each; when nothing is queued, wait by the configured
 * strategy — spin, park in Atomics.wait on the doorbell, or spin briefly and then park (default).
 */
import { clockMs, initClock } from '../clock.js';
import type { DevHandle, Driver } from '../driver.js';
import { ERRNO } from '../errors.js';
import { KernelApi } from '../kernel.js';
import {
  C, D_ATTACHES, D_FREES, D_REFS, FLAG_STATS, FLAG_TRACE, INJECT_FAULT, INJECT_MMAP, INJECT_MUNMAP, INJECT_REPLY, LINE, P_ASSIGNED, P_INJECT, P_CALL_DEV, P_CALL_KIND, P_CALL_OFF_F64, P_CALL_SEQ,
  H_WAIT, P_CALL_SLOT, P_SERVING, headerView, aobjOf, P_SHUTDOWN, P_SLEEPING, PARK_GRANTED, PARK_GRANTED_OVERDUE, RUN_HELD, SLOT_PARKED, S_PAGER, S_STATUS, S_VMSPACE, STATUS_LIVE, pagerThread, type Layout,
} from '../layout.js';
import { PhysMem } from '../physmem.js';
import { H, ThreadStats, timedPark } from '../stats.js';
import { AnonObjects } from './aobj.js';
import { uvmFault } from './fault.js';
import { mmioAccess, type MmioRegion, compileRegions } from './mmio.js';
import { FAULT_SPECIAL } from './objects.js';
import { Pmap } from './pmap.js';
import {
  OP_EXIT, OP_FAULT, OP_FORK, OP_MADVISE, OP_MINHERIT, OP_MMAP, OP_MMIO, OP_MPROTECT, OP_MSYNC, OP_MUNMAP, OP_NOP, OP_PMAP_REMOVE, OP_REAP,
  OP_REVOKE, PagerViews, R_ARG, R_FLOW, R_OP, R_POST_TS, R_SEQ, R_WEIGHT, SlotViews, reply,
} from './protocol.js';
import { Shootdown } from './shootdown.js';
import { vmExit, vmFork, vmMadvise, vmMinherit, vmMmap, vmMprotect, vmMsync, vmMunmap, vmPmapRemove, vmRevoke } from './vmops.js';
import { VmMap } from './vmmap.js';
import { type WaitMode, WAIT_PARK, WAIT_SPIN } from '../wait.js';
import { OVERDUE_AFTER_MS, RunQueue } from './runqueue.js';
import { K_DEPTH, K_PARK, K_SERVE, K_SERVE_FAULT, K_WAKE, KIND_BITS, SHOOTDOWN_BY_HOST, TraceGate, TraceRing } from '../trace.js';

export interface PagerDevice {
  driver: Driver;
  handle: DevHandle;
  path: string;
}

/** What a fault on a register page answers (objects.ts FAULT_SPECIAL). */
export interface SpecialPage {
  kind: number;
  devOff: number;
  dev: number;
  prot: number;
}

export class Pager {
  readonly index: number;
  readonly layout: Layout;
  readonly phys: PhysMem;
  readonly kernel: KernelApi;
  readonly pmap: Pmap;
  readonly vmmap: VmMap;
  readonly slots: SlotViews[];
  readonly pv: PagerViews;
  readonly devices: PagerDevice[];
  readonly devWords: Int32Array;
  readonly stats: ThreadStats;
  readonly timing: boolean;
  readonly trace: TraceRing | null;
  /** H_WAIT: the wait strategy, which the host may change while no process exists */
  private readonly header: Int32Array;
  readonly spin: number;
  /** adaptive: polls before parking now, in [idleSpinMin, spin] (see idle) */
  private idleSpin: number;
  /** floor of idleSpin: min(pagerSpin, max(processes' spin, 64)) */
  private readonly idleSpinMin: number;
  private idleFails = 0;
  /** ms of 1 ms parks in a row with wake-ups queued and no request (runqueue.ts) */
  private quietMs = 0;
  private readonly runq: RunQueue;
  /** slots below this are processes'; the rest are the host's (one per pager) */
  private readonly userSlots: number;
  private readonly warned = new Set<string>();
  private readonly napWord = new Int32Array(new SharedArrayBuffer(4));
  readonly shootdown: Shootdown;
  readonly aobjs: AnonObjects;
  /** set by a fault on a register page (FAULT_SPECIAL) */
  readonly special: SpecialPage = { kind: 0, devOff: 0, dev: 0, prot: 0 };
  /** the device offset d_mmap refused when an mmap failed (vmMmap), else -1 */
  refused = -1;
  /** each device's register regions, sorted */
  private readonly mmio: (MmioRegion[] | null)[];
  /** the slot whose request is being served (the watchdog names it) */
  private serving = -1;
  /** the pending word of the batch being served, and its requests not yet served (inRequest) */
  private takenWord = -1;
  private takenBits = 0;
  /** P_CALL_SEQ as this pager last wrote it: odd while it runs driver code */
  private callSeq = 0;
  /** the device index and offset of the last d_mmap call (objects.ts): what a traced fault names */
  faultDev = -1;
  faultOff = 0;
  /** the request being served is traced (its process opened it: a flow id): d_mmap may be timed */
  tracing = false;
  /** traced d_mmap calls modulo DMMAP_SAMPLE (objects.ts) */
  dmmapSeq = 0;
  /** when tracing: which bursts are traced (trace.ts) */
  readonly gate: TraceGate | null;
  /** the queue depth last traced: a depth event is written only when it changes */
  private tracedDepth = 0;

  constructor(sab: SharedArrayBuffer, layout: Layout, index: number, devices: PagerDevice[], tlbs: readonly SharedArrayBuffer[]) {
    initClock(sab);
    this.index = index;
    this.layout = layout;
    const thread = pagerThread(index);
    this.phys = new PhysMem(sab, layout, thread);
    this.kernel = new KernelApi(this.phys);
    this.pmap = new Pmap(this.phys, (pfn, anon) => this.shootdown.retire(pfn, anon));
    this.devWords = new Int32Array(sab, layout.devicesOff, layout.maxDevices * (LINE / 4));
    this.aobjs = new AnonObjects(this.phys, layout);
    this.vmmap = new VmMap(layout.mapEntries, (obj, delta) => (obj >= 0 ? this.devRef(obj, delta) : this.aobjs.ref(aobjOf(obj), delta)));
    this.slots = [];
    for (let i = 0; i < layout.maxProcs; i++) this.slots.push(new SlotViews(sab, layout, i));
    this.pv = new PagerViews(sab, layout, index);
    this.devices = devices;
    this.stats = new ThreadStats(sab, layout, thread);
    this.trace = (layout.flags & FLAG_TRACE) !== 0 ? new TraceRing(sab, layout, thread) : null;
    this.gate = this.trace !== null ? new TraceGate(sab, layout) : null;
    this.timing = (layout.flags & FLAG_STATS) !== 0 || this.trace !== null;
    this.header = headerView(sab);
    this.spin = layout.pagerSpin;
    this.idleSpin = this.spin;
    this.idleSpinMin = Math.min(this.spin, Math.max(layout.spin, 64));
    this.userSlots = layout.maxProcs - layout.pagers;
    this.runq = new RunQueue(new Int32Array(sab, layout.runOff, 2), this.slots, layout.spinBudget, this.stats.counters, this.trace, this.timing, layout.maxProcs - layout.pagers);
    this.shootdown = new Shootdown(tlbs, this.slots, this.pv, this.phys, this.stats.counters, this.timing, this.trace, (t) => this.inRequest(t));
    this.mmio = devices.map((d) => compileRegions(d.driver));
    Atomics.store(this.pv.watch, P_CALL_SLOT, -1);
    // A pager that died in driver code left the word odd, and the host made it even again; start
    // from an even value whatever happened.
    const seq = Atomics.load(this.pv.watch, P_CALL_SEQ);
    this.callSeq = (seq + (seq & 1)) | 0;
    Atomics.store(this.pv.watch, P_CALL_SEQ, this.callSeq);
  }

  /**
   * Thread `t` waits in a request to this pager — queued in the pending bitmap, taken with the
   * batch being served, or the one being served — so it touches no memory until the reply. Its
   * post (an Atomics.or) came after all its earlier accesses, and reading the bitmap, or having
   * taken the bit with Atomics.exchange, synchronises with that post (shootdown.ts, `passed`).
   */
  inRequest(t: number): boolean {
    if (t === this.serving) return true;
    const w = t >>> 5;
    const bit = 1 << (t & 31);
    if (w === this.takenWord && (this.takenBits & bit) !== 0) return true;
    return (Atomics.load(this.pv.pending, w) & bit) !== 0;
  }

  /** The register region of device `dev` containing `off`, or null (a RAM page). */
  mmioRegion(dev: number, off: number): MmioRegion | null {
    const rs = this.mmio[dev];
    if (rs === null) return null;
    for (let i = 0; i < rs.length; i++) if (off >= rs[i].offset && off < rs[i].end) return rs[i];
    return null;
  }

  /**
   * Driver code starts: the host's watchdog sees P_CALL_SEQ odd and, if it stays so past
   * driverTimeoutMs, replaces this pager and signals the slot named here (runtime/watchdog.ts).
   */
  callStart(dev: number, off: number, kind: number): void {
    const w = this.pv.watch;
    w[P_CALL_KIND] = kind;
    w[P_CALL_SLOT] = this.serving;
    w[P_CALL_DEV] = dev;
    this.pv.callOff[P_CALL_OFF_F64] = off;
    // Plain stores, in order, of a word only this thread writes while it lives: the watchdog
    // samples it every few milliseconds and needs to see it odd for driverTimeoutMs, not at once.
    // An Atomics.add here would be a call into the engine on every d_mmap, inside every fault.
    this.callSeq = (this.callSeq + 1) | 0;
    w[P_CALL_SEQ] = this.callSeq;
  }

  callEnd(): void {
    this.callSeq = (this.callSeq + 1) | 0;
    this.pv.watch[P_CALL_SEQ] = this.callSeq;
  }

  /** uvm_device reference counting: udv_attach/udv_reference (+1), udv_detach (-1). */
  private devRef(dev: number, delta: number): void {
    const base = dev * (LINE / 4);
    const before = Atomics.add(this.devWords, base + D_REFS, delta);
    if (delta > 0 && before === 0) Atomics.add(this.devWords, base + D_ATTACHES, 1);
    if (delta < 0 && before === 1) Atomics.add(this.devWords, base + D_FREES, 1);
  }

  driverBug(dev: number, off: number, prot: number, what: string): void {
    this.stats.counters[C.driverBugs]++;
    const d = this.devices[dev];
    const key = `${dev}:${what.split(' ').slice(0, 2).join(' ')}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    if (what.startsWith('mmio ')) console.warn(`devpager: driver bug in ${d.path} at device offset 0x${off.toString(16)}: ${what}; the access raises SIGSEGV (counted in stats().totals.driverBugs)`);
    else console.warn(`devpager: driver bug in ${d.path} d_mmap(off=0x${off.toString(16)}, prot=${prot}): ${what}; treated as -1 (counted in stats().totals.driverBugs)`);
  }

  private internalError(op: number, e: unknown): void {
    this.stats.counters[C.driverBugs]++;
    if (this.warned.has('internal')) return;
    this.warned.add('internal');
    let m: string;
    try {
      m = e instanceof Error ? (e.stack ?? e.message) : String(e);
    } catch {
      m = 'a value that cannot be printed';
    }
    console.warn(`devpager: pager ${this.index}: request ${op} failed and was answered EIO: ${m}`);
  }

  /** ENOMEM during a fault: give other threads a moment to free memory (no pagedaemon here). */
  waitForMemory(): void {
    Atomics.wait(this.napWord, 0, 0, 1);
  }

  /**
   * A replacement for a pager that died: everything it owned is in the arena except its run
   * queue. Threads it had answered but not yet woken are queued again (RUN_HELD counted them
   * once already); what is still queued in the pending bitmap is simply served.
   */
  takeOver(): void {
    const found: [number, number][] = [];
    for (let i = 0; i < this.userSlots; i++) {
      const t = this.slots[i];
      if (Atomics.load(t.status, S_STATUS) !== STATUS_LIVE || Atomics.load(t.status, S_PAGER) !== this.index) continue;
      const parked = Atomics.load(t.parked, SLOT_PARKED);
      if (parked > 0 && Atomics.load(t.done, 0) === parked && parked !== PARK_GRANTED && parked !== PARK_GRANTED_OVERDUE) found.push([i, parked]);
    }
    const run = new Int32Array(this.phys.sab, this.layout.runOff, 2);
    const held = Atomics.load(run, RUN_HELD);
    Atomics.sub(run, RUN_HELD, Math.min(held, found.length));
    for (const [slot, seq] of found) this.runq.answered(slot, seq);
    Atomics.store(this.pv.watch, P_SERVING, -1);
  }

  /** Fault injection (layout.ts P_INJECT): die here if the host asked for this point, n times on. */
  private inject(kind: number): void {
    const ctl = this.pv.control;
    for (;;) {
      const w = Atomics.load(ctl, P_INJECT);
      if (w >>> 24 !== kind) return;
      const n = w & 0xffffff;
      if (Atomics.compareExchange(ctl, P_INJECT, w, n <= 1 ? 0 : w - 1) !== w) continue;
      if (n <= 1) process.exit(70);
      return;
    }
  }

  /** MMIO read results: the value (low 32 bits) and, for 8 bytes, the high 32 bits. */
  readonly mmioResult = new Float64Array(2);

  private fromHost(slot: number): boolean {
    return slot >= this.slots.length - this.layout.pagers;
  }

  private userSlot(x: number): boolean {
    return Number.isInteger(x) && x >= 0 && x < this.userSlots;
  }

  /** The live address spaces this pager owns. */
  private addressSpaces(): SlotViews[] {
    const out: SlotViews[] = [];
    for (let i = 0; i < this.userSlots; i++) {
      const t = this.slots[i];
      if (Atomics.load(t.status, S_STATUS) === STATUS_LIVE && Atomics.load(t.status, S_VMSPACE) === i && Atomics.load(t.status, S_PAGER) === this.index) out.push(t);
    }
    return out;
  }

  /** Serve until the host asks us to stop. Never returns early on bad requests. */
  run(): void {
    const pending = this.pv.pending;
    const words = pending.length;
    const c = this.stats.counters;
    for (;;) {
      let depth = 0;
      for (let w = 0; w < words; w++) {
        if (Atomics.load(pending, w) === 0) continue;
        let bits = Atomics.exchange(pending, w, 0);
        this.takenWord = w;
        while (bits !== 0) {
          const b = bits & -bits;
          bits ^= b;
          depth++;
          this.takenBits = bits;
          this.serve(w * 32 + 31 - Math.clz32(b));
        }
      }
      this.takenWord = -1;
      if (depth > 0) {
        this.quietMs = 0;
        if (this.runq.length > 0) this.runq.dispatch();
        c[C.rounds]++;
        if (depth > c[C.maxQueueDepth]) c[C.maxQueueDepth] = depth;
        if (this.trace !== null && depth !== this.tracedDepth && this.gate!.open()) {
          this.tracedDepth = depth;
          this.trace.emit(K_DEPTH, clockMs(), 0, depth, 0);
        }
        continue;
      }
      if (Atomics.load(this.pv.control, P_SHUTDOWN) !== 0) return;
      this.idle();
    }
  }

  private anyPending(): boolean {
    const pending = this.pv.pending;
    for (let w = 0; w < pending.length; w++) if (Atomics.load(pending, w) !== 0) return true;
    return false;
  }

  private idle(): void {
    const c = this.stats.counters;
    const control = this.pv.control;
    const runq = this.runq;
    // A pager nobody is assigned to parks whatever the strategy: spinning would only take a core.
    const mode = Atomics.load(control, P_ASSIGNED) === 0 ? WAIT_PARK : (Atomics.load(this.header, H_WAIT) as WaitMode);
    // Adaptive: the spin halves each time no request came in time and doubles back each time
    // one did, between the processes' `spin` and `pagerSpin`. A pager sharing one CPU with the
    // process it just answered only delays that process by spinning (see Process.postAndWait).
    const limit = mode === WAIT_PARK ? 0 : mode === WAIT_SPIN ? this.spin : this.idleSpin;
    const spun = this.spinIdle(mode, limit);
    if (spun >= 0) {
      c[C.spins] += spun;
      if (mode !== WAIT_SPIN) {
        this.idleFails = 0;
        if (this.idleSpin < this.spin) this.idleSpin = Math.min(this.spin, this.idleSpin * 2);
      }
      return;
    }
    if (mode === WAIT_SPIN) return; // shutting down, or no process left: run() decides
    c[C.spins] += limit;
    // Every 32nd unanswered spin in a row tries the full length again (see Process.postAndWait).
    if (mode !== WAIT_PARK) this.idleSpin = ++this.idleFails % 32 === 0 ? this.spin : Math.max(this.idleSpinMin, this.idleSpin >> 1);
    // Dekker with the requesters (protocol.ts): announce, re-check, then sleep. With wake-ups
    // held, sleep 1 ms at a time, counting how long no request came (OVERDUE_AFTER_MS).
    const { sleeping, doorbell } = this.pv;
    Atomics.store(sleeping, P_SLEEPING, 1);
    const d = Atomics.load(doorbell, 0);
    if (!this.anyPending() && Atomics.load(control, P_SHUTDOWN) === 0) {
      const r = timedPark(this.stats, this.timing, this.trace, K_PARK, doorbell, 0, d, runq.length > 0 ? 1 : Infinity);
      if (r === 'timed-out' && runq.length > 0) {
        // Wake-ups wait and no request came for a millisecond: first take the CPU of threads
        // that hold one without using devpager; failing that, wake one beyond `cpus`.
        if (runq.preemptQuiet() === 0 && ++this.quietMs >= OVERDUE_AFTER_MS) {
          this.quietMs = 0;
          runq.grantOverdue();
        }
      }
    }
    Atomics.store(sleeping, P_SLEEPING, 0);
    if (runq.length > 0) runq.dispatch();
  }

  /**
   * Poll for work up to `limit` times (for ever in spin mode). Returns the polls made before work
   * arrived, or -1. The loop lives in a function of its own, apart from the parking code after
   * it: V8 compiles a long loop on-stack (OSR), and code that the first compiled loop had never
   * reached would deoptimise it each time the pager goes to sleep, and keep V8's compiler
   * threads recompiling it (docs/experiments/processes-beyond-the-cpus.md).
   */
  private spinIdle(mode: WaitMode, limit: number): number {
    const control = this.pv.control;
    const runq = this.runq;
    for (let i = 0; mode === WAIT_SPIN || i < limit; i++) {
      if (this.anyPending()) return i;
      // A CPU may come free without a request (a process exits, or blocks in wait32).
      if (runq.length > 0) runq.dispatch();
      if (mode === WAIT_SPIN && (i & 1023) === 1023 && (Atomics.load(control, P_SHUTDOWN) !== 0 || Atomics.load(control, P_ASSIGNED) === 0)) return -1;
    }
    return -1;
  }

  /**
   * Serve one request. A request the requester timed (post time > 0: 1 in `sample`, or all when
   * tracing) is timed here too: queue wait and service, and busy time scaled by the sampling
   * interval (the weight the requester gives it). Reading the clock is not free, so untimed
   * requests read it not at all (docs/experiments/what-stats-cost.md).
   */
  private serve(slot: number): void {
    const s = this.slots[slot];
    // A thread that died mid-request leaves its bit behind; its slot is no longer live.
    if (Atomics.load(s.status, S_STATUS) !== STATUS_LIVE) return;
    const sd = this.shootdown;
    // Set by the host before the thread's first request, whose post synchronises with us.
    const vm = this.slots[s.status[S_VMSPACE]];
    const req = s.req;
    const posted = req[R_POST_TS];
    const timed = posted > 0;
    // A process traces a request by giving it a flow id (0: not traced).
    const flow = this.trace !== null ? req[R_FLOW] : 0;
    this.tracing = flow !== 0;
    if (this.gate !== null) this.gate.count();
    const t0 = timed ? clockMs() : 0;
    const c = this.stats.counters;
    c[C.requests]++;
    const op = req[R_OP];
    if (timed) {
      const waited = (t0 - posted) * 1e6;
      c[C.queueWaitNs] += waited * req[R_WEIGHT];
      c[C.timed]++;
      this.stats.record(H.queueWait, waited);
    }
    if (this.trace !== null) {
      sd.flow = flow;
      sd.op = op;
    }
    this.serving = slot;
    this.pv.watch[P_SERVING] = slot;
    // Frames in limbo go as soon as they can, whichever request comes next: this request waits
    // for it, so it counts in its service (and in reclaimNs).
    if (sd.waiting > 0) sd.reclaim();
    const a = R_ARG;
    let val = 0;
    let err = 0;
    let pte = 0;
    let aux = 0;
    try {
      switch (op) {
        case OP_FAULT: {
          c[C.faultsServed]++;
          this.faultDev = -1;
          this.pmap.entered = 0;
          const va = req[a];
          err = uvmFault(this, vm, va, req[a + 1], slot);
          if (err === FAULT_SPECIAL) {
            // A register page: no PTE; the thread sends every access here from now on.
            const sp = this.special;
            err = 0;
            val = sp.kind | (sp.prot << 2);
            pte = sp.devOff - (sp.devOff % 4096);
            aux = sp.dev;
          } else if (err === 0) {
            // The reply carries the PTE, so the thread need not read the table we just wrote.
            pte = this.pmap.entered !== 0 ? this.pmap.entered : this.pmap.lookup(vm, va);
          }
          // A PTE replaced by this fault (a copy-on-write copy, a new frame from d_mmap): the
          // other threads must not keep the old frame.
          if (sd.holding > 0) {
            const vpn = Math.floor(va / 4096);
            sd.invalidate(vm, vpn, vpn + 1, 0, slot);
            sd.finish(vm, slot);
          }
          break;
        }
        case OP_MMAP: {
          c[C.syscalls]++;
          const r = vmMmap(this, vm, slot, req[a], req[a + 1], req[a + 2], req[a + 3], req[a + 4], req[a + 5], req[a + 6]);
          if (r < 0) {
            err = -r;
            // the device offset d_mmap refused and the protection it was asked with, for the message
            pte = this.refused;
            val = req[a + 6];
          } else val = r;
          break;
        }
        case OP_MUNMAP:
          c[C.syscalls]++;
          err = vmMunmap(this, vm, slot, req[a], req[a + 1]);
          break;
        case OP_MPROTECT:
          c[C.syscalls]++;
          err = vmMprotect(this, vm, slot, req[a], req[a + 1], req[a + 2]);
          break;
        case OP_MADVISE:
          c[C.syscalls]++;
          err = vmMadvise(this, vm, slot, req[a], req[a + 1], req[a + 2]);
          break;
        case OP_MSYNC:
          c[C.syscalls]++;
          err = vmMsync(this, vm, req[a], req[a + 1]);
          break;
        case OP_MINHERIT:
          c[C.syscalls]++;
          err = vmMinherit(this, vm, req[a], req[a + 1], req[a + 2]);
          break;
        case OP_PMAP_REMOVE:
          val = vmPmapRemove(this, vm, slot, req[a], req[a + 1]);
          break;
        case OP_MMIO:
          c[C.mmio]++;
          err = mmioAccess(this, vm, req[a], req[a + 1], req[a + 2], req[a + 3], req[a + 4]);
          val = this.mmioResult[0];
          pte = this.mmioResult[1];
          break;
        case OP_FORK: {
          c[C.syscalls]++;
          const child = req[a];
          err = this.userSlot(child) ? vmFork(this, vm, slot, this.slots[child]) : ERRNO.EINVAL;
          break;
        }
        case OP_EXIT:
          this.runq.purge(slot, false);
          // The first thread's exit ends the address space; by then the host has ended the others.
          if (vm === s) vmExit(this, vm);
          break;
        case OP_REAP: {
          const target = req[a];
          // Only the host's slots (the last `pagers` of them) may reap another slot.
          if (this.fromHost(slot) && this.userSlot(target)) {
            this.runq.purge(target, true);
            const t = this.slots[target];
            if (Atomics.load(t.status, S_VMSPACE) === target) vmExit(this, t);
          } else err = ERRNO.EINVAL;
          break;
        }
        case OP_REVOKE:
          // No process waits for a revoke, so no request traces it; with tracing on, its
          // shootdowns are traced all the same (a revoke is rare, and exists for them).
          if (this.trace !== null) sd.flow = SHOOTDOWN_BY_HOST;
          if (this.fromHost(slot)) val = vmRevoke(this, this.addressSpaces(), req[a], req[a + 1], req[a + 2]);
          else err = ERRNO.EINVAL;
          break;
        case OP_NOP:
          break;
        default:
          err = ERRNO.ENOSYS;
      }
    } catch (e) {
      // No request may take the pager down: whatever escaped (a bug of ours, or of a driver in a
      // way dmmap did not catch) fails this request alone, and is reported once.
      err = ERRNO.EIO;
      this.internalError(op, e);
      sd.finish(vm, slot);
    }
    this.serving = -1;
    // Read plainly, as a hint (inject() takes it with a CAS): an injection the host asks for
    // happens at this point or at a later one, and an Atomics call on every request would cost
    // every fault.
    if (this.pv.control[P_INJECT] !== 0) this.inject(op === OP_FAULT ? INJECT_FAULT : op === OP_MMAP ? INJECT_MMAP : op === OP_MUNMAP ? INJECT_MUNMAP : 0);
    // Everything the accounting needs from the request line is read before the reply: once `done`
    // holds the sequence number, the thread may post its next request there and park on it, and
    // waking it for this reply would hand it an answer it does not have (test/pager-stress.test.ts).
    const seq = req[R_SEQ];
    const weight = req[R_WEIGHT];
    const va = req[a];
    const parked = reply(s, seq, val, err, pte, aux);
    // Cleared only after the reply is out: a pager found dead with P_SERVING set left that request unanswered.
    this.pv.watch[P_SERVING] = -1;
    if (parked !== 0 && this.pv.control[P_INJECT] !== 0) this.inject(INJECT_REPLY);
    // The end of a timed service is read after the reply, so the clock read is not on the
    // requester's critical path.
    let t1 = 0;
    if (timed) {
      t1 = clockMs();
      const ns = (t1 - t0) * 1e6;
      this.stats.record(H.service, ns);
      c[C.busyNs] += ns * weight;
      if (flow !== 0) {
        if (op === OP_FAULT) this.trace!.emit(K_SERVE_FAULT + (this.faultDev + 1) * 2 ** KIND_BITS, t0, t1 - t0, this.faultDev >= 0 ? this.faultOff : va, flow);
        else this.trace!.emit(K_SERVE, t0, t1 - t0, op, flow);
      }
    }
    if (parked === 0) return;
    if (slot >= this.userSlots) {
      Atomics.notify(s.done, 0, 1); // the host waits on `done` (Atomics.waitAsync)
      c[C.wakeups]++;
      if (this.trace !== null) this.trace.emit(K_WAKE, t1 === 0 ? clockMs() : t1, 0, slot, 0);
    } else if (parked === seq) {
      this.runq.answered(slot, seq);
    }
  }
}
