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
 * thread of the address space has published, in S_OBS, either OBS_IN_KERNEL (it waits in a
 * request, between accesses) or an epoch >= e (it passed a slow path since). A thread that never
 * leaves its loop of hits only delays reuse (the frames wait in `limbo`); it never blocks the
 * caller and never keeps the old translation. This is epoch-based reclamation (RadixVM, LATR).
 * A process with a single thread pays nothing: the caller waits in its request, so the frames go
 * at once, and it drops its own entries itself when the reply comes.
 */
import { C, OBS_IN_KERNEL, P_EPOCH, S_INVSEQ, S_OBS, S_STATUS, S_TLB_HI, S_TLB_LO, STATUS_LIVE, VPAGES } from '../layout.js';
import { clockMs } from '../clock.js';
import type { PhysMem } from '../physmem.js';
import type { PagerViews, SlotViews } from './protocol.js';

export class Shootdown {
  private readonly r: Int32Array[];
  private readonly w: Int32Array[];
  // Frames held back during the current operation.
  private heldPfn: number[] = [];
  private heldAnon: boolean[] = [];
  // Frames waiting for the other threads of their address space: pfn, anon, address-space slot, epoch.
  private limboPfn: number[] = [];
  private limboAnon: boolean[] = [];
  private limboVm: number[] = [];
  private limboEpoch: number[] = [];

  constructor(
    tlbs: readonly SharedArrayBuffer[],
    private readonly slots: readonly SlotViews[],
    private readonly pv: PagerViews,
    private readonly phys: PhysMem,
    private readonly counters: Float64Array,
    private readonly timing: boolean,
  ) {
    this.r = tlbs.map((b) => new Int32Array(b, 0, VPAGES));
    this.w = tlbs.map((b) => new Int32Array(b, VPAGES * 4, VPAGES));
  }

  /** pmap's release: hold the frame back until the operation ends (finish) or later. */
  retire(pfn: number, anon: boolean): void {
    this.heldPfn.push(pfn);
    this.heldAnon.push(anon);
  }

  private free(pfn: number, anon: boolean): void {
    if (anon) this.phys.anonUnref(pfn);
    else this.phys.mapUnref(pfn);
  }

  /** Is there a live thread of address space `vm` other than `self`? */
  hasOthers(vm: SlotViews, self: number): boolean {
    const words = vm.threads;
    for (let w = 0; w < words.length; w++) {
      let bits = Atomics.load(words, w);
      if (w === self >>> 5) bits &= ~(1 << (self & 31));
      if (bits !== 0) return true;
    }
    return false;
  }

  /**
   * Take the translations of [svpn, evpn) from every thread of `vm` but `self` (-1: all of them):
   * their entries become `to` (TLB_ABSENT or TLB_UNKNOWN); with `writesOnly`, only write entries
   * go (to TLB_UNKNOWN). Returns the threads touched.
   */
  invalidate(vm: SlotViews, svpn: number, evpn: number, to: number, self: number, writesOnly = false): number {
    const t0 = this.timing ? clockMs() : 0;
    const words = vm.threads;
    let n = 0;
    for (let wi = 0; wi < words.length; wi++) {
      let bits = Atomics.load(words, wi);
      while (bits !== 0) {
        const b = bits & -bits;
        bits ^= b;
        const t = wi * 32 + 31 - Math.clz32(b);
        if (t === self || t >= this.r.length) continue;
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
      }
    }
    this.counters[C.shootdowns] += n;
    if (this.timing && n > 0) this.counters[C.shootdownNs] += (clockMs() - t0) * 1e6;
    return n;
  }

  /**
   * The operation on `vm` is over and its translations are gone from the other threads: let the
   * held-back frames go now if no other thread could still reach them, else tag them with a new
   * epoch and keep them in limbo.
   */
  finish(vm: SlotViews, self: number): void {
    const n = this.heldPfn.length;
    if (n === 0) return;
    if (!this.hasOthers(vm, self)) {
      for (let i = 0; i < n; i++) this.free(this.heldPfn[i], this.heldAnon[i]);
    } else {
      const e = Atomics.add(this.pv.epoch, P_EPOCH, 1) + 1;
      for (let i = 0; i < n; i++) {
        this.limboPfn.push(this.heldPfn[i]);
        this.limboAnon.push(this.heldAnon[i]);
        this.limboVm.push(vm.index);
        this.limboEpoch.push(e);
      }
      this.counters[C.limboFrames] += n;
    }
    this.heldPfn.length = 0;
    this.heldAnon.length = 0;
  }

  /** frames held back by the operation under way */
  get holding(): number {
    return this.heldPfn.length;
  }

  get waiting(): number {
    return this.limboPfn.length;
  }

  /** Free what no thread can reach any more. Cheap when nothing waits. */
  reclaim(): void {
    if (this.limboPfn.length === 0) return;
    let kept = 0;
    for (let i = 0; i < this.limboPfn.length; i++) {
      if (this.passed(this.limboVm[i], this.limboEpoch[i])) this.free(this.limboPfn[i], this.limboAnon[i]);
      else {
        this.limboPfn[kept] = this.limboPfn[i];
        this.limboAnon[kept] = this.limboAnon[i];
        this.limboVm[kept] = this.limboVm[i];
        this.limboEpoch[kept] = this.limboEpoch[i];
        kept++;
      }
    }
    this.limboPfn.length = kept;
    this.limboAnon.length = kept;
    this.limboVm.length = kept;
    this.limboEpoch.length = kept;
  }

  /** The address space's threads all waited in a request or passed epoch e since. */
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
        if (obs !== OBS_IN_KERNEL && obs < e) return false;
      }
    }
    return true;
  }

  /** The address space is gone (exit): every thread of it is, so its frames go now. */
  forget(vmSlot: number): void {
    let kept = 0;
    for (let i = 0; i < this.limboPfn.length; i++) {
      if (this.limboVm[i] === vmSlot) this.free(this.limboPfn[i], this.limboAnon[i]);
      else {
        this.limboPfn[kept] = this.limboPfn[i];
        this.limboAnon[kept] = this.limboAnon[i];
        this.limboVm[kept] = this.limboVm[i];
        this.limboEpoch[kept] = this.limboEpoch[i];
        kept++;
      }
    }
    this.limboPfn.length = kept;
    this.limboAnon.length = kept;
    this.limboVm.length = kept;
    this.limboEpoch.length = kept;
  }
}
