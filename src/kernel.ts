/**
 * KernelApi: what drivers and host-side device emulation may call. It is public API: a name or
 * behaviour changed here breaks drivers. The same class serves the host and every pager thread;
 * each builds one over the shared arena.
 *
 * Memory ordering, the same on both sides (the Process object uses the same names): loadN/storeN
 * are plain accesses, the atomic* ones (and notify32/waitAsync32) are sequentially consistent.
 * A plain store by one side is seen by the other once the two have synchronised through an atomic
 * — a flag stored with atomicStore32 or a counter bumped with atomicAdd32 — or through a
 * doorbell, an interrupt, notify32/wait32: publish data with plain stores, then an atomic, and
 * read the atomic before the data on the other side.
 */
import { badRange, badType } from './errors.js';
import type { PhysMem } from './physmem.js';

/** Host-only services a KernelApi may be given (the pagers' has none). */
export interface KernelHostServices {
  dirtyLog(kva: number, length: number): Uint8Array;
}

function value(name: string, v: unknown, bits: number): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw badType(`${name} value`, 'a number', v);
  if (v !== Math.trunc(v) || v < -(2 ** (bits - 1)) || v >= 2 ** bits) throw badRange(`${name} value`, `an integer in [${-(2 ** (bits - 1))}, ${2 ** bits - 1}]`, v);
  return v;
}

function big(name: string, v: unknown): bigint {
  if (typeof v !== 'bigint') throw badType(`${name} value`, 'a bigint', v);
  if (BigInt.asIntN(64, v) !== v && BigInt.asUintN(64, v) !== v) throw badRange(`${name} value`, 'a bigint in [-2^63, 2^64)', v);
  return v;
}

export class KernelApi {
  /** @internal */
  readonly phys: PhysMem;
  readonly #host: KernelHostServices | null;
  readonly #m16: Uint16Array;
  readonly #m64: BigUint64Array;

  /** @internal */
  constructor(phys: PhysMem, host: KernelHostServices | null = null) {
    this.phys = phys;
    this.#host = host;
    this.#m16 = new Uint16Array(phys.m8.buffer, phys.m8.byteOffset, phys.m8.length / 2);
    this.#m64 = new BigUint64Array(phys.m8.buffer, phys.m8.byteOffset, phys.m8.length / 8);
  }

  /**
   * uvm_km_alloc(UVM_KMF_WIRED[|UVM_KMF_ZERO]): wired pages, physically scattered; with
   * { contiguous: true } physically contiguous instead (bus_dmamem_alloc with one segment), so
   * that view() can show them as one array. Out of memory, or no free run: an error with
   * code 'ENOMEM'.
   */
  kmAlloc(size: number, opts?: { zero?: boolean; align?: number; contiguous?: boolean }): number {
    return this.phys.kmAlloc(size, opts);
  }
  kmFree(kva: number, size: number): void {
    this.phys.kmFree(kva, size);
  }
  /** pmap_extract(pmap_kernel(), kva): physical address, or -1. */
  pmapExtract(kva: number): number {
    return this.phys.pmapExtract(kva);
  }

  /**
   * A Uint8Array on the arena itself for [kva, kva + length): zero-copy, for a physically
   * contiguous range (a contiguous allocation, or within one page). RangeError otherwise.
   */
  view(kva: number, length: number): Uint8Array {
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw badRange('view length', 'a non-negative integer number of bytes', length);
    this.phys.checkRange(kva, length, 'view');
    const pa = this.phys.contiguousPa(kva, Math.max(1, length));
    if (pa < 0) throw new RangeError(`view: [0x${kva.toString(16)}, 0x${(kva + length).toString(16)}) is not physically contiguous (allocate it with kmAlloc(size, { contiguous: true }), or use read/write/copy)`);
    return this.phys.m8.subarray(pa, pa + length);
  }

  /** Copy kernel memory into dst; the whole range is checked first, so a bad one changes nothing. */
  read(kva: number, dst: Uint8Array): void {
    this.phys.read(kva, dst);
  }
  /** Copy src into kernel memory; the whole range is checked first, so a bad one changes nothing. */
  write(kva: number, src: Uint8Array): void {
    this.phys.write(kva, src);
  }
  /** memmove within kernel memory: both ranges are checked first; overlapping ranges copy correctly. */
  copy(dstKva: number, srcKva: number, length: number): void {
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw badRange('copy length', 'a non-negative integer number of bytes', length);
    this.phys.checkRange(srcKva, length, 'copy source');
    this.phys.checkRange(dstKva, length, 'copy destination');
    if (length === 0) return;
    const src = this.phys.contiguousPa(srcKva, length);
    const dst = this.phys.contiguousPa(dstKva, length);
    if (src >= 0 && dst >= 0) {
      this.phys.m8.copyWithin(dst, src, src + length);
      return;
    }
    const tmp = new Uint8Array(length);
    this.phys.copyOut(srcKva, tmp, false);
    this.phys.copyOut(dstKva, tmp, true);
  }

  load8(kva: number): number {
    return this.phys.m8[this.phys.paOf(kva, 1, 'load8')];
  }
  load16(kva: number): number {
    return this.#m16[this.phys.paOf(kva, 2, 'load16') >>> 1];
  }
  /** unsigned, like p.load32 */
  load32(kva: number): number {
    return this.phys.load32(kva);
  }
  load64(kva: number): bigint {
    return this.#m64[this.phys.paOf(kva, 8, 'load64') / 8];
  }
  store8(kva: number, v: number): void {
    this.phys.m8[this.phys.paOf(kva, 1, 'store8')] = value('store8', v, 8);
  }
  store16(kva: number, v: number): void {
    this.#m16[this.phys.paOf(kva, 2, 'store16') >>> 1] = value('store16', v, 16);
  }
  store32(kva: number, v: number): void {
    this.phys.store32(kva, value('store32', v, 32));
  }
  store64(kva: number, v: bigint): void {
    this.#m64[this.phys.paOf(kva, 8, 'store64') / 8] = big('store64', v);
  }

  /** Sequentially consistent, for host <-> process synchronisation through device memory; unsigned results. */
  atomicLoad32(kva: number): number {
    return Atomics.load(this.phys.m32, this.word(kva, 'atomicLoad32')) >>> 0;
  }
  atomicStore32(kva: number, v: number): number {
    Atomics.store(this.phys.m32, this.word(kva, 'atomicStore32'), value('atomicStore32', v, 32));
    return v;
  }
  atomicAdd32(kva: number, v: number): number {
    return Atomics.add(this.phys.m32, this.word(kva, 'atomicAdd32'), value('atomicAdd32', v, 32)) >>> 0;
  }
  cas32(kva: number, expected: number, v: number): number {
    return Atomics.compareExchange(this.phys.m32, this.word(kva, 'cas32'), value('cas32 expected', expected, 32) | 0, value('cas32', v, 32) | 0) >>> 0;
  }
  notify32(kva: number, count = Infinity): number {
    return Atomics.notify(this.phys.m32, this.word(kva, 'notify32'), count);
  }
  /**
   * Host side of p.wait32/p.notify32: resolves when a process notifies the word (or it no longer
   * holds `value`, or the timeout passes), without blocking the host's event loop
   * (Atomics.waitAsync). The host's end of a mailbox or doorbell in device memory.
   */
  waitAsync32(kva: number, value: number, timeoutMs?: number): Promise<'ok' | 'not-equal' | 'timed-out'> {
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0)) {
      throw new RangeError(`waitAsync32 timeoutMs must be a non-negative number of milliseconds, got ${String(timeoutMs)}`);
    }
    const i = this.word(kva, 'waitAsync32');
    const r = Atomics.waitAsync(this.phys.m32, i, value | 0, timeoutMs);
    return r.async ? r.value : Promise.resolve(r.value);
  }

  /**
   * One byte per page of [kva, kva + length): 1 where some process wrote the page since the
   * previous dirtyLog of that page (at first: since it was allocated), 0 elsewhere; the pages are
   * re-armed. Host only (runtime/dirty-log.ts says why it is exact).
   */
  dirtyLog(kva: number, length: number): Uint8Array {
    if (this.#host === null) throw new Error('dirtyLog is the host\'s: call it as rt.kernel.dirtyLog(kva, length)');
    return this.#host.dirtyLog(kva, length);
  }

  /** Free frames in the arena right now. */
  freeFrames(): number {
    return this.phys.freeFrames();
  }

  private word(kva: number, what: string): number {
    return this.phys.paOf(kva, 4, what) >>> 2; // pa < 2^32: see PhysMem.load32
  }
}

