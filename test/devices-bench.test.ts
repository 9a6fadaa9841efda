/**
 * The device bench (src/bench/devices, `devpager bench --devices`) runs end to end on tiny sizes:
 * every part completes, every byte comes back right, and every figure is a number. Its figures
 * are not checked here (timed unit tests measure nothing): that is the bench's job.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deviceBenchText, runDeviceBench } from '../src/bench/devices/index.js';
import { withTimeout } from './helpers.js';

test('runDeviceBench: NIC echo, mailbox and the three latencies complete, nothing comes back wrong, the table shows them', () =>
  withTimeout(170_000, async () => {
    const r = await runDeviceBench({ quick: true, packets: 600, rounds: 2, clients: 2, calls: 40, samples: 4 });
    if ('error' in r.nic) throw new Error(`nic: ${r.nic.error}`);
    if ('error' in r.mailbox) throw new Error(`mailbox: ${r.mailbox.error}`);
    if ('error' in r.latency) throw new Error(`latency: ${r.latency.error}`);
    assert.is(r.nic.bad, 0);
    assert.is(r.mailbox.bad, 0);
    assert.is(r.nic.ratios.length, 2);
    assert.is(r.mailbox.ratios.length, 2);
    for (const x of [...r.nic.ratios, ...r.mailbox.ratios, r.latency.mmioVsFault.ratio, r.latency.doorbellVsPostMessage.ratio, r.latency.interruptVsNotify.ratio]) {
      assert.ok(Number.isFinite(x) && x > 0, String(x));
    }
    assert.equal(r.targets.map((t) => t.name.split(':')[0]), ['nic echo', 'mailbox', 'mmio load / fault round trip']);
    const text = deviceBenchText(r);
    for (const s of ['nic echo', 'mailbox', 'mmio load vs fault', 'doorbell store -> handler', 'interrupt -> waitInterrupt', 'targets:']) assert.ok(text.includes(s), s);
  }, 'device bench'));

test.run();
