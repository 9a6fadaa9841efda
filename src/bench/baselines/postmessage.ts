/**
 * "postMessage pager": the same fault hand-off as the park pager, answered through MessagePort
 * postMessage by one pager thread with one MessageChannel per faulting thread. The faulting
 * thread awaits each reply in an async loop (it cannot block on a port); see postmessage-worker.ts.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ctlBytes, PAGES_PER_PROC, PHASE_STOP } from './layout.js';
import {
  WorkerGroup, collect, durationOption, intOption, runWindow, setPhase, type BaselineResult,
} from './harness.js';
import { pagerSampleCap } from './park.js';

const WORKER = new URL('./postmessage-worker.js', import.meta.url);

export async function postMessagePager(opts: { procs?: number; durationMs?: number } = {}): Promise<BaselineResult> {
  const procs = intOption('procs', opts.procs, 1, 1, 64);
  const durationMs = durationOption(opts.durationMs);
  const cap = pagerSampleCap(procs);
  const ctlBuf = new SharedArrayBuffer(ctlBytes(procs));
  const ctl = new Int32Array(ctlBuf);
  const pte = new SharedArrayBuffer(4 * PAGES_PER_PROC * procs);
  const samples = new SharedArrayBuffer(8 * cap * procs);
  const group = new WorkerGroup();
  const pagerSide: MessagePort[] = [];
  const faulterSide: MessagePort[] = [];
  for (let i = 0; i < procs; i++) {
    const ch = new MessageChannel();
    pagerSide.push(ch.port1);
    faulterSide.push(ch.port2);
  }
  try {
    const common = { ctl: ctlBuf, pte, samples, cap };
    for (let i = 0; i < procs; i++) {
      group.add(WORKER, `pm-faulter-${i}`, { ...common, role: 'faulter', index: i, ports: [faulterSide[i]] }, [faulterSide[i]!]);
    }
    group.add(WORKER, 'pm-pager', { ...common, role: 'pager', index: -1, ports: pagerSide }, pagerSide);
    await group.allReady();
    const elapsedMs = await runWindow(ctl, durationMs);
    // Faulters finish their in-flight fault and report; then the pager is told to stop.
    await group.doneOf(Array.from({ length: procs }, (_, i) => i), 10_000);
    group.post(procs, 'stop');
    await group.allDone();
    return collect('postmessage-pager', ctl, new Float64Array(samples), cap, procs, elapsedMs);
  } finally {
    setPhase(ctl, PHASE_STOP);
    await group.close();
    // Ports handed to a worker are detached here and close() is a no-op; any not handed over are closed.
    for (const p of [...pagerSide, ...faulterSide]) p.close();
  }
}
