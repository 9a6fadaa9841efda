/**
 * The Process object a program's main receives. This module is evaluated inside each process's
 * own realm (process/realm.ts), so that its errors, typed arrays and the data it hands back belong
 * to the program's realm (`e instanceof Error`, `instanceof SyscallError` from 'devpager', work as
 * the program expects), and so that the access methods below compile together with the program's
 * own loops and inline into them.
 *
 * The fast path of every access is here: one TLB load, one test and one typed-array access into
 * the arena (process/tlb.ts says what the entries mean). Everything else — a miss, a bad address,
 * a register page, a system call — goes to the thread's kernel side (`k`, process/thread-kernel.ts)
 * in the worker's realm, which answers with numbers; errors are made here.
 *
 * Everything the object holds is in private fields, captured when the runtime builds it, before
 * the program runs: the TLB, the arena views, and the Atomics functions it uses (a program that
 * replaces Atomics.load afterwards cannot catch an arena view with it).
 */
import { PROT_READ, PROT_WRITE } from '../constants.js';
import { SignalError, SyscallError, badRange, badType, describe, errnoName, fromWire, type SigInfo, type WireError } from '../errors.js';
import type { ChildHandle, ChildStatus, Process, ThreadHandle } from './types.js';

/** VPAGES (layout.ts): the 32-bit space in pages. Not imported: this module runs in the program's realm, which loads only what it must. */
const DEAD_TLB_ENTRIES = 1 << 20;
/** the TLB of every retired Process of this realm (ProcessImpl.retire) */
let deadTlb: Int32Array | null = null;

// Captured at module evaluation, which happens before any program code runs in this realm.
const { add: atomicsAdd, compareExchange: atomicsCas, load: atomicsLoad, store: atomicsStore } = Atomics;
const U8 = Uint8Array;
// A Uint8Array of any realm (the worker's TextEncoder and Buffer make the worker's), by its internal tag.
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;
const isUint8Array = (x: unknown): x is Uint8Array => ArrayBuffer.isView(x) && Reflect.apply(typedArrayTag, x, []) === 'Uint8Array';
const isArray = Array.isArray;
const defineProperty = Object.defineProperty;
const freeze = Object.freeze;

/** translate(): the access was carried out by the kernel side (a register page; process/access.ts). */
const ACCESS_DONE = -2;
/** a system call whose request killed its pager: raise the pending signal (process/syscalls.ts) */
const SYSCALL_SIGNAL = -1000;

/** The kernel side of one thread, as the program side sees it (process/thread-kernel.ts). */
export interface KernelPort {
  readonly pid: number;
  readonly tid: number;
  readonly tlbR: Int32Array;
  readonly tlbW: Int32Array;
  readonly m8: Uint8Array;
  readonly m16: Uint16Array;
  readonly m32: Uint32Array;
  readonly m64: BigUint64Array;
  readonly counters: Float64Array | null;
  readonly accessCounter: number;
  translate(va: number, access: number, size: number, value: number, value64: bigint): number;
  signalInfo(): SigInfo & { detail: string | undefined; exited?: boolean };
  value(): number;
  value64(): bigint;
  storeRaced(entry: number): void;
  read(va: number, dst: Uint8Array): number;
  write(va: number, src: Uint8Array): number;
  wait32(va: number, v: number, timeoutMs: number): number;
  notify32(va: number, count: number): number;
  detail(): string | undefined;
  open(path: string, flags: number): number;
  close(fd: number): number;
  /** 0 or -errno; the address is mapped() */
  mmap(addr: number, len: number, prot: number, flags: number, fd: number, off: number): number;
  mapped(): number;
  munmap(addr: number, len: number): number;
  mprotect(addr: number, len: number, prot: number): number;
  madvise(addr: number, len: number, advice: number): number;
  msync(addr: number, len: number, flags: number): number;
  mincoreLength(addr: number, len: number): number;
  mincoreFill(addr: number, vec: Uint8Array): number;
  pmapRemove(addr: number, len: number): number;
  minherit(addr: number, len: number, inherit: number): number;
  waitInterrupt(fd: number, timeoutMs: number): number;
  spawnThread(url: string, args: unknown[]): number;
  join(tid: number, timeoutMs: number): HostResult;
  fork(url: string, args: unknown[]): number;
  wait(pid: number, timeoutMs: number): HostResult;
}

/** A join or wait answer: errno 0 and the value, or an errno; `thrown` when the value is what the thread's main threw. */
export interface HostResult {
  errno: number;
  value?: unknown;
  detail?: string;
  thrown?: boolean;
}

const WAIT_RESULTS = ['ok', 'not-equal', 'timed-out'] as const;

function checkVa(name: string, va: unknown): asserts va is number {
  if (typeof va !== 'number' || Number.isNaN(va)) throw badType(`${name} address`, 'a number', va);
  if (!Number.isInteger(va)) throw badType(`${name} address`, 'an integer', va);
}

/** An integer that a C int or unsigned int could hold (what NetBSD's syscall would have seen). */
function intArg(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw badType(name, 'a number', v);
  if (!Number.isInteger(v)) throw badType(name, 'an integer', v);
}

function numArg(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw badType(name, 'a number', v);
  if (!Number.isInteger(v)) throw badType(name, 'an integer', v);
}

/** A timeout in ms, as Atomics.wait takes it: undefined for none, a negative one is 0 (a poll). */
function timeoutArg(name: string, v: unknown): number {
  if (v === undefined) return Infinity;
  if (typeof v !== 'number' || Number.isNaN(v)) throw badType(name, 'a number of milliseconds', v);
  return v < 0 ? 0 : v;
}

/** The value a store of `bits` bits accepts: an integer in [-2^(bits-1), 2^bits). */
function storeValue(name: string, v: unknown, bits: number): never {
  if (typeof v !== 'number') throw badType(`${name} value`, 'a number', v);
  throw badRange(`${name} value`, `an integer in [${-(2 ** (bits - 1))}, ${2 ** bits - 1}]`, v);
}

function urlArg(name: string, u: unknown): string {
  if (typeof u === 'object' && u !== null && typeof (u as { href?: unknown }).href === 'string') return (u as { href: string }).href;
  if (typeof u === 'string' && u.length > 0) return u;
  throw badType(name, 'a URL or a URL string', u);
}

/**
 * A deep copy of structured-cloned data into this realm, so that what a program receives (its
 * arguments, a thread's result) answers `instanceof Array`, `instanceof Uint8Array` and friends as
 * the program expects.
 */
export function toRealm(v: unknown, seen = new Map<object, unknown>()): unknown {
  if (v === null || typeof v !== 'object') return v;
  const done = seen.get(v);
  if (done !== undefined) return done;
  if (isArray(v)) {
    const a: unknown[] = [];
    seen.set(v, a);
    for (let i = 0; i < v.length; i++) a[i] = toRealm(v[i], seen);
    return a;
  }
  if (ArrayBuffer.isView(v)) {
    const ctor = (globalThis as unknown as Record<string, unknown>)[Object.getPrototypeOf(v)?.constructor?.name ?? ''];
    if (typeof ctor === 'function' && !(v instanceof DataView)) {
      const t = v as unknown as { buffer: ArrayBufferLike; byteOffset: number; byteLength: number; length: number };
      const copy = new (ctor as new (n: number) => { set(x: unknown): void })(t.length);
      copy.set(v);
      seen.set(v, copy);
      return copy;
    }
    return v;
  }
  const tag = Object.prototype.toString.call(v);
  if (tag === '[object Date]') return new Date((v as Date).getTime());
  if (tag === '[object Map]') {
    const m = new Map();
    seen.set(v, m);
    for (const [k, x] of v as Map<unknown, unknown>) m.set(toRealm(k, seen), toRealm(x, seen));
    return m;
  }
  if (tag === '[object Set]') {
    const s = new Set();
    seen.set(v, s);
    for (const x of v as Set<unknown>) s.add(toRealm(x, seen));
    return s;
  }
  if (tag === '[object RegExp]') return new RegExp((v as RegExp).source, (v as RegExp).flags);
  if (tag === '[object Error]') {
    const e = v as Error & Record<string, unknown>;
    const copy = new Error(e.message) as Error & Record<string, unknown>;
    seen.set(v, copy);
    for (const k of Object.keys(e)) copy[k] = toRealm(e[k], seen);
    copy.name = e.name;
    if (e.stack !== undefined) copy.stack = e.stack;
    return copy;
  }
  if (tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') return v;
  const o: Record<string, unknown> = {};
  seen.set(v, o);
  for (const k of Object.keys(v)) o[k] = toRealm((v as Record<string, unknown>)[k], seen);
  return o;
}

/**
 * Build the Process object for one thread. Returns it and `retire`, which the runtime calls when
 * the thread ends: from then on the object reaches no memory (its TLB is an empty one), so a
 * reference kept past the end cannot touch the slot's next thread.
 */
export function createProcess(k: KernelPort): { process: Process; retire(): void } {
  const counting = k.counters !== null;
  const impl = counting ? makeCounting(k) : new ProcessImpl(k);
  return { process: impl, retire: () => ProcessImpl.retire(impl) };
}

class ProcessImpl implements Process {
  // Hot fields first: read on every access.
  #tlbR: Int32Array;
  #tlbW: Int32Array;
  readonly #m8: Uint8Array;
  readonly #m16: Uint16Array;
  readonly #m32: Uint32Array;
  readonly #m64: BigUint64Array;
  readonly #k: KernelPort;
  declare readonly pid: number;
  declare readonly tid: number;

  constructor(k: KernelPort) {
    this.#tlbR = k.tlbR;
    this.#tlbW = k.tlbW;
    this.#m8 = k.m8;
    this.#m16 = k.m16;
    this.#m32 = k.m32;
    this.#m64 = k.m64;
    this.#k = k;
    defineProperty(this, 'pid', { value: k.pid, enumerable: true });
    defineProperty(this, 'tid', { value: k.tid, enumerable: true });
  }

  static retire(p: ProcessImpl): void {
    // One all-zero TLB per realm, shared by every retired Process: nothing writes it, and every
    // entry misses into the kernel port, which answers as for an exited thread. A new array per
    // exit would be 4 MiB of external memory per process, which V8 reclaims with full collections
    // that stall the worker while the next processes wait to run.
    deadTlb ??= new Int32Array(DEAD_TLB_ENTRIES);
    p.#tlbR = deadTlb;
    p.#tlbW = deadTlb;
  }

  // ------------------------------------------------------------------ errors

  #signal(): never {
    const s = this.#k.signalInfo();
    if (s.exited) throw new Error(s.detail ?? `process ${this.pid} has exited`);
    throw new SignalError(s.signal, s.code, s.addr, s.detail);
  }

  #sys(name: string, r: number): number {
    if (r < 0) {
      if (r === SYSCALL_SIGNAL) this.#signal();
      throw new SyscallError(name, errnoName(-r), this.#k.detail());
    }
    return r;
  }

  // ------------------------------------------------------------------ memory access (hot)

  load8(va: number): number {
    if (typeof va === 'number') {
      const f = this.#tlbR[va >>> 12];
      if (f > 0 && va === va >>> 0) return this.#m8[(f - 1) * 4096 + (va & 4095)];
    }
    return this.#load(va, 1);
  }

  load16(va: number): number {
    if (typeof va === 'number') {
      const f = this.#tlbR[va >>> 12];
      if (f > 0 && (va & 1) === 0 && va === va >>> 0) return this.#m16[((f - 1) << 11) | ((va & 4095) >>> 1)];
    }
    return this.#load(va, 2);
  }

  load32(va: number): number {
    if (typeof va === 'number') {
      const f = this.#tlbR[va >>> 12];
      if (f > 0 && (va & 3) === 0 && va === va >>> 0) return this.#m32[((f - 1) << 10) | ((va & 4095) >>> 2)];
    }
    return this.#load(va, 4);
  }

  load64(va: number): bigint {
    if (typeof va === 'number') {
      const f = this.#tlbR[va >>> 12];
      if (f > 0 && (va & 7) === 0 && va === va >>> 0) return this.#m64[((f - 1) << 9) | ((va & 4095) >>> 3)];
    }
    checkVa('load64', va);
    const pa = this.#k.translate(va, PROT_READ, 8, 0, 0n);
    if (pa >= 0) return this.#m64[pa / 8];
    if (pa === ACCESS_DONE) return this.#k.value64();
    return this.#signal();
  }

  #load(va: number, size: number): number {
    // Literal names: a template here would build a string on every TLB miss.
    checkVa(size === 4 ? 'load32' : size === 2 ? 'load16' : 'load8', va);
    const pa = this.#k.translate(va, PROT_READ, size, 0, 0n);
    if (pa >= 0) return size === 4 ? this.#m32[pa / 4] : size === 2 ? this.#m16[pa / 2] : this.#m8[pa];
    if (pa === ACCESS_DONE) return this.#k.value();
    return this.#signal();
  }

  store8(va: number, v: number): void {
    if (typeof va === 'number' && typeof v === 'number') {
      const f = this.#tlbW[va >>> 12];
      if (f > 0 && va === va >>> 0 && v === (v | 0) && v >= -128 && v <= 255) {
        this.#m8[(f - 1) * 4096 + (va & 4095)] = v;
        if (this.#tlbW[va >>> 12] !== f) this.#k.storeRaced(f);
        return;
      }
    }
    this.#store(va, v, 1, 8);
  }

  store16(va: number, v: number): void {
    if (typeof va === 'number' && typeof v === 'number') {
      const f = this.#tlbW[va >>> 12];
      if (f > 0 && (va & 1) === 0 && va === va >>> 0 && v === (v | 0) && v >= -32768 && v <= 65535) {
        this.#m16[((f - 1) << 11) | ((va & 4095) >>> 1)] = v;
        if (this.#tlbW[va >>> 12] !== f) this.#k.storeRaced(f);
        return;
      }
    }
    this.#store(va, v, 2, 16);
  }

  store32(va: number, v: number): void {
    if (typeof va === 'number' && typeof v === 'number') {
      const f = this.#tlbW[va >>> 12];
      if (f > 0 && (va & 3) === 0 && va === va >>> 0 && (v === (v | 0) || v === v >>> 0)) {
        this.#m32[((f - 1) << 10) | ((va & 4095) >>> 2)] = v;
        if (this.#tlbW[va >>> 12] !== f) this.#k.storeRaced(f);
        return;
      }
    }
    this.#store(va, v, 4, 32);
  }

  store64(va: number, v: bigint): void {
    if (typeof v !== 'bigint') throw badType('store64 value', 'a bigint', v);
    if (typeof va === 'number') {
      const f = this.#tlbW[va >>> 12];
      if (f > 0 && (va & 7) === 0 && va === va >>> 0 && (BigInt.asIntN(64, v) === v || BigInt.asUintN(64, v) === v)) {
        this.#m64[((f - 1) << 9) | ((va & 4095) >>> 3)] = v;
        if (this.#tlbW[va >>> 12] !== f) this.#k.storeRaced(f);
        return;
      }
    }
    checkVa('store64', va);
    if (BigInt.asIntN(64, v) !== v && BigInt.asUintN(64, v) !== v) throw badRange('store64 value', 'a bigint in [-2^63, 2^64)', v);
    const pa = this.#k.translate(va, PROT_WRITE, 8, 0, v);
    if (pa >= 0) {
      this.#m64[pa / 8] = v;
      const entry = Math.floor(pa / 4096) + 1;
      if (this.#tlbW[va >>> 12] !== entry) this.#k.storeRaced(entry);
      return;
    }
    if (pa !== ACCESS_DONE) this.#signal();
  }

  #store(va: number, v: number, size: number, bits: number): void {
    const name = bits === 32 ? 'store32' : bits === 16 ? 'store16' : 'store8';
    checkVa(name, va);
    if (typeof v !== 'number' || v !== Math.trunc(v) || v < -(2 ** (bits - 1)) || v >= 2 ** bits) storeValue(name, v, bits);
    const pa = this.#k.translate(va, PROT_WRITE, size, v, 0n);
    if (pa >= 0) {
      if (size === 4) this.#m32[pa / 4] = v;
      else if (size === 2) this.#m16[pa / 2] = v;
      else this.#m8[pa] = v;
      const entry = Math.floor(pa / 4096) + 1;
      if (this.#tlbW[va >>> 12] !== entry) this.#k.storeRaced(entry);
      return;
    }
    if (pa !== ACCESS_DONE) this.#signal();
  }

  /** Copy from virtual memory; crosses pages, faulting each as needed. */
  read(va: number, dst: Uint8Array): Uint8Array {
    if (!isUint8Array(dst)) throw badType('read dst', 'a Uint8Array', dst);
    checkVa('read', va);
    if (this.#k.read(va, dst) < 0) this.#signal();
    return dst;
  }

  write(va: number, src: Uint8Array): void {
    if (!isUint8Array(src)) throw badType('write src', 'a Uint8Array', src);
    checkVa('write', va);
    if (this.#k.write(va, src) < 0) this.#signal();
  }

  // Atomics on mapped memory: real Atomics on the arena, so processes and the host can synchronise.

  atomicAdd32(va: number, v: number): number {
    this.#value32('atomicAdd32', v);
    const i = this.#word(va, PROT_WRITE, 'atomicAdd32');
    const old = atomicsAdd(this.#m32, i, v) >>> 0;
    this.#recheck(va, i);
    return old;
  }

  cas32(va: number, expected: number, v: number): number {
    this.#value32('cas32 expected', expected);
    this.#value32('cas32', v);
    const i = this.#word(va, PROT_WRITE, 'cas32');
    const old = atomicsCas(this.#m32, i, expected >>> 0, v >>> 0) >>> 0;
    this.#recheck(va, i);
    return old;
  }

  atomicLoad32(va: number): number {
    return atomicsLoad(this.#m32, this.#word(va, PROT_READ, 'atomicLoad32')) >>> 0;
  }

  atomicStore32(va: number, v: number): number {
    this.#value32('atomicStore32', v);
    const i = this.#word(va, PROT_WRITE, 'atomicStore32');
    atomicsStore(this.#m32, i, v);
    this.#recheck(va, i);
    return v;
  }

  #value32(name: string, v: unknown): void {
    if (typeof v !== 'number') throw badType(`${name} value`, 'a number', v);
    if (v !== (v | 0) && v !== v >>> 0) throw badRange(`${name} value`, `an integer in [${-(2 ** 31)}, ${2 ** 32 - 1}]`, v);
  }

  /** The arena word index of an aligned 32-bit word at va, through the TLB or the slow path. */
  #word(va: number, access: number, name: string): number {
    if (typeof va === 'number') {
      const f = (access === PROT_READ ? this.#tlbR : this.#tlbW)[va >>> 12];
      if (f > 0 && (va & 3) === 0 && va === va >>> 0) return ((f - 1) << 10) | ((va & 4095) >>> 2);
    }
    checkVa(name, va);
    const pa = this.#k.translate(va, access, 4, 0, 0n);
    if (pa >= 0) return pa / 4;
    if (pa === ACCESS_DONE) throw new SignalError('SIGBUS', 'BUS_ADRERR', va, `${name} on a device register page`);
    return this.#signal();
  }

  #recheck(va: number, i: number): void {
    const entry = Math.floor(i / 1024) + 1;
    if (this.#tlbW[va >>> 12] !== entry) this.#k.storeRaced(entry);
  }

  wait32(va: number, v: number, timeoutMs?: number): 'ok' | 'not-equal' | 'timed-out' {
    checkVa('wait32', va);
    this.#value32('wait32', v);
    const t = timeoutArg('wait32 timeoutMs', timeoutMs);
    const r = this.#k.wait32(va, v, t);
    if (r < 0) return this.#signal();
    return WAIT_RESULTS[r];
  }

  notify32(va: number, count?: number): number {
    checkVa('notify32', va);
    let n = Infinity;
    if (count !== undefined) {
      if (typeof count !== 'number' || Number.isNaN(count)) throw badType('notify32 count', 'a number', count);
      n = count;
    }
    const r = this.#k.notify32(va, n);
    if (r < 0) return this.#signal();
    return r;
  }

  // ------------------------------------------------------------------ files

  open(path: string, flags = 0): number {
    if (typeof path !== 'string') throw badType('open path', 'a string', path);
    intArg('open flags', flags);
    return this.#sys('open', this.#k.open(path, flags));
  }

  close(fd: number): void {
    if (typeof fd !== 'number' || !Number.isInteger(fd)) throw new SyscallError('close', 'EBADF', describe(fd));
    this.#sys('close', this.#k.close(fd));
  }

  waitInterrupt(fd: number, timeoutMs?: number): number {
    if (typeof fd !== 'number' || !Number.isInteger(fd)) throw new SyscallError('waitInterrupt', 'EBADF', describe(fd));
    const t = timeoutArg('waitInterrupt timeoutMs', timeoutMs);
    return this.#sys('waitInterrupt', this.#k.waitInterrupt(fd, t));
  }

  // ------------------------------------------------------------------ VM system calls

  mmap(addr: number | null, len: number, prot: number, flags: number, fd = -1, off = 0): number {
    const a = addr ?? 0;
    numArg('mmap addr', a);
    numArg('mmap len', len);
    intArg('mmap prot', prot);
    intArg('mmap flags', flags);
    intArg('mmap fd', fd);
    numArg('mmap off', off);
    this.#sys('mmap', this.#k.mmap(a, len, prot, flags, fd, off));
    return this.#k.mapped();
  }

  munmap(addr: number, len: number): void {
    numArg('munmap addr', addr);
    numArg('munmap len', len);
    this.#sys('munmap', this.#k.munmap(addr, len));
  }

  mprotect(addr: number, len: number, prot: number): void {
    numArg('mprotect addr', addr);
    numArg('mprotect len', len);
    intArg('mprotect prot', prot);
    this.#sys('mprotect', this.#k.mprotect(addr, len, prot));
  }

  madvise(addr: number, len: number, advice: number): void {
    numArg('madvise addr', addr);
    numArg('madvise len', len);
    intArg('madvise advice', advice);
    this.#sys('madvise', this.#k.madvise(addr, len, advice));
  }

  msync(addr: number, len: number, flags = 4): void {
    numArg('msync addr', addr);
    numArg('msync len', len);
    intArg('msync flags', flags);
    this.#sys('msync', this.#k.msync(addr, len, flags));
  }

  mincore(addr: number, len: number): Uint8Array {
    numArg('mincore addr', addr);
    numArg('mincore len', len);
    const n = this.#sys('mincore', this.#k.mincoreLength(addr, len));
    const vec = new U8(n);
    this.#sys('mincore', this.#k.mincoreFill(addr, vec));
    return vec;
  }

  minherit(addr: number, len: number, inherit: number): void {
    numArg('minherit addr', addr);
    numArg('minherit len', len);
    intArg('minherit inherit', inherit);
    this.#sys('minherit', this.#k.minherit(addr, len, inherit));
  }

  pmapRemove(addr: number, len: number): number {
    numArg('pmapRemove addr', addr);
    numArg('pmapRemove len', len);
    return this.#sys('pmapRemove', this.#k.pmapRemove(addr, len));
  }

  // ------------------------------------------------------------------ threads and fork

  spawnThread(url: URL | string, ...args: unknown[]): ThreadHandle {
    const href = urlArg('spawnThread url', url);
    const tid = this.#sys('spawnThread', this.#k.spawnThread(href, args));
    const k = this.#k;
    return freeze({
      tid,
      join(timeoutMs?: number): unknown {
        const t = timeoutArg('join timeoutMs', timeoutMs);
        const r = k.join(tid, t);
        if (r.errno !== 0) throw new SyscallError('join', errnoName(r.errno), r.detail);
        if (r.thrown) throw fromWire(r.value as WireError);
        return toRealm(r.value);
      },
    });
  }

  fork(url: URL | string, ...args: unknown[]): ChildHandle {
    const href = urlArg('fork url', url);
    const pid = this.#sys('fork', this.#k.fork(href, args));
    const k = this.#k;
    return freeze({
      pid,
      wait(timeoutMs?: number): ChildStatus {
        const t = timeoutArg('wait timeoutMs', timeoutMs);
        const r = k.wait(pid, t);
        if (r.errno !== 0) throw new SyscallError('wait', errnoName(r.errno), r.detail);
        return toRealm(r.value) as ChildStatus;
      },
    });
  }
}

/**
 * With countAccesses on, every access is counted: a subclass adds one increment in front of the
 * TLB probe and is only built then, so a runtime without it pays nothing on a hit.
 */
function makeCounting(k: KernelPort): ProcessImpl {
  const c = k.counters!;
  const at = k.accessCounter;
  class CountingProcess extends ProcessImpl {
    override load8(va: number): number {
      c[at]++;
      return super.load8(va);
    }
    override load16(va: number): number {
      c[at]++;
      return super.load16(va);
    }
    override load32(va: number): number {
      c[at]++;
      return super.load32(va);
    }
    override load64(va: number): bigint {
      c[at]++;
      return super.load64(va);
    }
    override store8(va: number, v: number): void {
      c[at]++;
      super.store8(va, v);
    }
    override store16(va: number, v: number): void {
      c[at]++;
      super.store16(va, v);
    }
    override store32(va: number, v: number): void {
      c[at]++;
      super.store32(va, v);
    }
    override store64(va: number, v: bigint): void {
      c[at]++;
      super.store64(va, v);
    }
  }
  return new CountingProcess(k);
}


/**
 * What this module hands to programs beyond its exports: the Process prototype, which every
 * program run in a reused realm shares (process/realm-audit.ts records it).
 */
export function auditRoots(): object[] {
  return [ProcessImpl.prototype];
}
