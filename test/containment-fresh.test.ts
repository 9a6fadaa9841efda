/**
 * every process starts with fresh
 * JavaScript state, an error raised after a process returned is reported for that process and
 * never fails another, and only mappings reach memory.
 *
 * Names assumed: rt.stats().totals.lateErrors counts errors raised after a process's main
 * returned; the warning for one names its pid and its program's URL.
 *
 *   node dist/test/run.js containment-fresh
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime, type RuntimeOptions } from '../src/index.js';
import { withTimeout } from './helpers.js';
import { captureWarnings, exitGuard, fixtureUrl } from './fixtures/repro-util.js';

const LEFTOVER = fixtureUrl('leftover-prog');
const REACH = fixtureUrl('reach-prog');
/** One process thread, so that B runs where A ran. */
const ONE_THREAD: RuntimeOptions = { memory: 16 << 20, maxProcesses: 1, prestart: 1 };

async function withRt<T>(opts: RuntimeOptions, ms: number, what: string, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await withTimeout(15_000, Runtime.create(opts), `${what}: Runtime.create`);
  try {
    return await withTimeout(ms, () => fn(rt), what);
  } finally {
    await withTimeout(20_000, rt.close(), `${what}: rt.close`);
  }
}

for (const how of ['late-throw', 'late-reject'] as const) {
  test(`14.1 ${how}: an error raised after process A returned does not fail process B, and is reported for A`, async () => {
    const hostErrors: string[] = [];
    const onHost = (e: unknown) => hostErrors.push(String(e));
    process.on('uncaughtException', onHost);
    process.on('unhandledRejection', onHost);
    const w = captureWarnings();
    try {
      await withRt(ONE_THREAD, 30_000, how, async (rt) => {
        const a = await rt.spawn(LEFTOVER, how).exited;
        assert.is(a.result, 'returned', `A: ${JSON.stringify(a)}`);
        // B starts at once on A's thread; A's timer fires while B runs
        const b = await withTimeout(10_000, rt.run(LEFTOVER, 'slow-plain'), 'B');
        assert.is(b, 'plain', 'B is not failed by what A left behind');
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(hostErrors, [], 'nothing reached the host as an uncaught error');
        const line = w.text().split('\n').find((l) => l.includes(String(a.pid)) && l.includes('leftover-prog'));
        assert.ok(line, `a warning names A's pid ${a.pid} and its program; warnings: ${JSON.stringify(w.text().slice(0, 500))}`);
        const late = (rt.stats().totals as unknown as Record<string, unknown>).lateErrors;
        assert.is(late, 1, 'rt.stats().totals.lateErrors counts it');
      });
    } finally {
      w.stop();
      process.off('uncaughtException', onHost);
      process.off('unhandledRejection', onHost);
    }
  });
}

test("14.1 globals, patched prototypes (Process.load32 too) and intervals of A never reach B (the '10ff' repro)", async () => {
  await withRt(ONE_THREAD, 30_000, 'pollution', async (rt) => {
    assert.is(await rt.run(LEFTOVER, 'pollute'), 'polluted');
    const seen = await rt.run(LEFTOVER, 'observe');
    assert.equal(seen, { loaded: '1000', leak: 'undefined', ticks: 'undefined', arrayKeys: '0', random: 'fresh' });
  });
});

test('14.4 no property of a Process (own or inherited), no global and nothing in workerData hands a program the arena, a page table or a TLB', async () => {
  await withRt({ memory: 16 << 20 }, 30_000, 'reach', async (rt) => {
    const r = (await rt.run(REACH)) as { found: string[]; tlbWrite: string };
    assert.equal(r.found, [], `reachable: ${r.found.join(', ')}`);
    assert.is(r.tlbWrite, 'p.tlbR not reachable');
  });
});

exitGuard(test);
test('descriptors do not outlive their process: the next process in the slot, after a return or a kill, opens descriptor 0', async () => {
  const opts: RuntimeOptions = { ...ONE_THREAD, devices: [{ name: 'foo', driver: new URL('../src/drivers/foo.js', import.meta.url) }] };
  await withRt(opts, 30_000, 'descriptors', async (rt) => {
    assert.equal(await rt.run(LEFTOVER, 'open-fds'), [0, 1]);
    assert.equal(await rt.run(LEFTOVER, 'open-fds'), [0, 1], 'the first process closed nothing, and exit closed both');
    const h = rt.spawn(LEFTOVER, 'open-hang');
    await new Promise((r) => setTimeout(r, 200));
    h.kill();
    await h.exited;
    assert.equal(await rt.run(LEFTOVER, 'open-fds'), [0, 1], 'a killed process\'s descriptors went with it');
  });
});

test.run();
