/**
 * TLB shootdown without interrupts, and the reuse of frames that other threads may still reach.
 *
 * A worker thread cannot be interrupted, and a thread in a loop of TLB hits never asks the
 * kernel anything. So a pager that removes or lowers translations of an address space with
 * several threads (munmap, mprotect, madvise, pmapRemove, a copy-on-write copy, fork, revoke):
 *
 *   1. changes the PTEs (pmap.ts), holding back the frames they pointed to (`retire`);
 *   2. for every other thread of the address space: bumps its S_INVSEQ, then stores the new
 *      entry value into its TLB over the range (the thread's TLB is a SharedArrayBuffer of its
 *      own, process/tlb.ts) — so a thread's next access misses, and a fill the thread raced
 *      with this is seen by the thread and undone (process/access.ts);
 *   3. bumps its epoch (P_EPOCH) and tags the held-back frames with it.
 *
 * When the call returns, no thread can take a new access through the old translation: it was
 * overwritten before the reply, and the reply is what the caller synchronises with. An access
 * already under way — a thread that loaded the old entry and was preempted before it touched
 * memory — may still land in the old frame, and that is harmless only while the frame is not
 * reused. Hence step 3: a frame tagged with epoch e is freed (or unreferenced) once every other
 * thread of the address space either waits in a request (its post came after its last access:
 * it is queued with this pager or in its hands, or it published OBS_IN_KERNEL in S_OBS because
 * it parked or blocked) or has published an epoch >= e in S_OBS (it passed a slow path since,
 * process/requester.ts). A thread that never leaves its loop of hits only delays reuse (the
 * frames wait in `limbo`); it never blocks the caller and never keeps the old translation. This
 * is epoch-based reclamation (RadixVM, LATR).
 * A process with a single thread pays nothing: the caller waits in its request, so the frames go
 * at once, and it drops its own entries itself when the reply comes.
 *
 * What it costs shows in the stats (counted by the pager that does it): `shootdownOps` operations
 * that reached another thread, `shootdowns` threads reached, `shootdownNs` the time the pager
 * spent writing their TLBs while the initiator waited (the clock is read only once a call finds
 * another thread), `limboFrames`, and `reclaimNs`, the time freeing them later. When the request
 * being served is traced (`flow`), each thread reached is one K_SHOOTDOWN event in the pager's
 * ring, timed by the clock reads that time the stats; untraced, nothing more is read or written.
 */
import { C, OBS_IN_KERNEL, P_EPOCH, S_INVSEQ, S_OBS, S_STATUS, S_TLB_HI, S_TLB_LO, STATUS_LIVE, VPAGES } from '../layout.js';
import { clockMs } from '../clock.js';
import type { PhysMem } from '../physmem.js';
import { K_SHOOTDOWN, KIND_BITS, type TraceRing } from '../trace.js';
import { hasOtherThreads, type PagerViews, type SlotViews } from './protocol.js';

export class Shootdown {
  private readonly r: Int32Array[];
  private readonly w: Int32Array[];
  // Frames held back during the current operation: the first `held` entries. The arrays keep
  // their size between operations, so that a munmap of n pages does not regrow them every time.
  private readonly heldPfn: number[] = [];
  private readonly heldAnon: boolean[] = [];
  private held = 0;
  // Frames waiting for the other threads of their address space, oldest first: pfn, anon.
  private limboPfn: number[] = [];
  private limboAnon: boolean[] = [];
  // The same frames in batches, one per operation that held some back, oldest first: the
  // address-space slot, the epoch, and how many frames. Epochs grow, and a thread that has not
  // passed epoch e has passed no later one: so once a batch of an address space must wait, every
  // later batch of it must too, and a reclaim that frees nothing costs one check per address
  // space, not one per frame.
  private batchVm: number[] = [];
  private batchEpoch: number[] = [];
  private batchLen: number[] = [];
  /** address spaces found waiting during one reclaim, and the first epoch each waits for */
  private blocked: number[] = [];
  private blockedAt: number[] = [];
  /** an invalidation of the operation under way reached another thread (finish counts the operation) */
  private touched = false;
  /**
   * Set by the pager per request when tracing: the request's flow id (0: not traced; always 0
   * when tracing is off) and op, which the K_SHOOTDOWN events carry.
   */
  flow = 0;
  op = 0;

  constructor(
    tlbs: readonly SharedArrayBuffer[],
    private readonly slots: readonly SlotViews[],
    private readonly pv: PagerViews,
    private readonly phys: PhysMem,
    private readonly counters: Float64Array,
    private readonly timing: boolean,
    private readonly trace: TraceRing | null,
    /** thread `t` waits in a request to this pager (Pager.inRequest) */
    private readonly inRequest: (t: number) => boolean,
  ) {
    this.r = tlbs.map((b) => new Int32Array(b, 0, VPAGES));
    this.w = tlbs.map((b) => new Int32Array(b, VPAGES * 4, VPAGES));
  }

  /** pmap's release: hold the frame back until the operation ends (finish) or later. */
  retire(pfn: number, anon: boolean): void {
    this.heldPfn[this.held] = pfn;
    this.heldAnon[this.held] = anon;
    this.held++;
  }

  private free(pfn: number, anon: boolean): void {
    if (anon) this.phys.anonUnref(pfn);
    else this.phys.mapUnref(pfn);
  }


  /**
   * Take the translations of [svpn, evpn) from every thread of `vm` but `self` (-1: all of them):
   * their entries become `to` (TLB_ABSENT or TLB_UNKNOWN); with `writesOnly`, only write entries
   * go (to TLB_UNKNOWN). Returns the threads touched.
   */
  invalidate(vm: SlotViews, svpn: number, evpn: number, to: number, self: number, writesOnly = false): number {
    const words = vm.threads;
    const flow = this.flow;
    // Clock reads (stats or trace on): at the first other thread, then after each one when traced.
    let t0 = 0;
    let ts = 0;
    let n = 0;
    for (let wi = 0; wi < words.length; wi++) {
      let bits = Atomics.load(words, wi);
      while (bits !== 0) {
        const b = bits & -bits;
        bits ^= b;
        const t = wi * 32 + 31 - Math.clz32(b);
        if (t === self || t >= this.r.length) continue;
        if (n === 0 && this.timing) ts = t0 = clockMs();
        const s = this.slots[t];
        Atomics.add(s.inv, S_INVSEQ, 1);
        // The thread publishes its range before it fills beyond it (Tlb.extend).
        const lo = Math.max(svpn, Atomics.load(s.spinning, S_TLB_LO));
        const hi = Math.min(evpn, Atomics.load(s.spinning, S_TLB_HI));
        const r = this.r[t];
        const w = this.w[t];
        for (let vpn = lo; vpn < hi; vpn++) {
          if (!writesOnly && r[vpn] !== 0 && r[vpn] !== to) Atomics.store(r, vpn, to);
          if (w[vpn] !== 0 && w[vpn] !== to) Atomics.store(w, vpn, writesOnly ? 0 : to);
        }
        n++;
        if (flow !== 0) {
          const t1 = clockMs();
          this.trace!.emit(K_SHOOTDOWN + this.op * 2 ** KIND_BITS, ts, t1 - ts, t, flow);
          ts = t1;
        }
      }
    }
    if (n === 0) return 0;
    this.touched = true;
    this.counters[C.shootdowns] += n;
    if (this.timing) this.counters[C.shootdownNs] += ((flow !== 0 ? ts : clockMs()) - t0) * 1e6;
    return n;
  }

  /**
   * The operation on `vm` is over and its translations are gone from the other threads: let the
   * held-back frames go now if no other thread could still reach them, else tag them with a new
   * epoch and keep them in limbo.
   */
  finish(vm: SlotViews, self: number): void {
    if (this.touched) {
      this.touched = false;
      this.counters[C.shootdownOps]++;
    }
    const n = this.held;
    if (n === 0) return;
    // Emptied first: a free that throws (a kernel bug) must not leave frames to be freed twice.
    this.held = 0;
    if (!hasOtherThreads(vm, self)) {
      for (let i = 0; i < n; i++) this.free(this.heldPfn[i], this.heldAnon[i]);
    } else {
      const e = Atomics.add(this.pv.epoch, P_EPOCH, 1) + 1;
      for (let i = 0; i < n; i++) {
        this.limboPfn.push(this.heldPfn[i]);
        this.limboAnon.push(this.heldAnon[i]);
      }
      this.batchVm.push(vm.index);
      this.batchEpoch.push(e);
      this.batchLen.push(n);
      this.counters[C.limboFrames] += n;
    }
  }

  /** frames held back by the operation under way */
  get holding(): number {
    return this.held;
  }

  get waiting(): number {
    return this.limboPfn.length;
  }

  /** Free what no thread can reach any more. Cheap when nothing waits, or nothing can go yet. */
  reclaim(): void {
    const nb = this.batchVm.length;
    if (nb === 0) return;
    const blocked = this.blocked;
    blocked.length = 0;
    this.blockedAt.length = 0;
    let free = false;
    for (let i = 0; i < nb; i++) {
      const vm = this.batchVm[i];
      if (blocked.indexOf(vm) >= 0) continue;
      if (this.passed(vm, this.batchEpoch[i])) free = true;
      else {
        blocked.push(vm);
        this.blockedAt.push(this.batchEpoch[i]);
      }
    }
    if (!free) return;
    // Timed only when something goes: a reclaim that finds every batch waiting (each request's,
    // while a thread stays in its loop of hits) costs a check per address space, and no clock.
    const t0 = this.timing ? clockMs() : 0;
    this.release(-1);
    if (this.timing) this.counters[C.reclaimNs] += (clockMs() - t0) * 1e6;
  }

  /**
   * Free the frames of the batches of address space `only`, or (-1) of every batch that reclaim
   * found passed (its address space not blocked at or before its epoch); keep the others, in
   * order, compacted to the front.
   */
  private release(only: number): void {
    const nb = this.batchVm.length;
    let keptB = 0;
    let keptF = 0;
    let f = 0;
    for (let i = 0; i < nb; i++) {
      const vm = this.batchVm[i];
      const len = this.batchLen[i];
      let go: boolean;
      if (only >= 0) go = vm === only;
      else {
        const b = this.blocked.indexOf(vm);
        go = b < 0 || this.batchEpoch[i] < this.blockedAt[b];
      }
      if (go) {
        for (let k = f; k < f + len; k++) this.free(this.limboPfn[k], this.limboAnon[k]);
      } else {
        if (keptF !== f) {
          for (let k = 0; k < len; k++) {
            this.limboPfn[keptF + k] = this.limboPfn[f + k];
            this.limboAnon[keptF + k] = this.limboAnon[f + k];
          }
        }
        this.batchVm[keptB] = vm;
        this.batchEpoch[keptB] = this.batchEpoch[i];
        this.batchLen[keptB] = len;
        keptB++;
        keptF += len;
      }
      f += len;
    }
    this.limboPfn.length = keptF;
    this.limboAnon.length = keptF;
    this.batchVm.length = keptB;
    this.batchEpoch.length = keptB;
    this.batchLen.length = keptB;
  }

  /**
   * The address space's threads all waited in a request or passed epoch e since: S_OBS says so
   * (an epoch >= e, or OBS_IN_KERNEL for a thread parked or blocked), or the thread's request is
   * queued with this pager or in its hands. A thread that spins for its reply publishes nothing
   * until the reply, so that the fault path writes no shared word on the way in.
   */
  private passed(vmSlot: number, e: number): boolean {
    const vm = this.slots[vmSlot];
    if (Atomics.load(vm.status, S_STATUS) !== STATUS_LIVE) return true;
    const words = vm.threads;
    for (let wi = 0; wi < words.length; wi++) {
      let bits = Atomics.load(words, wi);
      while (bits !== 0) {
        const b = bits & -bits;
        bits ^= b;
        const t = wi * 32 + 31 - Math.clz32(b);
        const obs = Atomics.load(this.slots[t].spinning, S_OBS);
        if (obs !== OBS_IN_KERNEL && obs < e && !this.inRequest(t)) return false;
      }
    }
    return true;
  }

  /** The address space is gone (exit): every thread of it is, so its frames go now. */
  forget(vmSlot: number): void {
    if (this.batchVm.length > 0) this.release(vmSlot);
  }
}
