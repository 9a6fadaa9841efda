/**
 * The device kit's latencies, each against its baseline in the same run:
 *   - an MMIO load round trip against a fault round trip (both pager round trips, timed in the
 *     process: ns per register load, ns per refault of a device page);
 *   - doorbell store -> onDoorbell handler against worker postMessage -> 'message' handler;
 *   - rt.device(path).interrupt() -> return from p.waitInterrupt against Atomics.notify ->
 *     return from Atomics.wait.
 * One-way latencies compare clock readings of two threads on one timeline (src/clock.ts); each
 * sample starts from a receiver that has been idle for `gapMs`, as a device's first event after
 * a pause would. Samples are taken in blocks, alternating devpager and baseline.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { PAGE_SIZE } from '../../constants.js';
import type { Runtime } from '../../runtime/runtime.js';
import { median } from '../../util/stats.js';
import { BELL, CTL_ACK, CTL_STAMP, type CtlState } from './ctl-driver.js';

const PROG = new URL('./latency-prog.js', import.meta.url);
const WORKER = new URL('./hand-latency-worker.js', import.meta.url);

export interface LatencyPair {
  /** medians per block (ns) of the devpager path and of its baseline, and the ratio of the overall medians */
  devpagerNs: number[];
  baselineNs: number[];
  devpagerMedianNs: number;
  baselineMedianNs: number;
  ratio: number;
}

export interface LatencyOptions {
  blocks: number;
  samples: number;
  gapMs: number;
  mmioRounds: number;
  mmioOps: number;
  timeoutMs: number;
  onStep?: (label: string) => void;
}

function pair(dp: number[][], base: number[][]): LatencyPair {
  const d = median(dp.flat());
  const b = median(base.flat());
  return { devpagerNs: dp.map(median), baselineNs: base.map(median), devpagerMedianNs: d, baselineMedianNs: b, ratio: d / b };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** MMIO load against fault, in one process: per round ns of each, ratio of the medians. */
export async function mmioVsFault(rt: Runtime, o: LatencyOptions): Promise<LatencyPair> {
  o.onStep?.('latency: mmio load vs fault');
  const r = (await rt.run(PROG, 'mmio-fault', o.mmioRounds, o.mmioOps)) as { mmioNs: number[]; faultNs: number[] };
  // The first round compiles the paths: leave it out.
  return pair(r.mmioNs.slice(1).map((x) => [x]), r.faultNs.slice(1).map((x) => [x]));
}

function ctlViews(rt: Runtime): { w: Int32Array; f: Float64Array } {
  const s = rt.device('/dev/devbench0').state as CtlState;
  const v = rt.kernel.view(s.ctl, PAGE_SIZE);
  return { w: new Int32Array(v.buffer, v.byteOffset, PAGE_SIZE / 4), f: new Float64Array(v.buffer, v.byteOffset, PAGE_SIZE / 8) };
}

/** Doorbell store -> handler against postMessage -> handler. */
export async function doorbellVsPostMessage(rt: Runtime, o: LatencyOptions): Promise<LatencyPair> {
  const { w, f } = ctlViews(rt);
  const ack = CTL_ACK / 4;
  Atomics.store(w, ack, 0);
  const dpBlocks: number[][] = [];
  const pmBlocks: number[][] = [];
  // devpager: the handler takes the stamp and asks for the next sample until the block is full.
  let block: number[] = [];
  let want = 0;
  let blockDone: (() => void) | null = null;
  const off = rt.device('/dev/devbench0').onDoorbell((at) => {
    if (at !== BELL) return;
    block.push((performance.now() - f[CTL_STAMP / 8]) * 1e6);
    if (block.length < want) {
      Atomics.add(w, ack, 1);
      Atomics.notify(w, ack);
    } else blockDone?.();
  });
  const proc = rt.spawn(PROG, 'doorbell', o.gapMs, 0);
  // baseline
  const words = new SharedArrayBuffer(PAGE_SIZE);
  const bw = new Int32Array(words);
  const worker = new Worker(WORKER, { workerData: { mode: 'postmessage', words, hostOrigin: performance.timeOrigin, gapMs: o.gapMs }, name: 'devbench-postmessage' });
  let pmBlock: number[] = [];
  let pmDone: (() => void) | null = null;
  worker.on('message', (t: number) => {
    pmBlock.push((performance.now() - t) * 1e6);
    if (pmBlock.length < want) {
      Atomics.add(bw, ack, 1);
      Atomics.notify(bw, ack);
    } else pmDone?.();
  });
  try {
    for (let b = 0; b < o.blocks; b++) {
      o.onStep?.(`latency: doorbell vs postMessage, block ${b + 1}/${o.blocks}`);
      want = o.samples;
      const runDp = async () => {
        block = [];
        const done = new Promise<void>((r) => (blockDone = r));
        Atomics.add(w, ack, 1);
        Atomics.notify(w, ack);
        await withTimeout(done, o.timeoutMs, 'doorbell block');
        dpBlocks.push(block);
      };
      const runPm = async () => {
        pmBlock = [];
        const done = new Promise<void>((r) => (pmDone = r));
        Atomics.add(bw, ack, 1);
        Atomics.notify(bw, ack);
        await withTimeout(done, o.timeoutMs, 'postMessage block');
        pmBlocks.push(pmBlock);
      };
      if (b % 2 === 0) {
        await runDp();
        await runPm();
      } else {
        await runPm();
        await runDp();
      }
    }
  } finally {
    off();
    Atomics.store(w, ack, -1);
    Atomics.notify(w, ack);
    Atomics.store(bw, ack, -1);
    Atomics.notify(bw, ack);
    await withTimeout(proc.exited, o.timeoutMs, 'doorbell process exit').catch(() => undefined);
    await Promise.race([once(worker, 'exit'), sleep(2000)]);
    await worker.terminate();
  }
  return pair(dpBlocks, pmBlocks);
}

/** interrupt() -> waitInterrupt returns, against Atomics.notify -> Atomics.wait returns. */
export async function interruptVsNotify(rt: Runtime, o: LatencyOptions): Promise<LatencyPair> {
  const { w, f } = ctlViews(rt);
  const ack = CTL_ACK / 4;
  Atomics.store(w, ack, 0);
  const dev = rt.device('/dev/devbench0');
  const proc = rt.spawn(PROG, 'irq', 0, 0);
  const words = new SharedArrayBuffer(PAGE_SIZE);
  const bw = new Int32Array(words);
  const bf = new Float64Array(words);
  const worker = new Worker(WORKER, { workerData: { mode: 'notify', words, hostOrigin: performance.timeOrigin, gapMs: o.gapMs }, name: 'devbench-notify' });
  const baseResult = new Promise<number[]>((r) => worker.once('message', r));
  /** Wait until the word at `ack` reaches n (the receiver is back), then `gapMs` more. */
  const acked = async (words32: Int32Array, n: number) => {
    const deadline = performance.now() + o.timeoutMs;
    for (;;) {
      const v = Atomics.load(words32, ack);
      if (v >= n) break;
      if (performance.now() > deadline) throw new Error(`interrupt latency: no acknowledgement ${n} within ${o.timeoutMs} ms`);
      const r = Atomics.waitAsync(words32, ack, v, o.timeoutMs);
      if (r.async) await r.value;
    }
    await sleep(o.gapMs);
  };
  let dpN = 1;
  let baseN = 1;
  let dpLat: number[] = [];
  let baseLat: number[] = [];
  try {
    for (let b = 0; b < o.blocks; b++) {
      o.onStep?.(`latency: interrupt vs Atomics.notify, block ${b + 1}/${o.blocks}`);
      const runDp = async () => {
        for (let i = 0; i < o.samples; i++) {
          await acked(w, dpN++);
          f[CTL_STAMP / 8] = performance.now();
          dev.interrupt();
        }
      };
      const runBase = async () => {
        for (let i = 0; i < o.samples; i++) {
          await acked(bw, baseN++);
          bf[CTL_STAMP / 8] = performance.now();
          Atomics.add(bw, 0, 1);
          Atomics.notify(bw, 0);
        }
      };
      if (b % 2 === 0) {
        await runDp();
        await runBase();
      } else {
        await runBase();
        await runDp();
      }
    }
    await acked(w, dpN);
    await acked(bw, baseN);
  } finally {
    f[CTL_STAMP / 8] = -1;
    dev.interrupt();
    bf[CTL_STAMP / 8] = -1;
    Atomics.add(bw, 0, 1);
    Atomics.notify(bw, 0);
  }
  const st = await withTimeout(proc.exited, o.timeoutMs, 'interrupt process exit');
  dpLat = (st.result as number[] | undefined) ?? [];
  baseLat = await withTimeout(baseResult, o.timeoutMs, 'notify worker result');
  await Promise.race([once(worker, 'exit'), sleep(2000)]);
  await worker.terminate();
  if (dpLat.length !== o.blocks * o.samples) throw new Error(`interrupt latency: ${dpLat.length} samples, expected ${o.blocks * o.samples}${st.error ? ` (${st.error.message})` : ''}`);
  const split = (xs: number[]) => Array.from({ length: o.blocks }, (_, b) => xs.slice(b * o.samples, (b + 1) * o.samples));
  return pair(split(dpLat), split(baseLat));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`device bench: ${what} timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}
