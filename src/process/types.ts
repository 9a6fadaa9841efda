/**
 * The public types of the program side: what `main(p, ...args)` receives, and the handles of
 * threads and children. Programs see exactly these members; the implementation (process/api.ts)
 * keeps everything else in private fields, and the Process type exported by the package is this
 * interface, not a class.
 */
import type { SigInfo, SignalName } from '../errors.js';

export interface ThreadHandle {
  readonly tid: number;
  /** Block until the thread's main returns and give its result (ETIMEDOUT after timeoutMs). */
  join(timeoutMs?: number): unknown;
}

/** A child's status, the shape of ProcessHandle.exited. */
export interface ChildStatus {
  pid: number;
  result?: unknown;
  signal?: SignalName;
  siginfo?: SigInfo;
  error?: Error;
}

export interface ChildHandle {
  readonly pid: number;
  /** Block until the child ends and give its status (ETIMEDOUT after timeoutMs). */
  wait(timeoutMs?: number): ChildStatus;
}

export interface Process {
  /** process id; the same in every thread of the process */
  readonly pid: number;
  /** thread id; the first thread's tid equals pid */
  readonly tid: number;

  open(path: string, flags?: number): number;
  close(fd: number): void;
  mmap(addr: number | null, len: number, prot: number, flags: number, fd?: number, off?: number): number;
  munmap(addr: number, len: number): void;
  mprotect(addr: number, len: number, prot: number): void;
  madvise(addr: number, len: number, advice: number): void;
  msync(addr: number, len: number, flags?: number): void;
  mincore(addr: number, len: number): Uint8Array;
  minherit(addr: number, len: number, inherit: number): void;
  /** Extension: forget the device PTEs of a range (the next access calls d_mmap again); returns how many. */
  pmapRemove(addr: number, len: number): number;

  load8(va: number): number;
  load16(va: number): number;
  /** unsigned */
  load32(va: number): number;
  load64(va: number): bigint;
  store8(va: number, v: number): void;
  store16(va: number, v: number): void;
  store32(va: number, v: number): void;
  store64(va: number, v: bigint): void;
  read(va: number, dst: Uint8Array): Uint8Array;
  write(va: number, src: Uint8Array): void;

  /** Sequentially consistent, like the host's KernelApi atomics; they return the old value, unsigned. */
  atomicAdd32(va: number, v: number): number;
  cas32(va: number, expected: number, v: number): number;
  atomicLoad32(va: number): number;
  atomicStore32(va: number, v: number): number;
  wait32(va: number, v: number, timeoutMs?: number): 'ok' | 'not-equal' | 'timed-out';
  notify32(va: number, count?: number): number;

  /** Block until the device's interrupt count differs from the last one this descriptor returned. */
  waitInterrupt(fd: number, timeoutMs?: number): number;

  spawnThread(url: URL | string, ...args: unknown[]): ThreadHandle;
  fork(url: URL | string, ...args: unknown[]): ChildHandle;
}
