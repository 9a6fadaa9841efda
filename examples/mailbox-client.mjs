// mailbox-client.mjs — a process: put and get keys through its own mailbox channel.
import { SyscallError } from 'devpager';
import { openMailbox } from 'devpager/devices/mailbox';

export default function main(p, k) {
  const mb = openMailbox(p, '/dev/mbox0');
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const call = (s) => dec.decode(mb.call(enc.encode(s), 5000));
  for (let i = 0; i < 100; i++) call(`put client${k}-key${i} value${i * k}`);
  let right = 0;
  for (let i = 0; i < 100; i++) if (call(`${i % 10 ? 'get' : 'slow-get'} client${k}-key${i}`) === `value${i * k}`) right++;
  let failure = '';
  try {
    call('drop everything');
  } catch (e) {
    failure = e instanceof SyscallError ? `${e.code}: ${e.message}` : String(e);
  }
  const channel = mb.channel;
  mb.close();
  return `client ${k} (pid ${p.pid}, channel ${channel}): ${right}/100 values right; a bad request failed with ${failure}`;
}
