/**
 * pmap: the per-process page tables and the only code that writes a PTE.
 *
 * Two levels, so page-table memory grows with what is mapped: a 1024-entry L1 directory in the
 * process's slot (4 MiB of VA per entry) and L2 tables that are ordinary frames (type FI_PT, 1024
 * PTEs each) taken from the frame allocator the first time a 4 MiB region gets a PTE.
 *
 * PTE word: [31..5 pfn][4 ANON][3 VALID][2..0 prot]. ANON means an anonymous frame, counted in
 * the frame's map count (one per PTE: fork shares frames copy-on-write, and the last PTE to go
 * frees it); otherwise it is a device frame, counted the same way so that kmFree of a
 * still-mapped frame is detected instead of corrupting a new owner.
 *
 * Writers: only the pager that owns the address space, with Atomics.store. Readers: its threads
 * (on a TLB miss) with Atomics.load, and their TLBs cache what they read. So a frame that stops
 * being mapped is not let go here: `release` hands it to the pager, which takes the translation
 * from every other thread's TLB first and reuses the frame only once none can still reach it
 * (pager/shootdown.ts).
 */
import { PAGE_SIZE, PROT_NONE } from '../constants.js';
import { C, FI_PT, L1_ENTRIES } from '../layout.js';
import type { PhysMem } from '../physmem.js';
import type { SlotViews } from './protocol.js';

export const PTE_PROT = 7;
export const PTE_VALID = 8;
export const PTE_ANON = 16;
export const PTE_PFN_SHIFT = 5;
const L2_ENTRIES = 1024;
/** walk() op that removes PTEs (any other op is the rights to lower them to) */
const REMOVE = -1;

export const ptePfn = (pte: number) => pte >>> PTE_PFN_SHIFT;

export const ENTER_OK = 0;
export const ENTER_NOMEM = 1;
export const ENTER_GONE = 2;

/** Read a PTE (any thread). 0 = none. */
export function pteLoad(m32: Int32Array, l1: Int32Array, va: number): number {
  const t = Atomics.load(l1, va >>> 22);
  if (t === 0) return 0;
  return Atomics.load(m32, (t - 1) * L2_ENTRIES + ((va >>> 12) & 1023));
}

/** Where a frame goes when its PTE is removed: the caller decides when it may be reused. */
export type Release = (pfn: number, anon: boolean) => void;

export class Pmap {
  /** The PTE the last enter() stored (0 before one): a fault's reply carries it. */
  entered = 0;

  constructor(private readonly phys: PhysMem, private readonly release: Release) {}

  /** Index of the PTE word for va in phys.m32, allocating the L2 table if `create`. -1 if none. */
  private pteIndex(s: SlotViews, va: number, create: boolean): number {
    const di = va >>> 22;
    let t = s.l1[di];
    if (t === 0) {
      if (!create) return -1;
      const pfn = this.phys.allocFrame(FI_PT, false);
      if (pfn < 0) return -1;
      this.phys.zeroFrame(pfn);
      this.phys.counters[C.ptFrames]++;
      t = pfn + 1;
      Atomics.store(s.l1, di, t);
    }
    return (t - 1) * L2_ENTRIES + ((va >>> 12) & 1023);
  }

  /** The PTE for va (owning pager only: it wrote it, so a plain read sees it). */
  lookup(s: SlotViews, va: number): number {
    const i = this.pteIndex(s, va, false);
    return i < 0 ? 0 : this.phys.m32[i];
  }

  /**
   * pmap_enter. Returns ENTER_OK, ENTER_NOMEM when no frame is left for an L2 table
   * (PMAP_CANFAIL -> ENOMEM), or ENTER_GONE when a device frame stopped being kernel memory
   * between d_mmap and here (kmFree raced the fault: fails like a -1 from d_mmap).
   * Entering the same frame again (two faults racing on one page) just re-installs the PTE.
   */
  enter(s: SlotViews, va: number, pfn: number, prot: number, anon: boolean): number {
    const i = this.pteIndex(s, va, true);
    if (i < 0) return ENTER_NOMEM;
    const m32 = this.phys.m32;
    const old = m32[i]; // only this pager writes the slot's PTEs
    const same = (old & PTE_VALID) !== 0 && ((old & PTE_ANON) !== 0) === anon && ptePfn(old) === pfn;
    if (!same) {
      if (anon) this.phys.anonRef(pfn);
      else if (!this.phys.tryMapRef(pfn)) return ENTER_GONE;
      if ((old & PTE_VALID) !== 0) this.release(ptePfn(old), (old & PTE_ANON) !== 0);
    }
    const pte = (pfn << PTE_PFN_SHIFT) | PTE_VALID | (anon ? PTE_ANON : 0) | (prot & PTE_PROT);
    Atomics.store(m32, i, pte);
    this.entered = pte;
    return ENTER_OK;
  }

  /** pmap_remove over [sva, eva): every frame is released (unreferenced once no thread can reach it). */
  remove(s: SlotViews, sva: number, eva: number): number {
    return this.walk(s, sva, eva, REMOVE);
  }

  /**
   * pmap_protect: only lowers rights. Device PTEs lowered to PROT_NONE are removed (as on the
   * usual pmaps); anonymous ones keep their frame with no rights, since the frame is the data.
   */
  protect(s: SlotViews, sva: number, eva: number, prot: number): void {
    this.walk(s, sva, eva, prot & PTE_PROT);
  }

  /**
   * Visit the valid PTEs of [sva, eva), skipping 4 MiB regions without an L2 table, and either
   * remove each (`op` REMOVE) or lower it to the rights in `op`. Returns how many PTEs changed.
   */
  private walk(s: SlotViews, sva: number, eva: number, op: number): number {
    let n = 0;
    const m32 = this.phys.m32;
    for (let va = sva; va < eva; ) {
      const di = va >>> 22;
      const t = s.l1[di];
      const regionEnd = Math.min(eva, (di + 1) * 4 * 1024 * 1024);
      if (t === 0) {
        va = regionEnd;
        continue;
      }
      const base = (t - 1) * L2_ENTRIES;
      for (; va < regionEnd; va += PAGE_SIZE) {
        const i = base + ((va >>> 12) & 1023);
        const old = Atomics.load(m32, i);
        if ((old & PTE_VALID) === 0) continue;
        const anon = (old & PTE_ANON) !== 0;
        if (op === REMOVE || (op === PROT_NONE && !anon)) {
          Atomics.store(m32, i, 0);
          this.release(ptePfn(old), anon);
          n++;
        } else {
          const lowered = old & PTE_PROT & op;
          if (lowered === (old & PTE_PROT)) continue;
          Atomics.store(m32, i, (old & ~PTE_PROT) | lowered);
          n++;
        }
      }
    }
    return n;
  }

  /** Set the rights of the valid PTE at va (fork lowers the parent's to read-only). */
  setProt(s: SlotViews, va: number, prot: number): void {
    const i = this.pteIndex(s, va, false);
    if (i < 0) return;
    const m32 = this.phys.m32;
    const old = Atomics.load(m32, i);
    if ((old & PTE_VALID) !== 0) Atomics.store(m32, i, (old & ~PTE_PROT) | (prot & PTE_PROT));
  }

  /** Each valid PTE of [sva, eva): fn(va, pte). */
  forEach(s: SlotViews, sva: number, eva: number, fn: (va: number, pte: number) => void): void {
    const m32 = this.phys.m32;
    for (let va = sva; va < eva; ) {
      const di = va >>> 22;
      const t = s.l1[di];
      const regionEnd = Math.min(eva, (di + 1) * 4 * 1024 * 1024);
      if (t === 0) {
        va = regionEnd;
        continue;
      }
      const base = (t - 1) * L2_ENTRIES;
      for (; va < regionEnd; va += PAGE_SIZE) {
        const pte = Atomics.load(m32, base + ((va >>> 12) & 1023));
        if ((pte & PTE_VALID) !== 0) fn(va, pte);
      }
    }
  }

  /** Tear down every PTE and L2 table of the slot (exit). */
  destroy(s: SlotViews): void {
    for (let di = 0; di < L1_ENTRIES; di++) {
      const t = s.l1[di];
      if (t === 0) continue;
      this.remove(s, di * 4 * 1024 * 1024, (di + 1) * 4 * 1024 * 1024);
      Atomics.store(s.l1, di, 0);
      this.phys.freeFrame(t - 1);
    }
  }
}
