/**
 * postMessage pager worker: what a user would write without this library.
 *
 * A worker cannot block waiting for a MessagePort message (there is no synchronous receive that
 * sleeps), so the faulting thread runs an async loop and `await`s one reply per fault:
 *   port.postMessage({ va }) -> pager's 'message' handler enters the PTE and posts { va, pte } back
 *   -> the faulter's 'message' handler resolves the pending promise -> the loop continues.
 * Each fault therefore costs a structured clone each way, two event-loop turns, and one Promise
 * plus closure in the faulter: that allocation is part of what this baseline measures, on purpose.
 * Latency recording itself allocates nothing (preallocated shared Float64Array).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  PAGE_SHIFT, PAGES_PER_PROC, PHASE_STOP, pteFor, waitForStart,
} from './layout.js';
import { OpRecorder, type WorkerShared } from './recorder.js';

interface PmData extends WorkerShared {
  role: 'pager' | 'faulter';
  index: number;
  pte: SharedArrayBuffer;
  ports: MessagePort[];
}

interface FaultRequest { va: number }
interface FaultReply { va: number; pte: number }

const d = workerData as PmData;
const ctl = new Int32Array(d.ctl);
const pte = new Int32Array(d.pte);
const parent = parentPort!;

function pager(): void {
  for (const port of d.ports) {
    port.on('message', (m: FaultRequest) => {
      const vpn = m.va >>> PAGE_SHIFT;
      const value = pteFor(vpn);
      Atomics.store(pte, vpn, value); // the same pager work as the park pager
      port.postMessage({ va: m.va, pte: value } satisfies FaultReply);
    });
  }
  parent.on('message', (m: unknown) => {
    if (m === 'stop') {
      for (const port of d.ports) port.close();
      parent.postMessage('done');
      parent.close();
    }
  });
  parent.postMessage('ready');
}

async function faulter(i: number): Promise<void> {
  const port = d.ports[0]!;
  const vpnBase = i * PAGES_PER_PROC;
  let pending: ((r: FaultReply) => void) | null = null;
  port.on('message', (r: FaultReply) => {
    const res = pending;
    pending = null;
    res?.(r);
  });
  const fault = (va: number): Promise<FaultReply> => new Promise<FaultReply>((res) => {
    pending = res;
    port.postMessage({ va } satisfies FaultRequest);
  });

  parent.postMessage('ready');
  waitForStart(ctl); // blocking is fine here: nothing is in flight yet
  const rec = new OpRecorder(d, ctl, i);
  let k = 0;
  for (;;) {
    const ph = rec.phase();
    if (ph === PHASE_STOP) break;
    const vpn = vpnBase + (k++ & (PAGES_PER_PROC - 1));
    Atomics.store(pte, vpn, 0);
    const r = await fault(vpn << PAGE_SHIFT);
    if (r.pte !== pteFor(vpn) || Atomics.load(pte, vpn) !== r.pte) {
      throw new Error(`postmessage-pager: PTE for vpn ${vpn} not entered`);
    }
    rec.done(ph);
  }
  rec.publish();
  port.close();
  parent.postMessage('done');
}

if (d.role === 'pager') pager();
else await faulter(d.index);
