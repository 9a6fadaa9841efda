/**
 * Scaling probe: does a fault cost more when the mapping is huge? One process, one pager:
 *
 *   small: `refault` over a 1 000-page mapping (every page, every round);
 *   large: `sparse` over a 10^6-page mapping, touching a seeded random sample of 4 096 pages per
 *          round (spread over ~1 000 page-table pages), then pmapRemove of the whole range.
 *
 * Per-fault cost is the fault latency measured inside the faulting thread (p50 and mean), so the
 * whole-range pmapRemove between rounds (which walks every page-table page) is not charged to the
 * faults; the throughput of both is reported too. Setting up the large mapping calls d_mmap for
 * all 10^6 pages (udv_attach), which is reported as mmapMs.
 */
import type { WaitStrategy } from '../wait.js';
import { createBenchRuntime, runCell, type CellResult } from './cell.js';

export interface ProbeOptions {
  durationMs: number;
  smallPages?: number;
  largePages?: number;
  sample?: number;
  wait?: WaitStrategy;
  memory?: number;
  ring?: number;
  seed?: number;
  onStep?: (label: string) => void;
}

export interface ProbeResult {
  smallPages: number;
  largePages: number;
  sample: number;
  wait: WaitStrategy;
  small: CellResult;
  large: CellResult;
  /** large / small fault latency */
  p50Ratio: number;
  meanRatio: number;
  /** small / large faults per second (> 1: the large mapping is slower) */
  throughputRatio: number;
  /** mmap of the large mapping (d_mmap for every page), ms */
  largeMmapMs: number;
}

export async function runScalingProbe(o: ProbeOptions): Promise<ProbeResult> {
  const smallPages = o.smallPages ?? 1000;
  const largePages = o.largePages ?? 1_000_000;
  const sample = o.sample ?? 4096;
  const wait = o.wait ?? 'adaptive';
  o.onStep?.(`probe: start runtime (1 pager, ${wait})`);
  const b = await createBenchRuntime({ pagers: 1, wait, maxProcs: 1, memory: o.memory, ring: o.ring, devicePages: Math.max(largePages, smallPages) });
  try {
    // Warm-up: start the process thread and compile both programs.
    await runCell(b, { workload: 'refault', procs: 1, durationMs: 30, pages: smallPages });
    await runCell(b, { workload: 'sparse', procs: 1, durationMs: 30, rangePages: 20_000, chunkPages: 1000, seed: o.seed });
    o.onStep?.(`probe: refault over ${smallPages} pages`);
    const small = await runCell(b, { workload: 'refault', procs: 1, durationMs: o.durationMs, pages: smallPages });
    o.onStep?.(`probe: ${sample} pages of a ${largePages}-page mapping`);
    const large = await runCell(b, { workload: 'sparse', procs: 1, durationMs: o.durationMs, rangePages: largePages, chunkPages: sample, seed: o.seed });
    return {
      smallPages, largePages, sample, wait, small, large,
      p50Ratio: large.p50Ns / small.p50Ns,
      meanRatio: large.meanNs / small.meanNs,
      throughputRatio: small.faultsPerSec / large.faultsPerSec,
      largeMmapMs: large.extra.mmapMs ?? NaN,
    };
  } finally {
    await b.close();
  }
}
