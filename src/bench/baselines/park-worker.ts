/**
 * Park pager worker: every hand-off goes through Atomics.wait / Atomics.notify, never a spin.
 *
 * faulter i: invalidate its PTE, write VA then REQ[i] = seq (one Atomics.store publishes both),
 *   add 1 to DOORBELL and notify it, then Atomics.wait on REP[i] until it reads seq; check the PTE.
 * pager: read DOORBELL, serve every slot whose REQ differs from what it last served (write the PTE,
 *   store REP, notify REP), and when a full pass finds nothing, Atomics.wait on the DOORBELL value
 *   it read *before* the pass (a request posted during the pass changed it, so the wait returns at
 *   once: no lost wake-up). It exits when DONE == procs, so a faulter's last request is always served.
 * Waits carry a long safety timeout; each timeout that fires is counted and reported.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  DONE, DOORBELL, PAGE_SHIFT, PAGES_PER_PROC, PHASE_STOP, WAIT_SAFETY_MS,
  pteFor, repIndex, reqIndex, timeoutsIndex, vaIndex, waitForStart,
} from './layout.js';
import { OpRecorder, type WorkerShared } from './recorder.js';

interface ParkData extends WorkerShared {
  role: 'pager' | 'faulter';
  index: number;
  procs: number;
  queue: SharedArrayBuffer;
  pte: SharedArrayBuffer;
}

const d = workerData as ParkData;
const ctl = new Int32Array(d.ctl);
const q = new Int32Array(d.queue);
const pte = new Int32Array(d.pte);
const port = parentPort!;

function pager(procs: number): void {
  const served = new Int32Array(procs); // last seq served per slot (local: readers never write shared words)
  for (;;) {
    const bell = Atomics.load(ctl, DOORBELL);
    let any = false;
    for (let i = 0; i < procs; i++) {
      const r = Atomics.load(q, reqIndex(i));
      if (r === served[i]) continue;
      const va = Atomics.load(q, vaIndex(i));
      const vpn = va >>> PAGE_SHIFT;
      Atomics.store(pte, vpn, pteFor(vpn)); // the pager work: enter the mapping
      served[i] = r;
      Atomics.store(q, repIndex(i), r);
      Atomics.notify(q, repIndex(i), 1);
      any = true;
    }
    if (any) continue;
    if (Atomics.load(ctl, DONE) === procs) return;
    Atomics.wait(ctl, DOORBELL, bell, WAIT_SAFETY_MS);
  }
}

function faulter(i: number): void {
  const rec = new OpRecorder(d, ctl, i);
  const vpnBase = i * PAGES_PER_PROC;
  const REQ = reqIndex(i);
  const VA = vaIndex(i);
  const REP = repIndex(i);
  let seq = 0;
  let k = 0;
  let timeouts = 0;
  for (;;) {
    const ph = rec.phase();
    if (ph === PHASE_STOP) break;
    const vpn = vpnBase + (k++ & (PAGES_PER_PROC - 1));
    Atomics.store(pte, vpn, 0); // unmap, so the pager really has something to enter
    const prev = seq;
    seq = (seq + 1) | 0;
    Atomics.store(q, VA, vpn << PAGE_SHIFT);
    Atomics.store(q, REQ, seq);
    Atomics.add(ctl, DOORBELL, 1);
    Atomics.notify(ctl, DOORBELL, 1);
    while (Atomics.load(q, REP) !== seq) {
      if (Atomics.wait(q, REP, prev, WAIT_SAFETY_MS) === 'timed-out') timeouts++;
    }
    if (Atomics.load(pte, vpn) !== pteFor(vpn)) throw new Error(`park-pager: PTE for vpn ${vpn} not entered`);
    rec.done(ph);
  }
  rec.publish();
  Atomics.store(ctl, timeoutsIndex(i), timeouts);
  Atomics.add(ctl, DONE, 1);
  Atomics.add(ctl, DOORBELL, 1);
  Atomics.notify(ctl, DOORBELL, 1);
}

port.postMessage('ready');
waitForStart(ctl);
if (d.role === 'pager') pager(d.procs);
else faulter(d.index);
port.postMessage('done');
