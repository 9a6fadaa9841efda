/**
 * Worker for the concurrent allocator test (test/physmem.test.ts).
 *
 * Attaches to the shared arena as thread `thread`, waits at a start gate so all workers hammer the
 * allocator at once, then runs `ops` seeded-random operations: allocFrame (scattered and
 * sequential), kmAlloc (1..4 pages, sometimes zeroed) and frees. Every frame it owns carries a
 * canary (owner id, sequence number, pfn/page index); the canary is checked before each free and
 * periodically for everything owned, so a frame handed to two owners is caught by whichever writes
 * second. At the end it frees all but a random subset, which it reports (with the canaries) so the
 * main thread can check ownership across workers and free the rest itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PAGE_SIZE } from '../../src/constants.js';
import { C, FI_ANON, FI_KERNEL } from '../../src/layout.js';
import { attachArena } from '../../src/physmem.js';
import { mulberry32 } from '../helpers.js';
import { CANARY_WORDS, kmCanary, rawCanary } from './physmem-canary.js';

export interface PhysWorkerData {
  sab: SharedArrayBuffer;
  /** Int32Array(2): [ready count, go flag] */
  gate: SharedArrayBuffer;
  id: number;
  thread: number;
  seed: number;
  ops: number;
  /** Most frames this worker holds at once; the sum over workers exceeds the arena on purpose. */
  maxHeld: number;
  /** Fraction of what it holds at the end that it leaves for the main thread. */
  keepAtEnd: number;
}

export interface RawHeld { pfn: number; seq: number; type: number }
export interface KmHeld { kva: number; npages: number; seq: number }

export interface PhysWorkerResult {
  id: number;
  raw: RawHeld[];
  km: KmHeld[];
  stats: {
    allocFrame: number; kmAlloc: number; frees: number; kmFrees: number;
    enomemFrame: number; enomemKm: number; zeroChecked: number; verifications: number;
    casRetries: number; ms: number;
  };
}

const W = PAGE_SIZE / 4; // Int32 words per frame

function run(d: PhysWorkerData): PhysWorkerResult {
  const phys = attachArena(d.sab, d.thread);
  const m32 = phys.m32;
  const rng = mulberry32(d.seed);
  const where = `worker ${d.id} (seed ${d.seed})`;
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };

  const raw = new Map<number, RawHeld>(); // pfn -> held
  const km: KmHeld[] = [];
  const mine = new Set<number>(); // every pfn this worker owns, raw or kernel
  let held = 0;
  let seq = 0;
  const stats = {
    allocFrame: 0, kmAlloc: 0, frees: 0, kmFrees: 0, enomemFrame: 0, enomemKm: 0, zeroChecked: 0,
    verifications: 0, casRetries: 0, ms: 0,
  };

  const claim = (pfn: number, what: string) => {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= phys.nframes) fail(`${what} returned pfn ${pfn}, outside [0, ${phys.nframes})`);
    if (mine.has(pfn)) fail(`${what} handed out pfn ${pfn}, which this worker already owns`);
    if (((Atomics.load(phys.bitmap, pfn >>> 5) >>> (pfn & 31)) & 1) === 0) fail(`${what}: pfn ${pfn} is not marked in the bitmap`);
    mine.add(pfn);
  };

  const checkRaw = (h: RawHeld) => {
    const want = rawCanary(d.id, h.seq, h.pfn);
    for (let k = 0; k < 4; k++) {
      const got = Atomics.load(m32, h.pfn * W + CANARY_WORDS[k]);
      if (got !== want[k]) fail(`frame ${h.pfn} (seq ${h.seq}) canary word ${CANARY_WORDS[k]} is ${got}, expected ${want[k]}: someone else wrote my frame`);
    }
    if (phys.frameType(h.pfn) !== h.type) fail(`frame ${h.pfn} type is ${phys.frameType(h.pfn)}, expected ${h.type}`);
  };

  const kmPfns = (a: KmHeld): number[] => {
    const out: number[] = [];
    for (let i = 0; i < a.npages; i++) {
      const pa = phys.pmapExtract(a.kva + i * PAGE_SIZE);
      if (pa < 0 || pa % PAGE_SIZE !== 0) fail(`kva ${a.kva} page ${i}: pmapExtract gave ${pa}`);
      out.push(pa / PAGE_SIZE);
    }
    return out;
  };

  const checkKm = (a: KmHeld) => {
    const pfns = kmPfns(a);
    for (let i = 0; i < a.npages; i++) {
      const want = kmCanary(d.id, a.seq, i);
      for (let k = 0; k < 4; k++) {
        const got = phys.load32(a.kva + i * PAGE_SIZE + CANARY_WORDS[k] * 4) | 0;
        if (got !== want[k]) fail(`kva ${a.kva} page ${i} (pfn ${pfns[i]}, seq ${a.seq}) canary word ${CANARY_WORDS[k]} is ${got}, expected ${want[k]}`);
      }
      if (phys.frameType(pfns[i]) !== FI_KERNEL) fail(`kernel page pfn ${pfns[i]} has type ${phys.frameType(pfns[i])}`);
    }
  };

  const verifyAll = () => {
    stats.verifications++;
    for (const h of raw.values()) checkRaw(h);
    for (const a of km) checkKm(a);
  };

  const allocRaw = () => {
    const scatter = rng.chance(0.5);
    const type = rng.chance(0.5) ? FI_KERNEL : FI_ANON;
    const pfn = phys.allocFrame(type, scatter);
    if (pfn === -1) { stats.enomemFrame++; return false; }
    claim(pfn, `allocFrame(${type}, ${scatter})`);
    stats.allocFrame++;
    const h: RawHeld = { pfn, seq: ++seq, type };
    const c = rawCanary(d.id, h.seq, pfn);
    for (let k = 0; k < 4; k++) Atomics.store(m32, pfn * W + CANARY_WORDS[k], c[k]);
    raw.set(pfn, h);
    held++;
    return true;
  };

  const allocKm = () => {
    const npages = rng.range(1, 4);
    const zero = rng.chance(0.3);
    let kva: number;
    try {
      kva = phys.kmAlloc(npages * PAGE_SIZE - rng.int(PAGE_SIZE), { zero });
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ENOMEM') throw e;
      stats.enomemKm++;
      return false;
    }
    stats.kmAlloc++;
    const a: KmHeld = { kva, npages, seq: ++seq };
    const pfns = kmPfns(a);
    pfns.forEach((p, i) => claim(p, `kmAlloc page ${i}`));
    for (let i = 0; i < npages; i++) {
      if (zero) {
        const base = pfns[i] * W;
        for (let w = 0; w < W; w++) {
          if (m32[base + w] !== 0) fail(`kmAlloc({zero:true}) page ${i} (pfn ${pfns[i]}) word ${w} is ${m32[base + w]}, not 0`);
        }
        stats.zeroChecked++;
      }
      const c = kmCanary(d.id, a.seq, i);
      for (let k = 0; k < 4; k++) phys.store32(kva + i * PAGE_SIZE + CANARY_WORDS[k] * 4, c[k]);
    }
    km.push(a);
    held += npages;
    return true;
  };

  const freeOne = () => {
    const nRaw = raw.size;
    const n = nRaw + km.length;
    if (n === 0) return;
    const k = rng.int(n);
    if (k < nRaw) {
      const h = [...raw.values()][k];
      checkRaw(h);
      // Scribble so a stale reader of this frame sees garbage, not a valid canary.
      for (let w = 0; w < 4; w++) Atomics.store(m32, h.pfn * W + CANARY_WORDS[w], -1);
      raw.delete(h.pfn);
      mine.delete(h.pfn);
      phys.freeFrame(h.pfn);
      held--;
      stats.frees++;
    } else {
      const i = k - nRaw;
      const a = km[i];
      checkKm(a);
      const pfns = kmPfns(a);
      for (let p = 0; p < a.npages; p++) phys.store32(a.kva + p * PAGE_SIZE, -1);
      km[i] = km[km.length - 1];
      km.pop();
      phys.kmFree(a.kva, a.npages * PAGE_SIZE - rng.int(PAGE_SIZE)); // any size that rounds to npages
      for (const p of pfns) mine.delete(p);
      held -= a.npages;
      stats.kmFrees++;
    }
  };

  // ---- start gate: everyone starts together
  const gate = new Int32Array(d.gate);
  Atomics.add(gate, 0, 1);
  Atomics.notify(gate, 0);
  const deadline = Date.now() + 20_000;
  while (Atomics.load(gate, 1) === 0) {
    if (Date.now() > deadline) fail('start gate never opened');
    Atomics.wait(gate, 1, 0, 100);
  }

  const t0 = performance.now();
  for (let op = 0; op < d.ops; op++) {
    if (held < d.maxHeld && rng.chance(0.55)) {
      const ok = rng.chance(0.5) ? allocRaw() : allocKm();
      if (!ok) freeOne(); // memory is short: give something back
    } else {
      freeOne();
    }
    if ((op & 255) === 255) verifyAll();
  }
  verifyAll();
  // Leave a random part for the main thread; free the rest concurrently with the other workers.
  let left = raw.size + km.length;
  for (let k = 0; k < left; ) {
    if (rng.chance(d.keepAtEnd)) { k++; continue; }
    freeOne();
    left--;
  }
  stats.ms = performance.now() - t0;
  stats.casRetries = phys.counters[C.casRetriesFrame];
  return { id: d.id, raw: [...raw.values()], km, stats };
}

const data = workerData as PhysWorkerData;
parentPort!.postMessage(run(data));
