/**
 * vm_map: a process's map entries, a sorted array of lines in its slot (layout.ts E_* fields).
 *
 * Written only by the pager that owns the slot; the process reads them (mincore) and so can the
 * host (stats). Clipping an entry (partial munmap/mprotect/madvise) splits it and takes a device
 * reference for the new piece, as NetBSD's uvm_map_clip_start/end do.
 *
 * The fault routine runs on the owning pager itself, so it never races a change; the process
 * reads its own entries (mincore, msync) only between its own requests, when none is changing.
 */
import { PAGE_SIZE, VM_DEFAULT_MMAP_BASE, VM_MAXUSER_ADDRESS } from '../constants.js';
import { E_ADVICE, E_END, E_FLAGS, E_MAXPROT, E_OBJ, E_OFFSET, E_PROT, E_START, ENTRY_F64, OBJ_ANON, S_NENTRIES } from '../layout.js';
import type { SlotViews } from './protocol.js';

/** Index of the entry containing va among the first n sorted entries, or -1 (any thread: it only reads). */
export function entryIndex(e: Float64Array, n: number, va: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const b = mid * ENTRY_F64;
    if (va < e[b + E_START]) hi = mid - 1;
    else if (va >= e[b + E_END]) lo = mid + 1;
    else return mid;
  }
  return -1;
}

export interface EntryInit {
  start: number;
  end: number;
  offset: number;
  obj: number;
  prot: number;
  maxprot: number;
  advice: number;
  flags: number;
}

/** Called whenever an entry referencing an object (a device or a shared anonymous object) appears (+1) or disappears (-1). */
export type RefHook = (obj: number, delta: number) => void;

export class VmMap {
  constructor(private readonly capacity: number, private readonly refHook: RefHook) {}

  count(s: SlotViews): number {
    return s.meta[S_NENTRIES];
  }

  private setCount(s: SlotViews, n: number): void {
    Atomics.store(s.meta, S_NENTRIES, n);
  }

  /** Index of the entry containing va, or -1. Binary search; no allocation. */
  lookup(s: SlotViews, va: number): number {
    return entryIndex(s.entries, s.meta[S_NENTRIES], va);
  }

  /** First entry index whose end is > va (entries that may intersect [va, ...)). */
  private firstEndingAfter(s: SlotViews, va: number): number {
    const e = s.entries;
    let lo = 0;
    let hi = s.meta[S_NENTRIES];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (e[mid * ENTRY_F64 + E_END] <= va) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  field(s: SlotViews, i: number, f: number): number {
    return s.entries[i * ENTRY_F64 + f];
  }

  /** True if [sva, eva) is free of entries. */
  isFree(s: SlotViews, sva: number, eva: number): boolean {
    const i = this.firstEndingAfter(s, sva);
    return i >= s.meta[S_NENTRIES] || s.entries[i * ENTRY_F64 + E_START] >= eva;
  }

  /** True if every page of [sva, eva) is inside some entry. */
  isFullyMapped(s: SlotViews, sva: number, eva: number): boolean {
    let va = sva;
    const n = s.meta[S_NENTRIES];
    for (let i = this.firstEndingAfter(s, sva); i < n && va < eva; i++) {
      const b = i * ENTRY_F64;
      if (s.entries[b + E_START] > va) return false;
      va = s.entries[b + E_END];
    }
    return va >= eva;
  }

  /**
   * Find `size` bytes of free VA at or above `hint` (raised to the default mmap base), first fit;
   * if nothing fits above the hint, retry from the default base (NetBSD 10). -1 if none.
   */
  findSpace(s: SlotViews, hint: number, size: number): number {
    const base = VM_DEFAULT_MMAP_BASE;
    let start = Number.isFinite(hint) && hint > base && hint < VM_MAXUSER_ADDRESS ? Math.ceil(hint / PAGE_SIZE) * PAGE_SIZE : base;
    for (let pass = 0; pass < 2; pass++) {
      let va = start;
      const n = s.meta[S_NENTRIES];
      for (let i = this.firstEndingAfter(s, va); ; i++) {
        const next = i < n ? s.entries[i * ENTRY_F64 + E_START] : VM_MAXUSER_ADDRESS;
        if (next - va >= size && va + size <= VM_MAXUSER_ADDRESS) return va;
        if (i >= n) break;
        va = Math.max(va, s.entries[i * ENTRY_F64 + E_END]);
      }
      if (start === base) break;
      start = base;
    }
    return -1;
  }

  /** Insert an entry into a range known to be free. Returns false when the map is full. */
  insert(s: SlotViews, x: EntryInit): boolean {
    const n = s.meta[S_NENTRIES];
    if (n >= this.capacity) return false;
    const i = this.firstEndingAfter(s, x.start);
    const e = s.entries;
    e.copyWithin((i + 1) * ENTRY_F64, i * ENTRY_F64, n * ENTRY_F64);
    this.write(s, i, x);
    if (x.obj !== OBJ_ANON) this.refHook(x.obj, 1);
    this.setCount(s, n + 1);
    return true;
  }

  private write(s: SlotViews, i: number, x: EntryInit): void {
    const b = i * ENTRY_F64;
    const e = s.entries;
    e[b + E_START] = x.start;
    e[b + E_END] = x.end;
    e[b + E_OFFSET] = x.offset;
    e[b + E_OBJ] = x.obj;
    e[b + E_PROT] = x.prot;
    e[b + E_MAXPROT] = x.maxprot;
    e[b + E_ADVICE] = x.advice;
    e[b + E_FLAGS] = x.flags;
  }

  /**
   * Make entry boundaries fall on sva and eva (uvm_map_clip_start/end). Returns false if a split
   * needs an entry and the map is full (nothing is changed then).
   */
  clip(s: SlotViews, sva: number, eva: number): boolean {
    const needed = (this.splits(s, sva) ? 1 : 0) + (this.splits(s, eva) ? 1 : 0);
    if (s.meta[S_NENTRIES] + needed > this.capacity) return false;
    this.splitAt(s, sva);
    this.splitAt(s, eva);
    return true;
  }

  private splits(s: SlotViews, va: number): boolean {
    const i = this.lookup(s, va);
    return i >= 0 && s.entries[i * ENTRY_F64 + E_START] !== va;
  }

  private splitAt(s: SlotViews, va: number): void {
    const i = this.lookup(s, va);
    if (i < 0) return;
    const e = s.entries;
    const b = i * ENTRY_F64;
    const start = e[b + E_START];
    if (start === va) return;
    const n = s.meta[S_NENTRIES];
    e.copyWithin((i + 1) * ENTRY_F64, i * ENTRY_F64, n * ENTRY_F64);
    // entry i keeps [start, va); entry i+1 becomes [va, end) with its offset advanced
    e[b + E_END] = va;
    const b2 = b + ENTRY_F64;
    e[b2 + E_START] = va;
    e[b2 + E_OFFSET] = e[b + E_OFFSET] + (va - start);
    const obj = e[b + E_OBJ];
    if (obj !== OBJ_ANON) this.refHook(obj, 1);
    this.setCount(s, n + 1);
  }

  /**
   * Remove [sva, eva) from the map; `each` sees each removed piece (start, end, obj) first.
   * Entries cut by sva or eva are trimmed in place, so only a hole strictly inside one entry needs
   * a new entry; that is the only case that can fail (false, nothing changed) in a full map.
   * References follow uvm_map_clip_*: a trimmed entry keeps its one (clip +1, removed piece -1),
   * a removed entry drops one, a hole adds one for the new piece.
   */
  removeRange(s: SlotViews, sva: number, eva: number, each: (start: number, end: number, obj: number) => void): boolean {
    if (eva <= sva) return true;
    const h = this.lookup(s, sva);
    if (h >= 0 && s.entries[h * ENTRY_F64 + E_START] < sva && eva < s.entries[h * ENTRY_F64 + E_END]) {
      return this.punchHole(s, h, sva, eva, each);
    }
    const e = s.entries;
    const n = s.meta[S_NENTRIES];
    let i = this.firstEndingAfter(s, sva);
    // The first entry may start before sva: keep its head.
    if (i < n && e[i * ENTRY_F64 + E_START] < sva) {
      const b = i * ENTRY_F64;
      each(sva, e[b + E_END], e[b + E_OBJ]);
      e[b + E_END] = sva;
      i++;
    }
    const i0 = i;
    while (i < n && e[i * ENTRY_F64 + E_END] <= eva) {
      const b = i * ENTRY_F64;
      each(e[b + E_START], e[b + E_END], e[b + E_OBJ]);
      if (e[b + E_OBJ] !== OBJ_ANON) this.refHook(e[b + E_OBJ], -1);
      i++;
    }
    // The last entry may end after eva: keep its tail.
    if (i < n && e[i * ENTRY_F64 + E_START] < eva) {
      const b = i * ENTRY_F64;
      const start = e[b + E_START];
      each(start, eva, e[b + E_OBJ]);
      e[b + E_START] = eva;
      e[b + E_OFFSET] += eva - start;
    }
    if (i > i0) {
      e.copyWithin(i0 * ENTRY_F64, i * ENTRY_F64, n * ENTRY_F64);
      this.setCount(s, n - (i - i0));
    }
    return true;
  }

  /** Entries the map would hold after removeRange(sva, eva) (MAP_FIXED checks room first). */
  countAfterRemove(s: SlotViews, sva: number, eva: number): number {
    const n = s.meta[S_NENTRIES];
    if (eva <= sva) return n;
    const e = s.entries;
    let removed = 0;
    let kept = 0;
    for (let i = this.firstEndingAfter(s, sva); i < n && e[i * ENTRY_F64 + E_START] < eva; i++) {
      removed++;
      if (e[i * ENTRY_F64 + E_START] < sva) kept++;
      if (e[i * ENTRY_F64 + E_END] > eva) kept++;
    }
    return n - removed + kept;
  }

  /**
   * Remove [sva, eva) from the inside of entry i: i keeps [start, sva), a new entry i+1 gets
   * [eva, end) with its offset advanced. References: +1 for the new piece (NetBSD: two clips take
   * +1 each, the removed middle drops 1).
   */
  private punchHole(s: SlotViews, i: number, sva: number, eva: number, each: (start: number, end: number, obj: number) => void): boolean {
    const n = s.meta[S_NENTRIES];
    if (n + 1 > this.capacity) return false;
    const e = s.entries;
    const b = i * ENTRY_F64;
    const start = e[b + E_START];
    const obj = e[b + E_OBJ];
    each(sva, eva, obj);
    e.copyWithin((i + 1) * ENTRY_F64, i * ENTRY_F64, n * ENTRY_F64);
    e[b + E_END] = sva;
    const b2 = b + ENTRY_F64;
    e[b2 + E_START] = eva;
    e[b2 + E_OFFSET] = e[b + E_OFFSET] + (eva - start);
    if (obj !== OBJ_ANON) this.refHook(obj, 1);
    this.setCount(s, n + 1);
    return true;
  }

  /** Visit entries intersecting [sva, eva) (after clip, they lie inside it). */
  forEachIn(s: SlotViews, sva: number, eva: number, fn: (i: number) => void): void {
    const n = s.meta[S_NENTRIES];
    for (let i = this.firstEndingAfter(s, sva); i < n && s.entries[i * ENTRY_F64 + E_START] < eva; i++) fn(i);
  }

  setField(s: SlotViews, i: number, f: number, v: number): void {
    s.entries[i * ENTRY_F64 + f] = v;
  }

  /** Drop everything (exit). */
  clear(s: SlotViews, each: (start: number, end: number, obj: number) => void): void {
    this.removeRange(s, 0, VM_MAXUSER_ADDRESS, each);
  }
}
