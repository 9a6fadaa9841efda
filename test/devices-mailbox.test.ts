/**
 * devpager/devices/mailbox through the public API: client processes call through openMailbox, the
 * host answers with a MailboxServer in its event loop.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { MailboxServer, type MailboxHandler } from '../src/devices/mailbox/index.js';
import { FOODRV, fixture, sleep, withRuntime, withTimeout } from './fixtures/pager-host.js';

const PROG = fixture('devmbox-prog');
const MBOXDRV = new URL('../src/devices/mailbox/index.js', import.meta.url);
const mboxDevice = (config?: Record<string, unknown>) => ({ name: 'mbox', unit: 0, driver: MBOXDRV, config });

/** The request reversed, in place in the reply area, then the caller's pid. */
const reverser: MailboxHandler = (req, reply, from) => {
  for (let j = 0; j < req.length; j++) reply[j] = req[req.length - 1 - j];
  new DataView(reply.buffer, reply.byteOffset).setUint32(req.length, from.pid, true);
  return req.length + 4;
};

test('8 clients, 300 calls each: every reply right, each client on its own channel, the host event loop never blocked', () =>
  withRuntime({ memory: 16 << 20, maxProcesses: 8, devices: [mboxDevice({ channels: 8 })] }, 120_000, 'mailbox 8 clients', async (rt) => {
    const server = new MailboxServer(rt, '/dev/mbox0', reverser);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const t0 = performance.now();
    const hs = Array.from({ length: 8 }, (_, k) => rt.spawn(PROG, 'calls', k, 300, k % 2 === 0 ? 0 : 100, 8));
    const rs = [];
    for (const h of hs) {
      const st = await h.exited;
      assert.ok(st.result, JSON.stringify(st));
      rs.push(st.result as { channel: number; bad: number; pid: number });
    }
    const ms = performance.now() - t0;
    clearInterval(timer);
    for (const r of rs) assert.is(r.bad, 0);
    assert.equal(new Set(rs.map((r) => r.channel)).size, 8, 'eight clients open at once, on eight different channels');
    assert.equal(server.stats, { requests: 2400, failed: 0, rejected: 0 });
    // A 5 ms interval kept firing while the clients ran (a blocked loop would starve it).
    assert.ok(ticks >= Math.floor(ms / 5 / 4), `${ticks} ticks in ${ms.toFixed(0)} ms`);
    for (let ch = 0; ch < 8; ch++) assert.is(server.owner(ch), 0, 'every client gave its channel back');
    server.close();
  }));

test('an asynchronous handler: the channel waits, the others go on (answers overlap)', () =>
  withRuntime({ memory: 16 << 20, maxProcesses: 4, devices: [mboxDevice({ channels: 4 })] }, 120_000, 'mailbox async', async (rt) => {
    let inFlight = 0;
    let maxInFlight = 0;
    const server = new MailboxServer(rt, '/dev/mbox0', async (req, reply, from) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(2);
      inFlight--;
      return reverser(req, reply, from) as number;
    });
    const hs = Array.from({ length: 4 }, (_, k) => rt.spawn(PROG, 'calls', k, 40));
    for (const h of hs) assert.is(((await h.exited).result as { bad: number }).bad, 0);
    assert.ok(maxInFlight > 1, `requests of different clients were answered at the same time (${maxInFlight})`);
    assert.is(server.stats.requests, 160);
  }));

test('channels: claimed one per open, EBUSY when all are taken, free again after close', () =>
  withRuntime({ memory: 8 << 20, devices: [mboxDevice({ channels: 2 })] }, 60_000, 'mailbox claim', async (rt) => {
    const r = (await rt.run(PROG, 'claim')) as { channels: number[]; busy: { code: string; message: string }; reclaimed: number };
    assert.equal(r.channels.sort(), [0, 1]);
    assert.is(r.busy.code, 'EBUSY');
    assert.match(r.busy.message, /all 2 channels/);
    assert.ok(r.reclaimed === 0 || r.reclaimed === 1);
  }));

test('errors: a handler that throws fails the call with EIO and its message; a timed-out call is finished before the next; bad input named', () =>
  withRuntime({ memory: 8 << 20, devices: [mboxDevice({ channels: 4 }), { name: 'foo', unit: 0, driver: FOODRV }] }, 60_000, 'mailbox errors', async (rt) => {
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    const server = new MailboxServer(rt, '/dev/mbox0', (req) => {
      const t = text(req);
      if (t === 'throw') throw new Error('the handler failed on purpose');
      if (t === 'slow') return sleep(300).then(() => new TextEncoder().encode('late'));
      if (t === 'ping') return new TextEncoder().encode('pong');
      return new Uint8Array(8);
    });
    const r = (await rt.run(PROG, 'errors')) as Record<string, { name: string; code?: string; message: string } | string | boolean>;
    const e = (k: string) => r[k] as { name: string; code?: string; message: string };
    assert.is(e('notMbox').code, 'ENODEV');
    assert.is(e('tooLong').name, 'RangeError');
    assert.is(e('notBytes').name, 'TypeError');
    assert.is(e('thrown').code, 'EIO');
    assert.match(e('thrown').message, /the handler failed on purpose/);
    assert.is(r.thrownIsSyscallError, true);
    assert.is(e('slow').code, 'ETIMEDOUT');
    assert.is(r.after, 'pong', 'the next call waited for the late answer, then got its own');
    assert.is(e('shortInto').name, 'RangeError');
    assert.equal(server.stats.failed, 2);
    assert.throws(() => new MailboxServer(rt, '/dev/foo0', reverser), /not a mailbox device/);
    assert.throws(() => new MailboxServer(rt, '/dev/mbox0', 'no' as unknown as MailboxHandler), /handler/);
    await withTimeout(15_000, async () => {
      let err: Error | null = null;
      try {
        await (await Runtime.create({ memory: 4 << 20, devices: [mboxDevice({ channels: 0 })] })).close();
      } catch (x) {
        err = x as Error;
      }
      assert.ok(err && /config\.channels/.test(err.message), err?.message);
    }, 'bad config');
  }));

test("a process ringing for a channel it does not own is ignored, and its own call still works", () =>
  withRuntime({ memory: 8 << 20, devices: [mboxDevice({ channels: 4 })] }, 60_000, 'mailbox rogue', async (rt) => {
    const server = new MailboxServer(rt, '/dev/mbox0', () => new TextEncoder().encode('pong'));
    assert.equal(await rt.run(PROG, 'rogue'), { ok: 'pong' });
    assert.is(server.stats.rejected, 2, 'a channel it does not own, and one out of range');
    assert.is(server.stats.requests, 1);
  }));

test('a request posted before the server exists is answered when it starts', () =>
  withRuntime({ memory: 8 << 20, devices: [mboxDevice({ channels: 4 })] }, 60_000, 'mailbox late server', async (rt) => {
    const h = rt.spawn(PROG, 'calls', 1, 5);
    await sleep(300);
    const server = new MailboxServer(rt, '/dev/mbox0', reverser);
    assert.is(((await h.exited).result as { bad: number }).bad, 0);
    assert.is(server.stats.requests, 5);
  }));

test.run();
