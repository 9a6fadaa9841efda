/**
 * TLB shootdowns in the trace: a pager's slice per thread reached, an instant on that thread's
 * track, and a flow from the initiator's request span to each instant. Checked on a real traced
 * run (threads of one process, one of them removing translations the others hold), in both
 * decoders (rt.chromeTrace() and the streamed file), and on hand-written rings where the
 * initiator's span was overwritten: that arrow is left out and the file stays valid.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { FLAG_TRACE, pagerThread, slotThread } from '../src/layout.js';
import { OP_MUNMAP, OP_REVOKE } from '../src/pager/protocol.js';
import { createArena } from '../src/physmem.js';
import type { ProfileSource, ProcessRecord } from '../src/profile/source.js';
import { chromeTraceOf } from '../src/profile/trace-decode.js';
import { writeTraceFile } from '../src/profile/trace-file.js';
import { SHOOTDOWN_FLOW_BASE } from '../src/profile/trace-shootdowns.js';
import { validateChromeTrace } from '../src/report/chrome-trace.js';
import { K_PARK, K_SERVE, K_SHOOTDOWN, K_SYSCALL, KIND_BITS, SHOOTDOWN_BY_HOST, TraceRing } from '../src/trace.js';
import { withTimeout } from './helpers.js';

const FOO = new URL('../src/drivers/foo.js', import.meta.url);
const PROG = new URL('./fixtures/shootdown-trace-prog.js', import.meta.url);

interface Ev { ph: string; name: string; cat?: string; pid: number; tid: number; ts: number; dur?: number; id?: number | string; bp?: string; args?: Record<string, unknown> }

/** What a Chrome trace shows of the shootdowns. */
function shootdownsIn(trace: { traceEvents: unknown[] }) {
  const ev = trace.traceEvents as Ev[];
  const slices = ev.filter((e) => e.ph === 'X' && e.cat === 'shootdown');
  const instants = ev.filter((e) => e.ph === 'i' && e.cat === 'shootdown');
  const s = ev.filter((e) => e.ph === 's' && e.cat === 'shootdown');
  const f = ev.filter((e) => e.ph === 'f' && e.cat === 'shootdown');
  const threadName = new Map(ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [`${e.pid}/${e.tid}`, String(e.args?.name)]));
  return { ev, slices, instants, s, f, threadName };
}

test('a traced run of threads: one pager slice, one instant and one arrow per thread reached, in rt.chromeTrace() and in the streamed file alike', () =>
  withTimeout(60_000, async () => {
    const rt = await Runtime.create({
      memory: 32 << 20, maxProcesses: 4, cpus: 8, trace: true, traceEvents: 50_000, traceSample: 1,
      devices: [{ name: 'foo', unit: 0, driver: FOO, config: { size1: 16 * 4096 } }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'devpager-sdtrace-'));
    try {
      const threads = 2;
      const rounds = 3;
      assert.is(await rt.run(PROG, 'main', threads, 8, rounds), rounds);
      const sd = rt.stats().shootdown;
      // Every pmapRemove and the munmap reach both other threads; nothing else shoots anything down.
      assert.is(sd.operations, rounds + 1);
      assert.is(sd.targets, (rounds + 1) * threads);
      assert.ok(sd.waitNs > 0 && sd.meanNs === sd.waitNs / sd.operations, `timed: ${JSON.stringify(sd)}`);

      const ct = rt.chromeTrace();
      assert.equal(validateChromeTrace(JSON.parse(JSON.stringify(ct))), []);
      const file = join(dir, 't.json');
      const st = await writeTraceFile(rt, file);
      const ft = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(validateChromeTrace(ft), []);
      assert.is(st.shootdowns, (rounds + 1) * threads);
      assert.is(st.shootdownArrowsDropped, 0);

      const decoded = shootdownsIn(ct);
      for (const x of [decoded, shootdownsIn(ft)]) {
        const n = (rounds + 1) * threads;
        assert.is(x.slices.length, n, 'a slice per thread reached');
        assert.is(x.instants.length, n, 'an instant per thread reached');
        assert.is(x.s.length, n, 'an arrow per thread reached');
        assert.is(x.f.length, n);
        const pagerTids = new Set(x.slices.map((e) => `${e.pid}/${e.tid}`));
        for (const k of pagerTids) assert.match(x.threadName.get(k) ?? '', /^pager \d$/, 'slices sit on a pager track');
        for (const e of x.slices) assert.match(e.name, /^shootdown → pid \d+ tid \d+$/);
        const ops = x.instants.map((e) => e.name.replace(/^TLB entries shot down by pid \d+, /, ''));
        assert.is(ops.filter((o) => o === 'pmapRemove').length, rounds * threads, x.instants[0]?.name);
        assert.is(ops.filter((o) => o === 'munmap').length, threads);
        // The instants are on the two other threads' tracks, never on the initiator's.
        const targets = new Set(x.instants.map((e) => e.tid));
        assert.is(targets.size, threads);
        const initiators = new Set(x.s.map((e) => e.tid));
        assert.is(initiators.size, 1);
        for (const t of initiators) assert.not.ok(targets.has(t));
        // Each arrow starts inside a request span of the initiator and ends at an instant.
        for (const f of x.f) {
          assert.is(f.bp, undefined, 'an arrow into an instant binds to the next slice: no bp');
          assert.ok(x.instants.some((i) => i.tid === f.tid && i.ts === f.ts), 'the arrow ends at its instant');
          assert.ok(typeof f.id === 'number' && f.id >= SHOOTDOWN_FLOW_BASE, `ids apart from the request flows (${f.id})`);
        }
        for (const s of x.s) {
          assert.ok(x.ev.some((e) => e.ph === 'X' && (e.name === 'pmapRemove' || e.name === 'munmap') && e.tid === s.tid && e.ts === s.ts), 'the arrow starts at the initiator\'s request span');
        }
      }
      assert.equal(decoded.f.map((e) => e.id).sort(), shootdownsIn(ft).f.map((e) => e.id).sort(), 'both decoders give a shootdown the same flow id');

      // rt.traceEvents() carries the same: the initiator's span starts the shootdown flows.
      const te = rt.traceEvents().events;
      const outs = te.flatMap((e) => e.flowOut ?? []);
      assert.is(outs.length, (rounds + 1) * threads);
      assert.is(te.filter((e) => e.kind === 'shootdown-target' && e.flowEnd && outs.includes(e.flowId!)).length, outs.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await rt.close();
    }
  }, 'traced shootdowns'));

/** A ProfileSource over hand-written rings: one pager, three slots, the first two threads of pid 100. */
function handWritten(cap: number) {
  const { sab, layout } = createArena({ memory: 1 << 20, maxProcs: 3, pagers: 1, maxDevices: 1, traceCap: cap, flags: FLAG_TRACE });
  const log: ProcessRecord[] = [
    { pid: 100, tid: 100, slot: 0, program: 'file:///p.mjs', startMs: 0, endMs: null },
    { pid: 100, tid: 101, slot: 1, program: 'file:///p.mjs', startMs: 0, endMs: null },
  ];
  const src: ProfileSource = {
    sab, layout,
    options: { trace: true, traceEvents: cap, traceSample: 1, statsSample: 1, stats: true, pagers: 1, cpus: 1, wait: 'adaptive', maxProcesses: 3 },
    stats: () => { throw new Error('not here'); },
    histogram: () => { throw new Error('not here'); },
    threads: () => ({ host: 0, pagers: [pagerThread(0)], slots: [0, 1, 2].map((s) => slotThread(layout, s)) }),
    processLog: () => log,
    deviceNames: () => [],
  };
  return { src, pager: new TraceRing(sab, layout, pagerThread(0)), slot0: new TraceRing(sab, layout, slotThread(layout, 0)), layout };
}

test('an initiator span that a full ring overwrote: its arrow is left out, the slice and instant stay, and both outputs stay valid', () =>
  withTimeout(20_000, async () => {
    const { src, pager, slot0, layout } = handWritten(8);
    const F = 7 * 2048 + 0; // a request of slot 0 whose span the ring keeps
    const G = 9 * 2048 + 0; // one whose span was overwritten
    const sd = (op: number) => K_SHOOTDOWN + op * 2 ** KIND_BITS;
    pager.emit(K_SERVE, 10, 10, OP_MUNMAP, F);
    pager.emit(sd(OP_MUNMAP), 12, 1, 1, F);
    pager.emit(K_SERVE, 29, 2, OP_MUNMAP, G);
    pager.emit(sd(OP_MUNMAP), 30, 0.5, 1, G);
    pager.emit(sd(OP_REVOKE), 40, 0.5, 1, SHOOTDOWN_BY_HOST);
    // Slot 0: G's span first, then enough to push it out of the 8-event ring, then F's.
    slot0.emit(K_SYSCALL, 28, 4, OP_MUNMAP, G);
    for (let i = 0; i < 7; i++) slot0.emit(K_PARK, 50 + i, 0.5, 0, 0);
    slot0.emit(K_SYSCALL, 9, 12, OP_MUNMAP, F);

    const ct = chromeTraceOf(src);
    assert.equal(validateChromeTrace(JSON.parse(JSON.stringify(ct))), []);
    const dir = mkdtempSync(join(tmpdir(), 'devpager-sdtrace-'));
    try {
      const file = join(dir, 't.json');
      const st = await writeTraceFile(src, file);
      const ft = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(validateChromeTrace(ft), []);
      assert.is(st.shootdowns, 3);
      assert.is(st.shootdownArrowsDropped, 1, 'G\'s arrow');
      const target = slotThread(layout, 1);
      for (const x of [shootdownsIn(ct), shootdownsIn(ft)]) {
        assert.is(x.slices.length, 3);
        assert.equal(x.slices.map((e) => e.name), ['shootdown → pid 100 tid 101', 'shootdown → pid 100 tid 101', 'shootdown → pid 100 tid 101']);
        assert.equal(x.instants.map((e) => [e.tid, e.ts, e.name]), [
          [target, 13_000, 'TLB entries shot down by pid 100, munmap'],
          [target, 30_500, 'TLB entries shot down by pid 100, munmap'],
          [target, 40_500, 'TLB entries shot down by the host, revoke'],
        ]);
        assert.is(x.s.length, 1, 'only F\'s arrow: G\'s span is gone, and the host has none');
        assert.is(x.f.length, 1);
        assert.equal([x.s[0].tid, x.s[0].ts], [slotThread(layout, 0), 9_000]);
        assert.equal([x.f[0].tid, x.f[0].ts], [target, 13_000]);
        assert.ok(x.s[0].id === x.f[0].id && x.f[0].id !== F && Number(x.f[0].id) >= SHOOTDOWN_FLOW_BASE, 'an id of its own');
        assert.match(x.threadName.get(`${x.instants[0].pid}/${target}`) ?? '', /./, 'the target track is named though its ring is empty');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 'overwritten initiator'));

test.run();
