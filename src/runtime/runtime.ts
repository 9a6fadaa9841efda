/**
 * The host side: Runtime.create builds the arena, attaches the devices, starts the pager threads
 * and the process pool; spawn/run start processes; close stops everything. The parts live beside
 * this file: options.ts, devices.ts, pagers.ts (and their watchdog), process-table.ts,
 * dirty-log.ts, doorbells.ts.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { allowedCpus, pinPlan, pinUnavailable, type PinPlan } from '../affinity.js';
import { describe, describeThrown } from '../errors.js';
import { KernelApi } from '../kernel.js';
import {
  COUNTERS, FLAG_COUNT_ACCESSES, FLAG_STATS, FLAG_TRACE, H_WAIT, HOST_THREAD, INJECT_FAULT, INJECT_MMAP, INJECT_MUNMAP, INJECT_REPLY, LINE, S_PAGER, S_STATUS, STATUS_LIVE, TLB_BYTES, headerView, pagerThread, slotThread,
  type Layout,
} from '../layout.js';
import { OP_REVOKE, SlotViews } from '../pager/protocol.js';
import { createArena, type PhysMem } from '../physmem.js';
import { declaredRegions } from '../driver.js';
import type { ChromeTrace } from '../report/chrome-trace.js';
import type { ProfileReport, ThreadInfo, TraceEvent } from '../report/types.js';
import { chromeTraceOf, traceEventsOf } from '../profile/trace-decode.js';
import { processRecorder, type DeviceNames, type ProcessRecord } from '../profile/source.js';
import { profileOf, type ProfileOptions } from '../profile/collect.js';
import { writeProfile, type ProfilePaths, type WrittenProfile } from '../profile/write.js';
import { envProfile, withEnvProfile, writeEnvProfile, type EnvProfile } from '../profile/env.js';
import { collectStats, histogramOf, resetStats, type HistogramData, type RuntimeStats } from '../runtime-stats.js';
import { configureTrace, resetRing } from '../trace.js';
import { WAIT_STRATEGIES, waitFlags, waitMode, type WaitStrategy } from '../wait.js';
import type { ProcessWorkerData } from '../workers/process-worker.js';
import { DeviceHandle, attachAll, loadDrivers, toUrl, type AttachedDevice, type DoorbellHandler } from './devices.js';
import { DirtyLog } from './dirty-log.js';
import { DoorbellPump } from './doorbells.js';
import { normalizeOptions, type Options, type RuntimeOptions } from './options.js';
import { PagerSet } from './pagers.js';
import { ProcessTable, statusToResult, type ProcessHandle } from './process-table.js';
import { processExecArgv } from './worker-args.js';

/** process threads' entry: CommonJS, so piscina's require() never loads an ES module (process-entry.cts) */
const PROCESS_URL = new URL('../workers/process-entry.cjs', import.meta.url);

export class Runtime {
  readonly kernel: KernelApi;
  /** @internal */ readonly sab: SharedArrayBuffer;
  /** @internal */ readonly layout: Layout;
  /** @internal */ readonly phys: PhysMem;
  /** @internal */ readonly userSlots: number;
  /** @internal */ readonly options: Options;
  /** The CPUs each pager and the process threads were pinned to (RuntimeOptions.pin), or null if none. */
  readonly pinning: PinPlan | null;
  private readonly devices: AttachedDevice[];
  private readonly handles: DeviceHandle[];
  private readonly pagerSet: PagerSet;
  private readonly table: ProcessTable;
  private readonly doorbells: DoorbellPump;
  private pool: Piscina | null = null;
  private closing: Promise<void> | null = null;
  private readonly started = performance.now();
  private readonly procLog = processRecorder();
  private profileEnv: EnvProfile | null = null;

  private constructor(options: Options, arena: ReturnType<typeof createArena>, devices: AttachedDevice[], pinning: PinPlan | null, tlbs: SharedArrayBuffer[], kernel: KernelApi) {
    this.options = options;
    this.pinning = pinning;
    this.sab = arena.sab;
    this.layout = arena.layout;
    this.phys = arena.phys;
    this.devices = devices;
    this.kernel = kernel;
    this.userSlots = options.maxProcesses;
    const slots = Array.from({ length: this.layout.maxProcs }, (_, i) => new SlotViews(this.sab, this.layout, i));
    // The host's own slot for each pager (control requests such as REAP): always live.
    for (let p = 0; p < options.pagers; p++) {
      const hs = slots[this.userSlots + p];
      Atomics.store(hs.status, S_PAGER, p);
      Atomics.store(hs.status, S_STATUS, STATUS_LIVE);
    }
    this.pagerSet = new PagerSet({
      sab: this.sab, layout: this.layout, tlbs, devices, pinning, strictPin: options.pin === true, driverTimeoutMs: options.driverTimeoutMs,
      pidOf: (slot) => this.table.pidOf(slot),
      lost: (p, why) => {
        console.warn(`devpager: ${why}; its processes are killed`);
        this.table.lost(p);
      },
    });
    this.table = new ProcessTable({ layout: this.layout, sab: this.sab, tlbs, pagers: this.pagerSet, pool: () => this.pool!, userSlots: this.userSlots, log: this.procLog });
    const devWords = new Int32Array(this.sab, this.layout.devicesOff, this.layout.maxDevices * (LINE / 4));
    const hostCounters = new Float64Array(this.sab, this.layout.countersOff + HOST_THREAD * COUNTERS * 8, COUNTERS);
    this.doorbells = new DoorbellPump(this.sab, this.layout, this.userSlots, hostCounters, (d) => this.devices[d]?.path ?? `device ${d}`);
    const host = {
      devWords,
      revoke: (index: number, offset: number, length: number) => this.revoke(index, offset, length),
      onDoorbell: (index: number, fn: DoorbellHandler) => {
        this.doorbells.start();
        return this.doorbells.subscribe(index, fn);
      },
    };
    this.handles = devices.map((d, i) => new DeviceHandle(i, d, host));
  }

  static async create(options: RuntimeOptions = {}): Promise<Runtime> {
    // `devpager profile -- node host.mjs`: trace, and write the report at close (src/profile/env.ts).
    const profileEnv = envProfile();
    const o = normalizeOptions(withEnvProfile(options, profileEnv));
    let plan: PinPlan | null = null;
    if (o.pin !== false) {
      const why = pinUnavailable();
      if (why === null) plan = pinPlan(allowedCpus(), o.pagers);
      if (o.pin === true && why !== null) throw new Error(`options.pin: ${why}`);
      if (o.pin === true && plan === null) {
        const allowed = allowedCpus();
        throw new Error(`options.pin: only ${allowed.length} allowed CPU (${allowed.join(',')}): nothing to keep apart`);
      }
    }
    // Devices: validate and load every driver before anything starts.
    const loaded = await loadDrivers((options.devices ?? []) as unknown[]);
    const flags = (o.stats ? FLAG_STATS : 0) | (o.trace ? FLAG_TRACE : 0) | (o.countAccesses ? FLAG_COUNT_ACCESSES : 0) | waitFlags(o.wait);
    let arena: ReturnType<typeof createArena>;
    try {
      arena = createArena({
        memory: o.memory, pagers: o.pagers, maxProcs: o.maxProcesses + o.pagers, maxDevices: Math.max(1, loaded.length), traceCap: o.traceEvents,
        mapEntries: o.mapEntries, flags, spin: o.spin, pagerSpin: o.pagerSpin,
        // Threads that may run, and waiters that may spin, at once: the cores the pagers leave
        // (docs/experiments/processes-beyond-the-cpus.md).
        spinBudget: o.cpus,
        sample: o.statsSample,
        quantum: o.quantum,
      });
    } catch (e) {
      throw new RangeError(`Runtime.create: cannot allocate the arena for options.memory ${o.memory} and options.maxProcesses ${o.maxProcesses}: ${describeThrown(e)}`, { cause: e });
    }
    configureTrace(arena.sab, arena.layout, o.traceSample);
    let tlbs: SharedArrayBuffer[];
    try {
      tlbs = Array.from({ length: o.maxProcesses }, () => new SharedArrayBuffer(TLB_BYTES));
    } catch (e) {
      throw new RangeError(`Runtime.create: cannot allocate ${o.maxProcesses} TLBs of ${TLB_BYTES} bytes (options.maxProcesses): ${describeThrown(e)}`, { cause: e });
    }
    const slots = Array.from({ length: arena.layout.maxProcs }, (_, i) => new SlotViews(arena.sab, arena.layout, i));
    const dirty = new DirtyLog(arena.phys, arena.layout, tlbs, slots);
    const kernel = new KernelApi(arena.phys, { dirtyLog: (kva, length) => dirty.log(kva, length) });
    const attached = await attachAll(kernel, loaded, o.driverTimeoutMs);
    const rt = new Runtime(o, arena, attached, plan, tlbs, kernel);
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
    await this.pagerSet.start();
    const workerData: ProcessWorkerData = {
      devices: this.devices.map((d, index) => ({ path: d.path, index })),
      pin: this.pinning ? { cpus: this.pinning.processes, strict: this.options.pin === true } : null,
    };
    this.pool = new Piscina({
      filename: fileURLToPath(PROCESS_URL),
      minThreads: this.options.prestart,
      maxThreads: this.options.maxProcesses,
      idleTimeout: 60_000,
      concurrentTasksPerWorker: 1,
      atomics: 'disabled',
      workerData,
      niceIncrement: this.options.processNice,
      execArgv: processExecArgv(),
      resourceLimits: this.options.resourceLimits,
    });
    this.doorbells.start();
  }

  /** Start a process running the program module at `url`. */
  spawn(url: URL | string, ...args: unknown[]): ProcessHandle {
    if (this.closing) throw new Error('Runtime is closed');
    const href = toUrl(url, 'spawn url');
    try {
      structuredClone(args);
    } catch (e) {
      throw new TypeError(`spawn args must be structured-cloneable: ${(e as Error).message}`);
    }
    return this.table.spawn(href, args);
  }

  /** Run one process to its end: resolves with its return value, rejects with its signal or error. */
  async run(url: URL | string, ...args: unknown[]): Promise<unknown> {
    return statusToResult(await this.spawn(url, ...args).exited);
  }

  /** The device at `path` (e.g. '/dev/foo0'): its state, reference counts and the device kit's host side. */
  device(path: string): DeviceHandle {
    const i = this.devices.findIndex((d) => d.path === path);
    if (i < 0) throw new Error(`no device ${describe(path)} (have: ${this.devices.map((d) => d.path).join(', ') || 'none'})`);
    return this.handles[i];
  }

  private async revoke(dev: number, offset: number, length: number): Promise<number> {
    if (this.closing) throw new Error('Runtime is closed');
    if (length === 0) return 0;
    const n = await Promise.all(this.pagerSet.views.map((_, p) => this.pagerSet.request(p, OP_REVOKE, dev, offset, length)));
    return n.reduce((a, b) => a + Math.max(0, b), 0);
  }

  /** Plain-object snapshot of counters and latency percentiles. */
  stats(): RuntimeStats {
    return collectStats(this, this.devices.map((d) => d.path), performance.now() - this.started);
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
   * threads they belong to.
   */
  traceEvents(): { threads: ThreadInfo[]; events: TraceEvent[]; dropped: number } {
    return traceEventsOf(this);
  }

  /** The trace as Chrome Trace Event JSON (opens in Perfetto and chrome://tracing). */
  chromeTrace(): ChromeTrace {
    return chromeTraceOf(this);
  }

  /** @internal the threads run so far, with their slots and programs (src/profile) */
  processLog(): readonly ProcessRecord[] {
    return this.procLog.list();
  }

  /** @internal device paths and the regions their drivers declare (src/profile) */
  deviceNames(): readonly DeviceNames[] {
    return this.devices.map((d) => ({ path: d.path, driver: d.driver.name, regions: declaredRegions(d.driver, d) }));
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

  /** Forget recorded trace events (between profile phases). */
  resetTrace(): void {
    for (let th = 0; th < this.layout.nthreads; th++) resetRing(this.sab, this.layout, th);
  }

  /** @internal thread indices, for stats and traces */
  threads(): { host: number; pagers: number[]; slots: number[] } {
    return {
      host: HOST_THREAD,
      pagers: this.pagerSet.views.map((_, p) => pagerThread(p)),
      slots: Array.from({ length: this.userSlots }, (_, i) => slotThread(this.layout, i)),
    };
  }

  /**
   * @internal fault injection for tests and the soak: pager `pager` dies at the n-th next point of
   * `kind` ('fault', 'mmap', 'munmap' — served, reply not yet out — or 'reply' — out, thread not
   * yet woken). Each point is between two changes of the arena.
   */
  injectPagerDeath(pager: number, kind: 'fault' | 'mmap' | 'munmap' | 'reply', n = 1): void {
    const k = { fault: INJECT_FAULT, mmap: INJECT_MMAP, munmap: INJECT_MUNMAP, reply: INJECT_REPLY }[kind];
    if (k === undefined) throw new TypeError(`injectPagerDeath kind must be fault, mmap, munmap or reply, got ${describe(kind)}`);
    if (!Number.isInteger(pager) || pager < 0 || pager >= this.options.pagers) throw new RangeError(`injectPagerDeath pager must be in [0, ${this.options.pagers})`);
    this.pagerSet.injectDeath(pager, k, n);
  }

  /**
   * @internal Change the wait strategy (RuntimeOptions.wait) of the processes spawned from now on
   * and of the pagers (each at its next idle), while no process thread exists and no spawn waits
   * for a slot, so that no process runs under two strategies: `devpager bench` measures every
   * strategy with one runtime's warm isolates (bench/matrix.ts).
   */
  setWaitStrategy(wait: WaitStrategy): void {
    if (this.closing) throw new Error('Runtime is closed');
    if (!WAIT_STRATEGIES.includes(wait)) throw new TypeError(`setWaitStrategy: wait must be one of ${WAIT_STRATEGIES.map((w) => `'${w}'`).join(', ')}, got ${describe(wait)}`);
    const live = this.table.inFlight();
    if (live > 0) throw new Error(`setWaitStrategy: ${live} process thread(s) or spawn(s) still exist; change the strategy only while none does`);
    Atomics.store(headerView(this.sab), H_WAIT, waitMode(wait));
    this.options.wait = wait;
  }

  /** @internal live pids by slot */
  liveSlots(): Map<number, number> {
    return this.table.liveSlots();
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
    this.table.killAll();
    this.doorbells.close();
    if (this.pool) {
      const pool = this.pool;
      await Promise.race([pool.destroy(), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    await Promise.race([this.table.drained(), new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.pagerSet.close();
  }
}

export type { RuntimeOptions, DeviceConfig } from './options.js';
export type { ProcessHandle, ProcessStatus } from './process-table.js';
export type { DeviceHandle } from './devices.js';
