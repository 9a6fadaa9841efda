/**
 * The slow path of every memory access, in the worker's realm: check the address, consult the
 * PTE, fault if it does not allow the access, fill the TLB, and return the physical byte address
 * for the program-side fast path (process/api.ts) to use. Register and doorbell pages of a device
 * never get a PTE: their accesses are carried out here (process/devices-io.ts) and reported as
 * ACCESS_DONE.
 *
 * A fill is the one place where this thread races other threads' invalidations (process/tlb.ts):
 *
 *   seen = S_INVSEQ; read the PTE (or take the one a fault's reply carries);
 *   Atomics.store the entry; if S_INVSEQ !== seen, undo the entry and look again.
 *
 * An invalidator bumps S_INVSEQ before it stores into the TLB, so either the re-read sees the
 * bump or the invalidator's store lands after the fill and overwrites it. Dirty logging follows
 * the same shape: the frame's dirty bit is set before the write entry is filled and checked after
 * it, and every store re-checks its entry after it lands (process/api.ts), so a write that raced
 * the host re-arming the log marks the page again (kernel-side: runtime/dirty-log.ts).
 */
import { PAGE_SIZE, PROT_READ, PROT_WRITE, VM_MAXUSER_ADDRESS } from '../constants.js';
import { ERRNO, type SigInfo, type SignalName, type SiCodeName, SIGNAL } from '../errors.js';
import { C, FI_KERNEL, FI_TYPE_SHIFT, S_INVSEQ } from '../layout.js';
import { PTE_ANON, PTE_PROT, PTE_VALID, pteLoad } from '../pager/pmap.js';
import { AUX_DRIVER_KILLED, FAULT_DOORBELL, FAULT_MMIO, OP_FAULT, RES_AUX, RES_DEV, RES_MS, RES_PTE, RES_VAL, RES_WHY, WHY_TIMEOUT, type SlotViews } from '../pager/protocol.js';
import type { MachineViews } from './machine.js';
import type { Requester } from './requester.js';
import { TLB_ABSENT, TLB_SPECIAL, TLB_UNKNOWN, specialEntry, specialIndex, type Tlb } from './tlb.js';
import type { DeviceIo } from './device-io.js';

/** translate(): a signal is pending; signalInfo() describes it */
export const ACCESS_SIGNAL = -1;
/** translate(): the access was carried out here (a register or doorbell page); a load's value is in value() */
export const ACCESS_DONE = -2;

/** What a pending signal carries to the program side, which builds the error in its own realm. */
export interface PendingSignal extends SigInfo {
  detail: string | undefined;
}

const SPECIALS = 1024;
export const SPECIAL_MMIO = FAULT_MMIO;
export const SPECIAL_DOORBELL = FAULT_DOORBELL;

export class ThreadMemory {
  readonly pid: number;
  readonly tlb: Tlb;
  private readonly mv: MachineViews;
  private readonly req: Requester;
  private readonly slot: SlotViews;
  /** the slot holding the address space (the same as `slot` for a process's first thread) */
  private readonly vm: SlotViews;
  private readonly counters: Float64Array;
  private pending: PendingSignal = { signal: 'SIGSEGV', signo: SIGNAL.SIGSEGV, code: 'SEGV_MAPERR', addr: 0, detail: undefined };
  private result = 0;
  private result64 = 0n;
  /** set when the process must die whatever the program does (SIGKILL) */
  killed: SigInfo | null = null;
  exited = false;
  // Register and doorbell pages this thread touched: TLB entries <= TLB_SPECIAL index these.
  readonly specialKind = new Int32Array(SPECIALS);
  readonly specialProt = new Int32Array(SPECIALS);
  readonly specialOff = new Float64Array(SPECIALS);
  readonly specialDev = new Int32Array(SPECIALS);
  readonly specialVpn = new Int32Array(SPECIALS);
  private nextSpecial = 0;
  io: DeviceIo | null = null;

  constructor(pid: number, mv: MachineViews, tlb: Tlb, req: Requester, slot: SlotViews, vm: SlotViews) {
    this.pid = pid;
    this.mv = mv;
    this.tlb = tlb;
    this.req = req;
    this.slot = slot;
    this.vm = vm;
    this.counters = req.counters;
  }

  /** The pending signal (after ACCESS_SIGNAL) as plain data. */
  signalInfo(): PendingSignal {
    return this.pending;
  }

  /** A load's value after ACCESS_DONE. */
  value(): number {
    return this.result;
  }

  value64(): bigint {
    return this.result64;
  }

  private signal(signal: SignalName, code: SiCodeName, addr: number, detail?: string): number {
    this.pending = { signal, signo: SIGNAL[signal], code, addr, detail };
    return ACCESS_SIGNAL;
  }

  /**
   * Translate `va` for an access of `size` bytes (1, 2, 4, 8). Returns the physical byte address
   * (>= 0), ACCESS_DONE when a register or doorbell page took the access (a store's value is
   * `value`, or `value64` for size 8), or ACCESS_SIGNAL.
   */
  translate(va: number, access: number, size: number, value = 0, value64 = 0n, perform = true): number {
    if (va !== va >>> 0) {
      if (!Number.isInteger(va)) return this.signal('SIGSEGV', 'SEGV_MAPERR', va, 'not an integer address');
      return this.signal('SIGSEGV', 'SEGV_MAPERR', va, 'address outside the 32-bit user address space');
    }
    if ((va & (size - 1)) !== 0) return this.signal('SIGBUS', 'BUS_ADRALN', va);
    if (this.exited) return this.afterExit(va);
    if (this.killed !== null) return this.stillKilled();
    const c = this.counters;
    c[C.tlbMisses]++;
    const req = this.req;
    req.quiesce();
    const vpn = va >>> 12;
    const tlb = this.tlb;
    const entry = (access === PROT_READ ? tlb.r : tlb.w)[vpn];
    if (entry <= TLB_SPECIAL) return perform ? this.special(specialIndex(entry), va, access, size, value, value64) : ACCESS_DONE;
    const inv = this.slot.inv;
    // The PTE as this thread last saw it: from the table on a plain miss, none where the TLB
    // knows there is none, and from the fault's reply after a fault (the pager sends the PTE it
    // entered, saving a read of a line it just wrote). S_INVSEQ is read before it: atomically
    // before a PTE read; plainly before a fault, whose post (an Atomics.or) orders the read
    // before anything the pager does for it.
    const absent = entry === TLB_ABSENT;
    let seen = absent ? inv[S_INVSEQ] : Atomics.load(inv, S_INVSEQ);
    let pte = absent ? 0 : pteLoad(this.mv.m32i, this.vm.l1, va);
    // A fault's reply whose PTE still denies the access is a pager bug; a PTE that another thread's
    // unmap took away between the reply and our fill is not (we look again, and fault again).
    let fromFault = false;
    for (;;) {
      // x86: a page entered writable is also readable.
      const rights = pte & PTE_PROT;
      const ok = (pte & PTE_VALID) !== 0 && (access === PROT_READ ? (rights & (PROT_READ | PROT_WRITE)) !== 0 : (rights & access) === access);
      if (ok) {
        const pfn = pte >>> 5;
        const device = (pte & PTE_ANON) === 0;
        const dirtyWord = pfn >>> 5;
        const dirtyBit = 1 << (pfn & 31);
        tlb.extend(vpn);
        // A device page gets its write entry only from a write, after its dirty bit is set, so
        // that the dirty log never reports a page that was only read.
        const fillW = (rights & PROT_WRITE) !== 0 && (access !== PROT_READ || !device);
        if (fillW && device) Atomics.or(this.mv.dirty, dirtyWord, dirtyBit);
        if ((rights & (PROT_READ | PROT_WRITE)) !== 0) Atomics.store(tlb.r, vpn, pfn + 1);
        // A PTE exists now: an entry not filled must not say TLB_ABSENT any more. TLB_UNKNOWN is
        // right whatever an invalidator stores around it, so that store needs no ordering.
        if (fillW) Atomics.store(tlb.w, vpn, pfn + 1);
        else if (tlb.w[vpn] === TLB_ABSENT) tlb.w[vpn] = TLB_UNKNOWN;
        const now = Atomics.load(inv, S_INVSEQ);
        if (now !== seen) {
          // An invalidation ran since we looked: our entry may have overwritten its store.
          seen = now;
          Atomics.store(tlb.r, vpn, TLB_UNKNOWN);
          Atomics.store(tlb.w, vpn, TLB_UNKNOWN);
          pte = pteLoad(this.mv.m32i, this.vm.l1, va);
          fromFault = false;
          continue;
        }
        // The host may have re-armed the log between the or and the fill: mark the page again.
        if (fillW && device && (Atomics.load(this.mv.dirty, dirtyWord) & dirtyBit) === 0) Atomics.or(this.mv.dirty, dirtyWord, dirtyBit);
        return pfn * PAGE_SIZE + (va & 4095);
      }
      if (fromFault) throw new Error(`devpager internal error: fault at 0x${va.toString(16)} resolved but PTE 0x${pte.toString(16)} still denies access ${access}`);
      const err = this.fault(va, access);
      if (err !== 0) return this.faultSignal(err, va);
      const kind = this.slot.res[RES_VAL];
      if (kind !== 0) {
        // A register or doorbell page: remember it in the TLB so the next access goes straight there.
        const prot = Math.floor(kind / 4);
        const k = this.installSpecial(vpn, kind & 3, prot, this.slot.res[RES_PTE], this.slot.res[RES_AUX]);
        return perform ? this.special(k, va, access, size, value, value64) : ACCESS_DONE;
      }
      pte = this.slot.res[RES_PTE];
      fromFault = true;
    }
  }

  private fault(va: number, access: number): number {
    this.req.setRequest(OP_FAULT, va, access);
    return this.req.call();
  }

  /** amd64 trap.c: EINVAL -> SIGBUS/BUS_ADRERR; EACCES -> SIGSEGV/SEGV_ACCERR; ENOMEM -> SIGKILL; else SIGSEGV/SEGV_MAPERR. */
  private faultSignal(err: number, va: number): number {
    if (this.slot.res[RES_AUX] === AUX_DRIVER_KILLED) return this.signal('SIGSEGV', 'SEGV_MAPERR', va, this.driverKilled());
    switch (err) {
      case ERRNO.EINVAL:
        return this.signal('SIGBUS', 'BUS_ADRERR', va);
      case ERRNO.EACCES:
        return this.signal('SIGSEGV', 'SEGV_ACCERR', va);
      case ERRNO.ENOMEM:
        this.kill({ signal: 'SIGKILL', signo: SIGNAL.SIGKILL, code: 'SI_KERNEL', addr: va });
        return this.signal('SIGKILL', 'SI_KERNEL', va, `UVM: pid ${this.pid} killed: out of swap`);
      default:
        return this.signal('SIGSEGV', 'SEGV_MAPERR', va, err === ERRNO.EIO ? 'the device pager could not map this page (d_mmap returned -1)' : undefined);
    }
  }

  /**
   * The host answered this thread's request in place of its pager, which died or ran a driver
   * call past driverTimeoutMs while serving it (runtime/pagers.ts): what to say in the signal.
   */
  driverKilled(): string {
    const res = this.slot.res;
    const dev = res[RES_DEV];
    const where = dev >= 0 ? ` in ${this.devicePath(dev)} at device offset 0x${res[RES_PTE].toString(16)}` : '';
    return res[RES_WHY] === WHY_TIMEOUT
      ? `pager ${res[RES_VAL]} ran driver code${where} for ${Math.round(res[RES_MS])} ms, past driverTimeoutMs, while serving this request; the pager was replaced`
      : `pager ${res[RES_VAL]} died while serving this request${where}; a new pager took over`;
  }

  /** Pending signal for a system call whose request killed its pager (syscalls.ts). */
  driverKilledSignal(): void {
    this.signal('SIGSEGV', 'SEGV_MAPERR', 0, this.driverKilled());
  }

  /** The path of device `dev`, for messages. */
  devicePath: (dev: number) => string = (dev) => `device ${dev}`;

  /**
   * SIGKILL cannot be caught: once killed, every access and system call of the thread raises it
   * again, and the worker reports the process as killed however the program ends.
   */
  kill(info: SigInfo): void {
    this.killed = info;
    this.dropAll();
  }

  stillKilled(): number {
    const k = this.killed!;
    return this.signal('SIGKILL', 'SI_KERNEL', k.addr, `pid ${this.pid} was killed`);
  }

  private afterExit(va: number): number {
    return this.signal('SIGKILL', 'SI_KERNEL', va, `process ${this.pid} has exited: its Process object can no longer be used`);
  }

  /** Every TLB entry gone: after exit or a kill every access reaches the slow path. */
  dropAll(): void {
    this.tlb.invalidate(0, VM_MAXUSER_ADDRESS / PAGE_SIZE, TLB_UNKNOWN);
  }

  // ------------------------------------------------------------------ register and doorbell pages

  private installSpecial(vpn: number, kind: number, prot: number, devOff: number, dev: number): number {
    const k = this.nextSpecial;
    this.nextSpecial = (k + 1) % SPECIALS;
    // The slot may still be named by the entry of the page that had it before.
    const old = this.specialVpn[k];
    const e = specialEntry(k);
    const tlb = this.tlb;
    if (tlb.r[old] === e) tlb.r[old] = TLB_UNKNOWN;
    if (tlb.w[old] === e) tlb.w[old] = TLB_UNKNOWN;
    this.specialKind[k] = kind;
    this.specialProt[k] = prot;
    this.specialOff[k] = devOff;
    this.specialDev[k] = dev;
    this.specialVpn[k] = vpn;
    tlb.extend(vpn);
    const seen = Atomics.load(this.slot.inv, S_INVSEQ);
    Atomics.store(tlb.r, vpn, e);
    Atomics.store(tlb.w, vpn, e);
    if (Atomics.load(this.slot.inv, S_INVSEQ) !== seen) {
      // A shootdown raced the install: this access goes on (the fault just answered for it),
      // the next one looks again.
      Atomics.store(tlb.r, vpn, TLB_UNKNOWN);
      Atomics.store(tlb.w, vpn, TLB_UNKNOWN);
    }
    return k;
  }

  private special(k: number, va: number, access: number, size: number, value: number, value64: bigint): number {
    const prot = this.specialProt[k];
    // x86: writable implies readable, as for RAM pages.
    const allowed = access === PROT_READ ? (prot & (PROT_READ | PROT_WRITE)) !== 0 : (prot & access) === access;
    if (!allowed) return this.signal('SIGSEGV', 'SEGV_ACCERR', va);
    const io = this.io;
    if (io === null) return this.signal('SIGSEGV', 'SEGV_MAPERR', va, 'register page without a device I/O channel');
    const off = this.specialOff[k] + (va & 4095);
    let r: number;
    if (this.specialKind[k] === SPECIAL_DOORBELL) {
      if (access === PROT_READ) {
        this.result = 0; // loads of a doorbell page return 0
        this.result64 = 0n;
        return ACCESS_DONE;
      }
      r = io.doorbell(this.specialDev[k], off, size, value, value64);
    } else {
      r = io.mmio(va, access, size, value, value64);
      if (r === ACCESS_DONE && access === PROT_READ) {
        this.result = io.resultLo;
        this.result64 = io.result64;
      }
    }
    if (r === ERRNO.EAGAIN) {
      // The page is no longer a register page of this mapping (unmapped, remapped): forget it and
      // translate again.
      this.tlb.r[va >>> 12] = TLB_UNKNOWN;
      this.tlb.w[va >>> 12] = TLB_UNKNOWN;
      return this.translate(va, access, size, value, value64);
    }
    if (r !== ACCESS_DONE) return this.faultSignal(r, va);
    return ACCESS_DONE;
  }

  /**
   * A store landed through a write entry that changed under it (a shootdown or the host
   * re-arming the dirty log): the frame was written, so it must be logged again.
   */
  storeRaced(entry: number): void {
    if (entry <= 0) return;
    const pfn = entry - 1;
    if (Atomics.load(this.mv.frameInfo, pfn) >>> FI_TYPE_SHIFT === FI_KERNEL) Atomics.or(this.mv.dirty, pfn >>> 5, 1 << (pfn & 31));
  }

  // ------------------------------------------------------------------ bulk copies

  /** Copy from virtual memory into dst, page by page; 0 or ACCESS_SIGNAL. Register pages go 4 bytes at a time. */
  read(va: number, dst: Uint8Array, set: (dst: Uint8Array, src: Uint8Array, at: number) => void): number {
    const m8 = this.mv.m8;
    for (let done = 0; done < dst.length; ) {
      const a = va + done;
      const n = Math.min(dst.length - done, PAGE_SIZE - (a & 4095));
      const f = a === a >>> 0 ? this.tlb.r[a >>> 12] : 0; // -1 >>> 12 would alias the top page
      if (f > 0) {
        const pa = (f - 1) * PAGE_SIZE + (a & 4095);
        set(dst, m8.subarray(pa, pa + n), done);
        done += n;
        continue;
      }
      const pa = this.translate(a, PROT_READ, 1, 0, 0n, false);
      if (pa === ACCESS_SIGNAL) return pa;
      if (pa === ACCESS_DONE) {
        const k = this.ioChunk(a, dst, done, n, PROT_READ);
        if (k < 0) return k;
        done += k;
        continue;
      }
      set(dst, m8.subarray(pa, pa + n), done);
      done += n;
    }
    return 0;
  }

  write(va: number, src: Uint8Array, set: (dst: Uint8Array, src: Uint8Array, at: number) => void): number {
    const m8 = this.mv.m8;
    for (let done = 0; done < src.length; ) {
      const a = va + done;
      const n = Math.min(src.length - done, PAGE_SIZE - (a & 4095));
      const vpn = a >>> 12;
      let f = a === a >>> 0 ? this.tlb.w[vpn] : 0;
      if (f <= 0) {
        const pa = this.translate(a, PROT_WRITE, 1, 0, 0n, false);
        if (pa === ACCESS_SIGNAL) return pa;
        if (pa === ACCESS_DONE) {
          const k = this.ioChunk(a, src, done, n, PROT_WRITE);
          if (k < 0) return k;
          done += k;
          continue;
        }
        f = (pa >>> 12) + 1;
      }
      const pa = (f - 1) * PAGE_SIZE + (a & 4095);
      set(m8, src.subarray(done, done + n), pa);
      if (this.tlb.w[vpn] !== f) this.storeRaced(f);
      done += n;
    }
    return 0;
  }

  /**
   * p.read/p.write over a register page: naturally aligned accesses of at most 4 bytes, in address
   * order (the contract), each one a device access. Returns the bytes done, or ACCESS_SIGNAL.
   */
  private ioChunk(va: number, buf: Uint8Array, at: number, n: number, access: number): number {
    let done = 0;
    while (done < n) {
      const a = va + done;
      const left = n - done;
      const size = (a & 3) === 0 && left >= 4 ? 4 : (a & 1) === 0 && left >= 2 ? 2 : 1;
      let v = 0;
      if (access === PROT_WRITE) for (let i = size - 1; i >= 0; i--) v = v * 256 + buf[at + done + i];
      const r = this.translate(a, access, size, v);
      if (r === ACCESS_SIGNAL) return r;
      if (r !== ACCESS_DONE) {
        // The page stopped being a register page between two pieces: finish it as memory.
        if (access === PROT_READ) buf.set(this.mv.m8.subarray(r, r + (n - done)), at + done);
        else this.mv.m8.set(buf.subarray(at + done, at + n), r);
        return n;
      }
      if (access === PROT_READ) {
        let x = this.result >>> 0;
        for (let i = 0; i < size; i++) {
          buf[at + done + i] = x & 255;
          x >>>= 8;
        }
      }
      done += size;
    }
    return n;
  }
}
