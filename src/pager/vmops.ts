/**
 * The pager's half of the VM system calls. The process has already done every argument check that
 * needs no map, in NetBSD's order (docs/netbsd.md, "mmap time"); what is left here needs the map,
 * the page tables or the driver, and runs on the pager that owns the process.
 */
import {
  MADV_DONTNEED, MADV_FREE, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MAP_FIXED,
} from '../constants.js';
import { ERRNO } from '../errors.js';
import { E_ADVICE, E_END, E_MAXPROT, E_OBJ, E_PROT, E_START, OBJ_ANON } from '../layout.js';
import { udvAttach } from './objects.js';
import type { Pager } from './pager.js';
import type { SlotViews } from './protocol.js';

/** mmap after the process-side checks. Returns the mapping's start, or -errno. */
export function vmMmap(k: Pager, s: SlotViews, addr: number, size: number, prot: number, flags: number, obj: number, off: number, maxprot: number): number {
  if (obj !== OBJ_ANON) {
    // vn_mmap: try udv_attach with maxprot, then maxprot-1, ... down to 1 (docs/netbsd.md, "mmap time").
    let ok = false;
    for (let p = maxprot; p >= 1 && !ok; p--) ok = udvAttach(k, obj, off, size, p);
    if (!ok) return -ERRNO.EINVAL;
  }
  let start: number;
  if (flags & MAP_FIXED) {
    if (addr === 0) return -ERRNO.EACCES; // vm.user_va0_disable=1 (the default)
    start = addr;
    // MAP_FIXED replaces what was there, after the attach succeeded (uvm_mmap: uvm_unmap first).
    // Check for room first, so that a mapping that cannot be inserted does not remove the old one.
    if (k.vmmap.countAfterRemove(s, start, start + size) + 1 > k.layout.mapEntries) return -ERRNO.ENOMEM;
    if (!k.vmmap.removeRange(s, start, start + size, (a, b) => k.pmap.remove(s, a, b))) return -ERRNO.ENOMEM;
  } else {
    start = k.vmmap.findSpace(s, addr, size);
    if (start < 0) return -ERRNO.ENOMEM;
  }
  const ok = k.vmmap.insert(s, {
    start, end: start + size, offset: obj === OBJ_ANON ? 0 : off, obj, prot, maxprot,
    advice: obj === OBJ_ANON ? MADV_NORMAL : MADV_RANDOM, flags,
  });
  return ok ? start : -ERRNO.ENOMEM;
}

export function vmMunmap(k: Pager, s: SlotViews, sva: number, eva: number): number {
  return k.vmmap.removeRange(s, sva, eva, (a, b) => k.pmap.remove(s, a, b)) ? 0 : ERRNO.ENOMEM;
}

export function vmMprotect(k: Pager, s: SlotViews, sva: number, eva: number, prot: number): number {
  let denied = false;
  k.vmmap.forEachIn(s, sva, eva, (i) => {
    if ((prot & ~k.vmmap.field(s, i, E_MAXPROT)) !== 0) denied = true;
  });
  if (denied) return ERRNO.EACCES;
  if (!k.vmmap.clip(s, sva, eva)) return ERRNO.ENOMEM;
  k.vmmap.forEachIn(s, sva, eva, (i) => {
    const old = k.vmmap.field(s, i, E_PROT);
    if (old === prot) return;
    k.vmmap.setField(s, i, E_PROT, prot);
    // Lowering takes rights away from PTEs now; raising leaves them, and the next access that
    // needs the new rights faults (and calls d_mmap again).
    if ((old & ~prot) !== 0) k.pmap.protect(s, k.vmmap.field(s, i, E_START), k.vmmap.field(s, i, E_END), prot);
  });
  return 0;
}

export function vmMadvise(k: Pager, s: SlotViews, sva: number, eva: number, advice: number): number {
  switch (advice) {
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
      if (!k.vmmap.clip(s, sva, eva)) return ERRNO.ENOMEM;
      k.vmmap.forEachIn(s, sva, eva, (i) => k.vmmap.setField(s, i, E_ADVICE, advice));
      return 0;
    case MADV_WILLNEED:
      return 0;
    case MADV_DONTNEED:
    case MADV_FREE:
      // uvm_map_clean: a hole in the range is EFAULT. The device object has no pgo_put, so
      // nothing happens to device pages; MADV_FREE discards anonymous pages (zero on next touch).
      if (!k.vmmap.isFullyMapped(s, sva, eva)) return ERRNO.EFAULT;
      if (advice === MADV_FREE) {
        k.vmmap.forEachIn(s, sva, eva, (i) => {
          if (k.vmmap.field(s, i, E_OBJ) !== OBJ_ANON) return;
          k.pmap.remove(s, Math.max(sva, k.vmmap.field(s, i, E_START)), Math.min(eva, k.vmmap.field(s, i, E_END)));
        });
      }
      return 0;
    default:
      return ERRNO.EINVAL;
  }
}

export function vmMsync(k: Pager, s: SlotViews, sva: number, eva: number): number {
  return k.vmmap.isFullyMapped(s, sva, eva) ? 0 : ERRNO.EFAULT;
}

/**
 * Extension: the pmap forgets the device PTEs of a range, as a real pmap may at any time; the map
 * is untouched and the next access faults and calls d_mmap again. Anonymous pages are kept, since
 * their PTE holds the only reference to their frame.
 */
export function vmPmapRemove(k: Pager, s: SlotViews, sva: number, eva: number): number {
  let n = 0;
  k.vmmap.forEachIn(s, sva, eva, (i) => {
    if (k.vmmap.field(s, i, E_OBJ) === OBJ_ANON) return;
    n += k.pmap.remove(s, Math.max(sva, k.vmmap.field(s, i, E_START)), Math.min(eva, k.vmmap.field(s, i, E_END)));
  });
  return n;
}

/** exit: the whole address space goes, as by munmap, then the page tables themselves. */
export function vmExit(k: Pager, s: SlotViews): void {
  k.vmmap.clear(s, (a, b) => k.pmap.remove(s, a, b));
  k.pmap.destroy(s);
}
