/**
 * The ready devices as a user gets them: a fresh project whose node_modules/devpager is this
 * package imports devpager/devices/{framebuffer,nic,mailbox} through the exports map, names the
 * same modules as drivers, and runs a program that uses all three helpers.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from './helpers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const HOST = `
import { Runtime } from 'devpager';
import { Framebuffer } from 'devpager/devices/framebuffer';
import { Nic } from 'devpager/devices/nic';
import { MailboxServer } from 'devpager/devices/mailbox';

const rt = await Runtime.create({
  devices: [
    { name: 'fb', unit: 0, driver: import.meta.resolve('devpager/devices/framebuffer'), config: { width: 64, height: 32 } },
    { name: 'nic', unit: 0, driver: import.meta.resolve('devpager/devices/nic'), config: { queueSize: 16 } },
    { name: 'mbox', unit: 0, driver: import.meta.resolve('devpager/devices/mailbox'), config: { channels: 2 } },
  ],
});
try {
  const fb = new Framebuffer(rt, '/dev/fb0');
  new Nic(rt, '/dev/nic0', { echo: true });
  new MailboxServer(rt, '/dev/mbox0', (req, reply) => (reply.set(req.reverse()), req.length));
  const r = await rt.run(new URL('./prog.mjs', import.meta.url));
  console.log(JSON.stringify({ ...r, dirty: fb.dirtyRects(), png: fb.png().subarray(1, 4).toString() }));
} finally {
  await rt.close();
}
`;

const PROG = `
import { openFramebuffer, rgba } from 'devpager/devices/framebuffer';
import { openNic } from 'devpager/devices/nic';
import { openMailbox } from 'devpager/devices/mailbox';

export default function main(p) {
  const fb = openFramebuffer(p, '/dev/fb0');
  fb.fillRect(0, 3, 64, 2, rgba(1, 2, 3));
  const nic = openNic(p, '/dev/nic0');
  nic.send(new Uint8Array([1, 2, 3, 4]));
  const echoed = [...nic.receive(10_000)];
  nic.close();
  const mb = openMailbox(p, '/dev/mbox0');
  const reply = [...mb.call(new Uint8Array([5, 6, 7]), 10_000)];
  mb.close();
  return { echoed, reply };
}
`;

test('devpager/devices/* resolve through the exports map from a fresh project; drivers, host classes and helpers work together', () =>
  withTimeout(90_000, async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'devpager-devices-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(ROOT, join(dir, 'node_modules', 'devpager'), 'dir');
      writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}');
      writeFileSync(join(dir, 'host.mjs'), HOST);
      writeFileSync(join(dir, 'prog.mjs'), PROG);
      const { stdout } = await run(process.execPath, ['host.mjs'], { cwd: dir, timeout: 80_000 });
      const r = JSON.parse(stdout.trim().split('\n').pop()!);
      assert.equal(r.echoed, [1, 2, 3, 4]);
      assert.equal(r.reply, [7, 6, 5]);
      assert.equal(r.dirty, [{ x: 0, y: 0, width: 64, height: 16 }], 'rows 3 and 4 share page 0 with rows 0..15 (64 pixels a row)');
      assert.is(r.png, 'PNG');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 'devices from a fresh project'));

test.run();
