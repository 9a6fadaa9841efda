/**
 * Shared anonymous objects (NetBSD's uvm_aobj, or a shared amap): anonymous memory that several
 * address spaces page from — MAP_SHARED|MAP_ANON, and private anonymous memory a fork passes on
 * with MAP_INHERIT_SHARE. Private anonymous memory needs no object: its frames hang off the PTEs
 * (objects.ts). Here the object owns a page table of its own, in kernel memory, one Int32 per
 * page (pfn + 1), so that a page first touched in the child after fork is the parent's page too.
 *
 * Pagers of different processes may fault on one object at once: a page is installed with a CAS
 * (the loser frees its frame and takes the winner's), and the object's reference count is one
 * Atomics.add per map entry, as a device's. Each installed frame is counted once for the table
 * and once per PTE (physmem anonRef), so it is freed when the last of them goes, whichever is last.
 */
import { PAGE_SIZE } from '../constants.js';
import { ERRNO } from '../errors.js';
import { A_PAGES, A_REFS, A_TABLE_F64, FI_ANON, LINE, type Layout } from '../layout.js';
import type { PhysMem } from '../physmem.js';

/** A_REFS of a line being claimed by create() or torn down by destroy(): no other use meanwhile. */
const CLAIMED = -1;
const DYING = -2;

export class AnonObjects {
  private readonly words: Int32Array;
  private readonly f64: Float64Array;
  private readonly count: number;

  constructor(private readonly phys: PhysMem, layout: Layout) {
    this.words = new Int32Array(phys.sab, layout.aobjsOff, layout.aobjs * (LINE / 4));
    this.f64 = new Float64Array(phys.sab, layout.aobjsOff, layout.aobjs * (LINE / 8));
    this.count = layout.aobjs;
  }

  /** A new object of `pages` zero-fill pages with one reference; -errno when none is left. */
  create(pages: number): number {
    let table: number;
    try {
      table = this.phys.kmAlloc(Math.max(4, pages * 4), { zero: true });
    } catch {
      return -ERRNO.ENOMEM;
    }
    for (let k = 0; k < this.count; k++) {
      const b = k * (LINE / 4);
      if (Atomics.load(this.words, b + A_REFS) !== 0) continue;
      // Claim the line with its reference; then fill in what the object is.
      if (Atomics.compareExchange(this.words, b + A_REFS, 0, CLAIMED) !== 0) continue;
      this.f64[k * (LINE / 8) + A_TABLE_F64] = table;
      Atomics.store(this.words, b + A_PAGES, pages);
      Atomics.store(this.words, b + A_REFS, 1);
      return k;
    }
    this.phys.kmFree(table, Math.max(4, pages * 4));
    return -ERRNO.ENOMEM;
  }

  pages(k: number): number {
    return Atomics.load(this.words, k * (LINE / 4) + A_PAGES);
  }

  /** Index in phys.m32 of page `page`'s table entry. */
  private entry(k: number, page: number): number {
    return this.phys.pmapExtract(this.f64[k * (LINE / 8) + A_TABLE_F64] + page * 4) >>> 2;
  }

  /** The frame of `page`, or -1 if it was never touched. */
  lookup(k: number, page: number): number {
    return Atomics.load(this.phys.m32, this.entry(k, page)) - 1;
  }

  /**
   * The frame of `page`, allocating a zeroed one on first touch (a race with another pager is
   * settled by a CAS). -1 when memory is exhausted.
   */
  fault(k: number, page: number): number {
    const at = this.entry(k, page);
    const m32 = this.phys.m32;
    const have = Atomics.load(m32, at);
    if (have !== 0) return have - 1;
    const pfn = this.phys.allocFrame(FI_ANON, false);
    if (pfn < 0) return -1;
    this.phys.zeroFrame(pfn);
    this.phys.anonRef(pfn); // the table's reference
    const won = Atomics.compareExchange(m32, at, 0, pfn + 1);
    if (won === 0) return pfn;
    this.phys.anonUnref(pfn);
    return won - 1;
  }

  /** Put frame `pfn` (already referenced for the table) at `page` of a new object (fork). */
  install(k: number, page: number, pfn: number): void {
    Atomics.store(this.phys.m32, this.entry(k, page), pfn + 1);
  }

  /** Drop pages [page, page + n) from the object (MADV_FREE): zero-fill on the next touch. */
  discard(k: number, page: number, n: number): void {
    const m32 = this.phys.m32;
    for (let p = page; p < page + n; p++) {
      const e = Atomics.exchange(m32, this.entry(k, p), 0);
      if (e !== 0) this.phys.anonUnref(e - 1);
    }
  }

  /**
   * One more or one less map entry. The last one going destroys the object; the line passes
   * through DYING meanwhile, so that no create() can claim it while destroy() still reads it.
   */
  ref(k: number, delta: number): void {
    const b = k * (LINE / 4) + A_REFS;
    const w = this.words;
    for (;;) {
      const old = Atomics.load(w, b);
      const next = old + delta;
      if (next === 0) {
        if (Atomics.compareExchange(w, b, old, DYING) !== old) continue;
        this.destroy(k);
        Atomics.store(w, b, 0);
        return;
      }
      if (Atomics.compareExchange(w, b, old, next) === old) return;
    }
  }

  /** The last map entry went (its PTEs first): the table's references go, and the table. */
  private destroy(k: number): void {
    const pages = this.pages(k);
    const table = this.f64[k * (LINE / 8) + A_TABLE_F64];
    const m32 = this.phys.m32;
    for (let p = 0; p < pages; p++) {
      const at = this.entry(k, p);
      const e = Atomics.exchange(m32, at, 0);
      if (e !== 0) this.phys.anonUnref(e - 1);
    }
    this.phys.kmFree(table, Math.max(4, pages * 4));
  }
}

/** Pages of an object `size` bytes long. */
export const aobjPages = (size: number) => Math.ceil(size / PAGE_SIZE);
