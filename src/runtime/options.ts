/**
 * Runtime.create's options: their types, their defaults, and the checks that reject a bad one
 * with an error naming it. Nothing here starts anything.
 */
import { TRACE_SAMPLE_DEFAULT } from '../trace.js';
import { availableParallelism } from 'node:os';
import { PAGE_SIZE } from '../constants.js';
import { badRange, badType } from '../errors.js';
import { MAX_MEMORY } from '../physmem.js';
import { WAIT_STRATEGIES, type WaitStrategy } from '../wait.js';

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
  /** threads that may exist at once, over all processes (default 16); each runs in its own pool thread */
  maxProcesses?: number;
  /** process threads started ahead of the first spawn (default min(4, maxProcesses)) */
  prestart?: number;
  /** how requesters and pagers wait: 'adaptive' (spin then park, default), 'spin', 'park' */
  wait?: WaitStrategy;
  /**
   * a waiting thread's polls before it parks, in 'adaptive' mode, while other threads wait for a
   * CPU (default 1000): a longer spin keeps the CPU from them. While none waits, a thread spins as
   * long as an idle pager (max(spin, pagerSpin)), since parking would only let its CPU idle and
   * waking a halted vCPU is dear (docs/architecture.md, "Wait strategies").
   */
  spin?: number;
  /**
   * an idle pager's polls before it parks, in 'adaptive' mode (default 20000). Longer than a
   * thread's: every thread pays the pager's wake-up, so the pager spins a few wake-ups' worth
   * before it parks (docs/experiments/wait-strategies.md).
   */
  pagerSpin?: number;
  /**
   * requests a thread makes before it yields its CPU to a thread whose wake-up is held (default
   * 1024; 'adaptive' and 'park'): it bounds how long one thread keeps a CPU from the others when
   * threads outnumber the cores the pagers leave (docs/architecture.md, "The run queue").
   */
  quantum?: number;
  /**
   * threads that may hold a CPU at once (default: available cores minus pagers, at least 1).
   * Beyond it, parked threads wait in the pagers' run queues for a running one to park, yield or
   * exit; and only this many waiters spin at once in 'adaptive' mode.
   */
  cpus?: number;
  /** latency histograms and timing (default true); counters are always kept */
  stats?: boolean;
  /** count every memory access, so stats report TLB hits (default false; on, every hit also stores a counter) */
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
   * nice increment for process threads (default 0): with more runnable threads than cores,
   * lowering the processes' priority keeps the pagers on a core. Linux only (piscina's
   * niceIncrement, through its optional @napi-rs/nice; docs/experiments/process-nice.md).
   */
  processNice?: number;
  /**
   * pin each pager to a core of its own and the process threads to the cores left (Linux, with
   * taskset), so that the scheduler never puts a thread on its pager's CPU (src/affinity.ts).
   * 'auto' (the default) pins when it can and silently does not otherwise; true pins or rejects
   * `Runtime.create` with the reason; false never pins. `rt.pinning` says what was done.
   */
  pin?: boolean | 'auto';
  /**
   * how long a driver call (attach, a driver module's load, d_mmap, an mmio callback) may run,
   * in ms (default 1000). Longer is a driver bug: see README, "Containment".
   */
  driverTimeoutMs?: number;
  /** heap limits of each process thread (worker_threads resourceLimits), e.g. { maxOldGenerationSizeMb: 64 } */
  resourceLimits?: ProcessResourceLimits;
}

export interface ProcessResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** Every option with its value, devices apart. */
/** The normalised options; `wait` follows Runtime.setWaitStrategy. */
export type Options = Readonly<Required<Omit<RuntimeOptions, 'devices' | 'resourceLimits' | 'wait'>>> & { readonly resourceLimits: ProcessResourceLimits | undefined; wait: WaitStrategy };

const KNOWN = [
  'memory', 'pagers', 'devices', 'maxProcesses', 'prestart', 'wait', 'spin', 'pagerSpin', 'quantum', 'cpus', 'stats', 'statsSample',
  'countAccesses', 'processNice', 'pin', 'trace', 'traceEvents', 'traceSample', 'mapEntries', 'driverTimeoutMs', 'resourceLimits',
];

function intOpt(o: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = o[name];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badType(`options.${name}`, 'an integer', v);
  if (v < min || v > max) throw badRange(`options.${name}`, `between ${min} and ${max}`, v);
  return v;
}

function boolOpt(o: Record<string, unknown>, name: string, def: boolean): boolean {
  const v = o[name] ?? def;
  if (typeof v !== 'boolean') throw badType(`options.${name}`, 'a boolean', v);
  return v;
}

/** Check every option (devices apart: runtime/devices.ts) and fill in the defaults. */
export function normalizeOptions(options: RuntimeOptions): Options {
  if (options === null || typeof options !== 'object') throw badType('options', 'an object', options);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) throw new TypeError(`options.${k} is not a Runtime option`);
  const memory = o.memory ?? 64 << 20;
  if (typeof memory !== 'number' || !Number.isFinite(memory)) throw badType('options.memory', 'a number of bytes', memory);
  if (memory < 16 * PAGE_SIZE || memory > MAX_MEMORY) {
    throw badRange('options.memory', `between ${16 * PAGE_SIZE} bytes and 4 GiB (${MAX_MEMORY}; Node 20 caps one typed-array view at 2^32 bytes)`, memory);
  }
  const pagers = intOpt(o, 'pagers', 1, 1, 64);
  const maxProcesses = intOpt(o, 'maxProcesses', 16, 1, 1024);
  const statsSample = intOpt(o, 'statsSample', 256, 1, 1 << 20);
  if ((statsSample & (statsSample - 1)) !== 0) throw badRange('options.statsSample', 'a power of two', statsSample);
  const pin = o.pin ?? 'auto';
  if (typeof pin !== 'boolean' && pin !== 'auto') throw badType('options.pin', "true, false or 'auto'", pin);
  const wait = o.wait ?? 'adaptive';
  if (!WAIT_STRATEGIES.includes(wait as WaitStrategy)) throw badType('options.wait', `one of ${WAIT_STRATEGIES.map((s) => `'${s}'`).join(', ')}`, wait);
  const trace = boolOpt(o, 'trace', false);
  const traceSample = intOpt(o, 'traceSample', TRACE_SAMPLE_DEFAULT, 1, 1 << 20);
  if ((traceSample & (traceSample - 1)) !== 0) throw badRange('options.traceSample', 'a power of two', traceSample);
  const devs = o.devices ?? [];
  if (!Array.isArray(devs)) throw badType('options.devices', 'an array', devs);
  return {
    memory,
    pagers,
    maxProcesses,
    prestart: intOpt(o, 'prestart', Math.min(4, maxProcesses), 0, maxProcesses),
    wait: wait as WaitStrategy,
    spin: intOpt(o, 'spin', 1000, 0, 1 << 30),
    pagerSpin: intOpt(o, 'pagerSpin', 20_000, 0, 1 << 30),
    quantum: intOpt(o, 'quantum', 1024, 1, 1 << 30),
    cpus: intOpt(o, 'cpus', Math.max(1, availableParallelism() - pagers), 1, 1024),
    stats: boolOpt(o, 'stats', true),
    statsSample,
    countAccesses: boolOpt(o, 'countAccesses', false),
    processNice: intOpt(o, 'processNice', 0, 0, 19),
    pin,
    trace,
    traceEvents: intOpt(o, 'traceEvents', trace ? 65536 : 0, 0, 1 << 24),
    traceSample,
    mapEntries: intOpt(o, 'mapEntries', 1024, 4, 1 << 20),
    driverTimeoutMs: intOpt(o, 'driverTimeoutMs', 1000, 1, 3_600_000),
    resourceLimits: resourceLimitsOpt(o.resourceLimits),
  };
}

function resourceLimitsOpt(v: unknown): ProcessResourceLimits | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badType('options.resourceLimits', 'an object such as { maxOldGenerationSizeMb: 64 }', v);
  const out: ProcessResourceLimits = {};
  for (const [k, x] of Object.entries(v)) {
    if (!['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'].includes(k)) throw new TypeError(`options.resourceLimits.${k} is not a worker resource limit`);
    if (typeof x !== 'number' || !(x > 0) || !Number.isFinite(x)) throw badType(`options.resourceLimits.${k}`, 'a positive number of megabytes', x);
    (out as Record<string, number>)[k] = x;
  }
  return out;
}
