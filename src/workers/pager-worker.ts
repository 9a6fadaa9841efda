/**
 * Pager thread entry: load every device's driver module, then serve requests until shutdown.
 * A plain, long-lived Worker (not a pool thread): its loop never returns to the event loop while
 * serving, so everything it hears from the host arrives through the arena, not postMessage.
 *
 * Before each driver module it posts which device it loads, so that a module that never finishes
 * loading is named by the host's watchdog (runtime/pagers.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { applyThreadPin, type ThreadPin } from '../affinity.js';
import { isDriver } from '../driver.js';
import { describeThrown } from '../errors.js';
import { readLayout } from '../layout.js';
import { Pager, type PagerDevice } from '../pager/pager.js';

export interface PagerWorkerData {
  sab: SharedArrayBuffer;
  /** every user slot's TLB buffer, for shootdowns */
  tlbs: SharedArrayBuffer[];
  index: number;
  /** what to pin this thread to (RuntimeOptions.pin), or null */
  pin: ThreadPin | null;
  devices: { path: string; name: string; unit: number; driverUrl: string; state: unknown }[];
  /** a replacement for a pager that died: it takes over what is queued in the arena */
  restart: boolean;
}

export type PagerMessage = { loading: string } | { ready: true } | { stopped: true };

const data = workerData as PagerWorkerData;
const layout = readLayout(data.sab);
const devices: PagerDevice[] = [];
for (const d of data.devices) {
  parentPort!.postMessage({ loading: d.path } satisfies PagerMessage);
  let mod: { default?: unknown };
  try {
    mod = await import(d.driverUrl);
  } catch (e) {
    throw new Error(`${d.path}: pager ${data.index} cannot load driver module ${d.driverUrl}: ${describeThrown(e)}`);
  }
  const driver = mod.default;
  if (!isDriver(driver)) throw new TypeError(`${d.path}: driver module ${d.driverUrl} has no default-exported driver with mmap`);
  devices.push({ driver, path: d.path, handle: Object.freeze({ name: d.name, unit: d.unit, state: d.state }) });
}
applyThreadPin(data.pin);
const pager = new Pager(data.sab, layout, data.index, devices, data.tlbs);
if (data.restart) pager.takeOver();
parentPort!.postMessage({ ready: true } satisfies PagerMessage);
pager.run();
parentPort!.postMessage({ stopped: true } satisfies PagerMessage);
