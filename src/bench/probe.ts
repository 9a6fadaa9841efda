/**
 * Scaling probe: does a fault cost more when the mapping is huge? One process, one pager:
 *
 *   small: `refault` over a 1 000-page mapping (every page, every round);
 *   large: `sparse` over a 10^6-page mapping, touching a seeded random sample of 4 096 pages per
 *          round (spread over ~1 000 page-table pages), then pmapRemove of the whole range.
 *
 * Each is run three times, alternating; the median-p50 run of each is reported (atMedian). Per-fault cost
 * is the fault latency measured inside the faulting thread (p50 and mean), so the
 * whole-range pmapRemove between rounds (which walks every page-table page) is not charged to the
 * faults; the throughput of both is reported too. Setting up the large mapping calls d_mmap for
 * all 10^6 pages (udv_attach), which is reported as mmapMs.
 */
import type { WaitStrategy } from '../wait.js';
import { createBenchRuntime, runCell, type CellResult } from './cell.js';
import { atMedian } from './median-run.js';

export interface ProbeOptions {
  durationMs: number;
  smallPages?: number;
  largePages?: number;
  sample?: number;
  wait?: WaitStrategy;
  memory?: number;
  ring?: number;
  seed?: number;
  /** runs of each mapping size; the median-p50 run of each is reported (default 3) */
  repeats?: number;
  onStep?: (label: string) => void;
}

export interface ProbeResult {
  smallPages: number;
  largePages: number;
  sample: number;
  wait: WaitStrategy;
  /** the median-p50 run of each */
  small: CellResult;
  large: CellResult;
  /** fault p50 of every run */
  smallP50s: number[];
  largeP50s: number[];
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
    // Alternate the two, `repeats` times each, and keep each one's median-p50 run: one unlucky
    // thread placement (pager and process on one core) must not decide the ratio.
    const repeats = o.repeats ?? 3;
    const smalls: CellResult[] = [];
    const larges: CellResult[] = [];
    for (let i = 0; i < repeats; i++) {
      o.onStep?.(`probe: refault over ${smallPages} pages (${i + 1}/${repeats})`);
      smalls.push(await runCell(b, { workload: 'refault', procs: 1, durationMs: o.durationMs, pages: smallPages }));
      o.onStep?.(`probe: ${sample} pages of a ${largePages}-page mapping (${i + 1}/${repeats})`);
      larges.push(await runCell(b, { workload: 'sparse', procs: 1, durationMs: o.durationMs, rangePages: largePages, chunkPages: sample, seed: o.seed }));
    }
    const small = atMedian(smalls, (r) => r.p50Ns) ?? smalls[0];
    const large = atMedian(larges, (r) => r.p50Ns) ?? larges[0];
    return {
      smallPages, largePages, sample, wait, small, large,
      smallP50s: smalls.map((r) => r.p50Ns),
      largeP50s: larges.map((r) => r.p50Ns),
      p50Ratio: large.p50Ns / small.p50Ns,
      meanRatio: large.meanNs / small.meanNs,
      throughputRatio: small.faultsPerSec / large.faultsPerSec,
      largeMmapMs: large.extra.mmapMs ?? NaN,
    };
  } finally {
    await b.close();
  }
}

