/**
 * A JavaScript realm for the programs a process worker runs: its own global object and built-in
 * prototypes, its own module map (process/loader.ts), its own timers. What one program does to
 * globals, prototypes, module state, timers or promises cannot reach the next program the
 * worker runs, while the worker's own code — the fault path, the requester, the loader — stays
 * compiled and warm across them (a new worker thread would pay V8's compile of the fault path
 * again, about ten times the fault's cost on its first pass).
 *
 * A realm serves the next program too when its last one left it as it was made (recycle):
 * nothing still scheduled, and nothing changed that the audit (process/realm-audit.ts) records.
 * The program's own modules are evaluated afresh either way; what a reused realm keeps is
 * devpager's Process code, compiled and warm, and the cost of a new context and of collecting
 * the old one. Anything else gets a new realm.
 *
 * The realm gets the Web and Node globals of the worker (console, URL, TextEncoder, Buffer, ...)
 * by reference, with these exceptions, so that nothing a program starts outlives it unnoticed:
 *   - setTimeout/setInterval/setImmediate (and their clear*), queueMicrotask and
 *     process.nextTick are wrapped: the realm tracks them, stops its intervals when the program
 *     ends and cancels the rest shortly after (end()), and catches what their callbacks throw;
 *   - `process` is a per-realm object over the worker's: exit() ends the program, env is a copy;
 *   - `console` is a per-realm object over the worker's (V8's own would print nothing);
 *   - structuredClone returns values of the realm.
 * What a program changes in those shared objects is put back when it ends (restoreShared).
 * An error thrown by such a callback, or a promise of the realm rejected with no handler, fails
 * the program while its main runs (as an uncaught error ends a Node process), and is reported
 * for that process — never for another one — after main returned (`onLateError`).
 *
 * What this does not do: stop a program that is hostile on purpose (the worker's own objects are
 * reachable through Node's built-in modules); README's "What devpager guarantees" says so.
 */
import vm from 'node:vm';
import { ModuleLoader } from './loader.js';
import { RealmAudit } from './realm-audit.js';

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

/**
 * Intrinsics that no property of the global object reaches (the iterator and generator
 * prototypes, %TypedArray%, %ThrowTypeError%, ...): a program can reach and change them too.
 */
const HIDDEN_INTRINSICS = `(() => {
  const proto = Object.getPrototypeOf, out = [];
  const add = (x) => { if (x !== null && x !== undefined) out.push(x); };
  const it = [][Symbol.iterator]();
  add(proto(it)); add(proto(proto(it)));
  add(proto(new Map()[Symbol.iterator]())); add(proto(new Set()[Symbol.iterator]()));
  add(proto(''[Symbol.iterator]())); add(proto(/x/[Symbol.matchAll]('x')));
  function* g() {} async function* ag() {} async function af() {}
  add(proto(g)); add(proto(g.prototype)); add(proto(ag)); add(proto(ag.prototype)); add(proto(proto(ag.prototype)));
  add(proto(af)); add(proto(Int8Array));
  if (typeof Intl === 'object' && typeof Intl.Segmenter === 'function') {
    const s = new Intl.Segmenter().segment('');
    add(proto(s)); add(proto(s[Symbol.iterator]()));
  }
  add(Object.getOwnPropertyDescriptor(Function.prototype, 'caller')?.get);
  return out;
})()`;

/** RegExp's legacy statics (RegExp.$1, lastMatch, input) would show the last program's last match. */
const RESET_REGEXP_STATICS = `/(?:)/.exec('')`;

/** The worker's own `process` listeners, before any program ran (restoreListeners). */
let workerListeners: Map<string | symbol, Function[]> | null = null;
/** The worker's process, as the event emitter it is (its typings only admit known events). */
const emitter = process as unknown as import('node:events').EventEmitter;
type Listener = (...a: unknown[]) => void;

function listenerSnapshot(): Map<string | symbol, Function[]> {
  return new Map(emitter.eventNames().map((n) => [n, emitter.listeners(n)]));
}

/** Remove the `process` listeners a program added, put back any it removed; false if that failed. */
function restoreListeners(snapshot: Map<string | symbol, Function[]> | null): boolean {
  if (snapshot === null) return true;
  try {
    for (const n of emitter.eventNames()) {
      const keep = snapshot.get(n) ?? [];
      for (const l of emitter.listeners(n)) if (!keep.includes(l)) emitter.removeListener(n, l as Listener);
    }
    for (const [n, ls] of snapshot) {
      const now = emitter.listeners(n);
      for (const l of ls) if (!now.includes(l)) emitter.on(n, l as Listener);
    }
    return true;
  } catch {
    return false;
  }
}

/** What keeps the worker's event loop alive, by kind (timers, file requests, ports, ...). */
function resourceCounts(): Map<string, number> {
  const m = new Map<string, number>();
  // Timers are left out: a realm's own are tracked exactly, a module that hands out the worker's
  // marks the realm (see the loader's `builtin` hook), and Node counts its internal unref'd ones.
  for (const r of process.getActiveResourcesInfo()) if (r !== 'Timeout' && r !== 'Immediate') m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** Whether the worker waits for nothing more than `before`: no I/O a program started is pending. */
function resourcesWithin(before: Map<string, number>): boolean {
  for (const [r, n] of resourceCounts()) if (n > (before.get(r) ?? 0)) return false;
  return true;
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
  /** the program started something the realm cannot see the end of (see recycle) */
  private asyncUse = false;
  /** set by seal(): what the realm looked like before its first program */
  private audit: RealmAudit | null = null;
  /** the realm's own `process` object, its env and its console: walked as the realm's, though made here */
  private processObj: object | null = null;
  private env: object | null = null;
  private consoleObj: object | null = null;

  constructor(private readonly hooks: RealmHooks) {
    // An ordinary global object where Node has one (DONT_CONTEXTIFY, Node >= 20.18): a
    // contextified one answers every global lookup (Math, Atomics, Uint8Array, ...) through an
    // interceptor, some hundreds of nanoseconds each, in every loop of every program.
    this.context = vm.createContext(DONT_CONTEXTIFY ?? {}, { name: 'devpager program' });
    this.global = vm.runInContext('globalThis', this.context) as Record<string, unknown>;
    this.loader = new ModuleLoader(this.context, {
      shared: (v) => this.shared(v),
      // The worker's own timers: the realm cannot track what a program schedules with them.
      builtin: (url) => {
        if (url === 'node:timers' || url === 'node:timers/promises') this.asyncUse = true;
      },
    });
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
      // Node loads these on first use; the audit records what the program gets before it gets it.
      if (d.get || d.set) Object.defineProperty(g, name, { get: d.get ? () => this.shared(d.get!.call(main)) : undefined, set: d.set ? (v) => d.set!.call(main, v) : undefined, configurable: true, enumerable: d.enumerable });
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
    // V8 gives every context a console of its own, which writes only to an attached inspector: a
    // program's console.log would print nothing. The realm's console is the worker's, seen
    // through an object of the realm's (its methods are bound), so what a program sets on it
    // stays in the realm.
    this.consoleObj = Object.create(console) as object;
    Object.defineProperty(g, 'console', { value: this.consoleObj, writable: true, configurable: true, enumerable: false });
    // Work whose end the realm cannot see: a cleanup callback or an async wait may run program
    // code long after the program ended, so a realm that used one is never reused (recycle).
    const atomics = g.Atomics as Record<string, unknown>;
    const waitAsync = atomics.waitAsync;
    if (typeof waitAsync === 'function') {
      atomics.waitAsync = (...args: unknown[]) => {
        this.asyncUse = true;
        return Reflect.apply(waitAsync, atomics, args) as unknown;
      };
    }
    const Registry = g.FinalizationRegistry as (new (cb: unknown) => object) | undefined;
    if (typeof Registry === 'function') {
      g.FinalizationRegistry = new Proxy(Registry, {
        construct: (target, args, newTarget) => {
          this.asyncUse = true;
          return Reflect.construct(target, args, newTarget) as object;
        },
      });
    }
  }

  /**
   * Record what the realm looks like before its first program runs (realm-audit.ts): its global
   * object, the intrinsics no property reaches, and `roots` (what devpager's modules in the realm
   * hand to programs: their namespaces, the Process prototype). Called once the realm is ready.
   */
  seal(roots: readonly object[]): void {
    workerListeners ??= listenerSnapshot();
    const hidden = vm.runInContext(HIDDEN_INTRINSICS, this.context) as object[];
    const objectProto = (this.global.Object as { prototype: object }).prototype;
    const mine = new Set<object>([this.processObj!, this.env!, this.consoleObj!]);
    const own = (o: object): boolean => {
      if (mine.has(o)) return true;
      let p: object | null = o;
      for (let i = 0; i < 64 && p !== null; i++) {
        if (p === objectProto) return true;
        p = Reflect.getPrototypeOf(p);
      }
      return false;
    };
    this.audit = new RealmAudit([this.global, ...hidden, ...roots], own);
    for (const v of this.early.splice(0)) this.audit.addShared(v);
    this.loader.keep();
  }

  /**
   * Make the realm ready for another program if the last one left nothing behind: nothing of
   * its still scheduled (timers, an async wait, a finalization callback, I/O the worker still
   * waits for), and nothing it reaches changed since seal(). Its own modules are forgotten, so the
   * next program evaluates them afresh. Returns false, changing nothing, if the realm must go.
   */
  recycle(): boolean {
    if (!this.ended || this.audit === null || this.asyncUse || this.fatal !== null) return false;
    if (this.timers.size > 0 || this.intervals.size > 0 || this.immediates.size > 0) return false;
    if (!resourcesWithin(this.resources)) return false;
    if (!this.audit.clean()) return false;
    this.loader.forget();
    vm.runInContext(RESET_REGEXP_STATICS, this.context);
    this.ended = false;
    this.exitCode = null;
    this.failFast = null;
    this.reuses++;
    return true;
  }

  /** A value of the worker's handed to the program: recorded by the audit first (see seal). */
  private shared<T>(v: T): T {
    if (this.audit !== null) this.audit.addShared(v);
    else if (typeof v === 'object' || typeof v === 'function') this.early.push(v as object);
    return v;
  }

  /** shared values handed out before seal(), recorded by it */
  private readonly early: object[] = [];

  /** How many programs ran in this realm before the one now running (0 for a new realm). */
  reuses = 0;

  /** What keeps the worker's event loop alive as a program starts (see begin, recycle). */
  private resources: Map<string, number> = new Map();

  /** A program starts in the realm: note what the worker already waits for. */
  begin(): void {
    this.resources = resourceCounts();
  }

  /**
   * Put back what a program changed in objects the realm shares with the worker (Node's globals,
   * the worker's `process` listeners): dropping the realm would not undo those. Returns what
   * could not be put back.
   */
  restoreShared(): string[] {
    const stuck = this.audit?.restoreShared() ?? [];
    if (!restoreListeners(workerListeners)) stuck.push("the worker's process listeners");
    return stuck;
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
    this.processObj = p;
    this.env = p.env as object;
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
