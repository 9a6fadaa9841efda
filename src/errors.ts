/**
 * Every error devpager raises is made here, so names, errnos and signal codes stay consistent.
 * Numbers are NetBSD's (sys/errno.h, sys/signal.h, sys/siginfo.h), not the host's.
 */

export const ERRNO = {
  EPERM: 1, ENOENT: 2, EIO: 5, EBADF: 9, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16,
  ENODEV: 19, EINVAL: 22, EMFILE: 24, EFBIG: 27, ENOSYS: 78, EOVERFLOW: 84,
} as const;
export type ErrnoName = keyof typeof ERRNO;

const ERRNO_TEXT: Record<ErrnoName, string> = {
  EPERM: 'Operation not permitted', ENOENT: 'No such file or directory', EIO: 'Input/output error',
  EBADF: 'Bad file descriptor', ENOMEM: 'Cannot allocate memory', EACCES: 'Permission denied',
  EFAULT: 'Bad address', EBUSY: 'Device busy', ENODEV: 'Operation not supported by device',
  EINVAL: 'Invalid argument', EMFILE: 'Too many open files', EFBIG: 'File too large',
  ENOSYS: 'Function not implemented', EOVERFLOW: 'Value too large to be stored in data type',
};

const ERRNO_BY_NUMBER = new Map<number, ErrnoName>(
  (Object.keys(ERRNO) as ErrnoName[]).map((k) => [ERRNO[k], k]),
);
export function errnoName(n: number): ErrnoName {
  const name = ERRNO_BY_NUMBER.get(n);
  if (name === undefined) throw new Error(`unknown errno ${n}`);
  return name;
}

export const SIGNAL = { SIGKILL: 9, SIGBUS: 10, SIGSEGV: 11 } as const;
export type SignalName = keyof typeof SIGNAL;

/** si_code values: SEGV_* for SIGSEGV, BUS_* for SIGBUS. */
export const SI_CODE = { SEGV_MAPERR: 1, SEGV_ACCERR: 2, BUS_ADRALN: 1, BUS_ADRERR: 2, SI_KERNEL: 0x80 } as const;
export type SiCodeName = keyof typeof SI_CODE;

/** A failed system call. It never kills the process. */
export class SyscallError extends Error {
  readonly code: ErrnoName;
  readonly errno: number;
  readonly syscall: string;
  constructor(syscall: string, code: ErrnoName, detail?: string) {
    super(`${syscall}: ${code} (${ERRNO_TEXT[code]})${detail ? `: ${detail}` : ''}`);
    this.name = 'SyscallError';
    this.code = code;
    this.errno = ERRNO[code];
    this.syscall = syscall;
  }
}

export interface SigInfo {
  signal: SignalName;
  signo: number;
  code: SiCodeName;
  addr: number;
}

/** A synchronous signal raised at the access that caused it (the trap). */
export class SignalError extends Error {
  readonly signal: SignalName;
  readonly signo: number;
  readonly code: SiCodeName;
  readonly addr: number;
  constructor(signal: SignalName, code: SiCodeName, addr: number, detail?: string) {
    super(`${signal} (${code}) at 0x${addrHex(addr)}${detail ? `: ${detail}` : ''}`);
    this.name = 'SignalError';
    this.signal = signal;
    this.signo = SIGNAL[signal];
    this.code = code;
    this.addr = addr;
  }
  toSigInfo(): SigInfo {
    return { signal: this.signal, signo: this.signo, code: this.code, addr: this.addr };
  }
}

/** What `rt.run` rejects with when the process died by a signal. */
export class ProcessSignalError extends Error {
  readonly signal: SignalName;
  readonly code: SiCodeName;
  readonly addr: number;
  readonly pid: number;
  constructor(pid: number, info: SigInfo, detail?: string) {
    super(`process ${pid} killed by ${info.signal} (${info.code}) at 0x${addrHex(info.addr)}${detail ? `: ${detail}` : ''}`);
    this.name = 'ProcessSignalError';
    this.signal = info.signal;
    this.code = info.code;
    this.addr = info.addr;
    this.pid = pid;
  }
}

function addrHex(a: number): string {
  return Number.isFinite(a) ? Math.trunc(a).toString(16) : String(a);
}

/** Kernel-memory exhaustion (kmAlloc): a plain Error with `.code === 'ENOMEM'`, which drivers test for. */
export function enomem(what: string): Error & { code: 'ENOMEM'; errno: number } {
  const e = new Error(`${what}: ENOMEM (${ERRNO_TEXT.ENOMEM})`) as Error & { code: 'ENOMEM'; errno: number };
  e.code = 'ENOMEM';
  e.errno = ERRNO.ENOMEM;
  return e;
}

/** An option or argument of the wrong type; the message names it. */
export function badType(name: string, expected: string, got: unknown): TypeError {
  return new TypeError(`${name} must be ${expected}, got ${describe(got)}`);
}
/** An option or argument out of range; the message names it. */
export function badRange(name: string, expected: string, got: unknown): RangeError {
  return new RangeError(`${name} must be ${expected}, got ${describe(got)}`);
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

/** Plain-data form of an error that crosses a thread boundary, keeping name, message and code. */
export interface WireError { name: string; message: string; stack?: string; code?: unknown }
export function toWire(e: unknown): WireError {
  if (e instanceof Error) {
    const w: WireError = { name: e.name, message: e.message, stack: e.stack };
    const code = (e as { code?: unknown }).code;
    if (code !== undefined) w.code = code;
    return w;
  }
  return { name: 'Error', message: `non-Error thrown: ${describe(e)}` };
}
export function fromWire(w: WireError): Error {
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack) e.stack = w.stack;
  if (w.code !== undefined) (e as { code?: unknown }).code = w.code;
  return e;
}
