/**
 * The baselines of the device bench's latencies (latency.ts), what one writes without devpager:
 *
 *   postmessage  for each sample the host asks for (ACK word), wait `gapMs`, then
 *                parentPort.postMessage(clock reading); the host's 'message' handler takes it
 *   notify       block in Atomics.wait; on each wake take now - the host's stamp (STAMP slot);
 *                acknowledge; a stamp of -1 ends it and posts the latencies
 *
 * Clock readings are on the host's timeline: performance.now() plus this thread's timeOrigin
 * minus the host's (as src/clock.ts does for devpager's threads).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTL_ACK, CTL_STAMP } from './ctl-driver.js';

const d = workerData as { mode: 'postmessage' | 'notify'; words: SharedArrayBuffer; hostOrigin: number; gapMs: number };
const w = new Int32Array(d.words);
const f = new Float64Array(d.words);
const delta = performance.timeOrigin - d.hostOrigin;
const clock = () => performance.now() + delta;
const ACK = CTL_ACK / 4;
const STAMP = CTL_STAMP / 8;
/** a word nobody changes: Atomics.wait on it is a sleep */
const NAP = 100;

if (d.mode === 'postmessage') {
  for (let seen = 0; ; ) {
    let ack: number;
    while ((ack = Atomics.load(w, ACK)) === seen) Atomics.wait(w, ACK, seen);
    if (ack === -1) break;
    seen = ack;
    Atomics.wait(w, NAP, 0, d.gapMs);
    parentPort!.postMessage(clock());
  }
} else {
  const lat: number[] = [];
  Atomics.store(w, ACK, 1);
  Atomics.notify(w, ACK);
  for (let v = 0; ; ) {
    while (Atomics.load(w, 0) === v) Atomics.wait(w, 0, v);
    v = Atomics.load(w, 0);
    const now = clock();
    const stamp = f[STAMP];
    if (stamp < 0) break;
    lat.push((now - stamp) * 1e6);
    Atomics.add(w, ACK, 1);
    Atomics.notify(w, ACK);
  }
  parentPort!.postMessage(lat);
}
