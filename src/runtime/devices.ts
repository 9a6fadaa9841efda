/**
 * The runtime's devices: loading and checking each driver module, attaching each unit (under
 * the driver watchdog's budget), and the handle `rt.device(path)` returns.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDriver, type Driver } from '../driver.js';
import { badRange, badType, describe, describeThrown } from '../errors.js';
import type { KernelApi } from '../kernel.js';
import { D_ATTACHES, D_FREES, D_IRQ, D_REFS, LINE } from '../layout.js';
import type { DeviceConfig } from './options.js';

export interface LoadedDevice {
  path: string;
  name: string;
  unit: number;
  driverUrl: string;
  driver: Driver;
  config: unknown;
}

export interface AttachedDevice extends LoadedDevice {
  state: unknown;
}

/** A driver or program location: a URL, a URL string or an absolute path. */
export function toUrl(u: URL | string, what: string): string {
  if (u instanceof URL) return u.href;
  if (typeof u === 'string' && u.length > 0) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(u) && !/^[a-z]:[\\/]/i.test(u)) return u;
    if (isAbsolute(u)) return pathToFileURL(u).href;
    throw badType(what, 'a URL or an absolute path', u);
  }
  throw badType(what, 'a URL or an absolute path', u);
}

/** Check options.devices and load every driver module on the host, before anything starts. */
export async function loadDrivers(devs: unknown[]): Promise<LoadedDevice[]> {
  const seen = new Set<string>();
  const loaded: LoadedDevice[] = [];
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
      throw new Error(`${what}.driver: cannot load driver module ${url}: ${describeThrown(e)}`, { cause: e });
    }
    if (!isDriver(mod.default)) {
      throw new TypeError(`${what}.driver: module ${url} must default-export a driver with an mmap function (use defineDriver); got ${describe(mod.default)}`);
    }
    loaded.push({ path, name: d.name, unit, driverUrl: url, driver: mod.default, config: d.config });
  }
  return loaded;
}

/**
 * Call each driver's attach, one unit at a time. An attach that throws (anything, even null),
 * returns state that cannot be cloned to the pagers, or does not settle within `timeoutMs` fails
 * Runtime.create with an error naming the device.
 */
export async function attachAll(kernel: KernelApi, loaded: LoadedDevice[], timeoutMs: number): Promise<AttachedDevice[]> {
  const out: AttachedDevice[] = [];
  for (const l of loaded) {
    let state: unknown;
    try {
      const r = l.driver.attach ? l.driver.attach(kernel, l.unit, l.config) : undefined;
      state = await withDeadline(Promise.resolve(r), timeoutMs, () => new Error(`${l.path}: driver attach did not settle within driverTimeoutMs (${timeoutMs} ms)`));
    } catch (e) {
      if (e instanceof DeadlineError) throw e.error;
      throw new Error(`${l.path}: driver attach failed: ${describeThrown(e)}`, { cause: e });
    }
    try {
      structuredClone(state);
    } catch (e) {
      throw new TypeError(`${l.path}: the state driver attach returned cannot be cloned to the pager threads: ${describeThrown(e)}`);
    }
    out.push({ ...l, state });
  }
  return out;
}

class DeadlineError extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

/** `p`, or a rejection with make() after `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, make: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(make())), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** What the runtime lends a device handle. */
export interface DeviceHost {
  readonly devWords: Int32Array;
  revoke(index: number, offset: number, length: number): Promise<number>;
  onDoorbell(index: number, fn: DoorbellHandler): () => void;
}

export type DoorbellHandler = (off: number, value: number | bigint, pid: number) => void;

/**
 * `rt.device(path)`: the attached unit, its live reference counts, and the device kit's host side:
 * revoke(), interrupt(), onDoorbell().
 */
export class DeviceHandle {
  readonly name: string;
  readonly unit: number;
  readonly path: string;
  /** what the driver's attach returned */
  readonly state: unknown;

  constructor(private readonly index: number, d: AttachedDevice, private readonly host: DeviceHost) {
    this.name = d.name;
    this.unit = d.unit;
    this.path = d.path;
    this.state = d.state;
  }

  private word(w: number): number {
    return Atomics.load(this.host.devWords, this.index * (LINE / 4) + w);
  }

  /** uvm_device references: map entries of live processes that map this device */
  get refs(): number {
    return this.word(D_REFS);
  }

  /** times the uvm_device was created and freed (udv_attach found none / last detach) */
  get attaches(): number {
    return this.word(D_ATTACHES);
  }

  get frees(): number {
    return this.word(D_FREES);
  }

  /** interrupts raised so far */
  get interrupts(): number {
    return this.word(D_IRQ) >>> 0;
  }

  /**
   * Remove every translation of device offsets [offset, offset + length) from every process and
   * thread, TLBs included; resolves once none is left. The mappings stay: the next access calls
   * d_mmap again. Resolves with the number of PTEs removed.
   */
  revoke(offset: number, length: number): Promise<number> {
    if (typeof offset !== 'number' || !Number.isInteger(offset)) throw badType('revoke offset', 'an integer device offset', offset);
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw badRange('revoke length', 'a non-negative integer number of bytes', length);
    return this.host.revoke(this.index, offset, length);
  }

  /** Raise the device's interrupt (Linux UIO): its count goes up by one and waiters wake. Returns the new count. */
  interrupt(): number {
    const at = this.index * (LINE / 4) + D_IRQ;
    const n = Atomics.add(this.host.devWords, at, 1) + 1;
    Atomics.notify(this.host.devWords, at);
    return n >>> 0;
  }

  /**
   * Call fn(off, value, pid) for every store to one of the device's doorbell registers, in the
   * host's event loop, in order per process, none dropped. Returns the unsubscribe function.
   */
  onDoorbell(fn: DoorbellHandler): () => void {
    if (typeof fn !== 'function') throw badType('onDoorbell handler', 'a function (off, value, pid) => void', fn);
    return this.host.onDoorbell(this.index, fn);
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, unit: this.unit, path: this.path, state: this.state, refs: this.refs, attaches: this.attaches, frees: this.frees };
  }
}
