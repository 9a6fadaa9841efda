/**
 * Pager thread entry: load every device's driver module, then serve requests until shutdown.
 * A plain, long-lived Worker (not a pool thread): its loop never returns to the event loop while
 * serving, so everything it hears from the host arrives through the arena, not postMessage.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { applyThreadPin, type ThreadPin } from '../affinity.js';
import { isDriver } from '../driver.js';
import { readLayout } from '../layout.js';
import { Pager, type PagerDevice } from '../pager/pager.js';

export interface PagerWorkerData {
  sab: SharedArrayBuffer;
  index: number;
  /** what to pin this thread to (RuntimeOptions.pin), or null */
  pin: ThreadPin | null;
  devices: { path: string; name: string; unit: number; driverUrl: string; state: unknown }[];
}

const data = workerData as PagerWorkerData;
const layout = readLayout(data.sab);
const devices: PagerDevice[] = [];
for (const d of data.devices) {
  let mod: { default?: unknown };
  try {
    mod = await import(d.driverUrl);
  } catch (e) {
    throw new Error(`${d.path}: pager ${data.index} cannot load driver module ${d.driverUrl}: ${(e as Error).message}`);
  }
  const driver = mod.default;
  if (!isDriver(driver)) throw new TypeError(`${d.path}: driver module ${d.driverUrl} has no default-exported driver with mmap`);
  devices.push({ driver, path: d.path, handle: Object.freeze({ name: d.name, unit: d.unit, state: d.state }) });
}
applyThreadPin(data.pin);
const pager = new Pager(data.sab, layout, data.index, devices);
parentPort!.postMessage({ ready: true });
pager.run();
parentPort!.postMessage({ stopped: true });
