/**
 * What the ready devices (src/devices/<name>/) share: checking a unit's config, finding a unit of
 * the right kind from the host, and answering reads of a block of 32-bit read-only registers.
 *
 * This module is loaded in three places: the host (attach, the host classes), every pager thread
 * (d_mmap, register callbacks) and every program realm (the program-side helpers; see
 * process/loader.ts), so it holds no state and imports nothing but devpager's errors.
 */
import { atop, roundPage } from '../constants.js';
import { badRange, badType } from '../errors.js';
import type { KernelApi } from '../kernel.js';
import type { DeviceHandle } from '../runtime/devices.js';

/** What a host class needs of a Runtime: its kernel and its devices. */
export interface HostRuntime {
  readonly kernel: KernelApi;
  device(path: string): DeviceHandle;
}

/** An integer option of a device's config, or its default; the error names `${what}.${name}`. */
export function configInt(config: Record<string, unknown>, what: string, name: string, dflt: number, lo: number, hi: number): number {
  const v = config[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badType(`${what}.${name}`, 'an integer', v);
  if (v < lo || v > hi) throw badRange(`${what}.${name}`, `an integer in [${lo}, ${hi}]`, v);
  return v;
}

/** The config object of a unit (undefined means all defaults), with no unknown keys. */
export function configObject(config: unknown, what: string, known: readonly string[]): Record<string, unknown> {
  if (config === undefined) return {};
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw badType(what, `an object { ${known.join(', ')} }`, config);
  for (const k of Object.keys(config)) if (!known.includes(k)) throw new TypeError(`${what}: unknown option ${JSON.stringify(k)} (known: ${known.join(', ')})`);
  return config as Record<string, unknown>;
}

/**
 * The unit at `path` with the state its driver's attach returned, checked to come from the
 * driver named `kind` (its state carries `kind`), so that a host class given the wrong device
 * says so instead of reading someone else's memory.
 */
export function hostDevice<S extends { kind: string }>(rt: HostRuntime, path: string, kind: string, what: string): { dev: DeviceHandle; state: S } {
  if (rt === null || typeof rt !== 'object' || typeof rt.device !== 'function' || rt.kernel === undefined) throw badType(`${what} runtime`, 'a Runtime', rt);
  if (typeof path !== 'string') throw badType(`${what} path`, 'a device path such as "/dev/nic0"', path);
  const dev = rt.device(path);
  const state = dev.state as S | null;
  if (state === null || typeof state !== 'object' || state.kind !== kind) {
    throw new TypeError(`${what}: ${path} is not a ${kind} device (its driver is not devpager/devices/${kind})`);
  }
  return { dev, state };
}

/**
 * A load of `size` bytes (1, 2, 4 or 8) at byte `rel` of a block of 32-bit registers, little
 * endian, as hardware answers a narrow or wide read: the bytes of the words it covers.
 */
export function registerRead(word: (index: number) => number, rel: number, size: number): number | bigint {
  if (size === 8) return (BigInt(word((rel >>> 2) + 1) >>> 0) << 32n) | BigInt(word(rel >>> 2) >>> 0);
  const w = word(rel >>> 2) >>> 0;
  if (size === 4) return w;
  const shift = (rel & 3) * 8;
  return size === 2 ? (w >>> shift) & 0xffff : (w >>> shift) & 0xff;
}

// The typed-array tag getter of this realm, which answers for arrays of any realm: a program's
// TextEncoder and Buffer make the worker's Uint8Arrays, which `instanceof Uint8Array` refuses.
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;

/** x is a typed array of that kind (`'Uint8Array'`, ...), from whichever realm. */
export function isTypedArray(x: unknown, kind: string): boolean {
  return ArrayBuffer.isView(x) && Reflect.apply(typedArrayTag, x, []) === kind;
}

/**
 * d_mmap for RAM that is one allocation of `bytes` at `kva` (page-rounded), from device offset 0:
 * the frame of that page, or -1 past the end. Per page, with pmapExtract, as every driver must.
 */
export function ramMmap(ram: { kva: number; bytes: number }, off: number, kernel: KernelApi): number {
  if (off < 0 || off >= roundPage(ram.bytes)) return -1;
  const pa = kernel.pmapExtract(ram.kva + off);
  return pa < 0 ? -1 : atop(pa);
}

/** x rounded up to a multiple of `align` (a power of two). */
export function alignUp(x: number, align: number): number {
  return Math.ceil(x / align) * align;
}
