/**
 * The pager's half of the VM system calls. The thread has already done every argument check that
 * needs no map (process/syscalls.ts, in NetBSD's order); what is left here needs the map, the
 * page tables or the driver, and runs on the pager that owns the address space.
 *
 * `vm` is the slot holding the address space, `self` the slot of the thread asking. Whatever
 * removes or lowers translations also takes them from the address space's other threads before
 * the reply (pager/shootdown.ts); the asking thread drops its own when the reply comes.
 */
import {
  MADV_DONTNEED, MADV_FREE, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MAP_FIXED, MAP_INHERIT_COPY, MAP_INHERIT_NONE,
  MAP_INHERIT_SHARE, MAP_SHARED, PAGE_SIZE, PROT_WRITE,
} from '../constants.js';
import { ERRNO } from '../errors.js';
import {
  E_ADVICE, E_END, E_FLAGS, E_MAXPROT, E_OBJ, E_OFFSET, E_PROT, E_START, EF_COW, EF_INHERIT_MASK, EF_INHERIT_SHIFT, ENTRY_F64, FD_WORDS,
  FI_ANON, MAX_FDS, OBJ_ANON, S_NENTRIES, aobjOf, objOfAobj,
} from '../layout.js';
import { udvAttach } from './objects.js';
import type { Pager } from './pager.js';
import { PTE_ANON, PTE_PROT, PTE_VALID, ptePfn } from './pmap.js';
import type { SlotViews } from './protocol.js';

const TLB_UNKNOWN = 0;
const TLB_ABSENT = -1;

/** Take [sva, eva) from the other threads (`to`: TLB_ABSENT or TLB_UNKNOWN), then let the frames go. */
function shootdown(k: Pager, vm: SlotViews, self: number, sva: number, eva: number, to: number): void {
  k.shootdown.invalidate(vm, sva / PAGE_SIZE, eva / PAGE_SIZE, to, self);
  k.shootdown.finish(vm, self);
}

/** mmap after the thread-side checks. Returns the mapping's start, or -errno (k.refused: the device offset d_mmap refused). */
export function vmMmap(k: Pager, vm: SlotViews, self: number, addr: number, size: number, prot: number, flags: number, obj: number, off: number, maxprot: number): number {
  k.refused = -1;
  if (obj >= 0) {
    // vn_mmap: try udv_attach with maxprot, then maxprot-1, ... down to 1 (docs/netbsd.md, "mmap time").
    let refused = -1;
    let ok = false;
    for (let p = maxprot; p >= 1 && !ok; p--) {
      const at = udvAttach(k, obj, off, size, p);
      if (at === -1) ok = true;
      else if (refused === -1) refused = at;
    }
    if (!ok) {
      k.refused = refused;
      return -ERRNO.EINVAL;
    }
  }
  let start: number;
  if (flags & MAP_FIXED) {
    if (addr === 0) return -ERRNO.EACCES; // vm.user_va0_disable=1 (the default)
    start = addr;
    // MAP_FIXED replaces what was there, after the attach succeeded (uvm_mmap: uvm_unmap first).
    // Check for room first, so that a mapping that cannot be inserted does not remove the old one.
    if (k.vmmap.countAfterRemove(vm, start, start + size) + 1 > k.layout.mapEntries) return -ERRNO.ENOMEM;
    if (!k.vmmap.removeRange(vm, start, start + size, (a, b) => k.pmap.remove(vm, a, b))) return -ERRNO.ENOMEM;
    shootdown(k, vm, self, start, start + size, TLB_ABSENT);
  } else {
    start = k.vmmap.findSpace(vm, addr, size);
    if (start < 0) return -ERRNO.ENOMEM;
  }
  // Shared anonymous memory pages from an object of its own, so that a child after fork shares it.
  let aobj = -1;
  if (obj === OBJ_ANON && (flags & MAP_SHARED) !== 0) {
    aobj = k.aobjs.create(size / PAGE_SIZE);
    if (aobj < 0) return aobj;
    obj = objOfAobj(aobj);
  }
  // Inheritance: device and shared mappings are shared with a child, private anonymous memory is copied.
  const inherit = obj === OBJ_ANON ? MAP_INHERIT_COPY : MAP_INHERIT_SHARE;
  const ok = k.vmmap.insert(vm, {
    start, end: start + size, offset: obj >= 0 ? off : 0, obj, prot, maxprot,
    advice: obj >= 0 ? MADV_RANDOM : MADV_NORMAL, flags: flags | (inherit << EF_INHERIT_SHIFT),
  });
  if (aobj >= 0) k.aobjs.ref(aobj, -1); // the entry holds the reference now (or, if none was made, it goes)
  return ok ? start : -ERRNO.ENOMEM;
}

export function vmMunmap(k: Pager, vm: SlotViews, self: number, sva: number, eva: number): number {
  const ok = k.vmmap.removeRange(vm, sva, eva, (a, b) => k.pmap.remove(vm, a, b));
  shootdown(k, vm, self, sva, eva, TLB_ABSENT);
  return ok ? 0 : ERRNO.ENOMEM;
}

export function vmMprotect(k: Pager, vm: SlotViews, self: number, sva: number, eva: number, prot: number): number {
  let denied = false;
  k.vmmap.forEachIn(vm, sva, eva, (i) => {
    if ((prot & ~k.vmmap.field(vm, i, E_MAXPROT)) !== 0) denied = true;
  });
  if (denied) return ERRNO.EACCES;
  if (!k.vmmap.clip(vm, sva, eva)) return ERRNO.ENOMEM;
  let lowered = false;
  k.vmmap.forEachIn(vm, sva, eva, (i) => {
    const old = k.vmmap.field(vm, i, E_PROT);
    if (old === prot) return;
    k.vmmap.setField(vm, i, E_PROT, prot);
    // Lowering takes rights away from PTEs now; raising leaves them, and the next access that
    // needs the new rights faults (and calls d_mmap again).
    if ((old & ~prot) !== 0) {
      k.pmap.protect(vm, k.vmmap.field(vm, i, E_START), k.vmmap.field(vm, i, E_END), prot);
      lowered = true;
    }
  });
  if (lowered) shootdown(k, vm, self, sva, eva, TLB_UNKNOWN);
  return 0;
}

export function vmMadvise(k: Pager, vm: SlotViews, self: number, sva: number, eva: number, advice: number): number {
  switch (advice) {
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
      if (!k.vmmap.clip(vm, sva, eva)) return ERRNO.ENOMEM;
      k.vmmap.forEachIn(vm, sva, eva, (i) => k.vmmap.setField(vm, i, E_ADVICE, advice));
      return 0;
    case MADV_WILLNEED:
      return 0;
    case MADV_DONTNEED:
    case MADV_FREE:
      // uvm_map_clean: a hole in the range is EFAULT. The device object has no pgo_put, so
      // nothing happens to device pages; MADV_FREE discards anonymous pages (zero on next touch).
      if (!k.vmmap.isFullyMapped(vm, sva, eva)) return ERRNO.EFAULT;
      if (advice === MADV_FREE) {
        k.vmmap.forEachIn(vm, sva, eva, (i) => {
          const obj = k.vmmap.field(vm, i, E_OBJ);
          if (obj >= 0) return;
          const start = k.vmmap.field(vm, i, E_START);
          const a = Math.max(sva, start);
          const b = Math.min(eva, k.vmmap.field(vm, i, E_END));
          k.pmap.remove(vm, a, b);
          // A shared anonymous object loses those pages too (pgo_put with PGO_FREE); another
          // address space that still maps one keeps its frame until it unmaps it.
          if (obj !== OBJ_ANON) k.aobjs.discard(aobjOf(obj), (k.vmmap.field(vm, i, E_OFFSET) + (a - start)) / PAGE_SIZE, (b - a) / PAGE_SIZE);
        });
        shootdown(k, vm, self, sva, eva, TLB_UNKNOWN);
      }
      return 0;
    default:
      return ERRNO.EINVAL;
  }
}

export function vmMsync(k: Pager, vm: SlotViews, sva: number, eva: number): number {
  return k.vmmap.isFullyMapped(vm, sva, eva) ? 0 : ERRNO.EFAULT;
}

/**
 * Extension: the pmap forgets the device PTEs of a range, as a real pmap may at any time; the map
 * is untouched and the next access faults and calls d_mmap again. Anonymous pages are kept, since
 * their PTE holds the only reference to their frame.
 */
export function vmPmapRemove(k: Pager, vm: SlotViews, self: number, sva: number, eva: number): number {
  let n = 0;
  k.vmmap.forEachIn(vm, sva, eva, (i) => {
    if (k.vmmap.field(vm, i, E_OBJ) < 0) return; // anonymous pages stay
    const a = Math.max(sva, k.vmmap.field(vm, i, E_START));
    const b = Math.min(eva, k.vmmap.field(vm, i, E_END));
    const removed = k.pmap.remove(vm, a, b);
    n += removed;
    if (removed > 0) k.shootdown.invalidate(vm, a / PAGE_SIZE, b / PAGE_SIZE, TLB_ABSENT, self);
  });
  k.shootdown.finish(vm, self);
  return n;
}

/** minherit(2): set the inheritance of [sva, eva), splitting entries at the ends; holes are skipped. */
export function vmMinherit(k: Pager, vm: SlotViews, sva: number, eva: number, inherit: number): number {
  if (!k.vmmap.clip(vm, sva, eva)) return ERRNO.ENOMEM;
  k.vmmap.forEachIn(vm, sva, eva, (i) => {
    const f = k.vmmap.field(vm, i, E_FLAGS);
    k.vmmap.setField(vm, i, E_FLAGS, (f & ~EF_INHERIT_MASK) | (inherit << EF_INHERIT_SHIFT));
  });
  return 0;
}

/**
 * fork: build the address space of slot `child` from `vm`, entry by entry, by inheritance (NetBSD
 * uvmspace_fork):
 *   - NONE: the child has no mapping there;
 *   - SHARE of a device: the same device entry; its PTEs are not copied, so the child's first touch
 *     of each page calls d_mmap again;
 *   - COPY of a device: the entry is marked copy-on-write, and a device pager cannot do that: the
 *     child's touch faults with EIO (SIGSEGV);
 *   - COPY of private anonymous memory (its default): the child's page table gets the parent's
 *     PTEs read-only, both share the frames, and the first write on either side copies the page
 *     (objects.ts); a page neither writes is never copied;
 *   - SHARE of private anonymous memory (minherit): it becomes a shared anonymous object
 *     (aobj.ts) that both address spaces page from, the parent's resident pages moved into it;
 *   - SHARE of a shared anonymous object: the same object; COPY of one: the child gets a private
 *     copy of every resident page.
 * The descriptor table is copied. Returns 0 or an errno (the child's slot is then left empty).
 */
export function vmFork(k: Pager, vm: SlotViews, self: number, child: SlotViews): number {
  const e = vm.entries;
  if (child.meta[S_NENTRIES] !== 0) return ERRNO.EINVAL;
  for (let i = 0; i < vm.meta[S_NENTRIES]; i++) {
    const b = i * ENTRY_F64;
    const flags = e[b + E_FLAGS];
    const inherit = (flags & EF_INHERIT_MASK) >>> EF_INHERIT_SHIFT;
    if (inherit === MAP_INHERIT_NONE) continue;
    if (e[b + E_OBJ] === OBJ_ANON && inherit === MAP_INHERIT_SHARE && !shareAnon(k, vm, self, i)) return forkFailed(k, child);
    const obj = e[b + E_OBJ];
    const start = e[b + E_START];
    const end = e[b + E_END];
    const privateCopy = obj < -1 && inherit === MAP_INHERIT_COPY;
    const ok = k.vmmap.insert(child, {
      start, end, offset: privateCopy ? 0 : e[b + E_OFFSET], obj: privateCopy ? OBJ_ANON : obj, prot: e[b + E_PROT], maxprot: e[b + E_MAXPROT], advice: e[b + E_ADVICE],
      flags: obj >= 0 && inherit === MAP_INHERIT_COPY ? flags | EF_COW : flags,
    });
    if (!ok) return forkFailed(k, child);
    if (privateCopy && !copyPages(k, vm, child, start, end)) return forkFailed(k, child);
    if (obj !== OBJ_ANON) continue;
    // Share every resident anonymous page read-only; the parent's PTEs lose their write right.
    let failed = false;
    k.pmap.forEach(vm, start, end, (va, pte) => {
      if (failed || (pte & PTE_ANON) === 0) return;
      const pfn = ptePfn(pte);
      const ro = (pte & PTE_PROT) & ~PROT_WRITE;
      if (k.pmap.enter(child, va, pfn, ro, true) !== 0) failed = true;
      else if ((pte & PTE_PROT) !== ro) k.pmap.setProt(vm, va, ro);
    });
    if (failed) return forkFailed(k, child);
    k.shootdown.invalidate(vm, start / PAGE_SIZE, end / PAGE_SIZE, TLB_UNKNOWN, self, true);
  }
  for (let i = 0; i < MAX_FDS * FD_WORDS; i++) Atomics.store(child.fds, i, Atomics.load(vm.fds, i));
  k.shootdown.finish(vm, self); // no frame is held here: this counts the operation
  return 0;
}

function forkFailed(k: Pager, child: SlotViews): number {
  vmExit(k, child);
  return ERRNO.ENOMEM;
}

/**
 * Turn private anonymous entry i of `vm` into a shared anonymous object (minherit SHARE at fork):
 * the resident pages move into the object's table — a page still shared copy-on-write with an
 * earlier child is copied first, so that child keeps its own — and stay mapped in the parent.
 */
function shareAnon(k: Pager, vm: SlotViews, self: number, i: number): boolean {
  const start = k.vmmap.field(vm, i, E_START);
  const end = k.vmmap.field(vm, i, E_END);
  const prot = k.vmmap.field(vm, i, E_PROT);
  const obj = k.aobjs.create((end - start) / PAGE_SIZE);
  if (obj < 0) return false;
  let failed = false;
  k.pmap.forEach(vm, start, end, (va, pte) => {
    if (failed || (pte & PTE_ANON) === 0) return;
    let pfn = ptePfn(pte);
    if (k.phys.anonCount(pfn) > 1) {
      const copy = k.phys.allocFrame(FI_ANON, false);
      if (copy < 0) {
        failed = true;
        return;
      }
      k.phys.m8.copyWithin(copy * PAGE_SIZE, pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
      if (k.pmap.enter(vm, va, copy, prot, true) !== 0) {
        k.phys.freeFrame(copy);
        failed = true;
        return;
      }
      pfn = copy;
    } else if ((pte & PTE_PROT) !== (prot & PTE_PROT)) k.pmap.setProt(vm, va, prot);
    k.phys.anonRef(pfn); // the object's table holds it too
    k.aobjs.install(obj, (va - start) / PAGE_SIZE, pfn);
  });
  // A copied page replaced a PTE: other threads must not keep the old frame.
  if (k.shootdown.holding > 0) k.shootdown.invalidate(vm, start / PAGE_SIZE, end / PAGE_SIZE, TLB_UNKNOWN, self);
  k.shootdown.finish(vm, self);
  if (failed) {
    k.aobjs.ref(obj, -1);
    return false;
  }
  // The entry now pages from the object: it takes the object's one reference.
  k.vmmap.setField(vm, i, E_OBJ, objOfAobj(obj));
  k.vmmap.setField(vm, i, E_OFFSET, 0);
  return true;
}

/** A private copy of every resident page of a shared object's range, for a child (COPY of an aobj). */
function copyPages(k: Pager, vm: SlotViews, child: SlotViews, start: number, end: number): boolean {
  let failed = false;
  k.pmap.forEach(vm, start, end, (va, pte) => {
    if (failed || (pte & PTE_ANON) === 0) return;
    const copy = k.phys.allocFrame(FI_ANON, false);
    if (copy < 0) {
      failed = true;
      return;
    }
    const pfn = ptePfn(pte);
    k.phys.m8.copyWithin(copy * PAGE_SIZE, pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
    if (k.pmap.enter(child, va, copy, pte & PTE_PROT, true) !== 0) {
      k.phys.freeFrame(copy);
      failed = true;
    }
  });
  return !failed;
}

/**
 * Revocation (Linux unmap_mapping_range; NetBSD has none): remove every PTE of device `dev`'s
 * offsets [off, off + len) from every address space this pager owns, and every thread's TLB entry
 * with it. The mappings stay; the next access calls d_mmap again. Returns the PTEs removed.
 */
export function vmRevoke(k: Pager, spaces: readonly SlotViews[], dev: number, off: number, len: number): number {
  let n = 0;
  for (const vm of spaces) {
    const e = vm.entries;
    for (let i = 0, ne = vm.meta[S_NENTRIES]; i < ne; i++) {
      const b = i * ENTRY_F64;
      if (e[b + E_OBJ] !== dev) continue;
      const start = e[b + E_START];
      const eoff = e[b + E_OFFSET];
      const lo = Math.max(off, eoff);
      const hi = Math.min(off + len, eoff + (e[b + E_END] - start));
      if (lo >= hi) continue;
      const sva = start + (lo - eoff) - ((start + (lo - eoff)) % PAGE_SIZE);
      const eva = Math.ceil((start + (hi - eoff)) / PAGE_SIZE) * PAGE_SIZE;
      n += k.pmap.remove(vm, sva, eva);
      k.shootdown.invalidate(vm, sva / PAGE_SIZE, eva / PAGE_SIZE, TLB_ABSENT, -1);
    }
    k.shootdown.finish(vm, -1);
  }
  return n;
}

/**
 * exit: the whole address space goes, as by munmap, then the page tables themselves; and every
 * descriptor is closed, as exit(2) does, so that the slot's next process starts with none.
 */
export function vmExit(k: Pager, vm: SlotViews): void {
  for (let i = 0; i < vm.fds.length; i++) Atomics.store(vm.fds, i, 0);
  k.vmmap.clear(vm, (a, b) => k.pmap.remove(vm, a, b));
  k.pmap.destroy(vm);
  // No thread of it is left to reach a frame: everything held goes now.
  k.shootdown.finish(vm, vm.index);
  k.shootdown.forget(vm.index);
}

export { PTE_VALID };
