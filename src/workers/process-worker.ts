/**
 * Process worker entry, run by the piscina pool: each task is one process, start to end.
 * Views and the TLB are built once per worker thread and reused by every process it runs.
 */
import { threadId, workerData } from 'node:worker_threads';
import { applyThreadPin, type ThreadPin } from '../affinity.js';
import { initClock } from '../clock.js';
import { SignalError, toWire, type SigInfo, type WireError } from '../errors.js';
import { FLAG_COUNT_ACCESSES, FLAG_STATS, FLAG_TRACE, S_THREAD, readLayout, slotThread } from '../layout.js';
import { TraceRing } from '../trace.js';
import { PagerViews, SlotViews } from '../pager/protocol.js';
import { ThreadStats } from '../stats.js';
import { waitModeOf } from '../wait.js';
import { CountingProcess, MachineViews, Process, type DeviceEntry } from './process.js';

export interface ProcessWorkerData {
  sab: SharedArrayBuffer;
  devices: DeviceEntry[];
  /** what to pin this thread to (RuntimeOptions.pin), or null */
  pin: ThreadPin | null;
}

export interface ProcessTask {
  slot: number;
  pid: number;
  pager: number;
  url: string;
  args: unknown[];
}

export type ProcessOutcome =
  | { kind: 'exit'; result: unknown }
  | { kind: 'signal'; siginfo: SigInfo; message: string }
  | { kind: 'error'; error: WireError };

const data = workerData as ProcessWorkerData;
applyThreadPin(data.pin);
const layout = readLayout(data.sab);
initClock(data.sab);
const views = new MachineViews(data.sab, layout);
const timing = (layout.flags & FLAG_STATS) !== 0;
const counting = (layout.flags & FLAG_COUNT_ACCESSES) !== 0;

export default async function runProcess(task: ProcessTask): Promise<ProcessOutcome> {
  const slot = new SlotViews(data.sab, layout, task.slot);
  // The host waits for this thread to be gone before it tears a killed process down.
  Atomics.store(slot.status, S_THREAD, threadId);
  const pager = new PagerViews(data.sab, layout, task.pager);
  const stats = new ThreadStats(data.sab, layout, slotThread(layout, task.slot));
  const Ctor = counting ? CountingProcess : Process;
  const trace = (layout.flags & FLAG_TRACE) !== 0 ? new TraceRing(data.sab, layout, slotThread(layout, task.slot)) : null;
  const p = new Ctor(task.pid, views, slot, pager, stats, data.devices, timing || trace !== null, waitModeOf(layout.flags), layout.spin, trace);
  let outcome: ProcessOutcome;
  try {
    const mod = await import(task.url);
    const main = mod.default;
    if (typeof main !== 'function') throw new TypeError(`program ${task.url} has no default-exported main function`);
    const result = await main(p, ...task.args);
    try {
      structuredClone(result);
    } catch (e) {
      throw new TypeError(`program ${task.url} returned a value that cannot be cloned to the host: ${(e as Error).message}`);
    }
    outcome = { kind: 'exit', result };
  } catch (e) {
    if (e instanceof SignalError) outcome = { kind: 'signal', siginfo: e.toSigInfo(), message: e.message };
    else outcome = { kind: 'error', error: toWire(e) };
  } finally {
    p.exit();
  }
  // SIGKILL cannot be caught: whatever the program did with the SignalError, the process is dead.
  if (p.killed) outcome = { kind: 'signal', siginfo: p.killed, message: `killed by SIGKILL` };
  return outcome;
}
