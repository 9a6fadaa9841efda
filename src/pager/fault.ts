/**
 * A word on page faults.
 *
 * A process touches a virtual address. Its own software TLB answers most accesses with one load
 * and one test. On a miss it reads the PTE (unless it knows there is none: docs/architecture.md,
 * "The TLB and the access path"); if the PTE does not allow the access, it posts
 * OP_FAULT(va, access type) in its slot and waits. The pager that owns the
 * process runs uvmFault below, which is NetBSD's uvm_fault_internal reduced to what the device
 * and anonymous pagers need:
 *
 *   1. look up the map entry containing va          -> none: EFAULT   (SIGSEGV, SEGV_MAPERR)
 *   2. access type not in the entry's protection    -> EFAULT          (NetBSD >= 8; d_mmap not called)
 *   3. call the object's pager ops: the device pager calls d_mmap(dev, off, access type) for the
 *      one faulting page — no fault-around — validates the frame and enters it with the entry's
 *      full protection; the anonymous pager allocates a zeroed frame on first touch.
 *         -1 from d_mmap, or a driver bug        -> EIO             (SIGSEGV, SEGV_MAPERR)
 *         no frame for a page table               -> ENOMEM: wait for memory and restart from 1
 *                                                    a few times, then give up (SIGKILL)
 *   4. reply 0; the process re-reads the PTE, fills its TLB and retries the access.
 *
 * Which thread writes which word, and why no lock is needed:
 *   - the map entries and page tables of a process are written only by the one pager that owns
 *     it, and only while serving that process's (or the host's) requests, so the fault routine
 *     never races a map change: the "map lock" is the pager thread itself;
 *   - PTEs are published with a single Atomics.store and read with Atomics.load;
 *   - frames and kernel memory are shared by all threads and managed with CAS (physmem.ts);
 *   - device reference counts are Atomics.add on one word per device;
 *   - d_mmap is a pure lookup over kernel memory, so two pagers may call it at once for the same
 *     device (NetBSD serialises it under the object lock; nothing here needs that).
 */
import { ERRNO } from '../errors.js';
import { C, E_OBJ, E_PROT, OBJ_ANON } from '../layout.js';
import { ERESTART, anonPagerOps, aobjPagerOps, devicePagerOps } from './objects.js';
import type { Pager } from './pager.js';
import type { SlotViews } from './protocol.js';

const MAX_RESTARTS = 4;

export function uvmFault(k: Pager, s: SlotViews, va: number, access: number, self: number): number {
  const pageVa = va - (va & 4095);
  for (let restarts = 0; ; restarts++) {
    const i = k.vmmap.lookup(s, pageVa);
    if (i < 0) return ERRNO.EFAULT;
    const prot = k.vmmap.field(s, i, E_PROT);
    if ((access & prot) !== access) return ERRNO.EFAULT;
    const obj = k.vmmap.field(s, i, E_OBJ);
    const ops = obj >= 0 ? devicePagerOps : obj === OBJ_ANON ? anonPagerOps : aobjPagerOps;
    const r = ops.fault(k, s, i, pageVa, access, self);
    if (r !== ERRNO.ENOMEM && r !== ERESTART) return r;
    // uvm_fault: wait for memory (another thread may free some) and redo the fault
    // (docs/netbsd.md, "Fault time").
    if (restarts >= MAX_RESTARTS) return ERRNO.ENOMEM;
    k.stats.counters[C.restarts]++;
    k.waitForMemory();
  }
}
