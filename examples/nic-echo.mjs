// nic-echo.mjs — the host's end of a virtio NIC in echo mode: a process sends packets, the host
// puts each one back into the receive queue, the process checks every byte.
//
//   node examples/nic-echo.mjs [packets]
import { Runtime } from 'devpager';
import { Nic } from 'devpager/devices/nic';

const packets = Number(process.argv[2] ?? 10000);
const rt = await Runtime.create({
  devices: [{ name: 'nic', unit: 0, driver: import.meta.resolve('devpager/devices/nic'), config: { queueSize: 256 } }],
});
try {
  const nic = new Nic(rt, '/dev/nic0', { echo: true });
  let seen = 0;
  nic.onPacket((pkt) => void (seen += pkt.length)); // a view of the packet in device memory
  const r = await rt.run(new URL('./nic-echo-prog.mjs', import.meta.url), packets);
  const st = nic.stats;
  console.log(`${r.received} packets echoed in ${r.ms.toFixed(0)} ms, ${r.badBytes} bad bytes; the host saw ${(seen / 1e6).toFixed(1)} MB go by`);
  console.log(`notifications: ${st.kicks} doorbell kicks, ${st.interrupts} interrupts (${st.interruptsSuppressed} suppressed) for ${2 * packets} packets moved`);
} finally {
  await rt.close();
}
