// nic-echo-prog.mjs — a process: send `packets` packets of 60..1500 bytes through /dev/nic0 and
// receive them back, as many in flight as the transmit queue holds.
import { openNic } from 'devpager/devices/nic';

export default function main(p, packets) {
  const nic = openNic(p, '/dev/nic0');
  const out = new Uint8Array(nic.bufferSize);
  const got = new Uint8Array(nic.bufferSize);
  const make = (seq) => {
    const len = 60 + ((seq * 7919) % 1441);
    for (let i = 0; i < len; i++) out[i] = (seq + i) & 255;
    return out.subarray(0, len);
  };
  let sent = 0, received = 0, badBytes = 0;
  const t0 = performance.now();
  while (received < packets) {
    let moved = false;
    while (sent < packets && nic.trySend(make(sent))) (sent++, (moved = true));
    for (let len; (len = nic.tryReceive(got)) >= 0; received++, moved = true) {
      const want = make(received);
      if (len !== want.length) badBytes += Math.max(len, want.length);
      else for (let i = 0; i < len; i++) if (got[i] !== want[i]) badBytes++;
    }
    if (!moved) nic.wait(10_000); // neither room to send nor a packet: sleep until the device answers
  }
  const ms = performance.now() - t0;
  nic.close();
  return { received, badBytes, ms };
}
