/**
 * Acceptance cases for the device pager, numbered as in the reference's derived list
 * (/work/shared/reference/netbsd-device-pager.md, end of section (f)), plus the signal contract
 * of API.md (ProcessSignalError, caught signals, program errors, SIGBUS on misalignment).
 *
 * The log driver (fixtures/logdrv.ts) records every d_mmap call (off, prot) in kernel memory, so
 * the exact call sequence is checked; /dev/log1 is a second unit used only for checkpoints, so
 * mapping it leaves /dev/log0's references and log untouched.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PAGE_SIZE, ProcessSignalError, Runtime } from '../src/index.js';
import type { FooState } from '../src/drivers/foo.js';
import {
  FOODRV, FOO_PATH, HostSync, LOG_PATH, fixture, logCount, logDevice, logState, readLog, withRuntime,
} from './fixtures/pager-host.js';

const PS = PAGE_SIZE;
const PROG = fixture('accept-prog');
const SYNC_PATH = '/dev/log1';
const LOGCFG = { sizeA: 4 * PS, offB: 16 * PS, sizeB: 2 * PS, offC: 64 * PS };
const ARGS = { dev: LOG_PATH, sync: SYNC_PATH, offC: LOGCFG.offC, offB: LOGCFG.offB };
const OPTS = { memory: 16 << 20, devices: [logDevice(LOGCFG, 0), logDevice(LOGCFG, 1)] };

type Log = [number, number][];
type Caught = { name: string; code?: string; errno?: number; syscall?: string; signal?: string; addr?: number; message: string } | null;

function isErrno(c: unknown, code: string, errno: number, syscall: string, what: string): void {
  const e = c as Caught;
  assert.ok(e, `${what}: expected ${syscall} to fail with ${code}, but it succeeded`);
  assert.is(e!.name, 'SyscallError', `${what}: error name (${e!.message})`);
  assert.is(e!.code, code, `${what}: .code (${e!.message})`);
  assert.is(e!.errno, errno, `${what}: .errno`);
  assert.is(e!.syscall, syscall, `${what}: .syscall`);
}

function isSignal(c: unknown, signal: string, what: string, addr?: number, code?: string): void {
  const e = c as Caught;
  assert.ok(e, `${what}: expected ${signal}, but the access succeeded`);
  assert.is(e!.name, 'SignalError', `${what}: error name (${e!.message})`);
  assert.is(e!.signal, signal, `${what}: .signal (${e!.message})`);
  if (addr !== undefined) assert.is(e!.addr, addr, `${what}: .addr must be the exact faulting address`);
  if (code !== undefined) assert.is(e!.code, code, `${what}: .code`);
}

async function rejectsWith(p: Promise<unknown>, what: string): Promise<ProcessSignalError> {
  try {
    const r = await p;
    throw new Error(`${what}: rt.run resolved with ${JSON.stringify(r)} instead of rejecting`);
  } catch (e) {
    if (!(e instanceof ProcessSignalError)) throw new Error(`${what}: expected a ProcessSignalError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    return e;
  }
}

const pages = (n: number, prot: number, from = 0): Log => Array.from({ length: n }, (_, i) => [from + i * PS, prot]);

// ------------------------------------------------------------------------------------- (1)

test('1: mmap inside A calls d_mmap once per page, ascending, prot = maxprot, before any fault', async () => {
  await withRuntime(OPTS, 30_000, 'case 1', async (rt) => {
    const r = (await rt.run(PROG, 'mmapOrder', ARGS)) as Record<string, { log: Log }> & { one: Log };
    assert.equal(r.rdwr.log, pages(4, 7), 'O_RDWR: prot 7 for pages 0..3, in order, and no fault-time call');
    assert.equal(r.rdonly.log, pages(4, 5), 'O_RDONLY: maxprot 5 (READ|EXEC)');
    assert.equal(r.wronly.log, pages(4, 6), 'O_WRONLY: maxprot 6 (WRITE|EXEC)');
    assert.equal(r.one, [[2 * PS, 7]], 'a one-page mapping at offset 2 pages: exactly that page');
  });
});

test('1b: the attach walk steps the prot down (7, 6, 5, 4, 3) until d_mmap accepts; maxprot is not reduced', async () => {
  await withRuntime(OPTS, 30_000, 'case 1b', async (rt) => {
    const r = (await rt.run(PROG, 'refuseExec', ARGS)) as Record<string, unknown>;
    assert.equal(r.log, [[0, 7], [0, 6], [0, 5], [0, 4], [0, 3], [PS, 3]], 'prot 7..4 refused at page 0; prot 3 walks both pages');
    assert.is(r.toRWX, null, 'mprotect(RWX) allowed: the entry keeps maxprot 7 although the attach succeeded with 3');
    assert.equal(r.faultLog, [[PS, 2]], 'a fault passes the access type (2), which the driver accepts');
    assert.equal(r.roLog, [[0, 5], [0, 4], [0, 3]], 'O_RDONLY: maxprot 5, then 4 refused; the numeric decrement reaches 3 (READ|WRITE), accepted');
    isErrno(r.roToRWX, 'EACCES', 13, 'mprotect', 'O_RDONLY maxprot is 5: RWX exceeds it');
    assert.is(r.roToRX, null, 'R|X is within maxprot 5');
  });
});

// ------------------------------------------------------------------------------------- (2)

test('2: a range covering the gap or past the end of B fails with EINVAL; nothing mapped, no reference', async () => {
  await withRuntime(OPTS, 30_000, 'case 2', async (rt) => {
    const sync = new HostSync(rt, SYNC_PATH);
    const h = rt.spawn(PROG, 'gap', ARGS);
    let refs0 = -1;
    await sync.at(1, () => {
      refs0 = rt.device(LOG_PATH).refs;
    }, h.exited);
    assert.is(refs0, 1, 'log0 refs with only the control-page mapping');
    await sync.at(2, () => {
      const d = rt.device(LOG_PATH);
      assert.is(d.refs, refs0, 'refs unchanged by the failed mmaps');
      assert.is(d.attaches, 1, 'no uvm_device was created for a failed mmap');
      assert.is(d.frees, 0);
    }, h.exited);
    const st = await h.exited;
    assert.not.ok(st.error, `process error: ${st.error?.message}`);
    const r = st.result as Record<string, unknown>;
    isErrno(r.fixedOverGap, 'EINVAL', 22, 'mmap', 'MAP_FIXED over 4 pages of A + 1 gap page');
    // vn_mmap 7g: udv_attach tried with prot 7, 6, ..., 1; each walk stops at the first -1.
    const expect: Log = [];
    for (let prot = 7; prot >= 1; prot--) for (let i = 0; i < 5; i++) expect.push([i * PS, prot]);
    assert.equal(r.fixedOverGapLog, expect, 'd_mmap walk: pages 0..4 (4 fails) for prot 7 down to 1');
    assert.is(r.oldMappingValue, 0x5a5a5a5a, 'the failed MAP_FIXED did not replace the old mapping');
    isErrno(r.afterX, 'ENOMEM', 12, 'mincore', 'nothing mapped past the old mapping');
    isErrno(r.pastB, 'EINVAL', 22, 'mmap', 'range past the end of B');
    const pastB = r.pastBLog as Log;
    assert.equal(pastB.slice(0, 2), [[LOGCFG.offB + PS, 7], [LOGCFG.offB + 2 * PS, 7]], 'walk of B: last page ok, next fails');
    isErrno(r.inGap, 'EINVAL', 22, 'mmap', 'a page inside the gap');
    isErrno(r.gapIntoB, 'EINVAL', 22, 'mmap', 'gap page followed by B');
    isErrno(r.rdonlyOverGap, 'EINVAL', 22, 'mmap', 'O_RDONLY over the gap');
    isErrno(r.hintFree, 'ENOMEM', 12, 'mincore', 'nothing mapped at the hint after the failures');
    assert.is(rt.device(LOG_PATH).refs, 0, 'refs 0 after exit');
  });
});

// ------------------------------------------------------------------------------------- (3)

test('3: first touch calls d_mmap once with the access type; later touches none; read-then-write one call', async () => {
  await withRuntime(OPTS, 30_000, 'case 3', async (rt) => {
    const r = (await rt.run(PROG, 'firstTouch', ARGS)) as { steps: [string, Log][]; roWrite: Caught; woRead: number };
    const steps = Object.fromEntries(r.steps);
    assert.equal(steps['read p0'], [[0, 1]], 'first read of page 0: d_mmap(0, READ)');
    assert.equal(steps['read p0 again'], [], 'second read: no call');
    assert.equal(steps['write p0 after read'], [], 'write after read on a RW mapping: PTE was entered RW, no call');
    assert.equal(steps['write p1'], [[PS, 2]], 'first write of page 1: d_mmap(4096, WRITE) — WRITE alone');
    assert.equal(steps['read p1 after write'], [], 'read after write: no call');
    assert.equal(steps['write p1 again'], [], 'write again: no call');
    assert.equal(steps['read8 p2'], [[2 * PS, 1]], 'byte read of page 2');
    assert.equal(steps['write16 p2'], [], 'then a write: no call');
    assert.equal(steps['read ro'], [[3 * PS, 1]], 'PROT_READ mapping: read faults with 1');
    isSignal(r.roWrite, 'SIGSEGV', 'write to a PROT_READ mapping');
    assert.equal(steps['write ro'], [], 'protection is checked before d_mmap: no call for the refused write');
    assert.equal(steps['write wo'], [[3 * PS, 2]], 'PROT_WRITE mapping: write faults with 2');
    assert.equal(steps['read wo'], [], 'x86: a page entered writable is readable without another fault');
    assert.is(r.woRead, 0xabc);
  });
});

// ------------------------------------------------------------------------------------- (4)

test('4: bytes written through a mapping reach the kernel VA and another process; host writes are seen', async () => {
  await withRuntime(OPTS, 30_000, 'case 4', async (rt) => {
    const st = logState(rt);
    const host1 = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const host2 = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
    rt.kernel.write(st.a + 3 * PS, host1);
    const sync = new HostSync(rt, SYNC_PATH);
    const w = rt.spawn(PROG, 'shareWriter', ARGS);
    const rd = rt.spawn(PROG, 'shareReader', ARGS);
    await sync.at(1, () => {
      rt.kernel.write(st.a + 3 * PS, host2);
    }, w.exited);
    const [ws, rs] = await Promise.all([w.exited, rd.exited]);
    assert.not.ok(ws.error ?? rs.error, `process error: ${(ws.error ?? rs.error)?.message}`);
    assert.not.ok(ws.signal ?? rs.signal, `process signal: ${ws.signal ?? rs.signal}`);
    const wr = ws.result as { hostBefore: number[]; hostAfter: number[]; reply: number[] };
    const rr = rs.result as { got: number[] };
    const msg = Array.from({ length: 200 }, (_, i) => (i * 7 + 1) & 255);
    assert.equal(wr.hostBefore, Array.from(host1), 'process sees what the host wrote before the mapping');
    assert.equal(wr.hostAfter, Array.from(host2), 'process sees what the host wrote while it was mapped (same frame)');
    assert.equal(rr.got, msg, 'the other process (other VA, other base offset) sees the bytes');
    assert.equal(wr.reply, [9, 8, 7, 6, 5, 4, 3, 2], 'and the writer sees the reader\'s reply');
    const k = new Uint8Array(200);
    rt.kernel.read(st.a + PS + 100, k);
    assert.equal(Array.from(k), msg, 'bytes are at the driver\'s kernel VA');
    const k2 = new Uint8Array(8);
    rt.kernel.read(st.a + 2 * PS + 50, k2);
    assert.equal(Array.from(k2), [9, 8, 7, 6, 5, 4, 3, 2], 'reply at kernel VA');
  });
});

// ------------------------------------------------------------------------------------- (5)

test('5: an unaligned offset without MAP_FIXED returns base + (off & PAGE_MASK)', async () => {
  await withRuntime(OPTS, 30_000, 'case 5', async (rt) => {
    const st = logState(rt);
    rt.kernel.write(st.a + PS + 123, Uint8Array.of(0xab, 0xcd));
    const r = (await rt.run(PROG, 'unaligned', ARGS)) as Record<string, unknown>;
    assert.is((r.r as number) % PS, 123, 'returned pointer keeps the page offset');
    assert.equal(r.bytes, [0xab, 0xcd], 'the pointer addresses device offset 4096+123');
    assert.equal(r.log, [[PS, 7]], 'd_mmap saw the truncated, page-aligned offset; 100+123 bytes is one page');
    assert.is((r.r2 as number) % PS, 123);
    assert.equal(r.log2, [[PS, 7], [2 * PS, 7]], 'PAGE_SIZE bytes at page offset 123 span two pages');
    assert.is(r.fixed, 0x0a00_0000 + 123, 'MAP_FIXED at addr with the same page offset returns addr');
    assert.is(r.fixedByte, 0xab);
    isErrno(r.fixedMisaligned, 'EINVAL', 22, 'mmap', 'MAP_FIXED whose addr - pageoff is not page aligned');
  });
});

// ------------------------------------------------------------------------------------- (6)

test('6: MAP_PRIVATE on the device acts as MAP_SHARED; O_RDONLY + PROT_WRITE + MAP_PRIVATE is EACCES', async () => {
  await withRuntime(OPTS, 30_000, 'case 6', async (rt) => {
    const st = logState(rt);
    const r = (await rt.run(PROG, 'privateWrite', ARGS)) as Record<string, unknown>;
    assert.is(r.seen, 0x600df00d, 'a write through one MAP_PRIVATE mapping shows in another (no COW copy)');
    assert.is(rt.kernel.load32(st.a + 2 * PS + 64), 0x600df00d, 'and reaches the device memory');
    isErrno(r.roPrivWrite, 'EACCES', 13, 'mmap', 'O_RDONLY + PROT_WRITE + MAP_PRIVATE');
    assert.is(r.roPrivRead, null, 'O_RDONLY + PROT_READ + MAP_PRIVATE is fine');
    assert.is(await rt.run(PROG, 'privateRead', ARGS), 0x600df00d, 'another process mapping MAP_PRIVATE sees the write');
  });
});

// ------------------------------------------------------------------------------------- (7)

test('7: argument errors: EINVAL/EBADF/EACCES with NetBSD errno numbers, before any d_mmap call', async () => {
  await withRuntime(OPTS, 30_000, 'case 7', async (rt) => {
    const r = (await rt.run(PROG, 'errors', ARGS)) as Record<string, unknown>;
    isErrno(r.sharedPrivate, 'EINVAL', 22, 'mmap', 'MAP_SHARED|MAP_PRIVATE');
    isErrno(r.len0, 'EINVAL', 22, 'mmap', 'len 0');
    isErrno(r.negOff, 'EINVAL', 22, 'mmap', 'negative offset');
    isErrno(r.negOffUnaligned, 'EINVAL', 22, 'mmap', 'offset -1');
    isErrno(r.wronlyRead, 'EACCES', 13, 'mmap', 'O_WRONLY + PROT_READ');
    isErrno(r.fdMinus1, 'EBADF', 9, 'mmap', 'fd -1 without MAP_ANON');
    isErrno(r.fdNotOpen, 'EBADF', 9, 'mmap', 'fd never opened');
    isErrno(r.fdClosed, 'EBADF', 9, 'mmap', 'closed fd');
    isErrno(r.anonWithFd, 'EINVAL', 22, 'mmap', 'MAP_ANON with an fd');
    isErrno(r.closeBad, 'EBADF', 9, 'close', 'close of a closed fd');
    isErrno(r.openMissing, 'ENOENT', 2, 'open', 'open of an unknown device');
    assert.equal(r.log, [], 'no check above reaches d_mmap (negative offsets are refused by udv_attach before it)');
  });
});

// ------------------------------------------------------------------------------------- (8)

test('8: region shrunk after mmap: never-touched page -> SIGSEGV SEGV_MAPERR at the exact address; touched pages work', async () => {
  const opts = { memory: 16 << 20, devices: [{ name: 'foo', unit: 0, driver: FOODRV, config: { size1: 4 * PS } }] };
  await withRuntime(opts, 30_000, 'case 8', async (rt) => {
    const st = rt.device(FOO_PATH).state as FooState;
    const h = rt.spawn(PROG, 'shrinkFoo', { dev: FOO_PATH, sync: '', offC: 0, offset2: st.offset2 });
    // checkpoint 1: the program stored 1 at obj2+0 and waits for obj2+4
    const deadline = Date.now() + 20_000;
    while (rt.kernel.load32(st.obj2) !== 1) {
      if (Date.now() > deadline) throw new Error('shrinkFoo never reached checkpoint 1');
      await new Promise((r) => setTimeout(r, 2));
    }
    rt.kernel.store32(st.sizesKva, PS); // region 1 is now one page
    rt.kernel.store32(st.obj2 + 4, 1);
    rt.kernel.notify32(st.obj2 + 4);
    const s = await h.exited;
    assert.not.ok(s.error, `process error: ${s.error?.message}`);
    assert.not.ok(s.signal, `process died: ${s.signal}`);
    const r = s.result as Record<string, unknown>;
    const va = r.va as number;
    assert.is(r.page0, 1, 'page 0 (still inside) works');
    assert.is(r.page2, 3, 'page 2 was touched before the shrink: its PTE keeps working');
    assert.is(r.page2write, 33);
    isSignal(r.page3, 'SIGSEGV', 'never-touched page 3', va + 3 * PS + 5, 'SEGV_MAPERR');
    isSignal(r.page1, 'SIGSEGV', 'never-touched page 1 (write)', va + PS + 8, 'SEGV_MAPERR');
    isSignal(r.page2AfterPmapRemove, 'SIGSEGV', 'page 2 after the pmap forgot it: the refault asks d_mmap again', va + 2 * PS + 16, 'SEGV_MAPERR');
    assert.is(r.page0AfterPmapRemove, 1, 'page 0 refaults fine');
  });
});

// ------------------------------------------------------------------------------------- (9)

test('9: mprotect READ then write -> SIGSEGV; back to RW -> the write faults and calls d_mmap again; EACCES past maxprot', async () => {
  await withRuntime(OPTS, 30_000, 'case 9', async (rt) => {
    const r = (await rt.run(PROG, 'mprotect', ARGS)) as Record<string, [Caught | number | null, Log]> & Record<string, unknown>;
    const X = 0x0c00_0000;
    assert.equal(r.firstWrite[1], [[0, 2]], 'first write: one d_mmap(0, WRITE)');
    isSignal(r.writeAfterRO[0], 'SIGSEGV', 'write after mprotect(PROT_READ)', X + 12);
    assert.equal(r.writeAfterRO[1], [], 'refused write: no d_mmap call');
    assert.is(r.readAfterRO[0], 1, 'read still works');
    assert.equal(r.readAfterRO[1], [], 'read after lowering: the lowered PTE stays, no call');
    assert.equal(r.writeAfterRW[1], [[0, 2]], 'after mprotect back to RW the write faults and calls d_mmap(0, WRITE) again');
    assert.is(r.readBack, 3);
    isSignal(r.readAfterNone[0], 'SIGSEGV', 'read after mprotect(PROT_NONE)', X + 8);
    assert.equal(r.readAfterNone[1], []);
    assert.equal(r.readAfterNoneToRO[1], [[0, 1]], 'PROT_NONE removed the PTE: the read after raising calls d_mmap(0, READ)');
    isErrno(r.roToW, 'EACCES', 13, 'mprotect', 'mprotect(PROT_WRITE) on an O_RDONLY mapping');
    isErrno(r.roToRW, 'EACCES', 13, 'mprotect', 'mprotect(RW) on an O_RDONLY mapping');
    assert.is(r.roStillReads, 3, 'the refused mprotect changed nothing');
    isSignal(r.roWrite, 'SIGSEGV', 'write to the O_RDONLY mapping');
    isErrno(r.mixed, 'EACCES', 13, 'mprotect', 'range spanning an O_RDWR and an O_RDONLY mapping');
    isSignal(r.afterMixedWrite, 'SIGSEGV', 'the failed mprotect did not raise page 0 either (all or nothing)', X);
    assert.is(r.page1Write, null, 'page 1 still RW');
  });
});

// ------------------------------------------------------------------------------------- (10)

test('10: munmap of a middle page: SIGSEGV there, neighbours fine, refs +1 for the split; holes and len 0 are fine', async () => {
  await withRuntime(OPTS, 30_000, 'case 10', async (rt) => {
    const sync = new HostSync(rt, SYNC_PATH);
    const h = rt.spawn(PROG, 'munmapMiddle', ARGS);
    const refs: number[] = [];
    await sync.at(1, () => void refs.push(rt.device(LOG_PATH).refs), h.exited);
    await sync.at(2, () => void refs.push(rt.device(LOG_PATH).refs), h.exited);
    await sync.at(3, () => void refs.push(rt.device(LOG_PATH).refs), h.exited);
    const s = await h.exited;
    assert.not.ok(s.error ?? s.signal, `process failed: ${s.error?.message ?? s.signal}`);
    assert.equal(refs, [1, 2, 1], 'refs: one entry, then two after the split, then one after unmapping the right piece');
    const r = s.result as Record<string, unknown>;
    const va = r.va as number;
    isSignal(r.middle, 'SIGSEGV', 'access to the unmapped middle page', va + PS + 12, 'SEGV_MAPERR');
    assert.is(r.left, 100);
    assert.is(r.right, 102);
    assert.is(r.holeAgain, null, 'munmap of the hole again is 0');
    assert.is(r.allHole, null, 'munmap of a range with nothing mapped is 0');
    assert.is(r.len0, null, 'munmap(len 0) is 0');
    assert.is(r.leftAfterLen0, 100, 'and unmapped nothing');
    assert.is(r.unaligned, null, 'munmap with an unaligned addr is accepted');
    isSignal(r.rightAfterUnaligned, 'SIGSEGV', 'the page containing the unaligned addr is gone', va + 2 * PS, 'SEGV_MAPERR');
    const d = rt.device(LOG_PATH);
    assert.is(d.refs, 0, 'refs 0 after exit');
  });
});

// ------------------------------------------------------------------------------------- (11)

test('11: after the last unmap across all processes refs is 0 and the uvm_device is freed; the driver is not called', async () => {
  await withRuntime(OPTS, 30_000, 'case 11', async (rt) => {
    const a = rt.spawn(PROG, 'holder', { ...ARGS, k: 1, unmap: true });
    const b = rt.spawn(PROG, 'holder', { ...ARGS, k: 2, unmap: false });
    const sa = new HostSync(rt, SYNC_PATH, 1);
    const sb = new HostSync(rt, SYNC_PATH, 2);
    await sa.reached(1, a.exited);
    await sb.reached(1, b.exited);
    let d = rt.device(LOG_PATH);
    assert.is(d.refs, 2, 'two processes map the device: two references');
    assert.is(d.attaches, 1, 'one uvm_device, shared');
    assert.is(d.frees, 0);
    const calls = logCount(rt);
    sa.release(1);
    await sa.reached(2, a.exited);
    d = rt.device(LOG_PATH);
    assert.is(d.refs, 1, 'process A unmapped: one reference left');
    assert.is(d.frees, 0, 'not freed while B maps it');
    sa.release(2);
    const ra = await a.exited;
    assert.is(ra.result, 'done', `A: ${ra.error?.message ?? ra.signal ?? ''}`);
    assert.is(rt.device(LOG_PATH).refs, 1, 'A exited: still B');
    sb.release(1);
    const rb = await b.exited;
    assert.is(rb.result, 'done', `B: ${rb.error?.message ?? rb.signal ?? ''}`);
    d = rt.device(LOG_PATH);
    assert.is(d.refs, 0, 'B exited (teardown as by munmap): refs 0');
    assert.is(d.frees, 1, 'the uvm_device was freed once');
    assert.is(logCount(rt), calls, 'no d_mmap call (or any driver callback) at munmap or exit');
    // A new mapping creates a new uvm_device.
    const c = rt.spawn(PROG, 'holder', { ...ARGS, k: 3, unmap: false });
    const sc = new HostSync(rt, SYNC_PATH, 3);
    await sc.at(1, () => {
      assert.is(rt.device(LOG_PATH).attaches, 2, 'attached again');
    }, c.exited);
    await c.exited;
    d = rt.device(LOG_PATH);
    assert.equal([d.refs, d.attaches, d.frees], [0, 2, 2]);
  });
});

// ------------------------------------------------------------------------------------- (12)

test('12: close(fd) does not unmap; a never-touched page still faults through d_mmap', async () => {
  await withRuntime(OPTS, 30_000, 'case 12', async (rt) => {
    const r = (await rt.run(PROG, 'closeThenTouch', ARGS)) as Record<string, unknown>;
    assert.equal(r.log, [[PS, 1]], 'after close: d_mmap(4096, READ) for the first touch, none for the write (RW PTE)');
    assert.is(r.p0, 77);
    assert.is(r.p1, 78);
    isErrno(r.again, 'EBADF', 9, 'mmap', 'the closed fd cannot be mapped again');
  });
});

// ------------------------------------------------------------------------------------- (13)

test("13: fork: the child's first touch calls d_mmap again; minherit NONE and COPY of a device give the child SIGSEGV", () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4, devices: [logDevice()] }, 60_000, 'case 13', async (rt) => {
    const prog = fixture('threads-prog');
    const r = (await rt.run(prog, 'fork-device', logState(rt).offC)) as { childStatus: { result: { v: number } }; dmmapCallsByChild: number };
    assert.is(r.childStatus.result.v, 77, 'the child sees the shared device page');
    assert.ok(r.dmmapCallsByChild >= 2, `the child's page table started empty: its touches called d_mmap (${r.dmmapCallsByChild})`);
    const m = (await rt.run(prog, 'minherit', logState(rt).offC)) as { noneChild: { signal: string }; copyChild: { signal: string } };
    assert.is(m.noneChild.signal, 'SIGSEGV', 'minherit NONE: no mapping in the child');
    assert.is(m.copyChild.signal, 'SIGSEGV', 'minherit COPY of a device: the EIO path');
  }));

// ------------------------------------------------------------------------------------- (14)

test('14: mincore: device pages always resident; anonymous pages resident once touched', async () => {
  await withRuntime(OPTS, 30_000, 'case 14', async (rt) => {
    const r = (await rt.run(PROG, 'mincore', ARGS)) as Record<string, unknown>;
    assert.equal(r.dev, [1, 1, 1], 'untouched device mapping: all resident');
    assert.equal(r.devAfter, [1, 1, 1]);
    assert.equal(r.anonBefore, [0, 0, 0], 'untouched anonymous mapping: none resident');
    assert.equal(r.anonAfter, [0, 1, 0], 'after touching page 1 only');
    isErrno(r.anonUnmapped, 'ENOMEM', 12, 'mincore', 'after munmap');
  });
});

// ------------------------------------------------------------------------------------- (15)

async function exhaustRun(rt: Runtime, what: 'pt' | 'anon'): Promise<void> {
  const sync = new HostSync(rt, SYNC_PATH);
  const free0 = rt.stats().memory.freeFrames;
  const h = rt.spawn(PROG, 'exhaust', { ...ARGS, what });
  const taken: number[] = [];
  await sync.at(1, () => {
    for (;;) {
      try {
        taken.push(rt.kernel.kmAlloc(PS));
      } catch (e) {
        assert.is((e as { code?: string }).code, 'ENOMEM', `kmAlloc failed with ${(e as Error).message}`);
        break;
      }
    }
    assert.is(rt.stats().memory.freeFrames, 0, 'every frame is taken');
  }, h.exited);
  const st = await h.exited;
  assert.is(st.signal, 'SIGKILL', `${what}: the fault that needs a frame ends in SIGKILL (got ${st.signal ?? st.error?.message ?? JSON.stringify(st.result)})`);
  for (const k of taken) rt.kernel.kmFree(k, PS);
  assert.is(rt.stats().memory.freeFrames, free0, `${what}: no frame leaked by the killed process`);
  assert.ok(taken.length > 0);
}

test('15: pmap_enter cannot get a page-table frame: SIGKILL (even if caught); freeing memory lets a later process succeed', async () => {
  await withRuntime({ ...OPTS, memory: 4 << 20 }, 60_000, 'case 15', async (rt) => {
    await exhaustRun(rt, 'pt');
    // rt.run form: ProcessSignalError with .signal SIGKILL
    const sync = new HostSync(rt, SYNC_PATH);
    rt.kernel.store32(sync.flag, 0);
    rt.kernel.store32(sync.ack, 0);
    const taken: number[] = [];
    const run = rt.run(PROG, 'exhaust', { ...ARGS, what: 'pt' });
    run.catch(() => undefined);
    await sync.at(1, () => {
      for (;;) {
        try {
          taken.push(rt.kernel.kmAlloc(PS));
        } catch {
          break;
        }
      }
    }, run);
    const e = await rejectsWith(run, 'exhaust (pt)');
    assert.is(e.signal, 'SIGKILL');
    for (const k of taken) rt.kernel.kmFree(k, PS);
    // Memory is back: the same program now touches the fresh region.
    rt.kernel.store32(sync.flag, 0);
    rt.kernel.store32(sync.ack, 0);
    const ok = rt.run(PROG, 'exhaust', { ...ARGS, what: 'pt' });
    await sync.at(1, () => undefined, ok);
    const r = (await ok) as Record<string, unknown>;
    assert.is(r.touched, true, `after freeing, the fault succeeds (${JSON.stringify(r)})`);
    assert.is(r.oldRegion, 0);
  });
});

test('15b: an anonymous first touch with no free frame: SIGKILL, no leak', async () => {
  await withRuntime({ ...OPTS, memory: 4 << 20 }, 60_000, 'case 15b', async (rt) => {
    await exhaustRun(rt, 'anon');
  });
});

// ------------------------------------------------------------------------------------- extras

test('kmFree while mapped: frames are not handed out again while a PTE maps them, writes corrupt nothing, unmap releases them', async () => {
  await withRuntime({ ...OPTS, memory: 4 << 20 }, 60_000, 'zombie', async (rt) => {
    const st = logState(rt);
    const sync = new HostSync(rt, SYNC_PATH);
    const pfnsA = [0, 1, 2, 3].map((i) => Math.floor(rt.kernel.pmapExtract(st.a + i * PS) / PS));
    const h = rt.spawn(PROG, 'zombie', ARGS);
    const taken: number[] = [];
    let freeAfterKmFree = 0;
    await sync.at(1, () => {
      const before = rt.stats().memory.freeFrames;
      rt.kernel.kmFree(st.a, LOGCFG.sizeA);
      freeAfterKmFree = rt.stats().memory.freeFrames;
      assert.is(freeAfterKmFree - before, 1, 'only the never-mapped page 3 is free at once; pages 0..2 are mapped (zombies)');
      assert.is(rt.stats().totals.framesFreedWhileMapped, 3, 'three frames freed while mapped are reported');
      for (;;) {
        try {
          const k = rt.kernel.kmAlloc(PS);
          rt.kernel.write(k, new Uint8Array(PS).fill(0xee));
          taken.push(k);
        } catch {
          break;
        }
      }
      const got = new Set(taken.map((k) => Math.floor(rt.kernel.pmapExtract(k) / PS)));
      for (const i of [0, 1, 2]) assert.not.ok(got.has(pfnsA[i]), `mapped frame ${pfnsA[i]} (page ${i}) was handed out again while mapped`);
    }, h.exited);
    await sync.at(2, () => {
      const b = new Uint8Array(PS);
      for (const k of taken) {
        rt.kernel.read(k, b);
        assert.ok(b.every((x) => x === 0xee), `allocation at kva ${k} was overwritten through a stale mapping`);
      }
      for (const k of taken) rt.kernel.kmFree(k, PS);
    }, h.exited);
    await sync.at(3, () => {
      assert.is(rt.stats().memory.freeFrames, freeAfterKmFree + 3, 'the three zombie frames are released by the unmap');
    }, h.exited);
    const s = await h.exited;
    assert.not.ok(s.error ?? s.signal, `process: ${s.error?.message ?? s.signal}`);
    const r = s.result as Record<string, unknown>;
    assert.equal(r.stillReads, [0x100, 0x101, 0x102], 'the mapping keeps the (zombie) frames it had');
    isSignal(r.untouched, 'SIGSEGV', 'the never-touched page: d_mmap now finds no kernel page (-1)');
  });
});

test('D_NEGOFFSAFE driver: negative offsets reach d_mmap; without the flag they are EINVAL', async () => {
  const opts = { memory: 16 << 20, devices: [logDevice(LOGCFG, 0), logDevice(LOGCFG, 1), { name: 'neg', unit: 0, driver: fixture('negoff-drv') }] };
  await withRuntime(opts, 30_000, 'negoff', async (rt) => {
    const r = (await rt.run(PROG, 'negOffset', { ...ARGS, neg: '/dev/neg0' })) as Record<string, unknown>;
    assert.is(r.value, 0x4e6, 'offset -4096+8 reads what was written at -8192 + 4096 + 8');
    assert.is(r.unalignedOff, 8);
    isErrno(r.beyond, 'EINVAL', 22, 'mmap', 'offset below the driver\'s range');
    isErrno(r.positive, 'EINVAL', 22, 'mmap', 'range running into offset 0 (driver says -1)');
    isErrno(r.logNeg, 'EINVAL', 22, 'mmap', 'negative offset on a driver without D_NEGOFFSAFE');
    assert.equal(readLog(rt), [], 'the log driver never saw the negative offset');
  });
});

test('madvise/msync: device advice is accepted and changes nothing; MADV_FREE discards anonymous pages; bad advice/flags EINVAL', async () => {
  await withRuntime(OPTS, 30_000, 'advise', async (rt) => {
    const r = (await rt.run(PROG, 'advise', ARGS)) as Record<string, unknown>;
    for (const k of ['normal', 'random', 'sequential', 'dontneed', 'free']) assert.is(r[`dev_${k}`], null, `madvise ${k} on the device`);
    assert.is(r.devValue, 0xd0d0, 'device contents untouched');
    assert.equal(r.devLog, [], 'no advice calls the driver, and the PTE survived (no refault)');
    assert.is(r.anonDontneed, null);
    assert.is(r.anonAfterDontneed, 0xa0a0, 'MADV_DONTNEED keeps anonymous contents (deactivate only)');
    assert.is(r.anonFree, null);
    assert.is(r.anonAfterFree, 0, 'MADV_FREE discarded the page: zero-filled on the next touch');
    assert.is(r.anonOtherPage, 0xa1a1, 'the page outside the range is kept');
    isErrno(r.spaceavail, 'EINVAL', 22, 'madvise', 'MADV_SPACEAVAIL');
    isErrno(r.unknown, 'EINVAL', 22, 'madvise', 'unknown advice');
    isErrno(r.holeDontneed, 'EFAULT', 14, 'madvise', 'MADV_DONTNEED over a hole (uvm_map_clean)');
    assert.is(r.holeNormal, null, 'MADV_NORMAL over a hole is fine');
    assert.is(r.msyncDev, null, 'msync on a device: no pgo_put, success');
    assert.is(r.msyncInvalidate, null, 'MS_INVALIDATE alone is fine (MS_SYNC implied)');
    isErrno(r.msyncAsyncSync, 'EINVAL', 22, 'msync', 'MS_ASYNC|MS_SYNC');
    assert.is(r.msyncLen0, null, 'len 0: the whole entry containing addr');
  });
});

test('a full map (mapEntries): a hole that fits succeeds, one that would need another entry is ENOMEM and changes nothing', async () => {
  await withRuntime({ ...OPTS, mapEntries: 4 }, 30_000, 'map full', async (rt) => {
    const r = (await rt.run(PROG, 'mapFull', ARGS)) as Record<string, unknown>;
    const A = 0x0d00_0000;
    assert.is(r.hole, null, 'punching a hole needs one more entry (3 -> 4), which fits');
    isSignal(r.holeSegv, 'SIGSEGV', 'the hole', A + PS, 'SEGV_MAPERR');
    assert.is(r.aHead, A);
    assert.is(r.aTail, A + 2);
    isErrno(r.full, 'ENOMEM', 12, 'munmap', 'a hole that needs a fifth entry');
    const B = A + 16 * PS;
    assert.equal(r.bIntact, [B, B + 1, B + 2], 'the refused munmap left B alone');
    assert.is(r.trim, null, 'trimming an entry needs no new entry');
    assert.is(r.cHead, A + 32 * PS + 1);
    assert.is(r.replace, null, 'MAP_FIXED over a whole entry needs no new entry');
    assert.is(r.bZero, 0);
    isErrno(r.fixedMiddle, 'ENOMEM', 12, 'mmap', 'MAP_FIXED into the middle of an entry of a full map');
    assert.is(r.bAfterFixedMiddle, 0xb1, 'the refused MAP_FIXED did not remove the old page');
    const r2 = (await rt.run(PROG, 'mapFull2', ARGS)) as Record<string, unknown>;
    isErrno(r2.fifth, 'ENOMEM', 12, 'mmap', 'a fifth entry');
    assert.is(r2.across, null, 'munmap across the end of one entry and the start of the next trims both: no new entry');
    assert.equal(r2.kept, [0xa0, 0xa1, 0xa4, 0xa5]);
    assert.equal(r2.gone, ['SIGSEGV', 'SIGSEGV']);
    isErrno(r2.fixedTrim, 'ENOMEM', 12, 'mmap', 'MAP_FIXED over the tail of an entry of a full map (needs one more)');
    assert.is(r2.afterFixedTrim, 0xa1, 'and the old page is still there');
    assert.is(r2.fixedWhole, null, 'MAP_FIXED exactly over an entry of a full map');
  });
});

/**
 * NetBSD's sys___msync13 refuses flags with none of MS_ASYNC|MS_SYNC|MS_INVALIDATE set —
 * `(flags & (MS_ASYNC|MS_SYNC|MS_INVALIDATE)) == 0 -> EINVAL` (was a known bug, now fixed).
 */
test('msync with flags 0 is EINVAL (NetBSD sys___msync13)', async () => {
  await withRuntime(OPTS, 30_000, 'msync flags 0', async (rt) => {
    isErrno(await rt.run(PROG, 'msyncFlags0', ARGS), 'EINVAL', 22, 'msync', 'msync(addr, len, 0)');
  });
});

// ------------------------------------------------------------------------------------- signals

test('signals: an uncaught SIGSEGV rejects rt.run with ProcessSignalError (.signal, .code, exact .addr)', async () => {
  await withRuntime(OPTS, 30_000, 'uncaught', async (rt) => {
    const e = await rejectsWith(rt.run(PROG, 'segvUnmapped', ARGS), 'segvUnmapped');
    assert.is(e.signal, 'SIGSEGV');
    assert.is(e.code, 'SEGV_MAPERR');
    assert.is(e.addr, 0x0dead123, 'the exact address, not the page');
    assert.is(e.name, 'ProcessSignalError');
    assert.type(e.pid, 'number');
  });
});

test('signals: a caught SignalError lets the program continue', async () => {
  await withRuntime(OPTS, 30_000, 'caught', async (rt) => {
    const r = (await rt.run(PROG, 'caughtThenContinue', ARGS)) as { first: Caught; after: number };
    isSignal(r.first, 'SIGSEGV', 'store to an unmapped address', 0x0dead008, 'SEGV_MAPERR');
    assert.is(r.after, 42, 'the program went on and mapped memory');
  });
});

test('signals: a thrown program error rejects rt.run with the same name and message', async () => {
  await withRuntime(OPTS, 30_000, 'throw', async (rt) => {
    for (const [kind, name, message] of [['custom', 'CustomError', 'boom 42'], ['type', 'TypeError', 'not a number: 42']]) {
      try {
        await rt.run(PROG, 'throwCustom', { ...ARGS, kind });
        assert.unreachable('rt.run should reject');
      } catch (e) {
        assert.not.instance(e, ProcessSignalError);
        assert.is((e as Error).name, name);
        assert.is((e as Error).message, message);
      }
    }
  });
});

test('signals: misaligned word access is SIGBUS BUS_ADRALN (even on a resident page)', async () => {
  await withRuntime(OPTS, 30_000, 'misaligned', async (rt) => {
    const r = (await rt.run(PROG, 'misaligned', { ...ARGS, uncaught: false })) as Record<string, unknown> & { va: number };
    isSignal(r.load32, 'SIGBUS', 'load32 at +2', r.va + 2, 'BUS_ADRALN');
    isSignal(r.store16, 'SIGBUS', 'store16 at +1', r.va + 1, 'BUS_ADRALN');
    isSignal(r.load64, 'SIGBUS', 'load64 at +4', r.va + 4, 'BUS_ADRALN');
    isSignal(r.atomicAdd32, 'SIGBUS', 'atomicAdd32 at +1', r.va + 1, 'BUS_ADRALN');
    const e = await rejectsWith(rt.run(PROG, 'misaligned', { ...ARGS, uncaught: true }), 'misaligned uncaught');
    assert.is(e.signal, 'SIGBUS');
    assert.is(e.code, 'BUS_ADRALN');
    assert.is(e.addr % PS, 6);
  });
});

test('signals: d_mmap -1 at fault time is SIGSEGV SEGV_MAPERR (NetBSD), not SIGBUS', async () => {
  await withRuntime(OPTS, 30_000, 'dmmap -1', async (rt) => {
    const e = await rejectsWith(rt.run(PROG, 'dmmapFailsAtFault', ARGS), 'dmmapFailsAtFault');
    assert.is(e.signal, 'SIGSEGV');
    assert.is(e.code, 'SEGV_MAPERR');
    assert.is(e.addr % PS, 4, 'exact address (page offset 4)');
    const log = readLog(rt);
    assert.equal(log.slice(-1), [[2 * PS, 1]], 'the last d_mmap call was the failing fault, with READ');
  });
});

test.run();
