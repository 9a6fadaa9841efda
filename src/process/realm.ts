/**
 * A fresh JavaScript realm for every thread a process worker runs: its own global object and
 * built-in prototypes, its own module map (process/loader.ts), its own timers. What one program
 * does to globals, prototypes, module state, timers or promises cannot reach the next program the
 * worker runs, while the worker's own code — the fault path, the requester, the loader — stays
 * compiled and warm across them (a new worker thread would pay V8's compile of the fault path
 * again, about ten times the fault's cost on its first pass).
 *
 * The realm gets the Web and Node globals of the worker (console, URL, TextEncoder, Buffer, ...)
 * by reference, with these exceptions, so that nothing a program starts outlives it unnoticed:
 *   - setTimeout/setInterval/setImmediate (and their clear*), queueMicrotask and
 *     process.nextTick are wrapped: the realm tracks them, stops its intervals when the program
 *     ends and cancels the rest shortly after (end()), and catches what their callbacks throw;
 *   - `process` is a per-realm object over the worker's: exit() ends the program, env is a copy;
 *   - structuredClone returns values of the realm.
 * An error thrown by such a callback, or a promise of the realm rejected with no handler, fails
 * the program while its main runs (as an uncaught error ends a Node process), and is reported
 * for that process — never for another one — after main returned (`onLateError`).
 *
 * What this does not do: stop a program that is hostile on purpose (the worker's own objects are
 * reachable through Node's built-in modules); README's "What devpager guarantees" says so.
 */
import vm from 'node:vm';
import { ModuleLoader } from './loader.js';

export interface RealmHooks {
  /** an error attributed to this realm after its program's main returned (or after it failed) */
  onLateError(error: unknown, how: string): void;
}

type Timer = ReturnType<typeof setTimeout>;

/** How long a program's one-shot timers may still fire after its main returned (end()). */
const LATE_GRACE_MS = 2000;
type Immediate = ReturnType<typeof setImmediate>;

/** Realms by their Promise.prototype and Error.prototype: which realm a stray rejection belongs to. */
const realmsByProto = new WeakMap<object, ProgramRealm>();

/** The realm `value` (an error or a promise) was made in, if it was made in a program realm. */
export function realmOf(value: unknown): ProgramRealm | null {
  let o: unknown = value;
  for (let depth = 0; depth < 32 && o !== null && (typeof o === 'object' || typeof o === 'function'); depth++) {
    const r = realmsByProto.get(o as object);
    if (r) return r;
    o = Object.getPrototypeOf(o);
  }
  return null;
}

const DONT_CONTEXTIFY = (vm.constants as unknown as { DONT_CONTEXTIFY?: vm.Context } | undefined)?.DONT_CONTEXTIFY;

/** Names the realm's own global object must not take from the worker. */
const OWN = new Set(['globalThis', 'global', 'process', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone']);

class ProgramExit extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

export class ProgramRealm {
  readonly context: vm.Context;
  readonly loader: ModuleLoader;
  /** set once the program's main has returned or failed: later errors are late */
  ended = false;
  /** the first uncaught error while main ran: the program fails with it */
  fatal: { error: unknown } | null = null;
  /** process.exit(code) was called */
  exitCode: number | null = null;
  private failFast: ((e: unknown) => void) | null = null;
  private readonly timers = new Set<Timer>();
  private readonly intervals = new Set<Timer>();
  private readonly immediates = new Set<Immediate>();
  readonly global: Record<string, unknown>;

  constructor(private readonly hooks: RealmHooks) {
    // An ordinary global object where Node has one (DONT_CONTEXTIFY, Node >= 20.18): a
    // contextified one answers every global lookup (Math, Atomics, Uint8Array, ...) through an
    // interceptor, some hundreds of nanoseconds each, in every loop of every program.
    this.context = vm.createContext(DONT_CONTEXTIFY ?? {}, { name: 'devpager program' });
    this.global = vm.runInContext('globalThis', this.context) as Record<string, unknown>;
    this.loader = new ModuleLoader(this.context);
    this.installGlobals();
    const g = this.global as { Promise: { prototype: object }; Error: { prototype: object } };
    realmsByProto.set(g.Promise.prototype, this);
    realmsByProto.set(g.Error.prototype, this);
  }

  /** Resolves (never rejects) with the first error that must fail the program while main runs. */
  failure(): Promise<unknown> {
    return new Promise((resolve) => {
      if (this.fatal) resolve(this.fatal.error);
      else this.failFast = resolve;
    });
  }

  /** An uncaught error of this realm: fails the program if main runs, else reported as late. */
  uncaught(error: unknown, how: string): void {
    if (error instanceof ProgramExit) {
      this.exitCode ??= error.code;
      this.failFast?.(error);
      return;
    }
    if (this.ended) {
      this.hooks.onLateError(error, how);
      return;
    }
    if (this.fatal === null) {
      this.fatal = { error };
      this.failFast?.(error);
    } else this.hooks.onLateError(error, how);
  }

  /** process.exit from the program lands here (see isExit). */
  static isExit(e: unknown): e is ProgramExit {
    return e instanceof ProgramExit;
  }

  /**
   * The program is over. Its intervals stop now; what it scheduled to run once may still run for
   * LATE_GRACE_MS — in its own realm, where it can reach nothing of the next program — so that an
   * error it raises is reported for this process; then everything left is cancelled. Nothing new
   * can be scheduled.
   */
  end(): void {
    this.ended = true;
    for (const t of this.intervals) clearInterval(t);
    this.intervals.clear();
    if (this.timers.size === 0 && this.immediates.size === 0) return;
    setTimeout(() => this.cancel(), LATE_GRACE_MS).unref();
  }

  private cancel(): void {
    for (const t of this.timers) clearTimeout(t);
    for (const t of this.immediates) clearImmediate(t);
    this.timers.clear();
    this.immediates.clear();
  }

  /** Run a callback of the program, catching what it throws. */
  private guarded(fn: (...a: unknown[]) => unknown, args: unknown[], how: string): void {
    try {
      const r = fn(...args);
      // A callback returning a rejected promise is covered by the unhandled-rejection route.
      void r;
    } catch (e) {
      this.uncaught(e, how);
    }
  }

  private installGlobals(): void {
    const g = this.global;
    const main = globalThis as unknown as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(main)) {
      if (OWN.has(name) || name in g) continue;
      const d = Object.getOwnPropertyDescriptor(main, name)!;
      if (d.get || d.set) Object.defineProperty(g, name, { get: d.get ? () => d.get!.call(main) : undefined, set: d.set ? (v) => d.set!.call(main, v) : undefined, configurable: true, enumerable: d.enumerable });
      else Object.defineProperty(g, name, { value: d.value, writable: true, configurable: true, enumerable: d.enumerable });
    }
    g.global = g;
    const fn = (f: unknown, what: string): ((...a: unknown[]) => unknown) => {
      if (typeof f !== 'function') throw new (g.TypeError as ErrorConstructor)(`${what}: the callback must be a function`);
      return f as (...a: unknown[]) => unknown;
    };
    g.setTimeout = (f: unknown, ms?: number, ...args: unknown[]) => {
      const cb = fn(f, 'setTimeout');
      if (this.ended) return undefined;
      const t: Timer = setTimeout(() => {
        this.timers.delete(t);
        this.guarded(cb, args, 'a setTimeout callback');
      }, ms);
      this.timers.add(t);
      return t;
    };
    g.clearTimeout = (t: Timer) => {
      this.timers.delete(t);
      this.intervals.delete(t);
      clearTimeout(t);
    };
    g.setInterval = (f: unknown, ms?: number, ...args: unknown[]) => {
      const cb = fn(f, 'setInterval');
      if (this.ended) return undefined;
      const t: Timer = setInterval(() => this.guarded(cb, args, 'a setInterval callback'), ms);
      this.intervals.add(t);
      return t;
    };
    g.clearInterval = (t: Timer) => {
      this.intervals.delete(t);
      this.timers.delete(t);
      clearInterval(t);
    };
    g.setImmediate = (f: unknown, ...args: unknown[]) => {
      const cb = fn(f, 'setImmediate');
      if (this.ended) return undefined;
      const t: Immediate = setImmediate(() => {
        this.immediates.delete(t);
        this.guarded(cb, args, 'a setImmediate callback');
      });
      this.immediates.add(t);
      return t;
    };
    g.clearImmediate = (t: Immediate) => {
      this.immediates.delete(t);
      clearImmediate(t);
    };
    g.queueMicrotask = (f: unknown) => {
      const cb = fn(f, 'queueMicrotask');
      queueMicrotask(() => this.guarded(cb, [], 'a queueMicrotask callback'));
    };
    const toRealm = vm.runInContext('(v) => v', this.context) as (v: unknown) => unknown;
    g.structuredClone = (v: unknown, o?: Parameters<typeof structuredClone>[1]) => this.adopt(structuredClone(v, o), toRealm);
    g.process = this.processObject();
  }

  /** Set by the runner once process/api.js is loaded in this realm: copies data into the realm. */
  adoptData: ((v: unknown) => unknown) | null = null;

  private adopt(v: unknown, identity: (v: unknown) => unknown): unknown {
    return this.adoptData ? this.adoptData(v) : identity(v);
  }

  /**
   * The realm's `process`: the worker's, seen through an object of the realm's own, so that what a
   * program sets on it stays in the realm. exit() ends the program (the worker goes on), nextTick
   * is tracked like the timers, env is a copy.
   */
  private processObject(): object {
    const p = Object.create(process) as Record<string, unknown>;
    p.env = { ...process.env };
    p.exit = (code?: number) => {
      throw new ProgramExit(typeof code === 'number' ? code : 0);
    };
    p.nextTick = (f: unknown, ...args: unknown[]) => {
      if (typeof f !== 'function') throw new (this.global.TypeError as ErrorConstructor)('process.nextTick: the callback must be a function');
      process.nextTick(() => this.guarded(f as (...a: unknown[]) => unknown, args, 'a process.nextTick callback'));
    };
    return p;
  }
}
