/**
 * The NIC echo, devpager side: one process drives the NIC through devpager/devices/nic's program
 * helper, round after round as the host says (rounds.ts): `packets` packets out, each back
 * through the host's echo, every byte checked, as many in flight as the queue holds.
 */
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../constants.js';
import { openNic } from '../../devices/nic/index.js';
import type { Process } from '../../process/types.js';
import { CTL_BAD, CTL_DONE, CTL_GO } from './ctl-driver.js';
import { badBytes, makePool, packet } from './packets.js';

export default function main(p: Process, packets: number, seed: number, spin: number): string {
  const nic = openNic(p, '/dev/nic0', { spin });
  const ctl = p.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, p.open('/dev/devbench0', O_RDWR), 0);
  const pool = makePool(seed);
  const inb = new Uint8Array(nic.bufferSize);
  for (let round = 1; ; round++) {
    let go: number;
    while ((go = p.atomicLoad32(ctl + CTL_GO)) !== round && go !== 0xffffffff) p.wait32(ctl + CTL_GO, go);
    if (go === 0xffffffff) break;
    let sent = 0;
    let received = 0;
    let bad = 0;
    while (received < packets) {
      let moved = false;
      while (sent < packets && nic.trySend(packet(pool, sent))) {
        sent++;
        moved = true;
      }
      for (let len; (len = nic.tryReceive(inb)) >= 0; ) {
        bad += badBytes(pool, received, inb, len);
        received++;
        moved = true;
      }
      if (!moved) nic.wait(30_000);
    }
    p.atomicAdd32(ctl + CTL_BAD, bad);
    p.atomicAdd32(ctl + CTL_DONE, 1);
    p.notify32(ctl + CTL_DONE);
  }
  nic.close();
  return 'stopped';
}
