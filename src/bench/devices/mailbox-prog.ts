/**
 * The mailbox, devpager side: one client process, through devpager/devices/mailbox's program
 * helper, making `calls` calls per round (rounds.ts) and checking every byte of every reply.
 */
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../constants.js';
import { openMailbox } from '../../devices/mailbox/index.js';
import type { Process } from '../../process/types.js';
import { CTL_BAD, CTL_DONE, CTL_GO } from './ctl-driver.js';
import { fillRequest, replyBad } from './mailbox-work.js';

export default function main(p: Process, calls: number, size: number, spin: number): string {
  const mb = openMailbox(p, '/dev/mbox0', { spin });
  const ctl = p.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, p.open('/dev/devbench0', O_RDWR), 0);
  const req = new Uint8Array(size);
  const reply = new Uint8Array(size);
  for (let round = 1; ; round++) {
    let go: number;
    while ((go = p.atomicLoad32(ctl + CTL_GO)) !== round && go !== 0xffffffff) p.wait32(ctl + CTL_GO, go);
    if (go === 0xffffffff) break;
    let bad = 0;
    for (let i = 0; i < calls; i++) {
      fillRequest(req, mb.channel, i);
      const len = mb.callInto(req, reply, 30_000);
      bad += replyBad(req, reply, len);
    }
    p.atomicAdd32(ctl + CTL_BAD, bad);
    p.atomicAdd32(ctl + CTL_DONE, 1);
    p.notify32(ctl + CTL_DONE);
  }
  mb.close();
  return 'stopped';
}
