/**
 * A client of the hand-written mailbox (hand-mailbox.ts has the design): the same rounds and
 * calls as the devpager client (mailbox-prog.ts), on bare typed arrays.
 */
import { workerData } from 'node:worker_threads';
import { CTL_BAD, CTL_DONE, CTL_GO } from './ctl-driver.js';
import { CHANNEL0, HDR_HOST_SLEEPING, HDR_KICK, HDR_PENDING, REPLY, REP_LEN, REP_SEQ, REQUEST, REQ_LEN, REQ_SEQ, STRIDE, WAITING, wake } from './hand-mailbox.js';
import { fillRequest, replyBad } from './mailbox-work.js';

const d = workerData as { mem: SharedArrayBuffer; ctl: SharedArrayBuffer; channel: number; calls: number; size: number; spin: number };
const i32 = new Int32Array(d.mem);
const u8 = new Uint8Array(d.mem);
const ctl = new Int32Array(d.ctl);
const base = CHANNEL0 + d.channel * STRIDE;
const word = d.channel >> 5;
const bit = 1 << (d.channel & 31);
let seq = 0;

function call(req: Uint8Array, reply: Uint8Array): number {
  u8.set(req, base + REQUEST);
  i32[(base + REQ_LEN) >> 2] = req.length;
  seq = (seq + 1) | 0;
  Atomics.store(i32, (base + REQ_SEQ) >> 2, seq);
  Atomics.or(i32, HDR_PENDING + word, bit);
  wake(i32, HDR_HOST_SLEEPING, HDR_KICK);
  const at = (base + REP_SEQ) >> 2;
  let got = false;
  for (let i = 0; i < d.spin && !got; i++) got = Atomics.load(i32, at) === seq;
  if (!got) {
    Atomics.store(i32, (base + WAITING) >> 2, 1);
    for (let now; (now = Atomics.load(i32, at)) !== seq; ) Atomics.wait(i32, at, now, 30_000);
    Atomics.store(i32, (base + WAITING) >> 2, 0);
  }
  const len = i32[(base + REP_LEN) >> 2];
  reply.set(u8.subarray(base + REPLY, base + REPLY + len));
  return len;
}

const req = new Uint8Array(d.size);
const reply = new Uint8Array(d.size);
for (let round = 1; ; round++) {
  let go: number;
  while ((go = Atomics.load(ctl, CTL_GO / 4)) !== round && go !== -1) Atomics.wait(ctl, CTL_GO / 4, go);
  if (go === -1) break;
  let bad = 0;
  for (let i = 0; i < d.calls; i++) {
    fillRequest(req, d.channel, i);
    const len = call(req, reply);
    bad += replyBad(req, reply, len);
  }
  Atomics.add(ctl, CTL_BAD / 4, bad);
  Atomics.add(ctl, CTL_DONE / 4, 1);
  Atomics.notify(ctl, CTL_DONE / 4);
}
