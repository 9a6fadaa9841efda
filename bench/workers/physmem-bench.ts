/**
 * Worker for bench/physmem.ts: attach to the arena, warm up, wait at the start gate, then run
 * alloc+free pairs for a fixed duration and report how many, timed here with performance.now().
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PAGE_SIZE } from '../../src/constants.js';
import { C, FI_ANON } from '../../src/layout.js';
import { attachArena, type PhysMem } from '../../src/physmem.js';

export type BenchOp = 'frame-scatter' | 'frame-seq' | 'km1' | 'km4';

export interface BenchWorkerData {
  sab: SharedArrayBuffer;
  /** Int32Array(2): [ready count, go flag] */
  gate: SharedArrayBuffer;
  thread: number;
  op: BenchOp;
  durationMs: number;
}

export interface BenchWorkerResult {
  ops: number;
  ms: number;
  /** Absolute times (timeOrigin + now) so the host can compute the common wall-clock span. */
  start: number;
  end: number;
  casRetries: number;
}

/** One batch of `n` alloc+free pairs. Shared with the single-thread benchmark. */
export function makeBatch(phys: PhysMem, op: BenchOp): (n: number) => void {
  switch (op) {
    case 'frame-scatter':
    case 'frame-seq': {
      const scatter = op === 'frame-scatter';
      return (n) => {
        for (let i = 0; i < n; i++) {
          const pfn = phys.allocFrame(FI_ANON, scatter);
          if (pfn < 0) throw new Error('allocFrame: out of memory during the benchmark');
          phys.freeFrame(pfn);
        }
      };
    }
    case 'km1':
    case 'km4': {
      const size = (op === 'km1' ? 1 : 4) * PAGE_SIZE;
      return (n) => {
        for (let i = 0; i < n; i++) phys.kmFree(phys.kmAlloc(size), size);
      };
    }
  }
}

function run(d: BenchWorkerData): BenchWorkerResult {
  const phys = attachArena(d.sab, d.thread);
  const batch = makeBatch(phys, d.op);
  // Warm up (JIT) before the gate so every worker starts measuring compiled code at the same time.
  const w0 = performance.now();
  while (performance.now() - w0 < 100) batch(256);
  const retries0 = phys.counters[C.casRetriesFrame];

  const gate = new Int32Array(d.gate);
  Atomics.add(gate, 0, 1);
  Atomics.notify(gate, 0);
  const deadline = Date.now() + 30_000;
  while (Atomics.load(gate, 1) === 0) {
    if (Date.now() > deadline) throw new Error('start gate never opened');
    Atomics.wait(gate, 1, 0, 100);
  }

  let ops = 0;
  const t0 = performance.now();
  let now = t0;
  for (;;) {
    batch(256);
    ops += 256;
    now = performance.now();
    if (now - t0 >= d.durationMs) break;
  }
  return {
    ops, ms: now - t0, start: performance.timeOrigin + t0, end: performance.timeOrigin + now,
    casRetries: phys.counters[C.casRetriesFrame] - retries0,
  };
}

if (parentPort) parentPort.postMessage(run(workerData as BenchWorkerData));
