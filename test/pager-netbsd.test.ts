/**
 * NetBSD's own regression tests for mmap/mprotect/mincore/msync (tests/lib/libc/sys, reference
 * section (f)) that apply to the simulated device pager, ported to the Process API. Files become
 * the log device (/dev/log0: region A = 4 pages at offset 0); a forked child that reports its
 * signal becomes either a caught SignalError or an uncaught one that makes rt.run reject.
 *
 * Not ported (no equivalent here): mmap_loan (sockets), mmap_truncate[_signal] (files),
 * mprotect_exec / mprotect_pax / mprotect_mremap_exec (no execution, PaX or mremap),
 * mincore_resid (mlock/MAP_WIRED), the audio-device cases (fo_mmap, not d_mmap).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PAGE_SIZE, ProcessSignalError } from '../src/index.js';
import { LOG_PATH, fixture, logDevice, logState, withRuntime } from './fixtures/pager-host.js';

const PS = PAGE_SIZE;
const PROG = fixture('netbsd-prog');
const OPTS = { memory: 16 << 20, devices: [logDevice({ sizeA: 4 * PS })] };
const ARGS = { dev: LOG_PATH };

type Caught = { name: string; code?: string; errno?: number; syscall?: string; signal?: string; addr?: number; message: string } | null;

function isErrno(c: unknown, code: string, errno: number, syscall: string, what: string): void {
  const e = c as Caught;
  assert.ok(e, `${what}: expected ${code}, but the call succeeded`);
  assert.is(e!.name, 'SyscallError', `${what}: ${e!.message}`);
  assert.is(e!.code, code, `${what}: .code (${e!.message})`);
  assert.is(e!.errno, errno, `${what}: .errno`);
  assert.is(e!.syscall, syscall, `${what}: .syscall`);
}
function isSignal(c: unknown, signal: string, what: string): void {
  const e = c as Caught;
  assert.ok(e, `${what}: expected ${signal}, but the access succeeded`);
  assert.is(e!.name, 'SignalError', `${what}: ${e!.message}`);
  assert.is(e!.signal, signal, `${what}: .signal`);
}
async function childDiesBy(p: Promise<unknown>, signal: string, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, ProcessSignalError, `${what}: ${(e as Error).message}`);
    assert.is((e as ProcessSignalError).signal, signal, `${what}: signal`);
    return;
  }
  assert.unreachable(`${what}: the child did not die`);
}

test('mmap_err: fd -1 without MAP_ANON -> EBADF; (-1, MAP_FIXED) -> EINVAL; MAP_ANON with fd INT_MAX -> EINVAL', async () => {
  await withRuntime(OPTS, 30_000, 'mmap_err', async (rt) => {
    const r = (await rt.run(PROG, 'mmap_err', ARGS)) as Record<string, Caught>;
    isErrno(r.e1, 'EBADF', 9, 'mmap', '#1 mmap(NULL, 3, PROT_READ, MAP_PRIVATE, -1, 0)');
    isErrno(r.e2, 'EINVAL', 22, 'mmap', '#2 unaligned MAP_FIXED address, checked before the fd');
    isErrno(r.e3, 'EINVAL', 22, 'mmap', '#3 MAP_ANON with fd INT_MAX');
  });
});

test('mmap_prot_1: O_WRONLY + PROT_READ -> EACCES; PROT_WRITE works and munmaps', async () => {
  await withRuntime(OPTS, 30_000, 'mmap_prot_1', async (rt) => {
    const r = (await rt.run(PROG, 'mmap_prot_1', ARGS)) as Record<string, Caught>;
    isErrno(r.read, 'EACCES', 13, 'mmap', 'PROT_READ on an O_WRONLY descriptor');
    assert.is(r.unmap, null);
    assert.is(rt.kernel.load32(logState(rt).a), 0x1234, 'the write-only mapping wrote the device');
  });
});

test('mmap_prot_2: reading an anonymous PROT_NONE page -> SIGSEGV', async () => {
  await withRuntime(OPTS, 30_000, 'mmap_prot_2', async (rt) => {
    const r = (await rt.run(PROG, 'mmap_prot_2', ARGS)) as { read: Caught };
    isSignal(r.read, 'SIGSEGV', 'caught');
    await childDiesBy(rt.run(PROG, 'mmap_prot_2', { ...ARGS, child: true }), 'SIGSEGV', 'child');
  });
});

test('mmap_prot_3: O_RDONLY + PROT_NONE MAP_SHARED works; a read -> SIGSEGV; munmap 0', async () => {
  await withRuntime(OPTS, 30_000, 'mmap_prot_3', async (rt) => {
    const r = (await rt.run(PROG, 'mmap_prot_3', ARGS)) as { read: Caught; unmap: Caught };
    isSignal(r.read, 'SIGSEGV', 'read of the PROT_NONE device page');
    assert.is(r.unmap, null);
    await childDiesBy(rt.run(PROG, 'mmap_prot_3', { ...ARGS, child: true }), 'SIGSEGV', 'child');
    assert.is(rt.device(LOG_PATH).refs, 0);
  });
});

test('mmap_reprotect_race (PR 52239): two processes race mmap/re-mmap MAP_FIXED/munmap; every call succeeds', async () => {
  await withRuntime({ ...OPTS, pagers: 2 }, 60_000, 'mmap_reprotect_race', async (rt) => {
    // 10^6 iterations upstream; here bounded so the pair runs a few seconds.
    const iterations = 10_000;
    const free0 = rt.stats().memory.freeFrames;
    const a = rt.spawn(PROG, 'mapUnmap', { ...ARGS, iterations });
    const b = rt.spawn(PROG, 'reprotect', { ...ARGS, iterations });
    const sts = await Promise.all([a.exited, b.exited]);
    for (const [i, st] of sts.entries()) {
      assert.not.ok(st.error ?? st.signal, `process ${i}: ${st.error?.message ?? st.signal}`);
      const r = st.result as { failures: number; first: string };
      assert.is(r.failures, 0, `process ${i}: ${r.first}`);
    }
    assert.is(rt.stats().memory.freeFrames, free0, 'no anonymous frame or page table leaked');
  });
});

test('mmap_va0: MAP_ANON|MAP_FIXED at address 0 fails with EACCES for every prot (user_va0_disable)', async () => {
  await withRuntime(OPTS, 30_000, 'mmap_va0', async (rt) => {
    const r = (await rt.run(PROG, 'mmap_va0', ARGS)) as Record<string, Caught>;
    for (const k of ['X', 'R', 'W', 'RW', 'RWX']) isErrno(r[k], 'EACCES', 13, 'mmap', `prot ${k}`);
    assert.is(r.nullHint, null, 'address 0 as a hint (no MAP_FIXED) is fine');
  });
});

test('mmap_hint: hints 0, -1, a page, low, high, a used address and the first hint again all succeed', async () => {
  await withRuntime(OPTS, 30_000, 'mmap_hint', async (rt) => {
    const r = (await rt.run(PROG, 'mmap_hint', ARGS)) as { hint: number; va: number; aligned: boolean; unmap: Caught; rw: number }[];
    assert.is(r.length, 8);
    for (const x of r) {
      assert.ok(x.aligned, `hint ${x.hint}: page aligned result`);
      assert.ok(x.va > 0 && x.va + PS <= 2 ** 32, `hint ${x.hint}: result 0x${x.va.toString(16)} inside the user address space`);
      assert.is(x.rw, 0x1234, `hint ${x.hint}: usable`);
      assert.is(x.unmap, null, `hint ${x.hint}: munmap 0`);
    }
    const [first, second, third] = r.slice(5);
    assert.is.not(second.va, first.va, 'a used hint gives another address');
    assert.is.not(third.va, first.va);
  });
});

test('mprotect_access: O_RDONLY device mapped PROT_NONE or PROT_READ: mprotect(PROT_WRITE) -> EACCES; munmap 0', async () => {
  await withRuntime(OPTS, 30_000, 'mprotect_access', async (rt) => {
    const r = (await rt.run(PROG, 'mprotect_access', ARGS)) as Record<string, Caught>;
    isErrno(r.none, 'EACCES', 13, 'mprotect', 'PROT_NONE mapping');
    isErrno(r.read, 'EACCES', 13, 'mprotect', 'PROT_READ mapping');
    assert.is(r.noneUnmap, null);
    assert.is(r.readUnmap, null);
  });
});

test('mprotect_err: mprotect((void *)-1, 1, PROT_READ) -> EINVAL', async () => {
  await withRuntime(OPTS, 30_000, 'mprotect_err', async (rt) => {
    isErrno(await rt.run(PROG, 'mprotect_err', ARGS), 'EINVAL', 22, 'mprotect', 'mprotect(-1, 1)');
  });
});

test('mprotect_write: RW anon, write, mprotect(PROT_READ), write -> SIGSEGV; contents kept', async () => {
  await withRuntime(OPTS, 30_000, 'mprotect_write', async (rt) => {
    const r = (await rt.run(PROG, 'mprotect_write', ARGS)) as { write: Caught; before: string; after: string };
    isSignal(r.write, 'SIGSEGV', 'write after mprotect(PROT_READ)');
    assert.is(r.before, 'abcdefg');
    assert.is(r.after, 'abcdefg', 'the refused write changed nothing');
    await childDiesBy(rt.run(PROG, 'mprotect_write', { ...ARGS, child: true }), 'SIGSEGV', 'child');
  });
});

test('mincore_err: len 0 -> EINVAL; an unmapped range -> ENOMEM', async () => {
  await withRuntime(OPTS, 30_000, 'mincore_err', async (rt) => {
    const r = (await rt.run(PROG, 'mincore_err', ARGS)) as Record<string, Caught> & { ok: number[] };
    isErrno(r.len0, 'EINVAL', 22, 'mincore', 'len 0');
    isErrno(r.nullPage, 'ENOMEM', 12, 'mincore', 'mincore(NULL, page)');
    assert.equal(r.ok, [0]);
  });
});

test('msync_err: flags -1 and INT_MAX -> EINVAL; msync(INT_MAX, page) unmapped -> EFAULT; device msync is a no-op', async () => {
  await withRuntime(OPTS, 30_000, 'msync_err', async (rt) => {
    const r = (await rt.run(PROG, 'msync_err', ARGS)) as Record<string, Caught>;
    isErrno(r.flagsMinus1, 'EINVAL', 22, 'msync', 'flags -1');
    isErrno(r.flagsIntMax, 'EINVAL', 22, 'msync', 'flags INT_MAX');
    isErrno(r.unmapped, 'EFAULT', 14, 'msync', 'msync((void *)INT_MAX, page, MS_SYNC)');
    assert.is(r.anonOk, null);
    assert.is(r.deviceOk, null, 'device mapping: no pgo_put, success');
    isErrno(r.partlyMapped, 'EFAULT', 14, 'msync', 'range not fully mapped');
  });
});

test('mmap_block (ported): a device mapping survives close(fd); munmap then removes it', async () => {
  await withRuntime(OPTS, 30_000, 'mmap_block', async (rt) => {
    const st = logState(rt);
    rt.kernel.store32(st.a + 8, 0xb10c);
    rt.kernel.store32(st.a + PS + 8, 0xb10d);
    const r = (await rt.run(PROG, 'mmap_block', ARGS)) as Record<string, unknown> & { va: number };
    assert.is(r.first, 0xb10c);
    assert.is(r.again, 0xb10c, 'read after close');
    assert.is(r.untouched, 0xb10d, 'a page first touched after close');
    assert.is(r.unmap, null);
    isSignal(r.after, 'SIGSEGV', 'read after munmap');
    assert.is(rt.device(LOG_PATH).refs, 0);
  });
});

test.run();
