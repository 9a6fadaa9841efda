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
 * Anonymous pager: zero-filled frames allocated on first touch, owned by the PTE (see pmap.ts).
 */
import { PAGE_SIZE } from '../constants.js';
import { ERRNO } from '../errors.js';
import { C, E_OBJ, E_OFFSET, E_PROT, E_START, FI_ANON } from '../layout.js';
import type { Pager } from './pager.js';
import { ENTER_NOMEM, ENTER_OK, PTE_VALID, ptePfn } from './pmap.js';
import type { SlotViews } from './protocol.js';
import { clockMs } from '../clock.js';
import { DMMAP_SAMPLE, K_DMMAP, KIND_BITS } from '../trace.js';

export const ERESTART = -1;

export interface PagerOps {
  /** Resolve one page at `va` (page aligned) for entry `i`. */
  fault(k: Pager, s: SlotViews, i: number, va: number, access: number): number;
}

export const devicePagerOps: PagerOps = {
  fault(k, s, i, va, access) {
    const dev = k.vmmap.field(s, i, E_OBJ);
    const off = k.vmmap.field(s, i, E_OFFSET) + (va - k.vmmap.field(s, i, E_START));
    const pfn = dmmap(k, dev, off, access);
    if (pfn < 0) return ERRNO.EIO;
    const r = k.pmap.enter(s, va, pfn, k.vmmap.field(s, i, E_PROT), false);
    return r === ENTER_OK ? 0 : r === ENTER_NOMEM ? ERRNO.ENOMEM : ERRNO.EIO;
  },
};

export const anonPagerOps: PagerOps = {
  fault(k, s, i, va) {
    const prot = k.vmmap.field(s, i, E_PROT);
    const pte = k.pmap.lookup(s, va);
    if ((pte & PTE_VALID) !== 0) {
      // Resident but entered with fewer rights (mprotect raised them since): upgrade in place.
      return k.pmap.enter(s, va, ptePfn(pte), prot, true) === ENTER_OK ? 0 : ERRNO.ENOMEM;
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
  try {
    r = d.driver.mmap(d.handle, off, prot, k.kernel);
  } catch (e) {
    if (timed) dmmapTime(k, t0, dev, off);
    k.driverBug(dev, off, prot, `threw ${describeThrown(e)}`);
    return -1;
  }
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

/** Text for whatever a driver threw; even a value that cannot become a string must not escape. */
function describeThrown(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  } catch {
    return 'a value that cannot be printed';
  }
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
 * first -1 fails the attach. Nothing is entered in any pmap.
 */
export function udvAttach(k: Pager, dev: number, off: number, size: number, prot: number): boolean {
  const d = k.devices[dev];
  if (!d.driver.negOffsetSafe && (off < 0 || off + size > Number.MAX_SAFE_INTEGER)) return false;
  for (let o = off; o < off + size; o += PAGE_SIZE) {
    if (dmmap(k, dev, o, prot) < 0) return false;
  }
  return true;
}
