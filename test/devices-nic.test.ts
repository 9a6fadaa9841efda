/**
 * devpager/devices/nic through the public API: a program drives the virtqueues with openNic, the
 * host's Nic echoes, takes and delivers packets; every byte is checked, and the notification
 * counters show what was suppressed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { NIC_RX, NIC_TX, Nic, VRING_DESC_F_WRITE, vringLayout, type NicState } from '../src/devices/nic/index.js';
import { FOODRV, fixture, sleep, withRuntime, withTimeout } from './fixtures/pager-host.js';
import { badBytes, fillPacket } from './fixtures/devnic-prog.js';

const PROG = fixture('devnic-prog');
const NICDRV = new URL('../src/devices/nic/index.js', import.meta.url);
const nicDevice = (config?: Record<string, unknown>) => ({ name: 'nic', unit: 0, driver: NICDRV, config });

test('virtio split-ring layout: legacy vring_init offsets, set up by the driver as virtio says', () =>
  withRuntime({ memory: 16 << 20, devices: [nicDevice({ queueSize: 256 })] }, 60_000, 'nic layout', async (rt) => {
    const l = vringLayout(256);
    assert.equal([l.desc, l.avail, l.used], [0, 4096, 8192], 'desc, avail = desc + 16 Q, used aligned to 4096');
    assert.ok(l.used + 4 + 8 * 256 + 2 <= l.bytes);
    const nic = new Nic(rt, '/dev/nic0');
    await withTimeout(20_000, async () => {
      const h = rt.spawn(PROG, 'poll', 1, 1); // keeps the rings as they are at the end
      await nic.rxReady();
      const s = rt.device('/dev/nic0').state as NicState;
      const k = rt.kernel;
      // The receive queue after setup: every buffer posted (avail idx = Q); event indices
      // negotiated, so flags are 0 and used_event sits one behind the next entry (no interrupt
      // wanted while the program polls).
      assert.is(k.load16(s.kva + s.avail[NIC_RX] + 2), 256, 'RX avail.idx');
      assert.is(k.load16(s.kva + s.avail[NIC_RX]), 0, 'RX avail.flags');
      assert.is(s.usedEvent[NIC_RX], s.avail[NIC_RX] + 4 + 2 * 256, 'used_event after ring[Q]');
      assert.is(k.load16(s.kva + s.usedEvent[NIC_RX]), 0xffff, 'RX used_event');
      assert.is(s.availEvent[NIC_RX], s.used[NIC_RX] + 4 + 8 * 256, 'avail_event after ring[Q]');
      assert.is(k.load32(s.kva + s.desc[NIC_RX] + 16 * 3), s.bufOffset + 3 * 2048, 'RX desc[3].addr');
      assert.is(k.load32(s.kva + s.desc[NIC_RX] + 16 * 3 + 8), 2048, 'RX desc[3].len');
      assert.is(k.load16(s.kva + s.desc[NIC_RX] + 16 * 3 + 12), VRING_DESC_F_WRITE, 'RX desc[3].flags');
      assert.is(k.load16(s.kva + s.avail[NIC_RX] + 4 + 2 * 3), 3, 'RX avail.ring[3]');
      assert.is(k.load16(s.kva + s.avail[NIC_TX] + 2), 0, 'TX avail.idx');
      assert.ok(nic.deliver(fillPacket(new Uint8Array(2048), 0)));
      assert.equal((await h.exited).result, { bad: 0 });
      // The device's used ring: one entry, descriptor 0, with the packet's length.
      assert.is(k.load16(s.kva + s.used[NIC_RX] + 2), 1, 'RX used.idx');
      assert.is(k.load32(s.kva + s.used[NIC_RX] + 4), 0, 'RX used.ring[0].id');
      assert.is(k.load32(s.kva + s.used[NIC_RX] + 8), fillPacket(new Uint8Array(2048), 0).length, 'RX used.ring[0].len');
    }, 'layout');
  }));

test('echo: 3000 packets of 60..1500 bytes come back in order, every byte right; kicks and interrupts are a small fraction of the packets', () =>
  withRuntime({ memory: 32 << 20, devices: [nicDevice({ queueSize: 128 })] }, 90_000, 'nic echo', async (rt) => {
    const nic = new Nic(rt, '/dev/nic0', { echo: true });
    const n = 3000;
    const r = (await rt.run(PROG, 'echo', n)) as { sent: number; received: number; bad: number; waits: number };
    assert.equal([r.sent, r.received, r.bad], [n, n, 0]);
    const st = nic.stats;
    assert.is(st.txPackets, n);
    assert.is(st.rxPackets, n);
    assert.is(st.badDescriptors, 0);
    // Without suppression every packet would cost a kick and an interrupt (2n); with event
    // indices a notification only happens when a side has gone idle and asked for one.
    assert.ok(st.kicks + st.interrupts < n, JSON.stringify({ ...st, waits: r.waits }));
    assert.ok(st.interruptsSuppressed > 0);
    // A second program resets the device and starts over: the host follows the reset.
    const again = (await rt.run(PROG, 'echo', 500)) as { received: number; bad: number };
    assert.equal([again.received, again.bad], [500, 0]);
    nic.close();
  }));

test('no lost wake-ups: 300 one-packet round trips each way of suppressing (event indices, flags), every one a sleep of the program and an idle host', () =>
  withRuntime({ memory: 16 << 20, devices: [nicDevice({ queueSize: 16 })] }, 90_000, 'nic pingpong', async (rt) => {
    const nic = new Nic(rt, '/dev/nic0', { echo: true });
    assert.equal(await rt.run(PROG, 'pingpong', 300, 0), { bad: 0 });
    assert.ok(nic.stats.kicks >= 1 && nic.stats.interrupts >= 1, JSON.stringify(nic.stats));
    assert.equal(await rt.run(PROG, 'pingpong', 300, 1), { bad: 0 });
  }));

test('echo with the flags alone (no event indices): 2000 packets, every byte right', () =>
  withRuntime({ memory: 32 << 20, devices: [nicDevice({ queueSize: 64 })] }, 90_000, 'nic echo flags', async (rt) => {
    const nic = new Nic(rt, '/dev/nic0', { echo: true });
    const r = (await rt.run(PROG, 'echo', 2000, 64, 1)) as { received: number; bad: number };
    assert.equal([r.received, r.bad], [2000, 0]);
    assert.is(nic.stats.rxPackets, 2000);
  }));

test('interrupts are suppressed while the program polls: 50 delivered packets, no interrupt, no kick but the one at setup (event indices, then flags)', () =>
  withRuntime({ memory: 16 << 20, devices: [nicDevice({ queueSize: 64 })] }, 60_000, 'nic suppress', async (rt) => {
    const nic = new Nic(rt, '/dev/nic0');
    const buf = new Uint8Array(2048);
    for (const flags of [0, 1]) {
      const before = nic.stats;
      const h = rt.spawn(PROG, 'poll', 50, 0, flags); // closes at the end: the next rxReady waits for the next program
      await withTimeout(20_000, nic.rxReady(), 'rxReady');
      for (let i = 0; i < 50; i++) assert.ok(nic.deliver(fillPacket(buf, i)), `deliver ${i}`);
      assert.equal((await h.exited).result, { bad: 0 });
      const st = nic.stats;
      assert.equal([st.interrupts - before.interrupts, st.kicks - before.kicks], [0, 1], JSON.stringify({ flags, st }));
      assert.ok(st.interruptsSuppressed > before.interruptsSuppressed, 'the host looked, and the driver said no');
    }
    assert.is(rt.device('/dev/nic0').interrupts, 0);
    // A program that blocks in receive does get interrupts.
    const h2 = rt.spawn(PROG, 'recv', 3);
    await withTimeout(20_000, nic.rxReady(), 'rxReady 2');
    for (let i = 0; i < 3; i++) {
      await sleep(50); // the program is asleep in waitInterrupt by now
      assert.ok(nic.deliver(fillPacket(buf, i)));
    }
    assert.equal((await h2.exited).result, { bad: 0, queueSize: 64 });
    assert.ok(nic.stats.interrupts >= 1, JSON.stringify(nic.stats));
  }));

test('deliver: a full receive queue refuses (false), rxReady says when to go on; 500 packets through 16 buffers arrive in order', () =>
  withRuntime({ memory: 16 << 20, devices: [nicDevice({ queueSize: 16 })] }, 90_000, 'nic deliver', async (rt) => {
    const nic = new Nic(rt, '/dev/nic0');
    const n = 500;
    const h = rt.spawn(PROG, 'recv', n);
    const buf = new Uint8Array(2048);
    let refused = 0;
    await withTimeout(60_000, async () => {
      for (let i = 0; i < n; ) {
        if (nic.deliver(fillPacket(buf, i))) i++;
        else {
          refused++;
          await nic.rxReady();
        }
      }
    }, 'deliver all');
    assert.equal((await h.exited).result, { bad: 0, queueSize: 16 });
    assert.ok(refused > 0, 'the 16-buffer queue filled up at least once');
    assert.is(nic.stats.rxPackets, n);
  }));

test('transmit: packets wait in the ring until the host takes them; a full queue makes trySend false; onPacket sees each one in place', () =>
  withRuntime({ memory: 16 << 20, devices: [nicDevice({ queueSize: 32 })] }, 60_000, 'nic take', async (rt) => {
    const nic = new Nic(rt, '/dev/nic0');
    const r = (await rt.run(PROG, 'fill')) as { sent: number; timeout: { code: string } };
    assert.is(r.sent, 32, 'one packet per transmit descriptor');
    assert.is(r.timeout.code, 'ETIMEDOUT');
    for (let i = 0; i < 32; i++) {
      const pkt = nic.take();
      assert.ok(pkt && badBytes(pkt, i) === 0, `packet ${i}`);
    }
    assert.is(nic.take(), null);
    // With a handler, packets are taken as they come.
    const seen: number[] = [];
    const off = nic.onPacket((pkt) => {
      assert.is(badBytes(pkt, seen.length), 0);
      seen.push(pkt.length);
    });
    assert.is(await rt.run(PROG, 'send', 300), 'sent');
    off();
    assert.is(seen.length, 300);
    assert.is(nic.take(), null, 'the handler took them all');
    // A handler that throws does not stop the queue: every packet still completes.
    const off2 = nic.onPacket(() => {
      throw new Error('a broken handler');
    });
    assert.is(await rt.run(PROG, 'send', 40), 'sent', 'the sender got every descriptor back');
    off2();
    assert.is(nic.stats.handlerErrors, 40);
  }));

test('bad input: ENODEV for another device, RangeError for sizes, a short receive buffer keeps the packet, configs and host classes name the problem', () =>
  withRuntime({ memory: 16 << 20, devices: [nicDevice({ queueSize: 16 }), { name: 'foo', unit: 0, driver: FOODRV }] }, 60_000, 'nic errors', async (rt) => {
    const nic = new Nic(rt, '/dev/nic0');
    const r = (await rt.run(PROG, 'errors')) as Record<string, { name: string; code?: string; message: string }>;
    assert.is(r.notNic.code, 'ENODEV', JSON.stringify(r.notNic));
    assert.is(r.tooLong.name, 'RangeError');
    assert.match(r.tooLong.message, /send packet length/);
    assert.is(r.empty.name, 'RangeError');
    assert.is(r.notBytes.name, 'TypeError');
    assert.match(r.badSpin.message, /spin/);
    assert.is(r.timeout.code, 'ETIMEDOUT');
    const h = rt.spawn(PROG, 'short-dst');
    await withTimeout(20_000, nic.rxReady(), 'rxReady');
    nic.deliver(fillPacket(new Uint8Array(2048), 0));
    const st = await h.exited;
    const s = st.result as { short: { name: string }; len: number; bad: number };
    assert.ok(s, JSON.stringify(st));
    assert.is(s.short.name, 'RangeError');
    assert.is(s.bad, 0, 'the packet was still there');
    assert.throws(() => nic.deliver(new Uint8Array(4096)), RangeError);
    assert.throws(() => new Nic(rt, '/dev/foo0'), /not a nic device/);
    assert.throws(() => new Nic(rt, '/dev/nic0', { echo: 'yes' as unknown as boolean }), /echo/);
    await withTimeout(15_000, async () => {
      for (const [cfg, name] of [[{ queueSize: 100 }, 'queueSize'], [{ bufferSize: 100 }, 'bufferSize'], [{ queues: 2 }, 'queues']] as const) {
        let err: Error | null = null;
        try {
          await (await Runtime.create({ memory: 4 << 20, devices: [nicDevice(cfg)] })).close();
        } catch (e) {
          err = e as Error;
        }
        assert.ok(err && err.message.includes(name), `${JSON.stringify(cfg)}: ${err?.message}`);
      }
    }, 'bad configs');
  }));

test.run();
