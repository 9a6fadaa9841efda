/**
 * KernelApi: what drivers and host-side device emulation may call. It is public API: a name or
 * behaviour changed here breaks drivers.
 * The same class serves the host and every pager thread; each builds one over the shared arena.
 */
import type { PhysMem } from './physmem.js';

export class KernelApi {
  /** @internal */
  readonly phys: PhysMem;
  constructor(phys: PhysMem) {
    this.phys = phys;
  }
  /** uvm_km_alloc(UVM_KMF_WIRED[|UVM_KMF_ZERO]): wired, physically scattered pages. */
  kmAlloc(size: number, opts?: { zero?: boolean; align?: number }): number {
    return this.phys.kmAlloc(size, opts);
  }
  kmFree(kva: number, size: number): void {
    this.phys.kmFree(kva, size);
  }
  /** pmap_extract(pmap_kernel(), kva): physical address, or -1. */
  pmapExtract(kva: number): number {
    return this.phys.pmapExtract(kva);
  }
  read(kva: number, dst: Uint8Array): void {
    this.phys.read(kva, dst);
  }
  write(kva: number, src: Uint8Array): void {
    this.phys.write(kva, src);
  }
  load32(kva: number): number {
    return this.phys.load32(kva);
  }
  store32(kva: number, v: number): void {
    this.phys.store32(kva, v);
  }
  /** Atomics on kernel memory, for host <-> process synchronisation through device memory. */
  atomicAdd32(kva: number, v: number): number {
    return Atomics.add(this.phys.m32, this.word(kva, 'atomicAdd32'), v) >>> 0;
  }
  cas32(kva: number, expected: number, v: number): number {
    return Atomics.compareExchange(this.phys.m32, this.word(kva, 'cas32'), expected | 0, v | 0) >>> 0;
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
  /** Free frames in the arena right now. */
  freeFrames(): number {
    return this.phys.freeFrames();
  }
  private word(kva: number, what: string): number {
    const pa = this.phys.pmapExtract(kva);
    if (pa < 0 || (pa & 3) !== 0) throw new RangeError(`${what} kva must be a mapped, 4-byte aligned kernel address, got ${kva}`);
    return pa >>> 2; // pa < 2^32: see PhysMem.load32
  }
}
