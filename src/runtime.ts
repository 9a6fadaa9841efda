/**
 * The host side: Runtime.create builds the arena, attaches the devices, starts the pager threads
 * and the process pool; spawn/run start processes; close stops everything.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { declaredRegions, isDriver, type Driver } from './driver.js';
import { ProcessSignalError, badRange, badType, describe, fromWire, type SigInfo, type SignalName, type WireError } from './errors.js';
import { KernelApi } from './kernel.js';
import {
  D_ATTACHES, D_FREES, D_REFS, FLAG_COUNT_ACCESSES, FLAG_STATS, P_ASSIGNED, FLAG_TRACE, HOST_THREAD, LINE, STATUS_FREE, STATUS_LIVE, S_PAGER, S_PID, S_STATUS,
  SLOT_SPINNING, S_THREAD, pagerThread, slotThread, type Layout,
} from './layout.js';
import { OP_REAP, PagerViews, R_ARG, R_OP, R_POST_TS, R_SEQ, RES_ERR, SlotViews, post, ringShutdown } from './pager/protocol.js';
import { MAX_MEMORY, createArena, type PhysMem } from './physmem.js';
import { collectStats, histogramOf, resetStats, type HistogramData, type RuntimeStats } from './runtime-stats.js';
import { WAIT_STRATEGIES, waitFlags, type WaitStrategy } from './wait.js';
import { configureTrace, resetRing, TRACE_SAMPLE_DEFAULT } from './trace.js';
import type { ChromeTrace } from './report/chrome-trace.js';
import type { ThreadInfo, TraceEvent } from './report/types.js';
import { chromeTraceOf, traceEventsOf } from './profile/trace-decode.js';
import { processRecorder, type DeviceNames, type ProcessRecord } from './profile/source.js';
import { profileOf, type ProfileOptions } from './profile/collect.js';
import { writeProfile, type ProfilePaths, type WrittenProfile } from './profile/write.js';
import { envProfile, withEnvProfile, writeEnvProfile, type EnvProfile } from './profile/env.js';
import type { ProfileReport } from './report/types.js';
import type { PagerWorkerData } from './workers/pager-worker.js';
import type { ProcessOutcome, ProcessTask, ProcessWorkerData } from './workers/process-worker.js';
import { PAGE_SIZE } from './constants.js';
import { allowedCpus, pinPlan, pinUnavailable, type PinPlan } from './affinity.js';

export interface DeviceConfig {
  name: string;
  unit?: number;
  driver: URL | string;
  config?: unknown;
}

export interface RuntimeOptions {
  /** bytes of physical memory (default 64 MiB); at most 4 GiB (one typed-array view) */
  memory?: number;
  /** pager threads (default 1) */
  pagers?: number;
  devices?: DeviceConfig[];
  /** processes that may run at once (default 16); each runs in its own pool thread */
  maxProcesses?: number;
  /** process threads started ahead of the first spawn (default min(4, maxProcesses)) */
  prestart?: number;
  /** how requesters and pagers wait: 'adaptive' (spin then park, default), 'spin', 'park' */
  wait?: WaitStrategy;
  /**
   * a waiting process's polls before it parks, in 'adaptive' mode, while other processes wait
   * for a CPU (default 1000, ~8 µs): a longer spin keeps the CPU from them. While none waits, a
   * process spins as long as an idle pager (max(spin, pagerSpin)): parking then only lets its
   * CPU idle, and the wake-up costs ~50 µs or more on a VM.
   */
  spin?: number;
  /**
   * an idle pager's polls before it parks, in 'adaptive' mode (default 20000: ~170 µs at ~8 ns
   * a poll, measured). Longer than a process's: every process pays the pager's wake-up, which
   * costs ~50 µs on a VM whose idle vCPUs halt, so the pager spins a few wake-ups' worth before
   * it parks (competitive spinning, erring towards spinning).
   */
  pagerSpin?: number;
  /**
   * requests a process makes before it yields its CPU to a process whose wake-up is held
   * (default 1024; 'adaptive' and 'park'). When processes outnumber the cores the pagers leave,
   * a pager wakes parked processes only as CPUs come free, oldest first, so that the running
   * ones keep their speed instead of every fault paying a futex wake and a context switch; the
   * quantum bounds how long one process keeps a CPU from the others (~0.3 ms at 1 µs a fault).
   */
  quantum?: number;
  /**
   * processes that may hold a CPU at once (default: available cores minus pagers, at least 1).
   * Beyond it, parked processes wait in the pagers' run queues for a running one to park, yield
   * or exit; and only this many waiters spin at once in 'adaptive' mode.
   */
  cpus?: number;
  /** latency histograms and timing (default true); counters are always kept */
  stats?: boolean;
  /**
   * count every memory access, so stats report TLB hits (default false). Off, a TLB hit is about
   * 3x a raw Int32Array read; on, about 5x (bench/tlb.ts). Misses are always counted.
   */
  countAccesses?: boolean;
  /**
   * time 1 fault in this many (a power of two, default 256). A timed fault pays for its clock
   * reads, each several times its cost in a tight loop where the fault path makes it
   * (docs/experiments/timed-fault.md). Sampled faults alternate: one times the round trip in the
   * faulting thread (the pager reads no clock for it), the next lets the pager time queue wait
   * and service. While tracing, the traced bursts are the samples instead (traceSample).
   */
  statsSample?: number;
  /** record trace events into per-thread rings (default false) */
  trace?: boolean;
  /** trace events per thread ring (default 65536 when trace is on); a full ring overwrites its oldest */
  traceEvents?: number;
  /**
   * trace 1 burst of requests in this many (a power of two, default 16; 1 traces every request).
   * While tracing, stats take their timings from the traced requests, weighted (src/trace.ts).
   */
  traceSample?: number;
  /** map entries per process (default 1024) */
  mapEntries?: number;
  /**
   * nice increment for process threads (default 0): a kernel's pager runs ahead of user
   * processes; with more runnable threads than cores, lowering the processes' priority keeps the
   * pagers on a core. Linux only (piscina's niceIncrement, through its optional @napi-rs/nice).
   */
  processNice?: number;
  /**
   * pin each pager to a core of its own and the process threads to the cores left (Linux, with
   * taskset from util-linux). It keeps the scheduler from putting a process on its pager's CPU,
   * where both wait for each other (src/affinity.ts). With as many pagers as cores, the pagers
   * share the top core. 'auto' (the default) pins when it can and silently does not otherwise
   * (not Linux, no taskset, one CPU); true pins or rejects `Runtime.create` with the reason;
   * false never pins. `rt.pinning` says what was done.
   */
  pin?: boolean | 'auto';
}

export interface ProcessStatus {
  pid: number;
  result?: unknown;
  signal?: SignalName;
  siginfo?: SigInfo;
  error?: Error;
}

export interface ProcessHandle {
  readonly pid: number;
  readonly exited: Promise<ProcessStatus>;
  /** SIGKILL: terminate the process's thread now. */
  kill(): void;
}

export interface DeviceInfo {
  name: string;
  unit: number;
  state: unknown;
  path: string;
  /** uvm_device references: map entries of live processes that map this device */
  refs: number;
  /** times the uvm_device was created and freed (udv_attach found none / last detach) */
  attaches: number;
  frees: number;
}

interface AttachedDevice {
  path: string;
  name: string;
  unit: number;
  driverUrl: string;
  driver: Driver;
  state: unknown;
}

const PAGER_URL = new URL('./workers/pager-worker.js', import.meta.url);
/** process threads' entry: CommonJS, so piscina's require() never loads an ES module (process-entry.cts) */
const PROCESS_URL = new URL('./workers/process-entry.cjs', import.meta.url);

function toUrl(u: URL | string, what: string): string {
  if (u instanceof URL) return u.href;
  if (typeof u === 'string' && u.length > 0) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(u) && !/^[a-z]:[\\/]/i.test(u)) return u;
    if (isAbsolute(u)) return pathToFileURL(u).href;
    throw badType(what, 'a URL or an absolute path', u);
  }
  throw badType(what, 'a URL or an absolute path', u);
}

/**
 * Node options for our worker threads. Normally undefined: workers inherit the parent's options
 * (so --cpu-prof, --trace-gc and friends reach them). Only when the parent was started with an
 * entry point that a worker refuses (--input-type, -e/--eval, -p/--print) is an explicit list
 * given, without those and without V8 flags, which an explicit worker execArgv may not carry.
 */
function workerExecArgv(): string[] | undefined {
  const a = process.execArgv;
  const entry = (x: string) => ['-e', '--eval', '-p', '--print', '--input-type'].includes(x) || /^--(input-type|eval|print)=/.test(x);
  if (!a.some(entry)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (entry(x)) {
      if (!x.includes('=')) i++; // skip its value too
      continue;
    }
    if (process.allowedNodeEnvironmentFlags.has(x.split('=')[0])) out.push(x);
  }
  return out;
}

function intOpt(o: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = o[name];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badType(`options.${name}`, 'an integer', v);
  if (v < min || v > max) throw badRange(`options.${name}`, `between ${min} and ${max}`, v);
  return v;
}

export class Runtime {
  readonly kernel: KernelApi;
  /** @internal */ readonly sab: SharedArrayBuffer;
  /** @internal */ readonly layout: Layout;
  /** @internal */ readonly phys: PhysMem;
  /** @internal */ readonly userSlots: number;
  private readonly devices: AttachedDevice[];
  private readonly pagers: Worker[] = [];
  private readonly pagerViews: PagerViews[] = [];
  private readonly slotViews: SlotViews[] = [];
  private pool: Piscina | null = null;
  private readonly freeSlots: number[] = [];
  private readonly slotWaiters: (() => void)[] = [];
  private readonly live = new Map<number, { slot: number; abort: AbortController; done: Promise<ProcessStatus> }>();
  /** every process not yet ended, including those still waiting for a slot */
  private readonly pending = new Set<AbortController>();
  private readonly pagerLoad: number[];
  private readonly spinners: Int32Array;
  private readonly hostQueue: Promise<unknown>[] = [];
  private nextPid = 100;
  private closing: Promise<void> | null = null;
  private pagerFailure: Error | null = null;
  private readonly started = performance.now();
  private readonly procLog = processRecorder();
  private profileEnv: EnvProfile | null = null;
  /** @internal */ readonly options: Readonly<Required<Omit<RuntimeOptions, 'devices'>>>;

  /** The CPUs each pager and the process threads were pinned to (RuntimeOptions.pin), or null if none. */
  readonly pinning: PinPlan | null;

  private constructor(opts: Required<Omit<RuntimeOptions, 'devices'>>, arena: ReturnType<typeof createArena>, devices: AttachedDevice[], pinning: PinPlan | null) {
    this.pinning = pinning;
    this.options = opts;
    this.sab = arena.sab;
    this.layout = arena.layout;
    this.phys = arena.phys;
    this.kernel = new KernelApi(arena.phys);
    this.devices = devices;
    this.userSlots = opts.maxProcesses;
    for (let i = 0; i < this.layout.maxProcs; i++) this.slotViews.push(new SlotViews(this.sab, this.layout, i));
    for (let i = this.userSlots - 1; i >= 0; i--) this.freeSlots.push(i);
    this.pagerLoad = new Array(opts.pagers).fill(0);
    this.spinners = new Int32Array(this.sab, this.layout.spinnersOff, 1);
    for (let p = 0; p < opts.pagers; p++) {
      this.pagerViews.push(new PagerViews(this.sab, this.layout, p));
      this.hostQueue.push(Promise.resolve());
      // The host's own slot for pager p (control requests such as REAP): always live.
      const hs = this.slotViews[this.userSlots + p];
      Atomics.store(hs.status, S_PAGER, p);
      Atomics.store(hs.status, S_STATUS, STATUS_LIVE);
    }
  }

  static async create(options: RuntimeOptions = {}): Promise<Runtime> {
    if (options === null || typeof options !== 'object') throw badType('options', 'an object', options);
    // `devpager profile -- node host.mjs`: trace, and write the report at close (src/profile/env.ts).
    const profileEnv = envProfile();
    options = withEnvProfile(options, profileEnv);
    const o = options as Record<string, unknown>;
    const memory = o.memory ?? 64 << 20;
    if (typeof memory !== 'number' || !Number.isFinite(memory)) throw badType('options.memory', 'a number of bytes', memory);
    if (memory < 16 * PAGE_SIZE || memory > MAX_MEMORY) {
      throw badRange('options.memory', `between ${16 * PAGE_SIZE} bytes and 4 GiB (${MAX_MEMORY}; Node 20 caps one typed-array view at 2^32 bytes)`, memory);
    }
    const pagers = intOpt(o, 'pagers', 1, 1, 64);
    const maxProcesses = intOpt(o, 'maxProcesses', 16, 1, 1024);
    const prestart = intOpt(o, 'prestart', Math.min(4, maxProcesses), 0, maxProcesses);
    const spin = intOpt(o, 'spin', 1000, 0, 1 << 30);
    const pagerSpin = intOpt(o, 'pagerSpin', 20_000, 0, 1 << 30);
    const quantum = intOpt(o, 'quantum', 1024, 1, 1 << 30);
    const cpus = intOpt(o, 'cpus', Math.max(1, availableParallelism() - pagers), 1, 1024);
    const statsSample = intOpt(o, 'statsSample', 256, 1, 1 << 20);
    if ((statsSample & (statsSample - 1)) !== 0) throw badRange('options.statsSample', 'a power of two', statsSample);
    const mapEntries = intOpt(o, 'mapEntries', 1024, 4, 1 << 20);
    const processNice = intOpt(o, 'processNice', 0, 0, 19);
    const pin = o.pin ?? 'auto';
    if (typeof pin !== 'boolean' && pin !== 'auto') throw badType('options.pin', "true, false or 'auto'", pin);
    const wait = o.wait ?? 'adaptive';
    if (!WAIT_STRATEGIES.includes(wait as WaitStrategy)) throw badType('options.wait', `one of ${WAIT_STRATEGIES.map((s) => `'${s}'`).join(', ')}`, wait);
    const stats = o.stats ?? true;
    if (typeof stats !== 'boolean') throw badType('options.stats', 'a boolean', stats);
    const countAccesses = o.countAccesses ?? false;
    if (typeof countAccesses !== 'boolean') throw badType('options.countAccesses', 'a boolean', countAccesses);
    const trace = o.trace ?? false;
    if (typeof trace !== 'boolean') throw badType('options.trace', 'a boolean', trace);
    const traceEvents = intOpt(o, 'traceEvents', trace ? 65536 : 0, 0, 1 << 24);
    const traceSample = intOpt(o, 'traceSample', TRACE_SAMPLE_DEFAULT, 1, 1 << 20);
    if ((traceSample & (traceSample - 1)) !== 0) throw badRange('options.traceSample', 'a power of two', traceSample);
    const devs = o.devices ?? [];
    if (!Array.isArray(devs)) throw badType('options.devices', 'an array', devs);
    for (const k of Object.keys(o)) {
      if (!['memory', 'pagers', 'devices', 'maxProcesses', 'prestart', 'wait', 'spin', 'pagerSpin', 'quantum', 'cpus', 'stats', 'statsSample', 'countAccesses', 'processNice', 'pin', 'trace', 'traceEvents', 'traceSample', 'mapEntries'].includes(k)) {
        throw new TypeError(`options.${k} is not a Runtime option`);
      }
    }

    let plan: PinPlan | null = null;
    if (pin !== false) {
      const why = pinUnavailable();
      if (why === null) plan = pinPlan(allowedCpus(), pagers);
      if (pin === true && why !== null) throw new Error(`options.pin: ${why}`);
      if (pin === true && plan === null) {
        const allowed = allowedCpus();
        throw new Error(`options.pin: only ${allowed.length} allowed CPU (${allowed.join(',')}): nothing to keep apart`);
      }
    }

    // Devices: validate and load every driver before anything starts.
    const seen = new Set<string>();
    const loaded: { cfg: DeviceConfig; path: string; url: string; driver: Driver; unit: number }[] = [];
    for (let i = 0; i < devs.length; i++) {
      const d = devs[i] as DeviceConfig;
      const what = `options.devices[${i}]`;
      if (d === null || typeof d !== 'object') throw badType(what, 'an object { name, unit, driver, config }', d);
      if (typeof d.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name)) throw badType(`${what}.name`, 'a device name such as "foo"', d.name);
      const unit = d.unit ?? 0;
      if (typeof unit !== 'number' || !Number.isInteger(unit) || unit < 0) throw badType(`${what}.unit`, 'a non-negative integer', unit);
      const path = `/dev/${d.name}${unit}`;
      if (seen.has(path)) throw new Error(`${what}: duplicate device path ${path}`);
      seen.add(path);
      const url = toUrl(d.driver, `${what}.driver`);
      let mod: { default?: unknown };
      try {
        mod = await import(url);
      } catch (e) {
        throw new Error(`${what}.driver: cannot load driver module ${url}: ${(e as Error).message}`, { cause: e });
      }
      if (!isDriver(mod.default)) {
        throw new TypeError(`${what}.driver: module ${url} must default-export a driver with an mmap function (use defineDriver); got ${describe(mod.default)}`);
      }
      loaded.push({ cfg: d, path, url, driver: mod.default, unit });
    }

    const flags = (stats ? FLAG_STATS : 0) | (trace ? FLAG_TRACE : 0) | (countAccesses ? FLAG_COUNT_ACCESSES : 0) | waitFlags(wait as WaitStrategy);
    const arena = createArena({
      memory, pagers, maxProcs: maxProcesses + pagers, maxDevices: Math.max(1, loaded.length), traceCap: traceEvents, mapEntries, flags, spin, pagerSpin,
      // Processes that may run, and waiters that may spin, at once: the cores the pagers leave
      // free. More only steal the pagers' CPU (measured: 16 processes on 2 cores, BENCHMARKS.md).
      spinBudget: cpus,
      sample: statsSample,
      quantum,
    });
    configureTrace(arena.sab, arena.layout, traceSample);
    const kernel = new KernelApi(arena.phys);
    const attached: AttachedDevice[] = [];
    for (const l of loaded) {
      let state: unknown;
      try {
        state = l.driver.attach ? await l.driver.attach(kernel, l.unit, l.cfg.config) : undefined;
        structuredClone(state);
      } catch (e) {
        throw new Error(`${l.path}: driver attach failed: ${(e as Error).message}`, { cause: e });
      }
      attached.push({ path: l.path, name: l.cfg.name, unit: l.unit, driverUrl: l.url, driver: l.driver, state });
    }
    const rt: Runtime = new Runtime({ memory, pagers, maxProcesses, prestart, wait: wait as WaitStrategy, spin, pagerSpin, quantum, cpus, statsSample, stats, countAccesses, processNice, pin, trace, traceEvents, traceSample, mapEntries }, arena, attached, plan);
    rt.profileEnv = profileEnv;
    try {
      await rt.start();
    } catch (e) {
      await rt.close();
      throw e;
    }
    return rt;
  }

  private async start(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let p = 0; p < this.options.pagers; p++) {
      const data: PagerWorkerData = {
        sab: this.sab,
        index: p,
        pin: this.pinning ? { cpus: this.pinning.pagers[p], strict: this.options.pin === true } : null,
        devices: this.devices.map((d) => ({ path: d.path, name: d.name, unit: d.unit, driverUrl: d.driverUrl, state: d.state })),
      };
      const w = new Worker(PAGER_URL, { workerData: data, name: `devpager-pager-${p}`, execArgv: workerExecArgv() });
      this.pagers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve());
          w.once('error', reject);
          w.once('exit', (code) => reject(new Error(`pager ${p} exited during start (code ${code})`)));
        }),
      );
      w.on('error', (e) => this.pagerDied(p, e));
      w.on('exit', (code) => {
        if (!this.closing) this.pagerDied(p, new Error(`pager ${p} exited unexpectedly (code ${code})`));
      });
    }
    await Promise.all(ready);
    const workerData: ProcessWorkerData = { sab: this.sab, devices: this.devices.map((d, index) => ({ path: d.path, index })), pin: this.pinning ? { cpus: this.pinning.processes, strict: this.options.pin === true } : null };
    this.pool = new Piscina({
      filename: fileURLToPath(PROCESS_URL),
      minThreads: this.options.prestart,
      maxThreads: this.options.maxProcesses,
      idleTimeout: 60_000,
      concurrentTasksPerWorker: 1,
      atomics: 'disabled',
      workerData,
      niceIncrement: this.options.processNice,
      execArgv: workerExecArgv(),
    });
  }

  private pagerDied(p: number, e: Error): void {
    if (this.closing || this.pagerFailure) return;
    this.pagerFailure = e;
    // Processes owned by a dead pager would wait forever for replies: kill them.
    for (const [, l] of this.live) if (Atomics.load(this.slotViews[l.slot].status, S_PAGER) === p) l.abort.abort();
  }

  /** Start a process running the program module at `url`. */
  spawn(url: URL | string, ...args: unknown[]): ProcessHandle {
    if (this.closing) throw new Error('Runtime is closed');
    if (this.pagerFailure) throw new Error(`Runtime is broken: ${this.pagerFailure.message}`);
    const href = toUrl(url, 'spawn url');
    try {
      structuredClone(args);
    } catch (e) {
      throw new TypeError(`spawn args must be structured-cloneable: ${(e as Error).message}`);
    }
    const pid = this.nextPid++;
    const abort = new AbortController();
    let slotNo = -1;
    let lost = false;
    const entry = { slot: -1, abort, done: null as unknown as Promise<ProcessStatus> };
    this.pending.add(abort);
    const done = (async (): Promise<ProcessStatus> => {
      slotNo = await this.takeSlot(abort.signal);
      if (slotNo < 0 || abort.signal.aborted) {
        if (slotNo >= 0) this.releaseSlot(slotNo);
        return { pid, signal: 'SIGKILL', siginfo: { signal: 'SIGKILL', signo: 9, code: 'SI_KERNEL', addr: 0 } };
      }
      const pager = this.pickPager();
      const s = this.slotViews[slotNo];
      Atomics.store(s.status, S_PID, pid);
      Atomics.store(s.status, S_PAGER, pager);
      Atomics.store(s.status, S_STATUS, STATUS_LIVE);
      entry.slot = slotNo;
      this.live.set(pid, entry);
      const rec = this.procLog.started(pid, slotNo, href);
      const task: ProcessTask = { slot: slotNo, pid, pager, url: href, args };
      try {
        const out = (await this.pool!.run(task, { signal: abort.signal })) as ProcessOutcome;
        return this.statusOf(pid, out);
      } catch (e) {
        // The thread died (killed, or crashed): its address space was not torn down by OP_EXIT.
        Atomics.store(s.status, S_STATUS, STATUS_FREE);
        // Piscina rejects a killed task before the thread has stopped: wait until it has, so
        // that the cleanup below cannot race its last stores (the spinner and CPU counts, the
        // frames the reap frees).
        await this.threadGone(Atomics.load(s.status, S_THREAD));
        if (s.spinning[SLOT_SPINNING] !== 0) {
          // killed while spinning: give back its place among the spinners (the reap below gives
          // back its CPU, runqueue.ts)
          Atomics.sub(this.spinners, 0, 1);
          s.spinning[SLOT_SPINNING] = 0;
        }
        try {
          await this.reap(pager, slotNo);
        } catch (re) {
          // A slot whose address space could not be torn down is never handed out again.
          lost = true;
          console.warn(`devpager: slot ${slotNo} retired: ${(re as Error).message}`);
        }
        if (abort.signal.aborted) return { pid, signal: 'SIGKILL', siginfo: { signal: 'SIGKILL', signo: 9, code: 'SI_KERNEL', addr: 0 } };
        return { pid, error: e instanceof Error ? e : new Error(String(e)) };
      } finally {
        this.procLog.ended(rec);
        Atomics.store(s.status, S_STATUS, STATUS_FREE);
        this.setLoad(pager, -1);
        this.live.delete(pid);
        if (!lost) this.releaseSlot(slotNo);
      }
    })().finally(() => this.pending.delete(abort));
    entry.done = done;
    return { pid, exited: done, kill: () => abort.abort() };
  }

  /** Run one process to its end: resolves with its return value, rejects with its signal or error. */
  async run(url: URL | string, ...args: unknown[]): Promise<unknown> {
    const st = await this.spawn(url, ...args).exited;
    if (st.signal) throw new ProcessSignalError(st.pid, st.siginfo ?? { signal: st.signal, signo: 9, code: 'SI_KERNEL', addr: 0 });
    if (st.error) throw st.error;
    return st.result;
  }

  private statusOf(pid: number, out: ProcessOutcome): ProcessStatus {
    if (out.kind === 'exit') return { pid, result: out.result };
    if (out.kind === 'signal') return { pid, signal: out.siginfo.signal, siginfo: out.siginfo };
    return { pid, error: fromWire(out.error as WireError) };
  }

  private pickPager(): number {
    let best = 0;
    for (let p = 1; p < this.pagerLoad.length; p++) if (this.pagerLoad[p] < this.pagerLoad[best]) best = p;
    this.setLoad(best, 1);
    return best;
  }

  /** The pager sees how many processes it serves: with none it parks even in 'spin' mode. */
  private setLoad(p: number, delta: number): void {
    this.pagerLoad[p] += delta;
    Atomics.store(this.pagerViews[p].control, P_ASSIGNED, this.pagerLoad[p]);
  }

  private takeSlot(signal: AbortSignal): Promise<number> {
    const s = this.freeSlots.pop();
    if (s !== undefined) return Promise.resolve(s);
    return new Promise((resolve) => {
      const wake = () => {
        const n = this.freeSlots.pop();
        if (n !== undefined) resolve(n);
        else this.slotWaiters.push(wake);
      };
      signal.addEventListener('abort', () => {
        const i = this.slotWaiters.indexOf(wake);
        if (i >= 0) this.slotWaiters.splice(i, 1);
        resolve(-1);
      });
      this.slotWaiters.push(wake);
    });
  }

  /** Resolve once the pool thread `tid` has exited (at most 2 s: a thread that lives on was not killed). */
  private threadGone(tid: number): Promise<void> {
    const w = this.pool?.threads.find((t) => t.threadId === tid);
    if (!w) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      w.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private releaseSlot(slot: number): void {
    this.freeSlots.push(slot);
    this.slotWaiters.shift()?.();
  }

  /** Host control request to a pager through the host's slot; serialised per pager. */
  private hostRequest(pager: number, op: number, a: number): Promise<number> {
    const run = async () => {
      const s = this.slotViews[this.userSlots + pager];
      const seq = (Atomics.load(s.done, 0) + 1) | 0;
      s.req[R_ARG] = a;
      s.req[R_OP] = op;
      s.req[R_POST_TS] = 0;
      s.req[R_SEQ] = seq;
      Atomics.store(s.parked, 0, 1);
      post(s, this.pagerViews[pager]);
      const deadline = Date.now() + 10_000;
      while (Atomics.load(s.done, 0) !== seq) {
        if (Date.now() > deadline || this.pagerFailure) throw new Error(`pager ${pager} did not answer host request ${op}`);
        const w = Atomics.waitAsync(s.done, 0, (seq - 1) | 0, 100);
        if (w.async) await w.value;
      }
      return s.res[RES_ERR];
    };
    const next = this.hostQueue[pager].then(run, run);
    this.hostQueue[pager] = next.catch(() => undefined);
    return next;
  }

  private async reap(pager: number, slot: number): Promise<void> {
    const err = await this.hostRequest(pager, OP_REAP, slot);
    if (err !== 0) throw new Error(`reap of slot ${slot} failed: errno ${err}`);
  }

  device(path: string): DeviceInfo {
    const i = this.devices.findIndex((d) => d.path === path);
    if (i < 0) throw new Error(`no device ${describe(path)} (have: ${this.devices.map((d) => d.path).join(', ') || 'none'})`);
    const d = this.devices[i];
    const w = new Int32Array(this.sab, this.layout.devicesOff + i * LINE, LINE / 4);
    return { name: d.name, unit: d.unit, state: d.state, path: d.path, refs: Atomics.load(w, D_REFS), attaches: Atomics.load(w, D_ATTACHES), frees: Atomics.load(w, D_FREES) };
  }

  /** Plain-object snapshot of counters and latency percentiles. */
  stats(): RuntimeStats {
    return collectStats(this, this.devices.map((d) => d.path), (performance.now() - this.started));
  }

  /** A latency histogram merged over all threads: 'fault', 'queueWait', 'service' or 'park'. */
  histogram(name: 'fault' | 'queueWait' | 'service' | 'park'): HistogramData {
    return histogramOf(this, name);
  }

  /** Zero every counter and histogram (between benchmark cells). */
  resetStats(): void {
    resetStats(this);
  }

  /**
   * Trace events recorded so far (Runtime.create({ trace: true })), on one clock in µs, with the
   * threads they belong to. Rings that filled up stop recording; `dropped` says how much was lost.
   */
  traceEvents(): { threads: ThreadInfo[]; events: TraceEvent[]; dropped: number } {
    return traceEventsOf(this);
  }

  /** The trace as Chrome Trace Event JSON (opens in Perfetto and chrome://tracing). */
  chromeTrace(): ChromeTrace {
    return chromeTraceOf(this);
  }

  /** @internal the processes run so far, with their slots and programs (src/profile) */
  processLog(): readonly ProcessRecord[] {
    return this.procLog.list();
  }

  /** @internal device paths and the regions their drivers declare (src/profile) */
  deviceNames(): readonly DeviceNames[] {
    return this.devices.map((d) => ({ path: d.path, driver: d.driver.name, regions: declaredRegions(d.driver, d) }));
  }

  /** Forget recorded trace events (between profile phases). */
  resetTrace(): void {
    for (let th = 0; th < this.layout.nthreads; th++) resetRing(this.sab, this.layout, th);
  }

  /** @internal thread indices, for stats and traces */
  threads(): { host: number; pagers: number[]; slots: number[] } {
    return {
      host: HOST_THREAD,
      pagers: this.pagerViews.map((_, p) => pagerThread(p)),
      slots: Array.from({ length: this.userSlots }, (_, i) => slotThread(this.layout, i)),
    };
  }

  /** @internal live pids by slot */
  liveSlots(): Map<number, number> {
    const m = new Map<number, number>();
    for (const [pid, l] of this.live) m.set(l.slot, pid);
    return m;
  }

  /**
   * The profile report of everything recorded so far: where the fault path waits, the hottest
   * pages and queues, and the verdict (the same report `devpager profile` prints).
   */
  async profile(opts?: ProfileOptions): Promise<ProfileReport> {
    return profileOf(this, opts);
  }

  /** Write the profile report: any of { html, trace, json, text } file paths. */
  writeProfile(paths: ProfilePaths, opts?: ProfileOptions): Promise<WrittenProfile> {
    return writeProfile(this, paths, opts);
  }

  /** Stop every process (SIGKILL) and pager. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      const env = this.profileEnv;
      this.closing = env && this.pool ? writeEnvProfile(this, env).then(() => this.doClose()) : this.doClose();
    }
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const a of this.pending) a.abort();
    if (this.pool) {
      const pool = this.pool;
      await Promise.race([pool.destroy(), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    await Promise.allSettled([...this.live.values()].map((l) => l.done));
    for (const w of this.slotWaiters.splice(0)) w();
    const exits = this.pagers.map(
      (w, p) =>
        new Promise<void>((resolve) => {
          if (w.threadId < 0) return resolve();
          const t = setTimeout(() => void w.terminate().then(() => resolve()), 2000);
          w.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          ringShutdown(this.pagerViews[p]);
        }),
    );
    await Promise.all(exits);
  }
}
