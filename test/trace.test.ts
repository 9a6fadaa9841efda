/**
 * Traces recorded by a real runtime (not synthetic data): Chrome Trace Event JSON whose events are
 * ordered within each thread, whose spans nest, whose flows have both ends, and whose timestamps
 * from different threads share one clock (a request is posted before it is served, and served
 * before its fault span ends).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { validateChromeTrace } from '../src/report/chrome-trace.js';
import { withTimeout } from './helpers.js';

const FOO = new URL('../src/drivers/foo.js', import.meta.url);
const PROG = new URL('./fixtures/trace-prog.js', import.meta.url);

async function traced<T>(opts: { pagers: number; procs: number }, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await Runtime.create({
    memory: 32 << 20, pagers: opts.pagers, maxProcesses: opts.procs, trace: true, traceEvents: 50_000, traceSample: 1,
    devices: [{ name: 'foo', unit: 0, driver: FOO, config: { size1: 64 * 4096 } }],
  });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

test('a traced run exports valid Chrome Trace Event JSON: ordered, nested, flows with both ends', () =>
  withTimeout(60_000, () => traced({ pagers: 2, procs: 3 }, async (rt) => {
    const faults = await Promise.all([0, 1, 2].map(() => rt.run(PROG, 32, 3)));
    assert.equal(faults, [96, 96, 96]);
    const ct = rt.chromeTrace();
    const problems = validateChromeTrace(JSON.parse(JSON.stringify(ct)));
    assert.equal(problems, [], problems.slice(0, 5).join('\n'));
    const ev = ct.traceEvents as { ph: string; name: string; tid: number; cat?: string; args?: Record<string, unknown> }[];
    const names = new Set(ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => String(e.args?.name)));
    assert.ok(names.has('pager 0') && names.has('pager 1'), `both pagers named: ${[...names].join(', ')}`);
    const faultSpans = ev.filter((e) => e.ph === 'X' && e.cat === 'fault' && e.name === 'fault');
    assert.ok(faultSpans.length >= 288, `one fault span per fault (${faultSpans.length})`);
    for (const ph of ['s', 'f', 'C']) assert.ok(ev.some((e) => e.ph === ph), `has ${ph} events`);
    for (const cat of ['serve', 'dmmap']) assert.ok(ev.some((e) => e.ph === 'X' && e.cat === cat), `has ${cat} spans`);
  }), 'traced run'));

test('timestamps share one clock: post <= serve start <= fault end, across threads', () =>
  withTimeout(60_000, () => traced({ pagers: 1, procs: 2 }, async (rt) => {
    await Promise.all([rt.run(PROG, 16, 2), rt.run(PROG, 16, 2)]);
    const { events, dropped } = rt.traceEvents();
    assert.is(dropped, 0);
    // A process's request span starts the flow (at its post time); the pager's service ends it.
    const requests = new Map<number, { ts: number; end: number; thread: number }>();
    const serves = new Map<number, { ts: number; end: number; thread: number }>();
    for (const e of events) {
      if (e.flowId === undefined) continue;
      const x = { ts: e.tsUs, end: e.tsUs + (e.durUs ?? 0), thread: e.thread };
      if (e.kind === 'serve') serves.set(e.flowId, x);
      else if (e.flowEnd === false) requests.set(e.flowId, x);
    }
    let checked = 0;
    for (const [id, r] of requests) {
      const s = serves.get(id);
      assert.ok(s, `flow ${id} was served`);
      assert.ok(s.thread !== r.thread, 'served on another thread');
      assert.ok(r.ts <= s.ts + 1, `flow ${id}: posted at ${r.ts} µs, served at ${s.ts} µs (clocks disagree)`);
      assert.ok(s.ts <= r.end + 1, `flow ${id}: service starts at ${s.ts} µs, after its request span ends at ${r.end} µs`);
      checked++;
    }
    // 2 x (open, mmap, 2 pmapRemove, 32 faults, munmap, exit): every request has both ends
    assert.ok(checked >= 2 * 36, `checked ${checked} flows`);
    assert.is(serves.size, requests.size, 'no service without its request');
  }), 'one clock'));

test('tracing off: traceEvents says how to turn it on', () =>
  withTimeout(30_000, async () => {
    const rt = await Runtime.create({ memory: 8 << 20 });
    try {
      assert.throws(() => rt.traceEvents(), /trace: true/);
    } finally {
      await rt.close();
    }
  }, 'tracing off'));

test.run();
