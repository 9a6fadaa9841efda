/**
 * Memory objects and their pager ops (NetBSD uvm_pagerops): the fault routine does not know
 * whether an entry maps a device or anonymous memory; it calls `ops.fault` and gets 0, an errno,
 * or ERESTART back.
 *
 * Device pager (uvm_device.c): no pages of its own. At mmap time udv_attach walks every page of
 * the range through d_mmap; at fault time udv_fault asks d_mmap for exactly the faulting page and
 * enters it with the entry's full protection. d_mmap's answer is then cached in the PTE; the
 * driver cannot revoke it.
 *
 * A device's register pages (the driver's `mmio` regions) are never entered: a fault there
 * answers FAULT_SPECIAL with what the thread needs to send every access to the driver instead
 * (pager.ts, OP_MMIO), and udv_attach does not ask d_mmap about them.
 *
 * Anonymous pager: zero-filled frames allocated on first touch, counted per PTE (pmap.ts). After
 * fork a frame mapped by several address spaces is entered read-only; the first write copies it
 * (copy-on-write), or takes it over when no other PTE maps it any more.
 */
import { ERRNO, describeThrown } from '../errors.js';
import { PAGE_SIZE, PROT_WRITE } from '../constants.js';
import { C, E_FLAGS, E_OBJ, E_OFFSET, E_PROT, E_START, EF_COW, FI_ANON, aobjOf } from '../layout.js';
import type { Pager } from './pager.js';
import { ENTER_NOMEM, ENTER_OK, PTE_VALID, ptePfn } from './pmap.js';
import type { SlotViews } from './protocol.js';
import { clockMs } from '../clock.js';
import { DMMAP_SAMPLE, K_DMMAP, KIND_BITS } from '../trace.js';

export const ERESTART = -1;
/** fault: the page is a register page; k.special says what it is */
export const FAULT_SPECIAL = -2;

/** What driver code a pager is in (the watchdog's words, layout.ts P_CALL_*). */
export const CALL_DMMAP = 1;
export const CALL_MMIO_READ = 2;
export const CALL_MMIO_WRITE = 3;

export interface PagerOps {
  /** Resolve one page at `va` (page aligned) for entry `i` of address space `s`; `self` is the faulting slot. */
  fault(k: Pager, s: SlotViews, i: number, va: number, access: number, self: number): number;
}

export const devicePagerOps: PagerOps = {
  fault(k, s, i, va, access) {
    // udv_fault: a device entry made copy-on-write by fork (minherit COPY) cannot be paged.
    if ((k.vmmap.field(s, i, E_FLAGS) & EF_COW) !== 0) return ERRNO.EIO;
    const dev = k.vmmap.field(s, i, E_OBJ);
    const off = k.vmmap.field(s, i, E_OFFSET) + (va - k.vmmap.field(s, i, E_START));
    const region = k.mmioRegion(dev, off);
    if (region !== null) {
      k.special.kind = region.doorbell ? 2 : 1;
      k.special.devOff = off;
      k.special.dev = dev;
      k.special.prot = k.vmmap.field(s, i, E_PROT);
      return FAULT_SPECIAL;
    }
    const pfn = dmmap(k, dev, off, access);
    if (pfn < 0) return ERRNO.EIO;
    const r = k.pmap.enter(s, va, pfn, k.vmmap.field(s, i, E_PROT), false);
    return r === ENTER_OK ? 0 : r === ENTER_NOMEM ? ERRNO.ENOMEM : ERRNO.EIO;
  },
};

export const anonPagerOps: PagerOps = {
  fault(k, s, i, va, access) {
    const prot = k.vmmap.field(s, i, E_PROT);
    const pte = k.pmap.lookup(s, va);
    if ((pte & PTE_VALID) !== 0) {
      const pfn = ptePfn(pte);
      if (k.phys.anonCount(pfn) > 1) {
        // Shared with another address space since fork: a read maps it read-only, a write copies it.
        if ((access & PROT_WRITE) === 0) return k.pmap.enter(s, va, pfn, prot & ~PROT_WRITE, true) === ENTER_OK ? 0 : ERRNO.ENOMEM;
        const copy = k.phys.allocFrame(FI_ANON, false);
        if (copy < 0) return ERRNO.ENOMEM;
        k.phys.m8.copyWithin(copy * PAGE_SIZE, pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
        k.stats.counters[C.cowCopies]++;
        // The old frame is released to the pager, which takes it from the other threads' TLBs.
        if (k.pmap.enter(s, va, copy, prot, true) !== ENTER_OK) {
          k.phys.freeFrame(copy);
          return ERRNO.ENOMEM;
        }
        return 0;
      }
      // Resident but entered with fewer rights (mprotect raised them, or a fork's last sharer
      // went away): upgrade in place.
      return k.pmap.enter(s, va, pfn, prot, true) === ENTER_OK ? 0 : ERRNO.ENOMEM;
    }
    const pfn = k.phys.allocFrame(FI_ANON, false);
    if (pfn < 0) return ERRNO.ENOMEM;
    k.phys.zeroFrame(pfn);
    if (k.pmap.enter(s, va, pfn, prot, true) !== ENTER_OK) {
      k.phys.freeFrame(pfn);
      return ERRNO.ENOMEM;
    }
    return 0;
  },
};

/**
 * Shared anonymous objects (aobj.ts): the page comes from the object's table, allocated there on
 * first touch, and is entered with the entry's full protection — no copy-on-write: every mapper
 * sees every write.
 */
export const aobjPagerOps: PagerOps = {
  fault(k, s, i, va) {
    const obj = aobjOf(k.vmmap.field(s, i, E_OBJ));
    const page = (k.vmmap.field(s, i, E_OFFSET) + (va - k.vmmap.field(s, i, E_START))) / PAGE_SIZE;
    const pfn = k.aobjs.fault(obj, page);
    if (pfn < 0) return ERRNO.ENOMEM;
    return k.pmap.enter(s, va, pfn, k.vmmap.field(s, i, E_PROT), true) === ENTER_OK ? 0 : ERRNO.ENOMEM;
  },
};

/**
 * Call the driver's d_mmap and validate the cookie. A driver bug — a throw, a non-integer, a frame
 * outside the arena or one that is not live kernel memory — is counted and treated as -1, and the
 * pager keeps serving. Returns the pfn or -1.
 */
export function dmmap(k: Pager, dev: number, off: number, prot: number): number {
  const d = k.devices[dev];
  const c = k.stats.counters;
  c[C.dmmapCalls]++;
  // The page a traced fault's service event names (pager.ts).
  k.faultDev = dev;
  k.faultOff = off;
  let r: unknown;
  const timed = k.tracing && (k.dmmapSeq = (k.dmmapSeq + 1) & (DMMAP_SAMPLE - 1)) === 0;
  const t0 = timed ? clockMs() : 0;
  k.callStart(dev, off, CALL_DMMAP);
  try {
    r = d.driver.mmap(d.handle, off, prot, k.kernel);
  } catch (e) {
    k.callEnd();
    if (timed) dmmapTime(k, t0, dev, off);
    k.driverBug(dev, off, prot, `threw ${describeThrown(e)}`);
    return -1;
  }
  k.callEnd();
  if (timed) dmmapTime(k, t0, dev, off);
  if (r === -1) return -1;
  if (typeof r !== 'number' || !Number.isInteger(r)) {
    k.driverBug(dev, off, prot, `returned ${typeof r === 'number' ? r : typeof r}, not an integer frame number or -1`);
    return -1;
  }
  if (r < 0 || r >= k.phys.nframes) {
    k.driverBug(dev, off, prot, `returned frame ${r}, outside the arena (0..${k.phys.nframes - 1}); did it forget pmapExtract/atop?`);
    return -1;
  }
  if (!k.phys.isKernelFrame(r)) {
    k.driverBug(dev, off, prot, `returned frame ${r}, which is not live kernel memory (freed, or never from kmAlloc)`);
    return -1;
  }
  return r;
}

/** A timed d_mmap call of a traced request: its span, and its time weighted by the share timed. */
function dmmapTime(k: Pager, t0: number, dev: number, off: number): void {
  const t1 = clockMs();
  k.stats.counters[C.dmmapNs] += (t1 - t0) * 1e6 * k.gate!.every() * DMMAP_SAMPLE;
  k.trace!.emit(K_DMMAP + (dev + 1) * 2 ** KIND_BITS, t0, t1 - t0, off, 0);
}

/**
 * udv_attach: unless the driver is D_NEGOFFSAFE, a negative offset or an overflowing range fails;
 * then every page of the range is checked through d_mmap with `prot`, in ascending order, and the
 * first -1 fails the attach. Nothing is entered in any pmap. Returns -1 on success, else the
 * device offset that was refused (for the error message).
 */
export function udvAttach(k: Pager, dev: number, off: number, size: number, prot: number): number {
  const d = k.devices[dev];
  if (!d.driver.negOffsetSafe && (off < 0 || off + size > Number.MAX_SAFE_INTEGER)) return off < 0 ? off : off + size;
  for (let o = off; o < off + size; o += PAGE_SIZE) {
    if (k.mmioRegion(dev, o) !== null) continue; // register pages have no frame to ask about
    if (dmmap(k, dev, o, prot) < 0) return o;
  }
  return -1;
}
