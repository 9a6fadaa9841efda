/**
 * Mailbox: devpager (devpager/devices/mailbox: client processes, the host's MailboxServer) against
 * the hand-written mailbox (hand-mailbox.ts), in the same run, round for round, alternating. Each
 * round every client makes `calls` calls of `size` bytes and checks every byte of each reply.
 */
import { once } from 'node:events';
import { PAGE_SIZE } from '../../constants.js';
import { MailboxServer } from '../../devices/mailbox/index.js';
import { Runtime } from '../../runtime/runtime.js';
import type { CtlState } from './ctl-driver.js';
import { HandMailboxHost, startHandMailboxClient } from './hand-mailbox.js';
import { answer } from './mailbox-work.js';
import { CTL_DRIVER, pairRounds, type PairedRounds } from './nic.js';
import { RoundControl } from './rounds.js';

export const MAILBOX_DRIVER = new URL('../../devices/mailbox/index.js', import.meta.url);

export interface MailboxResult extends PairedRounds {
  clients: number;
  calls: number;
  size: number;
  bad: number;
}

export interface MailboxOptions {
  clients: number;
  calls: number;
  size: number;
  rounds: number;
  warmup: number;
  spin: number;
  timeoutMs: number;
  /** the Runtime's pin option */
  pin?: 'auto' | boolean;
  onStep?: (label: string) => void;
}

export async function runMailbox(o: MailboxOptions): Promise<MailboxResult> {
  const rt = await Runtime.create({
    memory: 32 << 20,
    maxProcesses: o.clients,
    prestart: o.clients,
    pin: o.pin ?? 'auto',
    devices: [
      { name: 'mbox', unit: 0, driver: MAILBOX_DRIVER, config: { channels: o.clients } },
      { name: 'devbench', unit: 0, driver: CTL_DRIVER },
    ],
  });
  const mem = HandMailboxHost.memory(o.clients);
  const handCtl = new SharedArrayBuffer(PAGE_SIZE);
  const host = new HandMailboxHost(mem, o.clients);
  const workers = Array.from({ length: o.clients }, (_, ch) => startHandMailboxClient(mem, handCtl, ch, o.calls, o.size, o.spin));
  const exits = workers.map((w) => once(w, 'exit'));
  try {
    const server = new MailboxServer(rt, '/dev/mbox0', (req, reply) => answer(req, reply));
    const ctl = rt.device('/dev/devbench0').state as CtlState;
    const v = rt.kernel.view(ctl.ctl, PAGE_SIZE);
    const dpRounds = new RoundControl(new Int32Array(v.buffer, v.byteOffset, PAGE_SIZE / 4), o.clients);
    const handRounds = new RoundControl(new Int32Array(handCtl), o.clients);
    const procs = Array.from({ length: o.clients }, () => rt.spawn(new URL('./mailbox-prog.js', import.meta.url), o.calls, o.size, o.spin));
    let failed: unknown = null;
    for (const h of procs) {
      void h.exited.then((s) => {
        if (s.signal || s.error) failed ??= s.error ?? new Error(`a mailbox client died: ${s.signal}`);
      });
    }
    const paired = await pairRounds(
      { rounds: o.rounds, warmup: o.warmup, onStep: o.onStep, what: 'mailbox' },
      async () => {
        const r = await dpRounds.run(o.timeoutMs);
        if (failed) throw failed;
        return r;
      },
      () => handRounds.run(o.timeoutMs),
    );
    dpRounds.stop();
    handRounds.stop();
    for (const h of procs) await h.exited;
    server.close();
    return { ...paired, clients: o.clients, calls: o.calls, size: o.size };
  } finally {
    host.close();
    new RoundControl(new Int32Array(handCtl), o.clients).stop();
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000))]);
    await Promise.all(workers.map((w) => w.terminate()));
    await rt.close();
  }
}
