/**
 * Public constants of the simulated machine, exported from the package root.
 * Address arithmetic uses division rather than shifts wherever an address may exceed 2^31,
 * because the kernel virtual addresses of a large arena do (layout.ts kvaBase) and `>>`
 * truncates to 32 bits.
 */
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
export const PAGE_MASK = 4095;

/** Address to page number (`atop`). Works for any non-negative safe integer address. */
export function atop(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}
/** Page number to address (`ptoa`). */
export function ptoa(pfn: number): number {
  return pfn * PAGE_SIZE;
}
export function roundPage(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}
export function truncPage(n: number): number {
  return Math.floor(n / PAGE_SIZE) * PAGE_SIZE;
}

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const PROT_ALL = 7;

export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_FIXED = 0x10;
export const MAP_ANON = 0x1000;

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_SPACEAVAIL = 5;
export const MADV_FREE = 6;

/** minherit(2): how a mapping passes to a child at fork */
export const MAP_INHERIT_SHARE = 0;
export const MAP_INHERIT_COPY = 1;
export const MAP_INHERIT_NONE = 2;

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

/**
 * User address space. 32 bits wide so a translation is `va >>> 12` into a flat table
 * (docs/architecture.md, "The TLB and the access path"); like i386, not amd64. The default mmap
 * base is low (1 MiB) so that a million-page mapping still fits without MAP_FIXED.
 */
export const VM_MIN_ADDRESS = 0;
export const VM_MAXUSER_ADDRESS = 2 ** 32;
export const VM_DEFAULT_MMAP_BASE = 0x0010_0000;
