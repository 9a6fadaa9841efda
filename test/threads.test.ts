/**
 * Threads of one process, fork with copy-on-write and minherit, and revocation, end to end
 * through the public API (the contract's "Threads and fork"). The shootdown's constructed
 * interleavings are in test/shootdown.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CTL_COUNT, CTL_SIZE_A } from './fixtures/logdrv.js';
import { HostSync, fixture, logDevice, logState, withRuntime } from './fixtures/pager-host.js';

const PROG = fixture('threads-prog');

test('a thread shares the address space and descriptors, has its own tid, and join gives its result', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4 }, 60_000, 'threads basic', async (rt) => {
    const r = (await rt.run(PROG, 'basic')) as Record<string, number>;
    assert.is(r.tid, r.pid, 'the first thread has tid == pid');
    assert.is(r.tPid, r.pid, 'the thread is in the same process');
    assert.is.not(r.threadTid, r.pid);
    assert.is(r.tTid, r.threadTid, 'p.tid inside the thread is the tid spawnThread returned');
    assert.is(r.seen, 41, 'the thread reads what the first thread wrote');
    assert.is(r.after, 42, 'and the first thread reads what the thread wrote');
  }));

test('descriptors are shared: a thread maps and closes a descriptor the first thread opened', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4, devices: [logDevice()] }, 60_000, 'threads fds', async (rt) => {
    const r = (await rt.run(PROG, 'fds', logState(rt).offC)) as { thread: number; closeAgain: { code: string } | null };
    assert.is(r.thread, 7);
    assert.is(r.closeAgain?.code, 'EBADF', 'closed by the thread, so closed for the process');
  }));

test('join: ETIMEDOUT after its timeout, the result later, ESRCH for a thread already joined, and a thrown error comes back', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4 }, 60_000, 'threads join', async (rt) => {
    const r = (await rt.run(PROG, 'join')) as Record<string, { code?: string; errno?: number; name?: string; message?: string } | string>;
    const early = r.early as { code: string; errno: number };
    assert.is(early.code, 'ETIMEDOUT');
    assert.is(early.errno, 60);
    assert.is(r.late, 'woken');
    assert.is((r.again as { code: string }).code, 'ESRCH');
    const self = r.self as { name: string; message: string };
    assert.is(self.name, 'RangeError');
    assert.match(self.message, /thrown in a thread/);
  }));

test('a spawn beyond maxProcesses fails with EAGAIN, not a hang', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 3, prestart: 3 }, 60_000, 'threads eagain', async (rt) => {
    const r = (await rt.run(PROG, 'eagain')) as { spawned: number; err: { code: string; errno: number } };
    assert.is(r.spawned, 2, 'three slots: the first thread and two more');
    assert.is(r.err.code, 'EAGAIN');
    assert.is(r.err.errno, 35);
  }));

test("a signal a thread does not catch ends the whole process; the first thread's return ends the others", () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 3, prestart: 3 }, 60_000, 'threads signal', async (rt) => {
    const st = await rt.spawn(PROG, 'thread-signal').exited;
    assert.is(st.signal, 'SIGSEGV', JSON.stringify(st));
    assert.is(st.siginfo?.addr, 0x10);
    const t0 = Date.now();
    const st2 = await rt.spawn(PROG, 'leader-returns').exited;
    assert.is(st2.result, 'leader done');
    assert.ok(Date.now() - t0 < 10_000, 'the spinning thread was ended');
    // Every slot is free again: three processes of one thread each can run.
    const three = await Promise.all([0, 1, 2].map(() => rt.run(PROG, 'child-touch-ok')));
    assert.equal(three, ['ok', 'ok', 'ok']);
  }));

test('munmap in one thread is complete when it returns: readers that synchronised with it never see an older generation', () =>
  withRuntime({ memory: 8 << 20, maxProcesses: 4, prestart: 4 }, 120_000, 'munmap race', async (rt) => {
    const before = rt.kernel.freeFrames();
    const rs = (await rt.run(PROG, 'munmap-race', 3000, 2)) as { checks: number; faults: number; bad: number; worst: string }[];
    for (const r of rs) assert.is(r.bad, 0, r.worst);
    assert.ok(rs.some((r) => r.checks > 0), `the readers read the page (${JSON.stringify(rs)})`);
    assert.is(rt.kernel.freeFrames(), before, 'no frame leaked');
  }));

test('fork: anonymous memory is copy-on-write, and a page nobody writes is never copied', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4 }, 60_000, 'fork cow', async (rt) => {
    const before = rt.kernel.freeFrames();
    const r = (await rt.run(PROG, 'fork-cow', 16)) as {
      reader: { result: { sum: number } }; writer: { result: { before: number; after: number } }; mine: number[];
    };
    assert.is(r.reader.result.sum, 16 * 100 + (15 * 16) / 2, 'the child reads the parent memory');
    assert.equal(r.writer.result, { before: 100, after: 555 }, 'the child sees its own write');
    assert.equal(r.mine, [900, 101], 'the parent sees its own writes, not the child\'s');
    assert.is(rt.stats().totals.cowCopies, 1, 'only the page the writer child wrote was copied');
    assert.is(rt.kernel.freeFrames(), before, 'no frame leaked');
    const live = (await rt.run(PROG, 'fork-cow-live')) as { parent: number; untouched: number; child: { result: { first: string; mine: number } } };
    assert.is(live.parent, 2);
    assert.is(live.untouched, 1);
    assert.equal(live.child.result, { first: 'ok', mine: 3 });
  }));

test('wait gives the child\'s status once; a second wait is ECHILD', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4 }, 60_000, 'wait twice', async (rt) => {
    const w = (await rt.run(PROG, 'wait-twice')) as { first: { result: string }; second: { code: string } };
    assert.is(w.first.result, 'ok');
    assert.is(w.second.code, 'ECHILD');
  }));

test('fork: the child inherits the descriptors; minherit with a bad value is EINVAL; the parent keeps what it kept from the child', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4, devices: [logDevice()] }, 60_000, 'fork fds', async (rt) => {
    const r = (await rt.run(PROG, 'fork-device', logState(rt).offC)) as { childStatus: { result: { mappedWithInheritedFd: boolean } }; parentSees: number };
    assert.ok(r.childStatus.result.mappedWithInheritedFd, 'the child mapped through the duplicated descriptor');
    assert.is(r.parentSees, 77);
    assert.is(rt.kernel.load32(logState(rt).a + 4), 88, "the child's device write reached the device");
    const m = (await rt.run(PROG, 'minherit', logState(rt).offC)) as { bad: { code: string }; parentNone: number; noneChild: { siginfo: { code: string } } };
    assert.is(m.bad.code, 'EINVAL');
    assert.is(m.parentNone, 5, 'the parent keeps its mapping');
    assert.is(m.noneChild.siginfo.code, 'SEGV_MAPERR');
  }));

test('shared anonymous memory: MAP_SHARED|MAP_ANON and minherit SHARE are shared with a child, even pages first touched there; COPY of one is private', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4 }, 60_000, 'fork share', async (rt) => {
    const before = rt.kernel.freeFrames();
    const a = (await rt.run(PROG, 'fork-share')) as { child: number; page0: number; page1: number };
    assert.equal(a, { child: 1, page0: 2, page1: 3 });
    const b = (await rt.run(PROG, 'minherit-share')) as Record<string, unknown>;
    assert.equal(b, { child: 10, afterChild: [2, 3], copyChildSaw: 7, copyChildHas: 555, sharedAfterCopyChild: 7 });
    assert.is(rt.kernel.freeFrames(), before, 'no frame leaked (objects and their tables freed)');
  }));

test('revoke: every translation of the offsets is gone when it resolves; the next access calls d_mmap again, or faults after the driver shrank the region', () =>
  withRuntime({ memory: 4 << 20, maxProcesses: 4, devices: [logDevice()] }, 60_000, 'revoke', async (rt) => {
    const st = logState(rt);
    const sync = new HostSync(rt);
    const h = rt.spawn(fixture('revoke-prog'), st.offC);
    await sync.at(1, async () => {
      const calls = rt.kernel.load32(st.ctl + CTL_COUNT * 4);
      const removed = await rt.device('/dev/log0').revoke(0, 4096);
      assert.ok(removed >= 1, `revoke removed the PTE (${removed})`);
      assert.is(rt.kernel.load32(st.ctl + CTL_COUNT * 4), calls, 'revoke itself calls no d_mmap');
    }, h.exited);
    await sync.at(2, async () => {
      // Shrink region A to nothing, then revoke: the touched page must fault now.
      rt.kernel.store32(st.ctl + CTL_SIZE_A * 4, 0);
      await rt.device('/dev/log0').revoke(0, 1 << 20);
    }, h.exited);
    const out = await h.exited;
    assert.equal(out.result, { refaulted: 1, afterShrink: 'SIGSEGV' }, JSON.stringify(out));
  }));

test.run();
