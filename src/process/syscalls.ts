/**
 * The thread's half of the system calls, in the worker's realm: NetBSD's argument checks, in
 * NetBSD's order (docs/netbsd.md, "mmap time"), the descriptor table, and the requests to the
 * pager for everything that needs the map, the page tables or the driver.
 *
 * Every call returns a number: the result (>= 0) or -errno, with a detail for the message in
 * `detail`. The program side (process/api.ts) checks argument types first and turns -errno into a
 * SyscallError of the program's own realm.
 */
import {
  MADV_FREE, MAP_ANON, MAP_FIXED, MAP_INHERIT_COPY, MAP_INHERIT_NONE, MAP_INHERIT_SHARE, MAP_PRIVATE, MAP_SHARED, MS_ASYNC, MS_INVALIDATE, MS_SYNC, O_RDONLY,
  O_WRONLY, PAGE_SIZE, PROT_ALL, PROT_EXEC, PROT_READ, PROT_WRITE, VM_MAXUSER_ADDRESS,
} from '../constants.js';
import { ERRNO } from '../errors.js';
import {
  C, D_IRQ, E_END, E_OBJ, E_START, ENTRY_F64, FD_DEV_MASK, FD_FILE, FD_IRQ, FD_MODE_SHIFT, FD_WORDS, LINE,
  MAX_FDS, OBJ_ANON, type Layout,
} from '../layout.js';
import { PTE_VALID, pteLoad } from '../pager/pmap.js';
import {
  AUX_DRIVER_KILLED, OP_EXIT, OP_FORK, OP_MADVISE, OP_MINHERIT, OP_MMAP, OP_MPROTECT, OP_MSYNC, OP_MUNMAP, OP_PMAP_REMOVE, RES_AUX, RES_PTE, RES_VAL,
  type SlotViews,
} from '../pager/protocol.js';
import { entryIndex } from '../pager/vmmap.js';
import type { ThreadMemory } from './access.js';
import type { HostChannel } from './host-channel.js';
import type { MachineViews } from './machine.js';
import type { Requester } from './requester.js';
import { TLB_ABSENT, TLB_UNKNOWN } from './tlb.js';

/** a system call's result: the thread must raise its pending signal (ThreadMemory.signalInfo) */
export const SYSCALL_SIGNAL = -1000;

export const FREAD = 1;
export const FWRITE = 2;

const INT32_MIN = -(2 ** 31);
const UINT32_MAX = 2 ** 32 - 1;

export interface DeviceEntry {
  path: string;
  index: number;
}

/** A value NetBSD passes as int: outside 32 bits it could not have been given (EINVAL). */
function outside32(v: number): boolean {
  return v < INT32_MIN || v > UINT32_MAX;
}

export class Syscalls {
  /** detail of the last failure, for the message */
  detail: string | undefined;
  private readonly mem: ThreadMemory;
  private readonly req: Requester;
  private readonly vm: SlotViews;
  private readonly devices: readonly DeviceEntry[];
  private readonly devIrq: Int32Array;
  private readonly mv: MachineViews;

  constructor(mem: ThreadMemory, req: Requester, vm: SlotViews, devices: readonly DeviceEntry[], mv: MachineViews, layout: Layout) {
    this.mem = mem;
    this.req = req;
    this.vm = vm;
    this.devices = devices;
    this.mv = mv;
    this.devIrq = new Int32Array(mv.sab, layout.devicesOff, Math.max(1, layout.maxDevices) * (LINE / 4));
  }

  private fail(errno: number, detail?: string): number {
    this.detail = detail;
    return -errno;
  }

  /** A request to the pager; the reply's value, or -errno (SYSCALL_SIGNAL: raise mem's pending signal). */
  private request(op: number, a: number, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0): number {
    this.req.counters[C.syscalls]++;
    if (this.mem.killed !== null || this.mem.exited) return this.dead();
    this.req.setRequest(op, a, b, c, d, e, f, g);
    const err = this.req.call();
    if (err !== 0) {
      if (this.req.slot.res[RES_AUX] === AUX_DRIVER_KILLED) {
        // The request killed its pager (or overran driverTimeoutMs): a signal, not an errno.
        this.mem.driverKilledSignal();
        return SYSCALL_SIGNAL;
      }
      return this.fail(err);
    }
    return this.req.slot.res[RES_VAL];
  }

  /** Syscalls of a killed or exited process: the access path reports SIGKILL; here it is EINTR-like EIO... */
  private dead(): number {
    return this.fail(ERRNO.ESRCH, this.mem.exited ? `process ${this.mem.pid} has exited` : `pid ${this.mem.pid} was killed`);
  }

  // ------------------------------------------------------------------ files

  open(path: string, flags: number): number {
    if (outside32(flags)) return this.fail(ERRNO.EINVAL, `flags ${flags} do not fit an int`);
    const acc = flags & 3;
    if (acc === 3) return this.fail(ERRNO.EINVAL, 'O_ACCMODE 3');
    const d = this.devices.find((x) => x.path === path);
    if (!d) return this.fail(ERRNO.ENOENT, path);
    const mode = acc === O_RDONLY ? FREAD : acc === O_WRONLY ? FWRITE : FREAD | FWRITE;
    const word = (d.index + 1) | (mode << FD_MODE_SHIFT);
    const fds = this.vm.fds;
    // The lowest free descriptor, claimed with a CAS: threads of the process share the table.
    for (let fd = 0; fd < MAX_FDS; fd++) {
      if (Atomics.load(fds, fd * FD_WORDS + FD_FILE) !== 0) continue;
      // A new open file starts at the device's current interrupt count (waitInterrupt).
      Atomics.store(fds, fd * FD_WORDS + FD_IRQ, Atomics.load(this.devIrq, d.index * (LINE / 4) + D_IRQ));
      if (Atomics.compareExchange(fds, fd * FD_WORDS + FD_FILE, 0, word) === 0) return fd;
    }
    return this.fail(ERRNO.EMFILE);
  }

  close(fd: number): number {
    if (!this.validFd(fd)) return this.fail(ERRNO.EBADF, String(fd));
    // close(2) does not unmap: the uvm_device holds no file reference.
    return Atomics.exchange(this.vm.fds, fd * FD_WORDS + FD_FILE, 0) === 0 ? this.fail(ERRNO.EBADF, String(fd)) : 0;
  }

  /** The open file word of fd, or 0. */
  private file(fd: number): number {
    return Number.isInteger(fd) && fd >= 0 && fd < MAX_FDS ? Atomics.load(this.vm.fds, fd * FD_WORDS + FD_FILE) : 0;
  }

  private validFd(fd: number): boolean {
    return this.file(fd) !== 0;
  }

  // ------------------------------------------------------------------ VM system calls

  /** What a successful mmap returned (an address may be any number, so it does not travel as the result). */
  mapped = 0;

  /** mmap(2), with NetBSD's checks in NetBSD's order. Returns 0 (the address is in `mapped`) or -errno. */
  mmap(a: number, len: number, prot: number, flags: number, fd: number, off: number): number {
    if (outside32(prot)) return this.fail(ERRNO.EINVAL, `prot ${prot} does not fit an int`);
    if (outside32(flags)) return this.fail(ERRNO.EINVAL, `flags ${flags} do not fit an int`);
    prot &= PROT_ALL;
    if ((flags & (MAP_SHARED | MAP_PRIVATE)) === (MAP_SHARED | MAP_PRIVATE)) return this.fail(ERRNO.EINVAL, 'MAP_SHARED and MAP_PRIVATE both set');
    if (len === 0 && !(flags & MAP_ANON)) return this.fail(ERRNO.EINVAL, 'len is 0');
    if (len < 0) return this.fail(ERRNO.ENOMEM, 'len does not fit the address space');
    const pageoff = ((off % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
    const pos = off - pageoff;
    const size = Math.ceil((len + pageoff) / PAGE_SIZE) * PAGE_SIZE;
    if (size > VM_MAXUSER_ADDRESS) return this.fail(ERRNO.ENOMEM, 'len does not fit the address space');
    let where = a;
    if (flags & MAP_FIXED) {
      where = a - pageoff;
      if (where % PAGE_SIZE !== 0) return this.fail(ERRNO.EINVAL, 'MAP_FIXED address not page aligned');
      if (where < 0) return this.fail(ERRNO.EINVAL, 'address below VM_MIN_ADDRESS');
      if (where + size > VM_MAXUSER_ADDRESS) return this.fail(ERRNO.EFBIG, 'range ends past VM_MAXUSER_ADDRESS');
    }
    let obj = OBJ_ANON;
    let maxprot = PROT_ALL;
    let mflags = flags;
    if (flags & MAP_ANON) {
      if (fd !== -1) return this.fail(ERRNO.EINVAL, 'MAP_ANON with fd != -1');
      if (size === 0) {
        // uvm_mmap: size 0 maps nothing, and the hint comes back, whatever number it is
        this.mapped = where + pageoff;
        return 0;
      }
    } else {
      const file = this.file(fd);
      if (file === 0) return this.fail(ERRNO.EBADF, String(fd));
      const mode = file >>> FD_MODE_SHIFT;
      // vn_mmap (VCHR): no type -> MAP_SHARED; MAP_PRIVATE silently becomes MAP_SHARED.
      mflags = (flags & ~MAP_PRIVATE) | MAP_SHARED;
      maxprot = PROT_EXEC;
      if (mode & FREAD) maxprot |= PROT_READ;
      else if (prot & PROT_READ) return this.fail(ERRNO.EACCES, 'PROT_READ on a descriptor not open for reading');
      if (mode & FWRITE) maxprot |= PROT_WRITE;
      else if (prot & PROT_WRITE) return this.fail(ERRNO.EACCES, 'PROT_WRITE of a shared mapping on a descriptor not open for writing');
      obj = (file & FD_DEV_MASK) - 1;
    }
    const start = this.request(OP_MMAP, where, size, prot, mflags, obj, pos, maxprot);
    if (start === SYSCALL_SIGNAL) return start;
    if (start < 0) {
      if (start === -ERRNO.EINVAL && obj >= 0 && this.req.slot.res[RES_PTE] >= 0) {
        const at = this.req.slot.res[RES_PTE];
        this.detail = `${this.devices[obj]?.path ?? 'the device'}'s d_mmap refused device offset 0x${at.toString(16)} (prot ${this.req.slot.res[RES_VAL]})`;
      }
      return start;
    }
    // A new mapping has no PTE yet (MAP_FIXED removed those of what it replaced).
    this.req.counters[C.tlbShootdowns] += this.mem.tlb.absent(start / PAGE_SIZE, Math.min(start + size, VM_MAXUSER_ADDRESS) / PAGE_SIZE);
    this.mapped = start + pageoff;
    return 0;
  }

  /** Page-round [addr, addr+len) as the kernel does; null when len rounds to nothing, or -errno. */
  private range(addr: number, len: number, errno: number): [number, number] | null | number {
    const pageoff = ((addr % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
    const sva = addr - pageoff;
    const size = Math.ceil((len + pageoff) / PAGE_SIZE) * PAGE_SIZE;
    if (len < 0 || sva < 0 || sva + size > VM_MAXUSER_ADDRESS) return this.fail(errno, 'range outside the user address space');
    if (size === 0) return null;
    return [sva, sva + size];
  }

  munmap(addr: number, len: number): number {
    // sys_munmap returns 0 for a size that rounds to 0 before it tests the range.
    if (len === 0 && addr % PAGE_SIZE === 0) return 0;
    if (len >= 0 && Math.ceil((len + (((addr % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE)) / PAGE_SIZE) === 0) return 0;
    const r = this.range(addr, len, ERRNO.EINVAL);
    if (typeof r === 'number') return r;
    if (!r) return 0; // len 0 is a no-op, not EINVAL
    const v = this.request(OP_MUNMAP, r[0], r[1]);
    if (v < 0) return v;
    this.invalidate(r[0], r[1], TLB_ABSENT);
    return 0;
  }

  mprotect(addr: number, len: number, prot: number): number {
    if (outside32(prot)) return this.fail(ERRNO.EINVAL, `prot ${prot} does not fit an int`);
    const r = this.range(addr, len, ERRNO.EINVAL);
    if (typeof r === 'number') return r;
    if (!r) return 0;
    const v = this.request(OP_MPROTECT, r[0], r[1], prot & PROT_ALL);
    this.invalidate(r[0], r[1], TLB_UNKNOWN); // lowered PTEs stay
    return v < 0 ? v : 0;
  }

  madvise(addr: number, len: number, advice: number): number {
    if (advice < 0 || advice > MADV_FREE || advice === 5) return this.fail(ERRNO.EINVAL, `advice ${advice}`);
    const r = this.range(addr, len, ERRNO.EINVAL);
    if (typeof r === 'number') return r;
    if (!r) return 0;
    const v = this.request(OP_MADVISE, r[0], r[1], advice);
    if (v < 0) return v;
    if (advice === MADV_FREE) this.invalidate(r[0], r[1], TLB_UNKNOWN); // device PTEs stay
    return 0;
  }

  msync(addr: number, len: number, flags: number): number {
    // sys___msync13: unknown bits, no bit at all, or ASYNC with SYNC are all EINVAL.
    const known = MS_ASYNC | MS_SYNC | MS_INVALIDATE;
    if (outside32(flags) || (flags & ~known) !== 0 || (flags & known) === 0 || ((flags & MS_ASYNC) && (flags & MS_SYNC))) {
      return this.fail(ERRNO.EINVAL, `flags 0x${(flags >>> 0).toString(16)}`);
    }
    const r = this.range(addr, len, ERRNO.ENOMEM);
    if (typeof r === 'number') return r;
    let sva: number;
    let eva: number;
    if (r) [sva, eva] = r;
    else {
      // len 0: the whole entry containing addr (NetBSD msync)
      // sys___msync13: len 0 means the whole entry containing addr; none there is EINVAL.
      const i = this.entryAt(addr - (((addr % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE));
      if (i < 0) return this.fail(ERRNO.EINVAL, `0x${addr.toString(16)} is not mapped`);
      sva = this.vm.entries[i * ENTRY_F64 + E_START];
      eva = this.vm.entries[i * ENTRY_F64 + E_END];
    }
    const v = this.request(OP_MSYNC, sva, eva, flags);
    return v < 0 ? v : 0;
  }

  /**
   * mincore(2), first half: the length of the vector, or -errno. Device pages are always resident;
   * anonymous pages are resident once touched.
   */
  mincoreLength(addr: number, len: number): number {
    if (addr % PAGE_SIZE !== 0 || addr < 0) return this.fail(ERRNO.EINVAL, 'addr not page aligned');
    if (addr >= VM_MAXUSER_ADDRESS && len > 0) return this.fail(ERRNO.ENOMEM, 'range past the user address space');
    const eva = addr + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
    if (len <= 0 || eva <= addr) return this.fail(ERRNO.EINVAL, 'empty range');
    if (eva > VM_MAXUSER_ADDRESS) return this.fail(ERRNO.ENOMEM);
    return (eva - addr) / PAGE_SIZE;
  }

  /**
   * mincore(2), second half: fill `vec` (made by the program side, in its realm). Read straight from
   * the map and page tables; a concurrent change by another thread may or may not show, as on a
   * real kernel.
   */
  mincoreFill(addr: number, vec: Uint8Array): number {
    for (let k = 0, va = addr; k < vec.length; k++, va += PAGE_SIZE) {
      const i = this.entryAt(va);
      if (i < 0) return this.fail(ERRNO.ENOMEM, `0x${va.toString(16)} is not mapped`);
      if (this.vm.entries[i * ENTRY_F64 + E_OBJ] >= 0) vec[k] = 1; // device pages are always resident
      else vec[k] = pteLoad(this.mv.m32i, this.vm.l1, va) & PTE_VALID ? 1 : 0;
    }
    return 0;
  }

  private entryAt(va: number): number {
    return entryIndex(this.vm.entries, this.vm.nentries, va);
  }

  /**
   * Extension (not in NetBSD's syscall table): make the pmap forget the device PTEs of a range, as
   * a real pmap may at any time. The mapping stays; the next access faults and calls d_mmap again.
   * Returns the number of PTEs removed.
   */
  pmapRemove(addr: number, len: number): number {
    const r = this.range(addr, len, ERRNO.EINVAL);
    if (typeof r === 'number') return r;
    if (!r) return 0;
    const n = this.request(OP_PMAP_REMOVE, r[0], r[1]);
    if (n < 0) return n;
    // Device PTEs are gone; anonymous ones stay (vmPmapRemove). The map does not change under a
    // pmapRemove, and gaps hold no PTE and no TLB entry already.
    const e = this.vm.entries;
    for (let i = 0, ne = this.vm.nentries; i < ne; i++) {
      const b = i * ENTRY_F64;
      const sva = Math.max(r[0], e[b + E_START]);
      const eva = Math.min(r[1], e[b + E_END]);
      if (sva < eva) this.invalidate(sva, eva, e[b + E_OBJ] < 0 ? TLB_UNKNOWN : TLB_ABSENT);
    }
    return n;
  }

  /** minherit(2): how [addr, addr+len) passes to a child at fork. */
  minherit(addr: number, len: number, inherit: number): number {
    if (inherit !== MAP_INHERIT_SHARE && inherit !== MAP_INHERIT_COPY && inherit !== MAP_INHERIT_NONE) return this.fail(ERRNO.EINVAL, `inherit ${inherit}`);
    const r = this.range(addr, len, ERRNO.EINVAL);
    if (typeof r === 'number') return r;
    if (!r) return 0;
    const v = this.request(OP_MINHERIT, r[0], r[1], inherit);
    return v < 0 ? v : 0;
  }

  /**
   * UIO's blocking read: wait until the device's interrupt count differs from the one this
   * descriptor last returned (at first: the count at open), and return it. ETIMEDOUT after
   * timeoutMs.
   */
  waitInterrupt(fd: number, timeoutMs: number): number {
    const file = this.file(fd);
    if (file === 0) return this.fail(ERRNO.EBADF, String(fd));
    const dev = (file & FD_DEV_MASK) - 1;
    const irq = this.devIrq;
    const at = dev * (LINE / 4) + D_IRQ;
    const fds = this.vm.fds;
    const seenAt = fd * FD_WORDS + FD_IRQ;
    const deadline = Number.isFinite(timeoutMs) ? performance.now() + timeoutMs : Infinity;
    for (;;) {
      const seen = Atomics.load(fds, seenAt);
      const now = Atomics.load(irq, at);
      if (now !== seen) {
        // Threads sharing the descriptor each take a new count once.
        if (Atomics.compareExchange(fds, seenAt, seen, now) === seen) return now >>> 0;
        continue;
      }
      const left = deadline - performance.now();
      if (left <= 0) return this.fail(ERRNO.ETIMEDOUT, `no interrupt within ${timeoutMs} ms`);
      this.req.blocked(() => Atomics.wait(irq, at, now, left === Infinity ? undefined : left));
    }
  }

  /**
   * fork(2): the host reserves a slot for the child, the pager copies the address space into it
   * (by each entry's inheritance), and the host starts the child's first thread. Returns the
   * child's pid or -errno.
   */
  fork(url: string, args: unknown[], host: HostChannel): number {
    if (this.mem.killed !== null || this.mem.exited) return this.dead();
    const r = host.ask({ op: 'fork-reserve' });
    if (r === null || r.errno !== 0) return this.fail(r?.errno ?? ERRNO.EAGAIN, r?.detail);
    const { slot, pid } = r.value as { slot: number; pid: number };
    const v = this.request(OP_FORK, slot);
    if (v < 0) {
      host.tell({ op: 'fork-abort', child: slot });
      return v;
    }
    // Anonymous pages are now copy-on-write (or moved into a shared object, some copied) in this
    // process too: its entries for them must go.
    const e = this.vm.entries;
    for (let i = 0, ne = this.vm.nentries; i < ne; i++) {
      const b = i * ENTRY_F64;
      if (e[b + E_OBJ] < 0) this.mem.tlb.invalidate(e[b + E_START] / PAGE_SIZE, e[b + E_END] / PAGE_SIZE, TLB_UNKNOWN);
    }
    const s = host.ask({ op: 'fork-start', child: slot, url, args });
    if (s === null || s.errno !== 0) return this.fail(s?.errno ?? ERRNO.EAGAIN, s?.detail);
    return pid;
  }

  /** This thread's self-invalidation after its own unmap or protect returned. */
  private invalidate(sva: number, eva: number, to: number): void {
    const last = Math.min(eva, VM_MAXUSER_ADDRESS) / PAGE_SIZE;
    this.req.counters[C.tlbShootdowns] += this.mem.tlb.invalidate(sva / PAGE_SIZE, last, to);
  }

  /** The thread (or, for the first thread, the whole process) ends: the pager tears down what is its. Idempotent. */
  exit(): void {
    if (this.mem.exited) return;
    this.req.setRequest(OP_EXIT, 0);
    this.req.call();
    this.req.releaseCpu();
    this.mem.exited = true;
    this.mem.dropAll();
  }
}
