/**
 * The seed's pseudo-device (Thorpe, tech-kern, March 2000), as a real driver.
 *
 * Two kernel-memory objects sit at arbitrary mmap offsets:
 *   device offsets [REGION1_OFFSET, +REGION1_SIZE) -> object 1
 *   device offsets [REGION2_OFFSET, +REGION2_SIZE) -> object 2
 * and everything else (the gap, past the end, negative offsets) answers -1. The objects are
 * allocated page-aligned and page-rounded with kmAlloc (uvm_km_alloc), and each page is translated
 * with pmapExtract — per page, since kernel memory is physically scattered — and returned as
 * atop(pa). (The mail's first example returns FOO_REGION1_ADDR for region 2 too; that is a typo
 * in the mail, fixed here.)
 *
 * The region sizes live in kernel memory, not in the driver module, so the host can shrink a
 * region after processes mapped it (acceptance case 8) and every pager sees it.
 */
import { PAGE_SIZE, atop } from '../constants.js';
import { defineDriver } from '../driver.js';

export const REGION1_OFFSET = 0;
export const REGION2_OFFSET = 16 * PAGE_SIZE;

export interface FooConfig {
  /** bytes of object 1 (default 3 pages) */
  size1?: number;
  /** bytes of object 2 (default 100 bytes: rounded up to one page) */
  size2?: number;
  /** device offset of object 2 (default 16 pages, or 4 pages past a larger region 1) */
  offset2?: number;
}

export interface FooState {
  obj1: number;
  obj2: number;
  size1: number;
  size2: number;
  offset2: number;
  /** kernel word holding the live size of region 1 (the host may shrink it) */
  sizesKva: number;
}

export default defineDriver<FooState, FooConfig | undefined>({
  name: 'foo',
  attach(kernel, _unit, config) {
    const size1 = config?.size1 ?? 3 * PAGE_SIZE;
    const size2 = config?.size2 ?? 100;
    // Default: 16 pages, or past a larger region 1 with a 4-page gap, so there is always a hole.
    const offset2 = config?.offset2 ?? Math.max(REGION2_OFFSET, Math.ceil(size1 / PAGE_SIZE) * PAGE_SIZE + 4 * PAGE_SIZE);
    if (offset2 % PAGE_SIZE !== 0 || offset2 < Math.ceil(size1 / PAGE_SIZE) * PAGE_SIZE) {
      throw new RangeError(`foo config.offset2 must be page aligned and past region 1, got ${offset2}`);
    }
    const obj1 = kernel.kmAlloc(size1, { zero: true });
    const obj2 = kernel.kmAlloc(size2, { zero: true });
    const sizesKva = kernel.kmAlloc(PAGE_SIZE, { zero: true });
    kernel.store32(sizesKva, Math.ceil(size1 / PAGE_SIZE) * PAGE_SIZE);
    kernel.store32(sizesKva + 4, Math.ceil(size2 / PAGE_SIZE) * PAGE_SIZE);
    return { obj1, obj2, size1, size2, offset2, sizesKva };
  },
  mmap(dev, off, _prot, kernel) {
    const s = dev.state;
    if (off % PAGE_SIZE !== 0) throw new Error('foommap: offset not page aligned'); // the mail's panic
    const size1 = kernel.load32(s.sizesKva);
    const size2 = kernel.load32(s.sizesKva + 4);
    if (off >= REGION1_OFFSET && off < REGION1_OFFSET + size1) {
      const pa = kernel.pmapExtract(s.obj1 + (off - REGION1_OFFSET));
      return pa < 0 ? -1 : atop(pa);
    }
    if (off >= s.offset2 && off < s.offset2 + size2) {
      const pa = kernel.pmapExtract(s.obj2 + (off - s.offset2));
      return pa < 0 ? -1 : atop(pa);
    }
    return -1; // page not found
  },
  // What profile reports call the two objects (the sizes at attach; the host may shrink them).
  regions(dev) {
    const s = dev.state;
    return [
      { name: 'object 1', offset: REGION1_OFFSET, size: Math.ceil(s.size1 / PAGE_SIZE) * PAGE_SIZE },
      { name: 'object 2', offset: s.offset2, size: Math.ceil(s.size2 / PAGE_SIZE) * PAGE_SIZE },
    ];
  },
});
