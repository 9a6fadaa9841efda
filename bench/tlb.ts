/**
 * TLB-hit cost: p.load32 / p.store32 on a page already in the software TLB, against a raw
 * Int32Array read of the same words (issue 4: a hit must cost <= 3x a raw read).
 *
 *   node dist/bench/tlb.js [--runs N] [--time MS] [--json FILE]
 *
 * The Process is the real class (dist/src/workers/process.js) over a real arena, built on this
 * thread with its TLB entries filled as a fault would fill them (tlbR/tlbW = pfn + 1), so only the
 * hit path runs. Each tinybench task is a batch of BATCH accesses (the timer's own cost, ~90 ns
 * per call here, would otherwise swamp a ~1 ns access); the accesses sweep the 1024 words of one
 * page (L1-resident) or 4 pages, and the raw reads sweep the same physical words through an
 * Int32Array view of the arena, so both sides touch the same memory.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { Bench } from 'tinybench';
import { FI_KERNEL } from '../src/layout.js';
import { PagerViews, SlotViews } from '../src/pager/protocol.js';
import { createArena } from '../src/physmem.js';
import { ThreadStats } from '../src/stats.js';
import { CountingProcess, MachineViews, Process } from '../src/workers/process.js';
import { median } from '../src/util/stats.js';
import { WAIT_ADAPTIVE } from '../src/wait.js';
import { benchArgs, fmtSpread } from './common.js';

const BATCH = 1 << 14;
const VA = 0x0100_0000;

function setup() {
  const { sab, layout, phys } = createArena({ memory: 64 << 20, maxProcs: 2 });
  const mv = new MachineViews(sab, layout);
  const make = (Ctor: typeof Process) =>
    new Ctor(1, mv, new SlotViews(sab, layout, 0), new PagerViews(sab, layout, 0), new ThreadStats(sab, layout, 2), [], false, WAIT_ADAPTIVE, 1000, null);
  const p = make(Process);
  const pc = make(CountingProcess);
  const pfns: number[] = [];
  for (let i = 0; i < 4; i++) {
    const pfn = phys.allocFrame(FI_KERNEL, true);
    pfns.push(pfn);
    mv.tlbR[(VA >>> 12) + i] = pfn + 1;
    mv.tlbW[(VA >>> 12) + i] = pfn + 1;
  }
  const raw = new Int32Array(sab, layout.framesOff, layout.frames * 1024);
  return { p, pc, pfns, raw };
}

export interface TlbResult { task: string; nsPerAccess: number[]; ratioToRaw: number[] }

async function main(): Promise<void> {
  const { runs, time, json } = benchArgs('tlb', 'TLB-hit cost of p.load32/p.store32 against a raw Int32Array read.', {
    runs: { kind: 'int', min: 1, max: 1000, default: 5, help: 'tinybench runs of every task (default 5)' },
    time: { kind: 'int', min: 10, max: 60_000, default: 300, arg: 'MS', help: 'tinybench time per task and run (default 300)' },
    json: { kind: 'string', arg: 'FILE', help: 'also write the results as JSON' },
  });
  const { p, pc, pfns, raw } = setup();
  const base0 = pfns[0] * 1024;
  let sink = 0;
  const tasks: [string, () => void][] = [
    ['raw Int32Array read, 1 page', () => {
      let s = 0;
      for (let k = 0; k < BATCH; k++) s += raw[base0 + (k & 1023)];
      sink += s;
    }],
    ['p.load32 TLB hit, 1 page', () => {
      let s = 0;
      for (let k = 0; k < BATCH; k++) s += p.load32(VA + ((k & 1023) << 2));
      sink += s;
    }],
    ['p.store32 TLB hit, 1 page', () => {
      for (let k = 0; k < BATCH; k++) p.store32(VA + ((k & 1023) << 2), k);
    }],
    ['raw Int32Array read, 4 pages', () => {
      let s = 0;
      for (let k = 0; k < BATCH; k++) s += raw[pfns[k & 3] * 1024 + ((k >> 2) & 1023)];
      sink += s;
    }],
    ['p.load32 TLB hit, 4 pages', () => {
      let s = 0;
      for (let k = 0; k < BATCH; k++) s += p.load32(VA + ((k & 3) << 12) + (((k >> 2) & 1023) << 2));
      sink += s;
    }],
    ['p.load32 TLB hit, 1 page, countAccesses on', () => {
      let s = 0;
      for (let k = 0; k < BATCH; k++) s += pc.load32(VA + ((k & 1023) << 2));
      sink += s;
    }],
  ];
  const per: Record<string, number[]> = {};
  for (let r = 0; r < runs; r++) {
    const bench = new Bench({ time, warmupTime: 100, throws: true });
    for (const [name, fn] of tasks) bench.add(name, fn);
    await bench.run();
    for (const t of bench.tasks) {
      const res = t.result as { latency?: { mean: number } } | undefined;
      const mean = res?.latency?.mean;
      if (typeof mean !== 'number') throw new Error(`tinybench gave no mean for ${t.name}`);
      (per[t.name] ??= []).push((mean * 1e6) / BATCH);
    }
  }
  const rawOf = (name: string) => per[name.includes('4 pages') ? 'raw Int32Array read, 4 pages' : 'raw Int32Array read, 1 page'];
  const results: TlbResult[] = Object.entries(per).map(([task, ns]) => ({ task, nsPerAccess: ns, ratioToRaw: ns.map((v, i) => v / rawOf(task)[i]) }));
  console.log(`TLB-hit cost, ${runs} runs x tinybench ${time} ms/task, batches of ${BATCH}; ${os.cpus().length} CPUs, Node ${process.version}`);
  console.log('task'.padEnd(48), 'ns/access (median, min..max)'.padEnd(30), 'x raw (median, min..max)');
  for (const r of results) {
    const f = (a: number[]) => fmtSpread(a, (x) => x.toFixed(2));
    console.log(r.task.padEnd(48), f(r.nsPerAccess).padEnd(30), r.task.startsWith('raw') ? '' : f(r.ratioToRaw));
  }
  const hit = results.find((r) => r.task === 'p.load32 TLB hit, 1 page')!;
  console.log(`\ntarget: load32 hit <= 3x raw read: ${median(hit.ratioToRaw) <= 3 ? 'PASS' : 'MISS'} (${median(hit.ratioToRaw).toFixed(2)}x median)`);
  if (json) writeFileSync(json, JSON.stringify({ runs, time, batch: BATCH, node: process.version, cpus: os.cpus().length, results }, null, 1));
  if (sink === 0.5) console.log(sink);
}

await main();
