/**
 * the defects found while writing devices.
 *
 * - an error thrown in a program reaches rt.run with its class: SyscallError keeps code, errno and
 *   syscall; TypeError and RangeError stay what they are; a signal stays a ProcessSignalError
 *   with its signal, code and exact address;
 * - kernel.read / kernel.write check the whole range before touching anything, and their errors
 *   quote the address that was passed;
 * - an mmap that d_mmap refused says which device offset, in the message; the errno stays EINVAL.
 *
 *   node dist/test/run.js devicekit-defects
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PAGE_SIZE, ProcessSignalError, Runtime, SyscallError } from '../src/index.js';
import { withTimeout } from './helpers.js';
import { fuzzDevice } from './fixtures/fuzz-host.js';
import { exitGuard, fixtureUrl } from './fixtures/repro-util.js';

const PROG = fixtureUrl('errors-prog');
const PS = PAGE_SIZE;
let shared: Runtime | null = null;
async function rt(): Promise<Runtime> {
  shared ??= await withTimeout(15_000, Runtime.create({ memory: 16 << 20, devices: [fuzzDevice()] }), 'Runtime.create');
  return shared;
}
test.after(async () => {
  await shared?.close();
});

async function rejection(how: string): Promise<unknown> {
  try {
    const v = await withTimeout(15_000, (await rt()).run(PROG, how), how);
    return new Error(`rt.run resolved with ${JSON.stringify(v)}`);
  } catch (e) {
    return e;
  }
}

for (const how of ['close-bad', 'close-bad-async']) {
  test(`13.8 ${how}: a SyscallError reaches rt.run as a SyscallError with code, errno and syscall`, async () => {
    const e = (await rejection(how)) as SyscallError;
    assert.instance(e, SyscallError, `got ${(e as Error).name}: ${(e as Error).message} (${Object.getPrototypeOf(e)?.constructor?.name})`);
    assert.is(e.name, 'SyscallError');
    assert.is(e.code, 'EBADF');
    assert.is(e.errno, 9);
    assert.is(e.syscall, 'close');
  });
}

test('13.8 TypeError and RangeError thrown by a program stay TypeError and RangeError', async () => {
  const t = await rejection('type-error');
  const r = await rejection('range-error');
  assert.instance(t, TypeError, `got ${Object.getPrototypeOf(t)?.constructor?.name}`);
  assert.instance(r, RangeError, `got ${Object.getPrototypeOf(r)?.constructor?.name}`);
  assert.is((t as Error).message, 'a TypeError from the program');
});

test('13.8 an uncaught signal reaches rt.run as a ProcessSignalError with its signal, code and exact address', async () => {
  const e = (await rejection('segv')) as ProcessSignalError;
  assert.instance(e, ProcessSignalError);
  assert.is(e.signal, 'SIGSEGV');
  assert.is(e.code, 'SEGV_MAPERR');
  assert.is(e.addr, 0x7000_0004);
});

test('13.8 an mmap that d_mmap refused names the refused device offset in its message; errno EINVAL', async () => {
  const e = (await rejection('mmap-gap')) as SyscallError;
  assert.is(e.code, 'EINVAL', `got ${(e as Error).name}: ${(e as Error).message}`);
  // device pages 20..25: RAM ends at 24, so the first offset refused is 0x18000
  assert.match(e.message, /0x18000/, e.message);
});

/** A runtime with nothing else in kernel memory: the page after a 2-page allocation is unmapped. */
async function kernelRange(fn: (k: Runtime['kernel'], kva: number) => void): Promise<void> {
  const r = await withTimeout(15_000, Runtime.create({ memory: 1 << 20 }), 'Runtime.create');
  try {
    const kva = r.kernel.kmAlloc(2 * PS, { zero: true });
    r.kernel.write(kva, new Uint8Array(2 * PS).fill(0xaa));
    assert.is(r.kernel.pmapExtract(kva + 2 * PS), -1, 'the page after the allocation is not mapped');
    fn(r.kernel, kva);
  } finally {
    await r.close();
  }
}

test('13.8 kernel.write across the end of an allocation writes nothing and quotes the address passed', async () => {
  await kernelRange((k, kva) => {
    const at = kva + PS + 100;
    let err: Error | null = null;
    try {
      k.write(at, new Uint8Array(PS).fill(0x55));
    } catch (e) {
      err = e as Error;
    }
    assert.ok(err, 'kernel.write threw');
    assert.ok(err!.message.includes(String(at)) || err!.message.includes(`0x${at.toString(16)}`), `the message quotes ${at} (0x${at.toString(16)}): ${err!.message}`);
    const back = new Uint8Array(2 * PS);
    k.read(kva, back);
    const changed = back.findIndex((b) => b !== 0xaa);
    assert.is(changed, -1, `nothing was written (byte ${changed} changed)`);
  });
});

test('13.8 kernel.read across the end of an allocation fills nothing and quotes the address passed', async () => {
  await kernelRange((k, kva) => {
    const at = kva + PS + 100;
    const dst = new Uint8Array(PS).fill(0x77);
    let err: Error | null = null;
    try {
      k.read(at, dst);
    } catch (e) {
      err = e as Error;
    }
    assert.ok(err, 'kernel.read threw');
    assert.ok(err!.message.includes(String(at)) || err!.message.includes(`0x${at.toString(16)}`), `the message quotes ${at} (0x${at.toString(16)}): ${err!.message}`);
    assert.is(dst.findIndex((b) => b !== 0x77), -1, 'dst is untouched');
  });
});

exitGuard(test);
test.run();
