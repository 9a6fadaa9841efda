/**
 * TLB-hit cost: p.load32 / p.store32 on a page already in the software TLB, against a raw
 * Int32Array read of the same words (issue 4: a hit must cost <= 3x a raw read).
 *
 *   node dist/bench/tlb.js [--runs N] [--time MS] [--json FILE]
 *
 * The Process is the real one (dist/src/process/api.js), built the way the runtime builds it:
 * inside a program realm (process/realm.ts) over a real arena, with its TLB entries filled as a
 * fault would fill them (pfn + 1), so only the hit path runs. The batches run in that realm too,
 * as a program's loop does, so the access methods inline into them as they do in a program. Each
 * tinybench task is a batch of BATCH accesses (the timer's own cost would otherwise swamp a
 * nanosecond access); the accesses sweep the 1024 words of one page (L1-resident) or 4 pages, and
 * the raw reads sweep the same physical words through an Int32Array view of the arena.
 *
 * The realm needs node:vm's modules: run without the flag, the script runs itself again with it.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import vm from 'node:vm';
import { Bench } from 'tinybench';
import { C, FI_KERNEL, TLB_BYTES, VPAGES } from '../src/layout.js';
import { createArena } from '../src/physmem.js';
import type { KernelPort } from '../src/process/api.js';
import { MachineViews } from '../src/process/machine.js';
import { ProgramRealm } from '../src/process/realm.js';
import type { Process } from '../src/process/types.js';

if (typeof (vm as { SourceTextModule?: unknown }).SourceTextModule !== 'function') {
  const r = spawnSync(process.execPath, ['--experimental-vm-modules', '--experimental-import-meta-resolve', '--no-warnings', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
import { median } from '../src/util/stats.js';
import { benchArgs, fmtSpread } from './common.js';

const BATCH = 1 << 14;
const VA = 0x0100_0000;

type Batch = (p: Process, n: number) => number;

async function setup() {
  const { sab, layout, phys } = createArena({ memory: 64 << 20, maxProcs: 2 });
  const mv = new MachineViews(sab, layout);
  const tlb = new SharedArrayBuffer(TLB_BYTES);
  const tlbR = new Int32Array(tlb, 0, VPAGES);
  const tlbW = new Int32Array(tlb, VPAGES * 4, VPAGES);
  const counters = new Float64Array(64);
  const realm = new ProgramRealm({ onLateError: (e) => console.warn(e) });
  const api = await realm.loader.import(new URL('../src/process/api.js', import.meta.url).href);
  const miss = () => {
    throw new Error('bench/tlb: a TLB miss; only hits are measured');
  };
  const port = (countAccesses: boolean): KernelPort =>
    ({
      pid: 1, tid: 1, tlbR, tlbW, m8: mv.m8, m16: mv.m16, m32: mv.m32, m64: mv.m64,
      counters: countAccesses ? counters : null, accessCounter: C.accesses,
      translate: miss, storeRaced: miss,
    }) as unknown as KernelPort;
  const create = api.createProcess as (k: KernelPort) => { process: Process };
  const p = create(port(false)).process;
  const pc = create(port(true)).process;
  const pfns: number[] = [];
  for (let i = 0; i < 4; i++) {
    const pfn = phys.allocFrame(FI_KERNEL, true);
    pfns.push(pfn);
    tlbR[(VA >>> 12) + i] = pfn + 1;
    tlbW[(VA >>> 12) + i] = pfn + 1;
  }
  const raw = new Int32Array(sab, layout.framesOff, layout.frames * 1024);
  // The loops, compiled in the program realm like a program's own.
  const inRealm = <T>(src: string) => vm.runInContext(src, realm.context) as T;
  const loops = {
    raw1: inRealm<(raw: Int32Array, base: number, n: number) => number>('(raw, base, n) => { let s = 0; for (let k = 0; k < n; k++) s += raw[base + (k & 1023)]; return s; }'),
    raw4: inRealm<(raw: Int32Array, pfns: number[], n: number) => number>('(raw, pfns, n) => { let s = 0; for (let k = 0; k < n; k++) s += raw[pfns[k & 3] * 1024 + ((k >> 2) & 1023)]; return s; }'),
    load1: inRealm<Batch>(`(p, n) => { let s = 0; for (let k = 0; k < n; k++) s += p.load32(${VA} + ((k & 1023) << 2)); return s; }`),
    store1: inRealm<Batch>(`(p, n) => { for (let k = 0; k < n; k++) p.store32(${VA} + ((k & 1023) << 2), k); return 0; }`),
    load4: inRealm<Batch>(`(p, n) => { let s = 0; for (let k = 0; k < n; k++) s += p.load32(${VA} + ((k & 3) << 12) + (((k >> 2) & 1023) << 2)); return s; }`),
    loadCounting: inRealm<Batch>(`(p, n) => { let s = 0; for (let k = 0; k < n; k++) s += p.load32(${VA} + ((k & 1023) << 2)); return s; }`),
  };
  return { p, pc, pfns, raw, loops };
}

export interface TlbResult { task: string; nsPerAccess: number[]; ratioToRaw: number[] }

async function main(): Promise<void> {
  const { runs, time, json } = benchArgs('tlb', 'TLB-hit cost of p.load32/p.store32 against a raw Int32Array read.', {
    runs: { kind: 'int', min: 1, max: 1000, default: 5, help: 'tinybench runs of every task (default 5)' },
    time: { kind: 'int', min: 10, max: 60_000, default: 300, arg: 'MS', help: 'tinybench time per task and run (default 300)' },
    json: { kind: 'string', arg: 'FILE', help: 'also write the results as JSON' },
  });
  const { p, pc, pfns, raw, loops } = await setup();
  const base0 = pfns[0] * 1024;
  let sink = 0;
  const tasks: [string, () => void][] = [
    ['raw Int32Array read, 1 page', () => void (sink += loops.raw1(raw, base0, BATCH))],
    ['p.load32 TLB hit, 1 page', () => void (sink += loops.load1(p, BATCH))],
    ['p.store32 TLB hit, 1 page', () => void (sink += loops.store1(p, BATCH))],
    ['raw Int32Array read, 4 pages', () => void (sink += loops.raw4(raw, pfns, BATCH))],
    ['p.load32 TLB hit, 4 pages', () => void (sink += loops.load4(p, BATCH))],
    ['p.load32 TLB hit, 1 page, countAccesses on', () => void (sink += loops.loadCounting(pc, BATCH))],
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
