/**
 * Physical memory: the arena's views, the lock-free frame allocator, kernel memory
 * (uvm_km_alloc/uvm_km_free with UVM_KMF_WIRED) and the kernel pmap (pmap_extract).
 *
 * Every thread builds its own PhysMem over the same SharedArrayBuffer; all state is in the arena.
 *
 * The frame allocator is a bitmap, one bit per frame, claimed with compare-and-swap. It is
 * immune to ABA by construction: a CAS on a bitmap word succeeds only if the word holds exactly the
 * bits we looked at, and setting a bit we saw clear is correct whatever happened in between (there
 * is no pointer to go stale, unlike a Treiber stack). Before scanning, an allocator reserves a frame
 * by decrementing freeCount; a successful reservation guarantees a clear bit exists, so the scan
 * always ends, and exhaustion is detected exactly without a lock.
 *
 * Scatter: kmAlloc starts each page's scan at a random bitmap word (per-thread xorshift), so the
 * pages of one allocation are in general not consecutive frames. A driver that adds an offset to
 * the first page's physical address instead of calling pmapExtract per page reads the wrong frame,
 * and should fail at once, not once memory happens to be fragmented (docs/netbsd.md, "The pieces").
 */
import { PAGE_SIZE } from './constants.js';
import { badRange, badType, enomem } from './errors.js';
import {
  C, COUNTERS, FI_COUNT_MASK, FI_FREE, FI_KERNEL, FI_TYPE_SHIFT, FI_ZOMBIE, HOST_THREAD, KPT_CLAIMED,
  computeLayout, readLayout, writeHeader, type Layout,
} from './layout.js';

export class PhysMem {
  readonly sab: SharedArrayBuffer;
  readonly layout: Layout;
  readonly nframes: number;
  /** Views of the frame region: index 0 is physical address 0. */
  readonly m8: Uint8Array;
  readonly m32: Int32Array;
  readonly freeCount: Int32Array; // [0]
  readonly bitmap: Int32Array;
  readonly frameInfo: Int32Array;
  readonly kpt: Int32Array;
  readonly kallocLen: Int32Array;
  /** 1 bit per frame: written by a process since the host's last dirtyLog (runtime/dirty-log.ts) */
  readonly dirty: Int32Array;
  /** This thread's counters (C_*), for CAS retry counts. */
  readonly counters: Float64Array;
  /** first kernel virtual address (layout.ts kvaBase) */
  readonly kvaBase: number;
  private rng: number;
  private seqWord = 0;

  constructor(sab: SharedArrayBuffer, layout: Layout, thread: number) {
    this.sab = sab;
    this.layout = layout;
    this.nframes = layout.frames;
    this.kvaBase = layout.kvaBase;
    this.m8 = new Uint8Array(sab, layout.framesOff, layout.frames * PAGE_SIZE);
    this.m32 = new Int32Array(sab, layout.framesOff, layout.frames * (PAGE_SIZE / 4));
    this.freeCount = new Int32Array(sab, layout.freeCountOff, 1);
    this.bitmap = new Int32Array(sab, layout.bitmapOff, layout.bitmapWords);
    this.frameInfo = new Int32Array(sab, layout.frameInfoOff, layout.frames);
    this.kpt = new Int32Array(sab, layout.kptOff, layout.kvaPages);
    this.kallocLen = new Int32Array(sab, layout.kallocLenOff, layout.kvaPages);
    this.dirty = new Int32Array(sab, layout.dirtyBitsOff, layout.bitmapWords);
    this.counters = new Float64Array(sab, layout.countersOff + thread * COUNTERS * 8, COUNTERS);
    // Different threads scan from different places, so they rarely CAS the same word.
    this.rng = (0x9e3779b9 ^ Math.imul(thread + 1, 0x85ebca6b)) | 1;
    this.seqWord = (thread * 7919) % Math.max(1, layout.bitmapWords);
  }

  /** Host only, once: every frame free, padding bits past the last frame permanently set. */
  initialize(): void {
    this.bitmap.fill(0);
    const tail = this.nframes % 32;
    if (tail !== 0) this.bitmap[this.layout.bitmapWords - 1] = ~((1 << tail) - 1);
    Atomics.store(this.freeCount, 0, this.nframes);
  }

  freeFrames(): number {
    return Atomics.load(this.freeCount, 0);
  }

  private nextRandom(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x;
    return x >>> 0;
  }

  /**
   * Take one frame and stamp its type. Returns the pfn, or -1 when memory is exhausted.
   * `scatter` picks a random starting word (kernel memory); otherwise the scan continues where
   * this thread last succeeded, which is cheaper (anonymous faults, page tables).
   */
  allocFrame(type: number, scatter: boolean): number {
    // Reserve with CAS, never letting the count go below zero: a transient negative count would
    // make a concurrent allocator report ENOMEM while a frame is free.
    const fc = this.freeCount;
    for (;;) {
      const n = Atomics.load(fc, 0);
      if (n <= 0) return -1;
      if (Atomics.compareExchange(fc, 0, n, n - 1) === n) break;
      this.counters[C.casRetriesFrame]++;
    }
    const words = this.layout.bitmapWords;
    const bm = this.bitmap;
    let w = scatter ? this.nextRandom() % words : this.seqWord;
    for (;;) {
      const bits = Atomics.load(bm, w);
      if (bits !== -1) {
        const inv = ~bits;
        // In a word with several clear bits, pick one at random when scattering.
        let bit = inv & -inv;
        if (scatter) {
          const r = this.nextRandom() & 31;
          const hi = inv & ~((1 << r) - 1);
          if (hi !== 0) bit = hi & -hi;
        }
        if (Atomics.compareExchange(bm, w, bits, bits | bit) === bits) {
          if (!scatter) this.seqWord = w;
          const pfn = w * 32 + (31 - Math.clz32(bit));
          Atomics.store(this.frameInfo, pfn, type << FI_TYPE_SHIFT);
          return pfn;
        }
        this.counters[C.casRetriesFrame]++;
        continue; // same word: it still had room a moment ago
      }
      w = w + 1 === words ? 0 : w + 1;
    }
  }

  /**
   * Take `n` physically consecutive frames as kernel memory (bus_dmamem_alloc with one segment).
   * Lock-free like allocFrame: the frames are reserved in freeCount first, then each bit of a run
   * found clear is claimed with a CAS; on a conflict the claimed bits go back and the scan goes
   * on past them. Returns the first pfn, or -1 when no run is free.
   */
  private allocRun(n: number): number {
    const fc = this.freeCount;
    for (;;) {
      const free = Atomics.load(fc, 0);
      if (free < n) return -1;
      if (Atomics.compareExchange(fc, 0, free, free - n) === free) break;
    }
    const bm = this.bitmap;
    const isSet = (f: number) => (Atomics.load(bm, f >>> 5) & (1 << (f & 31))) !== 0;
    for (let start = 0; start + n <= this.nframes; ) {
      let used = -1;
      for (let f = start + n - 1; f >= start; f--) {
        if (isSet(f)) {
          used = f;
          break;
        }
      }
      if (used >= 0) {
        start = used + 1;
        continue;
      }
      let claimed = 0;
      for (; claimed < n; claimed++) {
        const f = start + claimed;
        const w = f >>> 5;
        const bit = 1 << (f & 31);
        let ok = false;
        for (;;) {
          const old = Atomics.load(bm, w);
          if ((old & bit) !== 0) break;
          if (Atomics.compareExchange(bm, w, old, old | bit) === old) {
            ok = true;
            break;
          }
          this.counters[C.casRetriesFrame]++;
        }
        if (!ok) break;
      }
      if (claimed === n) {
        for (let i = 0; i < n; i++) Atomics.store(this.frameInfo, start + i, FI_KERNEL << FI_TYPE_SHIFT);
        return start;
      }
      for (let i = 0; i < claimed; i++) Atomics.and(bm, (start + i) >>> 5, ~(1 << ((start + i) & 31)));
      start += claimed + 1;
    }
    Atomics.add(fc, 0, n);
    return -1;
  }

  /** Give a frame back. Throws on a double free (a kernel bug, never a user error). */
  freeFrame(pfn: number): void {
    Atomics.store(this.frameInfo, pfn, FI_FREE);
    const bit = 1 << (pfn & 31);
    const old = Atomics.and(this.bitmap, pfn >>> 5, ~bit);
    if ((old & bit) === 0) throw new Error(`freeFrame: frame ${pfn} was not allocated`);
    Atomics.add(this.freeCount, 0, 1);
  }

  zeroFrame(pfn: number): void {
    this.m8.fill(0, pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
  }

  frameType(pfn: number): number {
    return Atomics.load(this.frameInfo, pfn) >>> FI_TYPE_SHIFT;
  }

  /** A frame a driver may hand to d_mmap: wired kernel memory that has not been freed. */
  isKernelFrame(pfn: number): boolean {
    const fi = Atomics.load(this.frameInfo, pfn);
    return fi >>> FI_TYPE_SHIFT === FI_KERNEL && (fi & FI_ZOMBIE) === 0;
  }

  /**
   * A PTE is about to point at this device frame (pmap_enter). Succeeds only if the frame is still
   * live kernel memory: the check and the reference are one CAS, so a kmFree racing with the fault
   * either sees the reference (and makes the frame a zombie) or wins (and the fault fails).
   */
  tryMapRef(pfn: number): boolean {
    const fi = this.frameInfo;
    for (;;) {
      const old = Atomics.load(fi, pfn);
      if (old >>> FI_TYPE_SHIFT !== FI_KERNEL || (old & FI_ZOMBIE) !== 0) return false;
      if ((old & FI_COUNT_MASK) === FI_COUNT_MASK) return false;
      if (Atomics.compareExchange(fi, pfn, old, old + 1) === old) return true;
      this.counters[C.casRetriesFrame]++;
    }
  }

  /** One more PTE maps this anonymous frame (its first, or a fork's copy). */
  anonRef(pfn: number): void {
    Atomics.add(this.frameInfo, pfn, 1);
  }

  /** PTEs mapping this anonymous frame. */
  anonCount(pfn: number): number {
    return Atomics.load(this.frameInfo, pfn) & FI_COUNT_MASK;
  }

  /** A PTE stopped mapping this anonymous frame: the last one frees it. */
  anonUnref(pfn: number): void {
    const fi = this.frameInfo;
    for (;;) {
      const old = Atomics.load(fi, pfn);
      if ((old & FI_COUNT_MASK) === 0) throw new Error(`anonUnref: frame ${pfn} has no mappings (kernel bug)`);
      if ((old & FI_COUNT_MASK) === 1) {
        if (Atomics.compareExchange(fi, pfn, old, old - 1) === old) {
          this.freeFrame(pfn);
          return;
        }
      } else if (Atomics.compareExchange(fi, pfn, old, old - 1) === old) return;
      this.counters[C.casRetriesFrame]++;
    }
  }

  /**
   * A PTE stopped pointing at this frame. If kernel memory was freed while it was mapped (a
   * zombie) and this was the last mapping, the frame is released now; the CAS makes sure exactly
   * one of kmFree and this call releases it.
   */
  mapUnref(pfn: number): void {
    const fi = this.frameInfo;
    for (;;) {
      const old = Atomics.load(fi, pfn);
      if ((old & FI_COUNT_MASK) === 0) throw new Error(`mapUnref: frame ${pfn} has no mappings (kernel bug)`);
      const next = old - 1;
      if ((next & FI_COUNT_MASK) === 0 && (old & FI_ZOMBIE) !== 0) {
        if (Atomics.compareExchange(fi, pfn, old, FI_FREE) === old) {
          const bit = 1 << (pfn & 31);
          Atomics.and(this.bitmap, pfn >>> 5, ~bit);
          Atomics.add(this.freeCount, 0, 1);
          return;
        }
      } else if (Atomics.compareExchange(fi, pfn, old, next) === old) {
        return;
      }
      this.counters[C.casRetriesFrame]++;
    }
  }

  // ---------------------------------------------------------------- kernel memory

  /**
   * uvm_km_alloc(kernel_map, size, align, UVM_KMF_WIRED [| UVM_KMF_ZERO]).
   * Returns a kernel virtual address; pages are wired but physically scattered.
   */
  kmAlloc(size: number, opts: { zero?: boolean; align?: number; contiguous?: boolean } = {}): number {
    if (typeof size !== 'number') throw badType('kmAlloc size', 'a number of bytes', size);
    if (!Number.isFinite(size) || size <= 0) throw badRange('kmAlloc size', 'a finite number > 0', size);
    if (opts === null || typeof opts !== 'object') throw badType('kmAlloc options', 'an object', opts);
    const align = opts.align ?? 0;
    // The KVA base is aligned to every power of two up to 1 GiB, so aligning the page index aligns
    // the address; a non-power-of-two alignment could not be honoured that way (nor does NetBSD allow it).
    if (typeof align !== 'number' || !Number.isInteger(align) || align < 0 || (align !== 0 && (align % PAGE_SIZE !== 0 || (align & (align - 1)) !== 0 || align > 2 ** 30))) {
      throw badRange('kmAlloc align', '0 or a power-of-two multiple of PAGE_SIZE (4096)', align);
    }
    if (opts.zero !== undefined && typeof opts.zero !== 'boolean') throw badType('kmAlloc zero', 'a boolean', opts.zero);
    if (opts.contiguous !== undefined && typeof opts.contiguous !== 'boolean') throw badType('kmAlloc contiguous', 'a boolean', opts.contiguous);
    const npages = Math.ceil(size / PAGE_SIZE);
    if (npages > this.nframes) throw enomem(`kmAlloc(${size})`);
    const alignPages = Math.max(1, align / PAGE_SIZE);
    const start = this.claimKva(npages, alignPages);
    if (start < 0) throw enomem(`kmAlloc(${size}): kernel address space exhausted`);
    const pfns = new Int32Array(npages);
    if (opts.contiguous) {
      const first = this.allocRun(npages);
      if (first < 0) {
        for (let j = 0; j < npages; j++) Atomics.store(this.kpt, start + j, 0);
        throw enomem(`kmAlloc(${size}, { contiguous: true }): no run of ${npages} free frames`);
      }
      for (let i = 0; i < npages; i++) pfns[i] = first + i;
    } else {
      for (let i = 0; i < npages; i++) {
        const pfn = this.allocFrame(FI_KERNEL, true);
        if (pfn < 0) {
          for (let j = 0; j < i; j++) this.freeFrame(pfns[j]);
          for (let j = 0; j < npages; j++) Atomics.store(this.kpt, start + j, 0);
          throw enomem(`kmAlloc(${size})`);
        }
        pfns[i] = pfn;
      }
    }
    for (let i = 0; i < npages; i++) {
      // A new allocation has not been written by any process yet (dirtyLog: "since it was allocated").
      Atomics.and(this.dirty, pfns[i] >>> 5, ~(1 << (pfns[i] & 31)));
      if (opts.zero) this.zeroFrame(pfns[i]);
    }
    this.kallocLen[start] = npages;
    for (let i = 0; i < npages; i++) Atomics.store(this.kpt, start + i, pfns[i] + 1);
    return this.kvaBase + start * PAGE_SIZE;
  }

  /**
   * Claim `n` consecutive free kernel pages, aligned to `alignPages`, lock-free: claim entries one
   * by one with CAS (0 -> CLAIMED); on a conflict, give back what was claimed and continue after it.
   */
  private claimKva(n: number, alignPages: number): number {
    const kpt = this.kpt;
    const total = kpt.length;
    let start = Math.ceil((this.nextRandom() % Math.max(1, total - n)) / alignPages) * alignPages;
    let scanned = 0;
    while (scanned <= total + n) {
      if (start + n > total) {
        scanned += total - start;
        start = 0;
        continue;
      }
      let got = 0;
      while (got < n && Atomics.compareExchange(kpt, start + got, 0, KPT_CLAIMED) === 0) got++;
      if (got === n) return start;
      for (let j = 0; j < got; j++) Atomics.store(kpt, start + j, 0);
      const next = Math.ceil((start + got + 1) / alignPages) * alignPages;
      scanned += next - start;
      start = next;
    }
    return -1;
  }

  /** uvm_km_free: same address and size that kmAlloc returned and was given. */
  kmFree(kva: number, size: number): void {
    const start = this.kvaPage(kva, 'kmFree kva');
    if (typeof size !== 'number' || !Number.isFinite(size) || size <= 0) throw badRange('kmFree size', 'a finite number > 0', size);
    const npages = Math.ceil(size / PAGE_SIZE);
    if (this.kallocLen[start] !== npages) {
      throw badRange('kmFree', `the kva and size of one kmAlloc (allocation at this kva has ${this.kallocLen[start]} pages)`, `${npages} pages`);
    }
    this.kallocLen[start] = 0;
    for (let i = 0; i < npages; i++) {
      const e = Atomics.exchange(this.kpt, start + i, 0);
      if (e <= 0) throw new Error(`kmFree: kernel page ${start + i} was not mapped`);
      this.releaseKernelFrame(e - 1);
    }
  }

  /** Free a kernel frame, or make it a zombie if a process still maps it (report, don't corrupt). */
  private releaseKernelFrame(pfn: number): void {
    const fi = this.frameInfo;
    for (;;) {
      const old = Atomics.load(fi, pfn);
      if ((old & FI_COUNT_MASK) === 0) {
        if (Atomics.compareExchange(fi, pfn, old, FI_FREE) === old) {
          Atomics.and(this.bitmap, pfn >>> 5, ~(1 << (pfn & 31)));
          Atomics.add(this.freeCount, 0, 1);
          return;
        }
      } else if (Atomics.compareExchange(fi, pfn, old, old | FI_ZOMBIE) === old) {
        this.counters[C.framesFreedWhileMapped]++;
        return;
      }
      this.counters[C.casRetriesFrame]++;
    }
  }

  private kvaPage(kva: number, name: string): number {
    if (typeof kva !== 'number' || !Number.isInteger(kva)) throw badType(name, 'an integer kernel virtual address', kva);
    const rel = kva - this.kvaBase;
    if (rel < 0 || rel % PAGE_SIZE !== 0 || rel / PAGE_SIZE >= this.layout.kvaPages) {
      throw badRange(name, 'a page-aligned address returned by kmAlloc', kva);
    }
    return rel / PAGE_SIZE;
  }

  /** pmap_extract(pmap_kernel(), kva): physical address, or -1 if not mapped. Never throws. */
  pmapExtract(kva: number): number {
    if (typeof kva !== 'number') return -1;
    const rel = kva - this.kvaBase;
    if (!(rel >= 0) || !Number.isInteger(rel)) return -1;
    const page = Math.floor(rel / PAGE_SIZE);
    if (page >= this.kpt.length) return -1;
    const e = Atomics.load(this.kpt, page);
    if (e <= 0) return -1;
    return (e - 1) * PAGE_SIZE + (rel - page * PAGE_SIZE);
  }

  /**
   * The physical address of [kva, kva + length) if it is mapped and physically contiguous (one
   * allocation made with { contiguous: true }, or a single page), else -1.
   */
  contiguousPa(kva: number, length: number): number {
    const pa = this.pmapExtract(kva);
    if (pa < 0) return -1;
    const first = Math.floor(pa / PAGE_SIZE);
    const pages = Math.ceil(((pa % PAGE_SIZE) + length) / PAGE_SIZE);
    for (let i = 1; i < pages; i++) {
      const p = this.pmapExtract(kva - (kva % PAGE_SIZE) + i * PAGE_SIZE);
      if (p < 0 || p / PAGE_SIZE !== first + i) return -1;
    }
    return pa;
  }

  /**
   * Every page of [kva, kva + length) is mapped kernel memory; else a RangeError naming `what` and
   * the address that was passed (the first unmapped page is named too). Checked before anything
   * is read or written, so a bad range changes nothing.
   */
  checkRange(kva: number, length: number, what: string): void {
    if (typeof kva !== 'number' || !Number.isInteger(kva)) throw badType(`${what} kva`, 'an integer kernel virtual address', kva);
    if (length === 0) return;
    const first = kva - (((kva % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE);
    for (let a = first; a < kva + length; a += PAGE_SIZE) {
      if (this.pmapExtract(a) < 0) {
        throw new RangeError(`${what}: [0x${kva.toString(16)}, 0x${(kva + length).toString(16)}) is not all mapped kernel memory (0x${Math.max(a, kva).toString(16)} is not)`);
      }
    }
  }

  /** Copy kernel memory into dst (the whole range checked first). */
  read(kva: number, dst: Uint8Array): void {
    if (!(dst instanceof Uint8Array)) throw badType('read dst', 'a Uint8Array', dst);
    this.checkRange(kva, dst.length, 'read');
    this.copyOut(kva, dst, false);
  }

  /** Copy src into kernel memory (the whole range checked first). */
  write(kva: number, src: Uint8Array): void {
    if (!(src instanceof Uint8Array)) throw badType('write src', 'a Uint8Array', src);
    this.checkRange(kva, src.length, 'write');
    this.copyOut(kva, src, true);
  }

  /** Copy between kernel memory and a buffer, page by page; the range was checked. */
  copyOut(kva: number, buf: Uint8Array, toKernel: boolean): void {
    let done = 0;
    while (done < buf.length) {
      const pa = this.pmapExtract(kva + done);
      const n = Math.min(buf.length - done, PAGE_SIZE - (pa % PAGE_SIZE));
      if (toKernel) this.m8.set(buf.subarray(done, done + n), pa);
      else buf.set(this.m8.subarray(pa, pa + n), done);
      done += n;
    }
  }

  /** The physical address of an aligned access of `size` bytes at kva, or a RangeError naming the access. */
  paOf(kva: number, size: number, what: string): number {
    if (typeof kva !== 'number' || !Number.isInteger(kva)) throw badType(`${what} kva`, 'an integer kernel virtual address', kva);
    const pa = this.pmapExtract(kva);
    if (pa < 0) throw badRange(`${what} kva`, 'a mapped kernel virtual address', kva);
    if (pa % size !== 0) throw badRange(`${what} kva`, `a ${size}-byte aligned address`, kva);
    return pa;
  }

  // pa is a non-negative integer below 2^32 (the arena's size limit), so its word index comes from
  // integer operations; a % or / on it compiles to float arithmetic, on every d_mmap that reads a
  // kernel word.
  load32(kva: number): number {
    return this.m32[this.paOf(kva, 4, 'load32') >>> 2] >>> 0;
  }

  store32(kva: number, v: number): void {
    this.m32[this.paOf(kva, 4, 'store32') >>> 2] = v;
  }
}

export interface ArenaOptions {
  /** bytes of physical memory (frames); rounded down to whole pages */
  memory: number;
  maxProcs?: number;
  pagers?: number;
  maxDevices?: number;
  traceCap?: number;
  mapEntries?: number;
  flags?: number;
  spin?: number;
  pagerSpin?: number;
  spinBudget?: number;
  sample?: number;
  quantum?: number;
}

/** Largest frame region one Uint8Array view can cover in Node 20 (typed-array length limit 2^32). */
export const MAX_MEMORY = 2 ** 32;

/** Host side: allocate and initialise a fresh arena. */
export function createArena(o: ArenaOptions): { sab: SharedArrayBuffer; layout: Layout; phys: PhysMem } {
  if (typeof o.memory !== 'number' || !Number.isFinite(o.memory) || o.memory < PAGE_SIZE || o.memory > MAX_MEMORY) {
    throw badRange('memory', `a number of bytes from ${PAGE_SIZE} to ${MAX_MEMORY} (4 GiB)`, o.memory);
  }
  const frames = Math.floor(o.memory / PAGE_SIZE);
  const layout = computeLayout({
    frames,
    maxProcs: o.maxProcs ?? 16,
    pagers: o.pagers ?? 1,
    maxDevices: o.maxDevices ?? 16,
    traceCap: o.traceCap ?? 0,
    mapEntries: o.mapEntries ?? 256,
    flags: o.flags ?? 0,
    spin: o.spin ?? 1000,
    pagerSpin: o.pagerSpin ?? 20_000,
    spinBudget: o.spinBudget ?? 1,
    sample: o.sample ?? 1,
    quantum: o.quantum ?? 1024,
  });
  const sab = new SharedArrayBuffer(layout.totalBytes);
  writeHeader(sab, layout, performance.timeOrigin);
  const phys = new PhysMem(sab, layout, HOST_THREAD);
  phys.initialize();
  return { sab, layout, phys };
}

/** Any thread: attach to an existing arena. */
export function attachArena(sab: SharedArrayBuffer, thread: number): PhysMem {
  const layout = readLayout(sab);
  if (!Number.isInteger(thread) || thread < 0 || thread >= layout.nthreads) {
    throw badRange('thread', `an integer thread index in [0, ${layout.nthreads})`, thread);
  }
  return new PhysMem(sab, layout, thread);
}
