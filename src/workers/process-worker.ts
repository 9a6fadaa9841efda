/**
 * Process worker entry, run by the piscina pool: each task is one thread of a process (the first
 * thread of a process, a thread it spawned, or a forked child's first thread), start to end.
 *
 * The arena's views are built once per worker and kept in this module, which no program can
 * import into its realm: the arena arrives with the first task, never in workerData. Every task
 * gets a fresh realm (process/realm.ts) for its program, and a Process object built inside it
 * (process/api.ts) around this thread's kernel side.
 */
import { threadId, workerData, type MessagePort } from 'node:worker_threads';
import { applyThreadPin, type ThreadPin } from '../affinity.js';
import { initClock } from '../clock.js';
import { describeThrown, toWire, type SigInfo, type WireError } from '../errors.js';
import { C, FLAG_COUNT_ACCESSES, FLAG_STATS, FLAG_TRACE, H_WAIT, S_THREAD, headerView, readLayout, slotThread, type Layout } from '../layout.js';
import { PagerViews, SlotViews, hasOtherThreads } from '../pager/protocol.js';
import { ThreadMemory } from '../process/access.js';
import type { KernelPort } from '../process/api.js';
import { DeviceIo, DoorbellRing } from '../process/device-io.js';
import { HostChannel } from '../process/host-channel.js';
import { MachineViews } from '../process/machine.js';
import { ProgramRealm, realmOf } from '../process/realm.js';
import { Requester } from '../process/requester.js';
import { Syscalls, type DeviceEntry } from '../process/syscalls.js';
import { makeKernelPort } from '../process/thread-kernel.js';
import { Tlb } from '../process/tlb.js';
import type { Process } from '../process/types.js';
import { ThreadStats } from '../stats.js';
import { TraceRing } from '../trace.js';
import type { WaitMode } from '../wait.js';

export interface ProcessWorkerData {
  devices: DeviceEntry[];
  /** what to pin this thread to (RuntimeOptions.pin), or null */
  pin: ThreadPin | null;
}

export interface ProcessTask {
  /** the arena (the same for every task of a runtime) */
  sab: SharedArrayBuffer;
  /** this slot's TLB buffer */
  tlb: SharedArrayBuffer;
  slot: number;
  /** the slot holding the address space: `slot` for a process's first thread */
  vmspace: number;
  pid: number;
  tid: number;
  pager: number;
  url: string;
  args: unknown[];
  /** this thread's end of the host channel (process/host-channel.ts) */
  port: MessagePort;
}

export type ProcessOutcome =
  | { kind: 'exit'; result: unknown; exitCode?: number }
  | { kind: 'signal'; siginfo: SigInfo; message: string; detail?: string }
  | { kind: 'error'; error: WireError };

const API_URL = new URL('../process/api.js', import.meta.url).href;
const ERRORS_URL = new URL('../errors.js', import.meta.url).href;

const data = workerData as ProcessWorkerData;
applyThreadPin(data.pin);

// VM modules print an experimental warning once per worker; it says nothing to a devpager user.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning: string | Error, ...rest: unknown[]) {
  const text = typeof warning === 'string' ? warning : warning?.message;
  if (typeof text === 'string' && text.includes('VM Modules')) return;
  return (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
} as typeof process.emitWarning;

// Errors no callback caught: the realm they came from decides whose they are; they never end
// this worker (and with it whatever program it runs next).
process.on('uncaughtException', (e) => route(e, e, 'an uncaught exception'));
process.on('unhandledRejection', (reason, promise) => route(promise, reason, 'an unhandled promise rejection'));

function route(origin: unknown, error: unknown, how: string): void {
  const r = realmOf(origin) ?? realmOf(error);
  if (r) r.uncaught(error, how);
  else console.warn(`devpager: ${how} in a process worker, from no program's realm: ${describeThrown(error)}`);
}

/**
 * A realm made ready ahead of the next task, with the Process module loaded in it, so that a
 * spawn does not wait for a context to be built: the worker prepares the next one whenever it
 * becomes idle.
 */
interface ReadyRealm {
  realm: ProgramRealm;
  hooks: { onLateError(e: unknown, how: string): void };
  api: Record<string, unknown>;
  SignalError: Function;
}

async function prepareRealm(): Promise<ReadyRealm> {
  const hooks = { onLateError: (e: unknown, how: string) => console.warn(`devpager: ${how} in a process worker: ${describeThrown(e)}`) };
  const realm = new ProgramRealm({ onLateError: (e, how) => hooks.onLateError(e, how) });
  const api = await realm.loader.import(API_URL);
  const errors = await realm.loader.import(ERRORS_URL);
  realm.adoptData = api.toRealm as (v: unknown) => unknown;
  realm.seal([api, errors, ...(api.auditRoots as () => object[])()]);
  return { realm, hooks, api, SignalError: errors.SignalError as Function };
}

/** The next task's realm, once `done` ended: the same one if its program left nothing behind (ProgramRealm.recycle), else a new one. */
function nextRealm(done: ReadyRealm): Promise<ReadyRealm> {
  return done.realm.recycle() ? Promise.resolve(done) : prepareRealm();
}

let spare: Promise<ReadyRealm> | null = prepareRealm();
/** the realm of the task that ended last, until the next spare is made from it (nextSpare) */
let finished: ReadyRealm | null = null;

/** Make the spare from the last task's realm, if that is not done yet. */
function nextSpare(): void {
  if (finished === null) return;
  const done = finished;
  finished = null;
  spare ??= nextRealm(done);
}

interface Machine {
  sab: SharedArrayBuffer;
  layout: Layout;
  views: MachineViews;
  /** the header words: H_WAIT, the wait strategy for the next process */
  header: Int32Array;
}
let machine: Machine | null = null;

function machineFor(sab: SharedArrayBuffer): Machine {
  if (machine === null || machine.sab !== sab) {
    const layout = readLayout(sab);
    initClock(sab);
    machine = { sab, layout, views: new MachineViews(sab, layout), header: headerView(sab) };
  }
  return machine;
}


export default async function runThread(task: ProcessTask): Promise<ProcessOutcome> {
  const { sab, layout, views, header } = machineFor(task.sab);
  const slot = new SlotViews(sab, layout, task.slot);
  const vm = task.vmspace === task.slot ? slot : new SlotViews(sab, layout, task.vmspace);
  // The host waits for this thread to be gone before it tears a killed thread down.
  Atomics.store(slot.status, S_THREAD, threadId);
  const stats = new ThreadStats(sab, layout, slotThread(layout, task.slot));
  const trace = (layout.flags & FLAG_TRACE) !== 0 ? new TraceRing(sab, layout, slotThread(layout, task.slot)) : null;
  const timing = (layout.flags & FLAG_STATS) !== 0 || trace !== null;
  const req = new Requester(layout, slot, new PagerViews(sab, layout, task.pager), views.pagers, views.run, views.spinners, stats, {
    sab, timing, wait: Atomics.load(header, H_WAIT) as WaitMode, trace,
  });
  const tlb = new Tlb(task.tlb, slot.spinning);
  tlb.reset();
  const mem = new ThreadMemory(task.pid, views, tlb, req, slot, vm);
  mem.devicePath = (dev) => data.devices[dev]?.path ?? `device ${dev}`;
  mem.io = new DeviceIo(req, new DoorbellRing(sab, layout, task.slot), task.pid);
  const sys = new Syscalls(mem, req, vm, data.devices, views, layout);
  const host = new HostChannel(task.port, slot, req);
  const port: KernelPort = makeKernelPort({ pid: task.pid, tid: task.tid, mv: views, mem, sys, req, host, countAccesses: (layout.flags & FLAG_COUNT_ACCESSES) !== 0 });

  // The next task may come before the idle callback below has run.
  nextSpare();
  const ready = await (spare ?? prepareRealm());
  spare = null;
  const { realm, api } = ready;
  stats.counters[realm.reuses === 0 ? C.realmsMade : C.realmsReused]++;
  realm.begin();
  ready.hooks.onLateError = (e, how) => {
    stats.counters[C.lateErrors]++;
    console.warn(`devpager: process ${task.pid}${task.tid !== task.pid ? ` thread ${task.tid}` : ''} (${task.url}): ${how} after its main returned: ${describeThrown(e)}`);
  };
  let retire = () => {};
  let outcome: ProcessOutcome;
  const SignalErrorClass = ready.SignalError;
  try {
    const made = (api.createProcess as (k: KernelPort) => { process: Process; retire(): void })(port);
    retire = made.retire;
    const mod = await realm.loader.import(task.url);
    const main = mod.default;
    if (typeof main !== 'function') throw new TypeError(`program ${task.url} has no default-exported main function`);
    const args = (api.toRealm as (v: unknown) => unknown[])(task.args);
    const failed = realm.failure().then((e) => {
      throw e;
    });
    const result = await Promise.race([(async () => (main as (p: Process, ...a: unknown[]) => unknown)(made.process, ...args))(), failed]);
    try {
      structuredClone(result);
    } catch (e) {
      throw new TypeError(`program ${task.url} returned a value that cannot be cloned to the host: ${(e as Error).message}`);
    }
    outcome = { kind: 'exit', result };
  } catch (e) {
    if (ProgramRealm.isExit(e)) outcome = { kind: 'exit', result: undefined, exitCode: e.code };
    else if (e instanceof SignalErrorClass) {
      const s = e as unknown as SigInfo & { message: string; signo: number; detail?: string };
      outcome = { kind: 'signal', siginfo: { signal: s.signal, signo: s.signo, code: s.code, addr: s.addr }, message: s.message, detail: typeof s.detail === 'string' ? s.detail : undefined };
    } else outcome = { kind: 'error', error: toWire(e) };
  } finally {
    req.ending();
    realm.end();
    // Before the next task can start: dropping the realm would not undo these.
    const stuck = realm.restoreShared();
    if (stuck.length > 0) console.warn(`devpager: process ${task.pid} (${task.url}) changed objects that every program of its worker shares (Node's globals) in a way that cannot be undone (froze or sealed them): ${stuck.join(', ')}; later programs of this worker see them so`);
    retire();
    try {
      // exit(2): the process's other threads end before its address space goes.
      if (task.tid === task.pid && hasOtherThreads(vm, task.slot)) host.ask({ op: 'exit-group' });
      sys.exit();
    } catch (e) {
      console.warn(`devpager: process ${task.pid}: exit failed: ${describeThrown(e)}`);
    }
    task.port.close();
  }
  // SIGKILL cannot be caught: whatever the program did with the SignalError, the process is dead.
  if (mem.killed) outcome = { kind: 'signal', siginfo: mem.killed, message: 'killed by SIGKILL' };
  await flushOutput();
  // Ready the next task's realm while this worker is idle (after the output: while it is on its
  // way, the worker's stdio port is referenced, and the realm would look as if I/O were pending).
  finished = ready;
  setImmediate(nextSpare);
  return outcome;
}

/**
 * Wait until what the program printed has reached the main thread. A worker's stdout and stderr
 * travel on a port of their own, apart from the task's result: a host that closes the runtime as
 * soon as rt.run resolves would otherwise lose the last lines with the terminated worker.
 */
function flushOutput(): Promise<unknown> {
  // As exit(3) flushes stdio: what a program corked is written now, and the next program of this
  // worker does not inherit a corked stream.
  for (const s of [process.stdout, process.stderr]) while (s.writableCorked > 0) s.uncork();
  const pending = [process.stdout, process.stderr].filter((s) => s.writableLength > 0);
  if (pending.length === 0) return Promise.resolve();
  // Bounded: a stream a program ended or broke must not keep its process from exiting.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_MS)));
  const flushed = Promise.all(pending.map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  return Promise.race([flushed, bound]).finally(() => clearTimeout(timer));
}

/** Longest a task waits for its program's output to reach the main thread (flushOutput). */
const FLUSH_MS = 1000;
