/**
 * Drivers: `defineDriver` and `regionMmap`, public API (README.md, "Writing a driver"; the
 * NetBSD contract of d_mmap: docs/netbsd.md, "The pieces").
 *
 * A driver module is loaded twice over: by the host, which calls `attach` once per unit, and by
 * every pager thread, which calls `mmap` (d_mmap). Module-level mutable state is therefore NOT
 * shared between the two; anything both sides need lives in kernel memory, reached through the
 * cloneable state that `attach` returns.
 */
import { PAGE_SIZE, atop } from './constants.js';
import { badType } from './errors.js';
import type { KernelApi } from './kernel.js';

/** What d_mmap sees: dev_t, expanded. `state` is what attach returned for this unit. */
export interface DevHandle<S = any> {
  readonly name: string;
  readonly unit: number;
  readonly state: S;
}

/**
 * A register region (the device kit): no PTE is ever entered for these pages; every load and store
 * of a process runs `read` or `write` on the pager serving it, with the device offset of the access
 * and its size (1, 2, 4 or 8; 8-byte values are bigints). A doorbell region has no callbacks: its
 * stores are posted to the host's rt.device(path).onDoorbell handlers and its loads return 0.
 */
export interface MmioRegionSpec<S = any> {
  /** first device offset (page aligned) */
  readonly offset: number;
  /** bytes, rounded up to whole pages */
  readonly size: number;
  readonly doorbell?: boolean;
  read?(dev: DevHandle<S>, off: number, size: number, kernel: KernelApi): number | bigint;
  write?(dev: DevHandle<S>, off: number, size: number, value: number | bigint, kernel: KernelApi): void;
}

export interface Driver<S = any, Cfg = any> {
  readonly name: string;
  /** Host side, once per unit, at Runtime.create. Returns structured-cloneable state. */
  attach?(kernel: KernelApi, unit: number, config: Cfg): S | Promise<S>;
  /** d_mmap: (dev, page-aligned offset, prot) -> page frame number, or -1. Runs in pager threads. */
  mmap(dev: DevHandle<S>, off: number, prot: number, kernel: KernelApi): number;
  /** D_NEGOFFSAFE: let negative offsets reach mmap (NetBSD's drm flag). */
  readonly negOffsetSafe?: boolean;
  /** register pages beside the RAM pages (MmioRegionSpec) */
  readonly mmio?: readonly MmioRegionSpec<S>[];
  /**
   * Optional, host side: the unit's named regions, so that profile reports can say which object a
   * hot page belongs to. A `regionMmap` table whose entries carry a `name` serves as it is.
   */
  regions?(dev: DevHandle<S>): readonly NamedRegion[];
}

/** A named range of device offsets, [offset, offset + size), for profile reports. */
export interface NamedRegion {
  readonly name?: string;
  readonly offset: number;
  readonly size: number;
}

const DRIVER_BRAND = Symbol.for('devpager.driver');

export function defineDriver<S = any, Cfg = any>(d: Driver<S, Cfg>): Driver<S, Cfg> {
  if (d === null || typeof d !== 'object') throw badType('defineDriver(driver)', 'an object', d);
  if (typeof d.name !== 'string' || d.name === '') throw badType('driver.name', 'a non-empty string', d.name);
  if (typeof d.mmap !== 'function') throw badType(`driver "${d.name}" mmap`, 'a function (d_mmap)', d.mmap);
  if (d.attach !== undefined && typeof d.attach !== 'function') throw badType(`driver "${d.name}" attach`, 'a function', d.attach);
  if (d.mmio !== undefined) checkMmio(d.name, d.mmio);
  if (d.regions !== undefined && typeof d.regions !== 'function') throw badType(`driver "${d.name}" regions`, 'a function (dev) => [{ name, offset, size }]', d.regions);
  Object.defineProperty(d, DRIVER_BRAND, { value: true });
  return Object.freeze(d);
}

function checkMmio(name: string, list: unknown): void {
  if (!Array.isArray(list)) throw badType(`driver "${name}" mmio`, 'an array of { offset, size, read, write } or { offset, size, doorbell: true }', list);
  const spans: [number, number][] = [];
  list.forEach((r: MmioRegionSpec, i) => {
    const what = `driver "${name}" mmio[${i}]`;
    if (r === null || typeof r !== 'object') throw badType(what, 'an object { offset, size, read, write } or { offset, size, doorbell: true }', r);
    if (typeof r.offset !== 'number' || !Number.isInteger(r.offset) || r.offset % PAGE_SIZE !== 0) throw badType(`${what}.offset`, 'a page-aligned integer device offset', r.offset);
    if (typeof r.size !== 'number' || !Number.isInteger(r.size) || r.size <= 0) throw badType(`${what}.size`, 'a positive integer number of bytes', r.size);
    if (r.doorbell !== undefined && typeof r.doorbell !== 'boolean') throw badType(`${what}.doorbell`, 'a boolean', r.doorbell);
    if (r.read !== undefined && typeof r.read !== 'function') throw badType(`${what}.read`, 'a function (dev, off, size, kernel) => value', r.read);
    if (r.write !== undefined && typeof r.write !== 'function') throw badType(`${what}.write`, 'a function (dev, off, size, value, kernel)', r.write);
    if (r.doorbell && (r.read !== undefined || r.write !== undefined)) throw new TypeError(`${what}: a doorbell region has no read or write callbacks (its stores go to rt.device(path).onDoorbell)`);
    if (!r.doorbell && r.read === undefined && r.write === undefined) throw new TypeError(`${what}: give read and/or write callbacks, or doorbell: true`);
    const end = r.offset + Math.ceil(r.size / PAGE_SIZE) * PAGE_SIZE;
    for (const [a, b] of spans) if (r.offset < b && a < end) throw new RangeError(`${what}: [0x${r.offset.toString(16)}, 0x${end.toString(16)}) overlaps another mmio region`);
    spans.push([r.offset, end]);
  });
}

export function isDriver(x: unknown): x is Driver {
  return x !== null && typeof x === 'object' && typeof (x as Driver).mmap === 'function';
}

export interface Region {
  /** first device offset of the region (page aligned) */
  offset: number;
  /** bytes; the region is [offset, offset + size) */
  size: number;
  /** kernel virtual address that device offset `offset` maps to (from kmAlloc) */
  kva: number;
  /** what profile reports call it (pass the same table as the driver's `regions`) */
  name?: string;
}

/**
 * Build a d_mmap from a table of regions (README.md, "Writing a driver", step 3): inside a region the
 * page is translated with pmapExtract, per page (kernel memory is physically scattered); anywhere
 * else — gaps, past the end, negative offsets — the answer is -1.
 */
export function regionMmap<S = any>(regionsOf: (dev: DevHandle<S>) => readonly Region[]): Driver<S>['mmap'] {
  return (dev, off, _prot, kernel) => {
    const regions = regionsOf(dev);
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i];
      if (off >= r.offset && off < r.offset + r.size) {
        const pa = kernel.pmapExtract(r.kva + (off - r.offset));
        return pa < 0 ? -1 : atop(pa);
      }
    }
    return -1;
  };
}

/**
 * The regions a driver declares for one unit (host side, for profile reports); none if it
 * declares none. A `regions` that throws or returns something else is a TypeError naming it.
 */
export function declaredRegions(d: Driver, dev: DevHandle): readonly NamedRegion[] {
  if (typeof d.regions !== 'function') return [];
  const r: unknown = d.regions(dev);
  const ok = (x: unknown): x is NamedRegion =>
    x !== null && typeof x === 'object' && Number.isFinite((x as NamedRegion).offset) && Number.isFinite((x as NamedRegion).size) &&
    ((x as NamedRegion).name === undefined || typeof (x as NamedRegion).name === 'string');
  if (!Array.isArray(r) || !r.every(ok)) throw badType(`driver "${d.name}" regions(dev)`, 'an array of { name, offset, size }', r);
  return r;
}
