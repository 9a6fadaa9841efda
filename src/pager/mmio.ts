/**
 * Register pages (the device kit): a driver declares `mmio` regions beside its RAM pages, and no
 * PTE is ever entered for them (objects.ts). Every load and store a thread makes there arrives
 * here as an OP_MMIO request and runs the driver's `read` or `write` callback on this pager, with
 * the exact device offset, size and value (QEMU's MemoryRegionOps). Doorbell regions take no
 * request: their stores are posted to the host (process/device-io.ts).
 *
 * A callback that throws, or returns something that is not a value of the access's size, is a
 * driver bug: the access fails with EIO (SIGSEGV), counted in driverBugs, and the pager goes on.
 */
import { PAGE_SIZE, PROT_READ } from '../constants.js';
import type { Driver, MmioRegionSpec } from '../driver.js';
import { ERRNO, describeThrown } from '../errors.js';
import { E_END, E_OBJ, E_OFFSET, E_PROT, E_START } from '../layout.js';
import { CALL_MMIO_READ, CALL_MMIO_WRITE } from './objects.js';
import type { Pager } from './pager.js';
import type { SlotViews } from './protocol.js';

export interface MmioRegion {
  offset: number;
  end: number;
  doorbell: boolean;
  spec: MmioRegionSpec;
}

/** A driver's register regions, page-rounded, in offset order; null when it has none. */
export function compileRegions(d: Driver): MmioRegion[] | null {
  const list = d.mmio;
  if (!list || list.length === 0) return null;
  return list
    .map((r) => ({ offset: r.offset, end: r.offset + Math.ceil(r.size / PAGE_SIZE) * PAGE_SIZE, doorbell: r.doorbell === true, spec: r }))
    .sort((a, b) => a.offset - b.offset);
}

const MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

/**
 * One register access: look the page up again (the mapping may have changed since the thread
 * learnt it was a register page: EAGAIN makes it translate again), check the protection, and run
 * the callback. A read's value goes to k.mmioResult.
 */
export function mmioAccess(k: Pager, vm: SlotViews, va: number, access: number, size: number, lo: number, hi: number): number {
  const i = k.vmmap.lookup(vm, va - (va % PAGE_SIZE));
  if (i < 0) return ERRNO.EFAULT;
  const dev = k.vmmap.field(vm, i, E_OBJ);
  if (dev < 0) return ERRNO.EAGAIN; // anonymous memory now: translate again
  const prot = k.vmmap.field(vm, i, E_PROT);
  if (access === PROT_READ ? (prot & 3) === 0 : (prot & access) !== access) return ERRNO.EFAULT;
  const off = k.vmmap.field(vm, i, E_OFFSET) + (va - k.vmmap.field(vm, i, E_START));
  if (va >= k.vmmap.field(vm, i, E_END)) return ERRNO.EFAULT;
  const region = k.mmioRegion(dev, off);
  if (region === null || region.doorbell) return ERRNO.EAGAIN;
  const d = k.devices[dev];
  const spec = region.spec;
  const out = k.mmioResult;
  out[0] = 0;
  out[1] = 0;
  try {
    if (access === PROT_READ) {
      if (typeof spec.read !== 'function') return 0; // a write-only register reads as 0
      k.callStart(dev, off, CALL_MMIO_READ);
      let v: unknown;
      try {
        v = spec.read(d.handle, off, size, k.kernel);
      } finally {
        k.callEnd();
      }
      if (size === 8) {
        if (typeof v !== 'bigint') return bug(k, dev, off, `read returned ${typeof v}, not a bigint, for an 8-byte access`);
        out[0] = Number(BigInt.asUintN(32, v));
        out[1] = Number(BigInt.asUintN(32, v >> 32n));
      } else {
        if (typeof v !== 'number' || !Number.isInteger(v)) return bug(k, dev, off, `read returned ${typeof v === 'number' ? v : typeof v}, not an integer`);
        out[0] = size === 4 ? v >>> 0 : v & MASK[size];
      }
    } else {
      if (typeof spec.write !== 'function') return 0; // a read-only register ignores stores
      const value: number | bigint = size === 8 ? (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0) : lo;
      k.callStart(dev, off, CALL_MMIO_WRITE);
      try {
        spec.write(d.handle, off, size, value, k.kernel);
      } finally {
        k.callEnd();
      }
    }
  } catch (e) {
    return bug(k, dev, off, `${access === PROT_READ ? 'read' : 'write'} callback threw ${describeThrown(e)}`);
  }
  return 0;
}

function bug(k: Pager, dev: number, off: number, what: string): number {
  k.driverBug(dev, off, 0, `mmio ${what}`);
  return ERRNO.EIO;
}
