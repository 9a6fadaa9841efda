/**
 * What the pager spends on one fault, with no thread on the other side: the real Pager class over
 * a real arena, on this thread, serving OP_FAULT requests written straight into a slot whose map
 * holds one device entry (the bench driver, as `devpager bench` uses it, or the mail's foo
 * driver). A fault's round trip is this plus the cross-thread handoff (bench/fault-loop.ts
 * --floor), so this is the part the pager's own code decides.
 *
 *   node dist/bench/pager-service.js [--runs 15] [--pages 4096] [--driver bench|foo]
 *
 * Each run serves `pages` faults (one per page, in order), then removes the PTEs as a refault
 * round does (pmapRemove), and reports ns per fault and per removed page; the table gives the
 * median and the spread over runs, after a warm-up that lets V8 optimise the path.
 */
import { MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../src/constants.js';
import type { Driver } from '../src/driver.js';
import bench from '../src/drivers/bench.js';
import foo from '../src/drivers/foo.js';
import { KernelApi } from '../src/kernel.js';
import { STATUS_LIVE, S_STATUS, TLB_BYTES } from '../src/layout.js';
import { Pager } from '../src/pager/pager.js';
import { OP_FAULT, OP_MMAP, OP_PMAP_REMOVE, R_ARG, R_OP, R_POST_TS, R_SEQ, RES_ERR, RES_VAL } from '../src/pager/protocol.js';
import { createArena } from '../src/physmem.js';
import { benchArgs, fmtSpread } from './common.js';

const { runs, pages, driver } = benchArgs('pager-service', 'What the pager spends on one fault, on one thread, without the handoff.', {
  runs: { kind: 'int', min: 1, max: 100_000, default: 15, help: 'timed rounds after the warm-up (default 15)' },
  pages: { kind: 'int', min: 1, max: 1_000_000, default: 4096, help: 'pages of the mapping: faults per round (default 4096)' },
  driver: { kind: 'choice', choices: ['bench', 'foo'], default: 'bench', help: 'the device: bench (as devpager bench uses it) or foo (default bench)' },
});
const drivers: Record<typeof driver, { driver: Driver; config: unknown }> = {
  bench: { driver: bench, config: { pages, ring: Math.min(pages, 4096) } },
  foo: { driver: foo, config: { size1: pages * PAGE_SIZE } },
};
const d = drivers[driver];

const { sab, layout, phys } = createArena({ memory: 128 << 20, maxProcs: 2 });
const tlbs = [new SharedArrayBuffer(TLB_BYTES)];
const kernel = new KernelApi(phys);
const state = await d.driver.attach!(kernel, 0, d.config);
const pager = new Pager(sab, layout, 0, [{ driver: d.driver, handle: Object.freeze({ name: d.driver.name, unit: 0, state }), path: `/dev/${d.driver.name}0` }], tlbs);
const s = pager.slots[0];
Atomics.store(s.status, S_STATUS, STATUS_LIVE);
// serve() is the pager's own request entry point; it is private to keep callers on the protocol.
const serve = (pager as unknown as { serve(slot: number): void }).serve.bind(pager);
let seq = 0;
function request(op: number, ...args: number[]): number {
  const req = s.req;
  req[R_OP] = op;
  req[R_SEQ] = ++seq;
  req[R_POST_TS] = 0;
  for (let i = 0; i < args.length; i++) req[R_ARG + i] = args[i];
  serve(0);
  if (s.res[RES_ERR] !== 0) throw new Error(`request ${op} failed: errno ${s.res[RES_ERR]}`);
  return s.res[RES_VAL];
}
const len = pages * PAGE_SIZE;
const va = request(OP_MMAP, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0, 0, PROT_READ | PROT_WRITE);

function round(): [number, number] {
  const req = s.req;
  let errs = 0;
  const t0 = performance.now();
  for (let i = 0; i < pages; i++) {
    req[R_OP] = OP_FAULT;
    req[R_SEQ] = ++seq;
    req[R_POST_TS] = 0;
    req[R_ARG] = va + i * PAGE_SIZE;
    req[R_ARG + 1] = PROT_READ;
    serve(0);
    errs += s.res[RES_ERR];
  }
  const t1 = performance.now();
  if (errs !== 0) throw new Error(`faults failed (errno sum ${errs}) at va 0x${va.toString(16)}`);
  request(OP_PMAP_REMOVE, va, va + len); // the pager gets [start, end)
  const t2 = performance.now();
  if (s.res[RES_VAL] !== pages) throw new Error(`pmapRemove removed ${s.res[RES_VAL]} PTEs, expected ${pages}`);
  return [((t1 - t0) * 1e6) / pages, ((t2 - t1) * 1e6) / pages];
}

for (let i = 0; i < 20; i++) round(); // warm-up: let V8 optimise serve and the fault path
const fault: number[] = [];
const remove: number[] = [];
for (let r = 0; r < runs; r++) {
  const [f, rm] = round();
  fault.push(f);
  remove.push(rm);
}
const ns = (x: number) => x.toFixed(0);
console.log(`pager service, ${driver} driver, ${pages} pages, ${runs} runs: ns, median (min..max)`);
console.log(`fault (OP_FAULT served, reply written)  ${fmtSpread(fault, ns)}`);
console.log(`pmapRemove, per page                    ${fmtSpread(remove, ns)}`);
