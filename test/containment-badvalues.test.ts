/**
 * bad values get clear errors.
 *
 * - a non-number or out-of-range value passed to a store or an atomic throws a TypeError or
 *   RangeError naming the argument ('value'), and stores nothing;
 * - an address of the wrong type throws a TypeError naming it ('address'), not V8's own message;
 * - prot and flags outside 32 bits are EINVAL (NetBSD's int could not hold them);
 * - a driver attach that throws a non-Error is described;
 * - an arena that cannot be allocated names the option and the bytes asked for.
 *
 *   node dist/test/run.js containment-badvalues
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { withTimeout } from './helpers.js';
import type { BadValueResult } from './fixtures/badvalue-prog.js';
import { INDEX, exitGuard, fixtureUrl, lastJson, runChild } from './fixtures/repro-util.js';

let results: BadValueResult | null = null;
async function badValues(): Promise<BadValueResult> {
  if (results) return results;
  const rt = await withTimeout(15_000, Runtime.create({ memory: 16 << 20 }), 'Runtime.create');
  try {
    results = (await withTimeout(20_000, rt.run(fixtureUrl('badvalue-prog')), 'badvalue-prog')) as BadValueResult;
    return results;
  } finally {
    await withTimeout(20_000, rt.close(), 'rt.close');
  }
}

const STORES: [string, RegExp][] = [
  ["store32(va, 'abc')", /TypeError|RangeError/],
  ['store32(va, 2**40 + 5)', /RangeError|TypeError/],
  ['store8(va, 1.5)', /TypeError|RangeError/],
  ["atomicAdd32(va, 'abc')", /TypeError|RangeError/],
  ['cas32(va, 0x11111111, 2**40)', /RangeError|TypeError/],
];
for (const [name, cls] of STORES) {
  test(`14.5 ${name} throws a TypeError/RangeError naming the value, and stores nothing`, async () => {
    const r = (await badValues())[name];
    assert.ok(r.threw, `${name} threw nothing; the word now holds 0x${r.word}`);
    assert.match(r.threw!.name, cls, `${name}: ${r.threw!.name}: ${r.threw!.message}`);
    assert.match(r.threw!.message, /value/, `${name}: the message names the argument: ${r.threw!.message}`);
    assert.is(r.word, '11111111', `${name}: the word is unchanged`);
  });
}

test('14.5 load32(1n) throws a TypeError naming the address, not V8\'s "Cannot mix BigInt"', async () => {
  const r = (await badValues())['load32(1n)'];
  assert.is(r.threw?.name, 'TypeError');
  assert.match(r.threw!.message, /address/, r.threw!.message);
});

for (const name of ['mmap flags 2**53 + 0x1000', 'mmap flags 2**32 + (MAP_ANON|MAP_PRIVATE)', 'mmap prot 2**32 + 1', 'mprotect prot -(2**40) + 3']) {
  test(`14.5 ${name}: EINVAL (outside 32 bits)`, async () => {
    const r = (await badValues())[name];
    assert.ok(r.threw, `${name} was accepted`);
    assert.is(r.threw!.name, 'SyscallError', `${r.threw!.name}: ${r.threw!.message}`);
    assert.is(r.threw!.code, 'EINVAL');
  });
}

test('14.5 an attach that throws null: Runtime.create rejects with an error that describes it and names the device', async () => {
  let err: Error | null = null;
  try {
    const rt = await withTimeout(15_000, Runtime.create({ memory: 1 << 20, devices: [{ name: 'attachnull', unit: 0, driver: fixtureUrl('attach-null-drv') }] }), 'create');
    await rt.close();
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err, 'Runtime.create rejected');
  assert.not.match(err!.message, /Cannot read properties/, `a described error, not a crash of the reporter: ${err!.message}`);
  assert.match(err!.message, /\/dev\/attachnull0/, err!.message);
  assert.match(err!.message, /null/, `the thrown value is described: ${err!.message}`);
});

test('14.5 an arena that cannot be allocated: the error names the option and the bytes asked for (child under ulimit -v)', async () => {
  const code = `import { Runtime } from ${JSON.stringify(INDEX)};
    try { const rt = await Runtime.create({ memory: 2 ** 32 }); console.log(JSON.stringify({ created: true })); await rt.close(); }
    catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`;
  const r = await runChild(code, 20_000, [], 'ulimit -v 3000000;');
  const out = lastJson<{ created?: boolean; name?: string; message?: string }>(r);
  assert.ok(out, `child output: ${r.stdout} ${r.stderr.slice(-300)}`);
  if (out!.created) return; // the machine allowed 4 GiB within 3 GB of address space: nothing to check
  assert.match(out!.message!, /memory/, `names the option: ${out!.message}`);
  const numbers = (out!.message!.replace(/(\d)[,_ ](?=\d{3})/g, '$1').match(/\d+/g) ?? []).map(Number);
  assert.ok(numbers.some((n) => n >= 2 ** 32), `names the bytes asked for (at least 4 GiB): ${out!.message}`);
});

exitGuard(test);
test.run();
