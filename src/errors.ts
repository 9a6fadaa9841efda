/**
 * Every error devpager raises is made here, so names, errnos and signal codes stay consistent.
 * Numbers are NetBSD's (sys/errno.h, sys/signal.h, sys/siginfo.h), not the host's.
 */

export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EIO: 5, EBADF: 9, ECHILD: 10, EDEADLK: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16,
  ENODEV: 19, EINVAL: 22, EMFILE: 24, EFBIG: 27, EAGAIN: 35, ETIMEDOUT: 60, ENOSYS: 78, EOVERFLOW: 84,
} as const;
export type ErrnoName = keyof typeof ERRNO;

const ERRNO_TEXT: Record<ErrnoName, string> = {
  EPERM: 'Operation not permitted', ENOENT: 'No such file or directory', ESRCH: 'No such process', EIO: 'Input/output error',
  EBADF: 'Bad file descriptor', ECHILD: 'No child processes', EDEADLK: 'Resource deadlock avoided', ENOMEM: 'Cannot allocate memory', EACCES: 'Permission denied',
  EFAULT: 'Bad address', EBUSY: 'Device busy', ENODEV: 'Operation not supported by device',
  EINVAL: 'Invalid argument', EMFILE: 'Too many open files', EFBIG: 'File too large',
  EAGAIN: 'Resource temporarily unavailable', ETIMEDOUT: 'Operation timed out',
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
  /** what devpager knows about why, when it knows more than the signal says */
  readonly detail: string | undefined;
  constructor(signal: SignalName, code: SiCodeName, addr: number, detail?: string) {
    super(`${signal} (${code}) at 0x${addrHex(addr)}${detail ? `: ${detail}` : ''}`);
    this.name = 'SignalError';
    this.signal = signal;
    this.signo = SIGNAL[signal];
    this.code = code;
    this.addr = addr;
    this.detail = detail;
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

/**
 * Plain-data form of an error that crosses a thread boundary (or a realm): name, message, stack,
 * and the fields devpager's errors carry, so that the host gets the same class back (fromWire).
 */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
  errno?: number;
  syscall?: string;
  signal?: string;
  addr?: number;
}

export function toWire(e: unknown): WireError {
  if (e !== null && typeof e === 'object' && typeof (e as Error).message === 'string' && typeof (e as Error).name === 'string') {
    const x = e as Error & Partial<WireError>;
    const w: WireError = { name: x.name, message: x.message, stack: typeof x.stack === 'string' ? x.stack : undefined };
    if (x.code !== undefined && (typeof x.code === 'string' || typeof x.code === 'number')) w.code = x.code;
    if (typeof x.errno === 'number') w.errno = x.errno;
    if (typeof x.syscall === 'string') w.syscall = x.syscall;
    if (typeof x.signal === 'string') w.signal = x.signal;
    if (typeof x.addr === 'number') w.addr = x.addr;
    return w;
  }
  return { name: 'Error', message: `non-Error thrown: ${describeThrown(e)}` };
}

/** The error `w` describes, as devpager's own class where it was one (SyscallError, SignalError). */
export function fromWire(w: WireError): Error {
  let e: Error;
  if (w.name === 'SyscallError' && typeof w.syscall === 'string' && typeof w.code === 'string' && w.code in ERRNO) {
    e = new SyscallError(w.syscall, w.code as ErrnoName);
    e.message = w.message;
  } else if (w.name === 'SignalError' && typeof w.signal === 'string' && w.signal in SIGNAL && typeof w.code === 'string' && w.code in SI_CODE) {
    e = new SignalError(w.signal as SignalName, w.code as SiCodeName, w.addr ?? 0);
    e.message = w.message;
  } else {
    const ctor = ({ TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError } as Record<string, ErrorConstructor>)[w.name] ?? Error;
    e = new ctor(w.message);
    if (e.name !== w.name) e.name = w.name;
    if (w.code !== undefined) (e as { code?: unknown }).code = w.code;
    if (w.errno !== undefined) (e as { errno?: unknown }).errno = w.errno;
    if (w.syscall !== undefined) (e as { syscall?: unknown }).syscall = w.syscall;
  }
  if (w.stack) e.stack = w.stack;
  return e;
}

/** Text for whatever was thrown; even a value that cannot become a string must not escape. */
export function describeThrown(e: unknown): string {
  try {
    if (e === null) return 'null';
    if (e instanceof Error || (typeof e === 'object' && typeof (e as Error).message === 'string')) return `${(e as Error).name}: ${(e as Error).message}`;
    if (typeof e === 'string') return JSON.stringify(e);
    return describe(e);
  } catch {
    return 'a value that cannot be printed';
  }
}
