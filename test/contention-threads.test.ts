/**
 * Threads mode names its own contention point (in the style of test/contention.test.ts): the
 * munmap storm of `devpager profile --workload munmap`, with two pagers and CPUs enough for every
 * task, profiled as four threads of one process and as four processes. As threads, the verdict
 * names the pager their one address space is served by (the other pager idles) and the report
 * gives what their shootdowns cost; as processes, neither shows: each process has an address
 * space, and a pager, of its own, and no other thread to shoot down.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBenchRuntime, runCell, type Mode } from '../src/bench/cell.js';
import { profileOf } from '../src/profile/collect.js';
import type { ProfileReport } from '../src/report/types.js';
import { withTimeout } from './helpers.js';

async function profiled(mode: Mode): Promise<{ r: ProfileReport; operations: number; pagerRequests: number[] }> {
  const b = await createBenchRuntime({ pagers: 2, wait: 'adaptive', maxProcs: 4, runtime: { trace: true, cpus: 8 } });
  try {
    await runCell(b, { workload: 'munmap', mode, procs: 4, durationMs: 50 });
    const cell = await runCell(b, { workload: 'munmap', mode, procs: 4, durationMs: 250 }, { keepStats: true });
    const st = cell.stats!;
    return { r: profileOf(b.rt, { stats: st, windowMs: cell.countWindowMs }), operations: st.shootdown.operations, pagerRequests: st.pagers.map((p) => p.counters.requests) };
  } finally {
    await b.close();
  }
}

const ONE_PAGER = /^one pager per address space: pid \d+'s 4 threads share one address space, so pager (\d) serves all their requests/;
const THREADS_POINT = /^(one pager per address space|TLB shootdowns):/;

test('threads of one process: the verdict names the one pager their address space queues on; processes: no such finding', () =>
  withTimeout(90_000, async () => {
    const t = await profiled('threads');
    assert.match(t.r.verdict, ONE_PAGER, t.r.verdict);
    const pager = Number(ONE_PAGER.exec(t.r.verdict)![1]);
    assert.is(t.pagerRequests[1 - pager], 0, `the other pager served nothing: ${t.pagerRequests}`);
    assert.match(t.r.verdict, new RegExp(`while pager ${1 - pager} served 0 `));
    assert.ok(t.operations > 0, 'the remaps shot down the other threads');
    assert.match(t.r.shootdowns ?? '', /^[\d,]+ operations reached [\d,]+ other threads' TLBs \(3\.0 each\), /, t.r.shootdowns);

    const p = await profiled('processes');
    assert.ok(!(p.r.findings ?? []).some((f) => THREADS_POINT.test(f)), `no threads finding for processes: ${JSON.stringify(p.r.findings)}`);
    assert.not.match(p.r.verdict, THREADS_POINT);
    assert.is(p.operations, 0, 'a process with one thread has nobody to shoot down');
    assert.is(p.r.shootdowns, undefined);
    assert.ok(p.pagerRequests.every((n) => n > 0), `the processes are spread over both pagers: ${p.pagerRequests}`);
  }, 'threads contention'));

test.run();
