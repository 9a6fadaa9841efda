/**
 * The software TLB of one thread (v86's software MMU): two flat Int32Arrays over the thread's own
 * SharedArrayBuffer, indexed by virtual page number over the 32-bit user address space, `r` for
 * reads and `w` for writes. An entry is pfn + 1 for a hit, so a hit is one load, one test and one
 * shift/or into the arena view (the access methods live in process/api.ts). Everything else falls
 * into the slow path (process/access.ts), which tells the misses apart:
 *
 *   TLB_UNKNOWN (0)   the page table may hold a PTE the TLB lacks: read it before faulting;
 *   TLB_ABSENT (-1)   no PTE exists (this thread removed it, or mapped the range anew): fault
 *                     at once, without pulling the page-table line from the pager's core;
 *   <= TLB_SPECIAL    a register or doorbell page of a device: index -entry - 2 in `specials`.
 *
 * Who writes an entry: the thread itself (fills after a fault or a PTE read, and its own
 * munmap/mprotect), and, for translations taken away from a thread that is not asking, the pager
 * serving another thread of the process (pager/shootdown.ts) or the host (dirty logging). Those
 * invalidators bump the slot's S_INVSEQ word *before* they store into the TLB; a thread fills an
 * entry with Atomics.store and then re-reads S_INVSEQ, so a fill that raced an invalidation is
 * seen and undone (process/access.ts). The published range [S_TLB_LO, S_TLB_HI) bounds what an
 * invalidator must scan: outside it every entry holds the value of the last reset.
 */
import { S_TLB_HI, S_TLB_LO, VPAGES } from '../layout.js';

export const TLB_UNKNOWN = 0;
export const TLB_ABSENT = -1;
/** entries at or below this are special pages: specials[-entry - 2] */
export const TLB_SPECIAL = -2;
/** the special-page index an entry encodes, and back */
export const specialIndex = (entry: number) => -entry - 2;
export const specialEntry = (index: number) => -index - 2;

export class Tlb {
  readonly r: Int32Array;
  readonly w: Int32Array;
  /** slot line 6: S_TLB_LO / S_TLB_HI are published here for invalidators */
  private readonly line: Int32Array;
  private lo: number;
  private hi: number;

  constructor(buf: SharedArrayBuffer, line: Int32Array) {
    this.r = new Int32Array(buf, 0, VPAGES);
    this.w = new Int32Array(buf, VPAGES * 4, VPAGES);
    this.line = line;
    this.lo = Atomics.load(line, S_TLB_LO);
    this.hi = Atomics.load(line, S_TLB_HI);
  }

  /**
   * Every entry TLB_UNKNOWN again, for a new thread in this slot. Only the range a previous user of
   * the slot may have written is filled: the rest of the 8 MiB buffer is untouched zero pages.
   */
  reset(): void {
    if (this.lo < this.hi) {
      this.r.fill(TLB_UNKNOWN, this.lo, this.hi);
      this.w.fill(TLB_UNKNOWN, this.lo, this.hi);
    }
    this.lo = VPAGES;
    this.hi = 0;
    Atomics.store(this.line, S_TLB_LO, VPAGES);
    Atomics.store(this.line, S_TLB_HI, 0);
  }

  /**
   * Entry `vpn` may now differ from the reset value. Published before the fill (Atomics.store), so
   * an invalidator that reads the range after its S_INVSEQ bump sees it, or the fill sees the bump.
   */
  extend(vpn: number): void {
    if (vpn < this.lo) {
      this.lo = vpn;
      Atomics.store(this.line, S_TLB_LO, vpn);
    }
    if (vpn >= this.hi) {
      this.hi = vpn + 1;
      Atomics.store(this.line, S_TLB_HI, vpn + 1);
    }
  }

  /**
   * This thread drops entries [svpn, evpn) itself, in one batch, after its own unmap or protect
   * returned. `to` is TLB_ABSENT where every PTE of the range is gone, TLB_UNKNOWN where some may
   * remain. Entries outside the published range are TLB_UNKNOWN already, which is always correct.
   * Returns the entries that held a translation.
   */
  invalidate(svpn: number, evpn: number, to: number): number {
    const r = this.r;
    const w = this.w;
    const hi = evpn < this.hi ? evpn : this.hi;
    let n = 0;
    for (let vpn = svpn > this.lo ? svpn : this.lo; vpn < hi; vpn++) {
      if (r[vpn] > 0 || w[vpn] > 0) n++;
      r[vpn] = to;
      w[vpn] = to;
    }
    return n;
  }

  /**
   * A mapping this thread just made over [svpn, evpn): no PTE exists there yet, so every entry
   * says so (TLB_ABSENT), and the first touch of each page faults at once instead of reading the
   * page table first. Unlike invalidate, this reaches beyond the published range, and extends it:
   * a new mapping usually lies where the thread has touched nothing, and there entries hold the
   * reset value, TLB_UNKNOWN, which would cost every first touch a page-table walk. A write per
   * page, as the mmap made a d_mmap call per page (udv_attach). Another thread of the process may
   * fault a page in before this one touches it; the entry then only costs this thread a fault
   * that finds the PTE present. Returns the entries that held a translation (a MAP_FIXED
   * replacement).
   */
  absent(svpn: number, evpn: number): number {
    if (evpn <= svpn) return 0;
    // Published before the stores, as extend() is before a fill.
    this.extend(svpn);
    this.extend(evpn - 1);
    const r = this.r;
    const w = this.w;
    let n = 0;
    for (let vpn = svpn; vpn < evpn; vpn++) {
      if (r[vpn] > 0 || w[vpn] > 0) n++;
      r[vpn] = TLB_ABSENT;
      w[vpn] = TLB_ABSENT;
    }
    return n;
  }

  /** Drop the write entries of [svpn, evpn) (fork made the pages copy-on-write); reads stay. */
  invalidateWrites(svpn: number, evpn: number): void {
    const w = this.w;
    const hi = evpn < this.hi ? evpn : this.hi;
    for (let vpn = svpn > this.lo ? svpn : this.lo; vpn < hi; vpn++) if (w[vpn] > 0) w[vpn] = TLB_UNKNOWN;
  }
}
