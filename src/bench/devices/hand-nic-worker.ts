/**
 * The hand-written NIC echo's worker (hand-nic.ts has the design): the same loop as the devpager
 * program (nic-prog.ts) — send while there is room, receive and check every byte while there are
 * packets, wait when neither — on bare typed arrays over the SharedArrayBuffer.
 */
import { workerData } from 'node:worker_threads';
import { CTL_BAD, CTL_DONE, CTL_GO } from './ctl-driver.js';
import { H_HOST_SLEEPING, H_KICK, H_RX_HEAD, H_RX_TAIL, H_TX_HEAD, H_TX_TAIL, H_WAKE, H_WORKER_SLEEPING, SLOT, wake, type HandNicShared } from './hand-nic.js';
import { badBytes, makePool, packet } from './packets.js';

const d = workerData as HandNicShared & { packets: number; seed: number; spin: number };
const ctl = new Int32Array(d.ctl);
const h = new Int32Array(d.hdr);
const lens = new Int32Array(d.lens);
const data = new Uint8Array(d.data);
const q = d.queueSize;
const mask = q - 1;
let txTail = 0;
let rxHead = 0;

function trySend(pkt: Uint8Array): boolean {
  if (txTail - Atomics.load(h, H_TX_HEAD) >= q) return false;
  const slot = txTail & mask;
  data.set(pkt, slot * SLOT);
  lens[slot] = pkt.length;
  Atomics.store(h, H_TX_TAIL, ++txTail);
  wake(h, H_HOST_SLEEPING, H_KICK);
  return true;
}

function tryReceive(dst: Uint8Array): number {
  if (rxHead === Atomics.load(h, H_RX_TAIL)) return -1;
  const slot = rxHead & mask;
  const len = lens[q + slot];
  const at = (q + slot) * SLOT;
  dst.set(data.subarray(at, at + len));
  Atomics.store(h, H_RX_HEAD, ++rxHead);
  wake(h, H_HOST_SLEEPING, H_KICK); // the host may wait for room in the receive ring
  return len;
}

function ready(): boolean {
  return rxHead !== Atomics.load(h, H_RX_TAIL) || txTail - Atomics.load(h, H_TX_HEAD) < q;
}

function wait(): void {
  for (let i = 0; i <= d.spin; i++) if (ready()) return;
  const v = Atomics.load(h, H_WAKE);
  Atomics.store(h, H_WORKER_SLEEPING, 1);
  if (!ready()) Atomics.wait(h, H_WAKE, v, 30_000);
  Atomics.store(h, H_WORKER_SLEEPING, 0);
}

const pool = makePool(d.seed);
const inb = new Uint8Array(SLOT);
for (let round = 1; ; round++) {
  let go: number;
  while ((go = Atomics.load(ctl, CTL_GO / 4)) !== round && go !== -1) Atomics.wait(ctl, CTL_GO / 4, go);
  if (go === -1) break;
  let sent = 0;
  let received = 0;
  let bad = 0;
  while (received < d.packets) {
    let moved = false;
    while (sent < d.packets && trySend(packet(pool, sent))) {
      sent++;
      moved = true;
    }
    for (let len; (len = tryReceive(inb)) >= 0; ) {
      bad += badBytes(pool, received, inb, len);
      received++;
      moved = true;
    }
    if (!moved) wait();
  }
  Atomics.add(ctl, CTL_BAD / 4, bad);
  Atomics.add(ctl, CTL_DONE / 4, 1);
  Atomics.notify(ctl, CTL_DONE / 4);
}
