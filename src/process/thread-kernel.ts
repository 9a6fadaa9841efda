/**
 * The kernel side of one thread, as its Process object (process/api.ts, in the program's realm)
 * reaches it: a flat object of functions and views, built in the worker's realm. It joins the
 * pieces — the TLB, the requester, the slow path, the system calls, the host channel — and is the
 * only thing the program side holds (in private fields).
 */
import { PROT_READ } from '../constants.js';
import { ERRNO } from '../errors.js';
import { C } from '../layout.js';
import { ACCESS_DONE, ACCESS_SIGNAL, type ThreadMemory } from './access.js';
import type { HostResult, KernelPort } from './api.js';
import type { HostChannel } from './host-channel.js';
import type { MachineViews } from './machine.js';
import type { Requester } from './requester.js';
import type { Syscalls } from './syscalls.js';

// Captured before any program runs: the program's realm has its own copies, and this one is the
// worker's, which no program can reach.
const TypedArraySet = Object.getPrototypeOf(Uint8Array.prototype).set as (this: Uint8Array, src: ArrayLike<number>, at?: number) => void;
const apply = Reflect.apply;
const { wait: atomicsWait, notify: atomicsNotify } = Atomics;

/** dst.set(src, at) with the worker realm's method, whatever the program did to its prototypes. */
function setBytes(dst: Uint8Array, src: Uint8Array, at: number): void {
  apply(TypedArraySet, dst, [src, at]);
}

export interface ThreadKernelParts {
  pid: number;
  tid: number;
  mv: MachineViews;
  mem: ThreadMemory;
  sys: Syscalls;
  req: Requester;
  host: HostChannel;
  countAccesses: boolean;
}

export function makeKernelPort(p: ThreadKernelParts): KernelPort {
  const { mv, mem, sys, req, host } = p;
  const hostResult = (a: { errno: number; detail?: string; value?: unknown; thrown?: boolean } | null, timeoutMs: number, what: string): HostResult => {
    if (a === null) return { errno: ERRNO.ETIMEDOUT, detail: `${what}: no answer within ${timeoutMs} ms` };
    return a;
  };
  const port: KernelPort = {
    pid: p.pid,
    tid: p.tid,
    tlbR: mem.tlb.r,
    tlbW: mem.tlb.w,
    m8: mv.m8,
    m16: mv.m16,
    m32: mv.m32,
    m64: mv.m64,
    counters: p.countAccesses ? req.counters : null,
    accessCounter: C.accesses,
    translate: (va, access, size, value, value64) => mem.translate(va, access, size, value, value64),
    signalInfo: () => {
      const s = mem.signalInfo();
      return mem.exited && s.signal === 'SIGKILL' && mem.killed === null ? { ...s, exited: true } : s;
    },
    value: () => mem.value(),
    value64: () => mem.value64(),
    storeRaced: (entry) => mem.storeRaced(entry),
    read: (va, dst) => mem.read(va, dst, setBytes),
    write: (va, src) => mem.write(va, src, setBytes),
    wait32: (va, v, timeoutMs) => {
      const pa = mem.translate(va, PROT_READ, 4, 0, 0n);
      if (pa === ACCESS_SIGNAL) return -1;
      if (pa === ACCESS_DONE) return 1; // a register page never holds a value to wait on
      const r = req.blocked(() => atomicsWait(mv.m32i, pa / 4, v | 0, timeoutMs === Infinity ? undefined : timeoutMs));
      return r === 'ok' ? 0 : r === 'not-equal' ? 1 : 2;
    },
    notify32: (va, count) => {
      const pa = mem.translate(va, PROT_READ, 4, 0, 0n);
      if (pa === ACCESS_SIGNAL) return -1;
      if (pa === ACCESS_DONE) return 0;
      return atomicsNotify(mv.m32i, pa / 4, count);
    },
    detail: () => sys.detail,
    open: (path, flags) => sys.open(path, flags),
    close: (fd) => sys.close(fd),
    mmap: (addr, len, prot, flags, fd, off) => sys.mmap(addr, len, prot, flags, fd, off),
    mapped: () => sys.mapped,
    munmap: (addr, len) => sys.munmap(addr, len),
    mprotect: (addr, len, prot) => sys.mprotect(addr, len, prot),
    madvise: (addr, len, advice) => sys.madvise(addr, len, advice),
    msync: (addr, len, flags) => sys.msync(addr, len, flags),
    mincoreLength: (addr, len) => sys.mincoreLength(addr, len),
    mincoreFill: (addr, vec) => sys.mincoreFill(addr, vec),
    pmapRemove: (addr, len) => sys.pmapRemove(addr, len),
    minherit: (addr, len, inherit) => sys.minherit(addr, len, inherit),
    waitInterrupt: (fd, timeoutMs) => sys.waitInterrupt(fd, timeoutMs),
    spawnThread: (url, args) => {
      const cloned = cloneArgs(args, sys);
      if (cloned === null) return -ERRNO.EINVAL;
      const a = host.ask({ op: 'thread', url, args: cloned });
      if (a === null) return -ERRNO.EAGAIN;
      if (a.errno !== 0) {
        sys.detail = a.detail;
        return -a.errno;
      }
      return a.value as number;
    },
    join: (tid, timeoutMs) => {
      const a = hostResult(host.ask({ op: 'join', tid }, timeoutMs === Infinity ? undefined : timeoutMs), timeoutMs, `join(${tid})`);
      if (a.errno === 0) host.tell({ op: 'joined', tid });
      return a;
    },
    fork: (url, args) => {
      const cloned = cloneArgs(args, sys);
      return cloned === null ? -ERRNO.EINVAL : sys.fork(url, cloned, host);
    },
    wait: (pid, timeoutMs) => {
      const a = hostResult(host.ask({ op: 'wait', pid }, timeoutMs === Infinity ? undefined : timeoutMs), timeoutMs, `wait(${pid})`);
      if (a.errno === 0) host.tell({ op: 'waited', pid });
      return a;
    },
  };
  return port;
}

/** Arguments for a new thread or child: structured-cloneable, or null with the reason in sys.detail. */
function cloneArgs(args: unknown[], sys: Syscalls): unknown[] | null {
  try {
    return structuredClone(args);
  } catch (e) {
    sys.detail = `arguments must be structured-cloneable: ${(e as Error).message}`;
    return null;
  }
}
