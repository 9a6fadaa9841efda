// mailbox.mjs — the host serves a tiny key-value store to several client processes through the
// mailbox device: each client has its own request/reply channel, the host answers in its event
// loop (synchronously, or later: an async handler keeps only that client waiting).
//
//   node examples/mailbox.mjs [clients]
import { Runtime } from 'devpager';
import { MailboxServer } from 'devpager/devices/mailbox';

const clients = Number(process.argv[2] ?? 4);
const rt = await Runtime.create({
  devices: [{ name: 'mbox', unit: 0, driver: import.meta.resolve('devpager/devices/mailbox'), config: { channels: clients } }],
});
try {
  const store = new Map();
  const text = new TextDecoder();
  const server = new MailboxServer(rt, '/dev/mbox0', (request, reply, { pid }) => {
    const [op, key, value] = text.decode(request).split(' ');
    if (op === 'put') store.set(key, value);
    else if (op === 'slow-get') return new Promise((r) => setTimeout(r, 5)).then(() => new TextEncoder().encode(store.get(key) ?? ''));
    else if (op !== 'get') throw new Error(`pid ${pid}: unknown operation ${op}`);
    return new TextEncoder().encode(store.get(key) ?? '');
  });
  const prog = new URL('./mailbox-client.mjs', import.meta.url);
  const results = await Promise.all(Array.from({ length: clients }, (_, k) => rt.run(prog, k)));
  for (const r of results) console.log(r);
  console.log(`${server.stats.requests} requests answered (${server.stats.failed} failed), ${store.size} keys stored`);
} finally {
  await rt.close();
}
