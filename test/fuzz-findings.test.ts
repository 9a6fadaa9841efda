/**
 * what the fuzzer (test/fuzz.test.ts) found devpager doing
 * differently from NetBSD or its README. Each is tolerated by the fuzzer today and listed in
 * test/fixtures/fuzz-model.ts KNOWN_DEVIATIONS; once one is fixed, drop its entry there and
 * DEVPAGER_FUZZ_STRICT=1 starts enforcing it in every fuzz run.
 *
 *   node dist/test/run.js fuzz-findings
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { withTimeout } from './helpers.js';
import type { Caught } from './fixtures/prog-util.js';
import { exitGuard, fixtureUrl } from './fixtures/repro-util.js';

const PROG = fixtureUrl('findings-prog');
let shared: Runtime | null = null;
async function run(how: string): Promise<unknown> {
  shared ??= await withTimeout(15_000, Runtime.create({ memory: 16 << 20 }), 'Runtime.create');
  return withTimeout(15_000, shared.run(PROG, how), how);
}
test.after(async () => {
  await shared?.close();
});

test('munmap-len0-range: munmap(addr, 0) succeeds whatever addr is (NetBSD sys_munmap returns 0 for size 0 before its range test)', async () => {
  assert.equal(await run('munmap-len0-range'), [null, null]);
});

test('msync-len0-unmapped: msync(addr, 0) on an unmapped page is EINVAL (NetBSD sys___msync13)', async () => {
  assert.is(((await run('msync-len0-unmapped')) as Caught | null)?.code, 'EINVAL');
});

test('load64-signed: load64 returns an unsigned value, like every load (README)', async () => {
  assert.is(await run('load64-unsigned'), '18446744073709551615');
});

test("address-v8-message: a bigint or Symbol address throws a TypeError naming the address, not V8's own message", async () => {
  for (const c of (await run('address-type')) as (Caught | null)[]) {
    assert.is(c?.name, 'TypeError');
    assert.match(c!.message, /address/, c!.message);
  }
});

test('span-address-coerced: p.read(null, dst) and p.write(true, src) throw a TypeError naming the address (not SIGSEGV at 0 or 1)', async () => {
  for (const c of (await run('span-address')) as (Caught | null)[]) {
    assert.is(c?.name, 'TypeError', JSON.stringify(c));
    assert.match(c!.message, /address/, c!.message);
  }
});

test('mincore-unsafe-addr: mincore(1e21, 8192) is ENOMEM (past user space), not EINVAL "empty range"', async () => {
  assert.is(((await run('mincore-unsafe-addr')) as Caught | null)?.code, 'ENOMEM');
});

test('anon-len0-pageoff: mmap(a + 1011, 0, MAP_ANON|MAP_FIXED, off 1011) maps round_page(0 + 1011) = one page and returns a + 1011 (NetBSD)', async () => {
  const r = (await run('anon-len0-pageoff')) as { returned: unknown; mincore: Caught | null };
  assert.is(r.returned, 0x5000_0000 + 1011, `returned ${JSON.stringify(r.returned)}`);
  assert.is(r.mincore, null, `the page is mapped: mincore said ${JSON.stringify(r.mincore)}`);
});

exitGuard(test);

test('anon-len0-negative-hint: mmap(-3 pages or -2^53, 0, MAP_ANON) returns its hint; the address is not read as an errno', async () => {
  assert.equal(await run('anon-len0-negative-hint'), [-3 * 4096, -(2 ** 53)]);
});

test.run();
