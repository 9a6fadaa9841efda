/**
 * Profiling a program of your own, both ways: the library (rt.profile(), rt.writeProfile()) and
 * the command line (`devpager profile -- node host.mjs`, with a host script that knows nothing
 * of profiling). And the trace of a long run: full rings keep the latest events, count what they
 * overwrote, and still export a valid trace.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../src/index.js';
import { validateChromeTrace } from '../src/report/chrome-trace.js';
import { withTimeout } from './helpers.js';

const DRV = new URL('./fixtures/profile-drv.js', import.meta.url);
const PROG = new URL('./fixtures/profile-prog.js', import.meta.url);
const INDEX = new URL('../src/index.js', import.meta.url);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'devpager-profile-test-'));
}

async function rejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.match(String((e as Error).message), re);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}

function traceProblems(path: string): string[] {
  return validateChromeTrace(JSON.parse(readFileSync(path, 'utf8')));
}

test('library: rt.profile() names devices, regions and processes; writeProfile writes any subset', () =>
  withTimeout(60_000, async () => {
    const dir = tmp();
    const rt = await Runtime.create({ memory: 16 << 20, maxProcesses: 2, trace: true, devices: [{ name: 'prof', unit: 0, driver: DRV }] });
    try {
      await Promise.all([0, 1].map((i) => rt.run(PROG, 'hammer', i, 50)));
      const r = await rt.profile();
      assert.ok(r.hotPages[0].label.startsWith('/dev/prof0 +0x1000 (mailbox +0x1000)'), r.hotPages[0].label);
      assert.ok(r.hotPages.some((h) => /^\/dev\/prof0 \+0x1[0-9a-f]000 \(ring( \+0x[0-9a-f]+)?\)/.test(h.label)), 'ring pages named by region');
      const procs = r.threadTimes.filter((t) => t.role === 'process').map((t) => t.thread);
      assert.equal(procs.length, 2);
      for (const p of procs) assert.match(p, /^pid \d+ profile-prog\.js \(slot \d\)$/);
      assert.is(r.overhead?.measured, false);
      assert.match(r.overhead!.text, /not measured/);
      assert.ok(r.trace && r.trace.keptEvents > 0 && r.trace.lostEvents === 0, JSON.stringify(r.trace));
      assert.ok(r.timeline.threads.some((t) => /^pid \d+ profile-prog\.js$/.test(t.name)), 'timeline lanes named by process');

      const w = await rt.writeProfile({ html: join(dir, 'p.html'), trace: join(dir, 'p.trace.json') });
      assert.equal(Object.keys(w.files).sort(), ['html', 'trace']);
      assert.ok(!existsSync(join(dir, 'p.json')));
      assert.equal(traceProblems(join(dir, 'p.trace.json')), []);
      const html = readFileSync(join(dir, 'p.html'), 'utf8');
      assert.ok(html.includes('/dev/prof0 +0x1000 (mailbox +0x1000)'));
      assert.match(html, /wrote [^<]*p\.trace\.json/, 'the report states the trace file and its size');
      assert.ok(w.trace && w.trace.bytes > 1000 && w.report.trace?.fileBytesEstimated === false);

      await rejects(() => rt.writeProfile({ pdf: 'x' } as never), /unknown output 'pdf'/);
      await rejects(() => rt.writeProfile({ html: '' }), /paths\.html must be a file path/);
    } finally {
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 'library profile'));

test('library: a trace file needs tracing, and says so', () =>
  withTimeout(30_000, async () => {
    const rt = await Runtime.create({ memory: 8 << 20, maxProcesses: 1, prestart: 0 });
    try {
      await rejects(() => rt.writeProfile({ trace: '/tmp/never.json' }), /trace: true/);
      const r = await rt.profile();
      assert.is(r.trace, null, 'no trace summary without tracing');
    } finally {
      await rt.close();
    }
  }, 'profile without trace'));

test('full rings keep the latest events, count the overwritten ones, and export a valid trace', () =>
  withTimeout(60_000, async () => {
    const dir = tmp();
    const rt = await Runtime.create({ memory: 16 << 20, maxProcesses: 3, trace: true, traceEvents: 256, traceSample: 1, devices: [{ name: 'prof', unit: 0, driver: DRV }] });
    try {
      await Promise.all([0, 1, 2].map((i) => rt.run(PROG, 'own', i, 400)));
      const t = rt.traceEvents();
      assert.ok(t.dropped > 1000, `overwritten events counted: ${t.dropped}`);
      const perThread = new Map<number, number>();
      for (const e of t.events) perThread.set(e.thread, (perThread.get(e.thread) ?? 0) + 1);
      for (const [th, n] of perThread) assert.ok(n <= 256, `thread ${th} keeps at most its ring: ${n}`);
      // the latest events are there: each process's last requests (munmap, close's none, exit)
      const names = new Set(t.events.filter((e) => e.kind === 'fault').map((e) => e.name));
      assert.ok(names.has('exit') && names.has('munmap'), `last requests kept: ${[...names].join(', ')}`);
      const w = await rt.writeProfile({ trace: join(dir, 't.json'), text: join(dir, 't.txt') });
      assert.equal(traceProblems(join(dir, 't.json')), []);
      assert.ok(w.trace!.lost > 1000 && w.trace!.flowsDropped > 0, `cut flows dropped: ${w.trace!.flowsDropped}`);
      assert.match(readFileSync(join(dir, 't.txt'), 'utf8'), /older ones overwritten/);
    } finally {
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 'overwriting rings'));

test('command line: devpager profile -- node host.mjs profiles every runtime of an unchanged script', () =>
  withTimeout(120_000, async () => {
    const dir = tmp();
    try {
      const host = join(dir, 'host.mjs');
      // A host script that knows nothing of profiling: two runtimes, one after the other.
      writeFileSync(host, `
import { Runtime } from ${JSON.stringify(INDEX.href)};
for (let k = 0; k < 2; k++) {
  const rt = await Runtime.create({ memory: 16 << 20, maxProcesses: 2, cpus: 4, devices: [{ name: 'prof', unit: 0, driver: ${JSON.stringify(DRV.href)} }] });
  await Promise.all([0, 1].map((i) => rt.run(new URL(${JSON.stringify(PROG.href)}), 'hammer', i, 300)));
  await rt.close();
}
console.log('host done');
`);
      const out = spawnSync(process.execPath, [CLI, 'profile', '--out', join(dir, 'prof'), '--', process.execPath, host], { encoding: 'utf8', timeout: 100_000 });
      assert.is(out.status, 0, out.stderr);
      assert.match(out.stdout, /host done/);
      assert.ok(/VERDICT: hot page: \/dev\/prof0 \+0x1000 \(mailbox \+0x1000\)/.test(out.stdout), out.stdout);
      for (const base of ['prof', 'prof-2']) {
        for (const ext of ['.html', '.trace.json', '.json', '.txt']) assert.ok(existsSync(join(dir, base + ext)), `${base}${ext} written`);
        assert.equal(traceProblems(join(dir, `${base}.trace.json`)), []);
        const j = JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8'));
        assert.is(j.options.trace, true, 'tracing was forced on');
        assert.match(j.overhead.text, /not measured/);
      }
      assert.match(out.stderr, /runtime 2 of pid \d+ wrote/);

      const none = spawnSync(process.execPath, [CLI, 'profile', '--', process.execPath, '-e', 'console.log(1)'], { encoding: 'utf8', timeout: 30_000, cwd: dir });
      assert.is(none.status, 1);
      assert.match(none.stderr, /closed no Runtime/);
      const bad = spawnSync(process.execPath, [CLI, 'profile', '--workload', 'shared', '--', 'node'], { encoding: 'utf8', timeout: 30_000 });
      assert.is(bad.status, 2);
      assert.match(bad.stderr, /--workload is for built-in workloads/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 'profile command'));

test('devpager profile on a built-in workload: the sweep has every strategy at every count, from one runtime, and no progress noise in a log', () =>
  withTimeout(150_000, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devpager-sweep-'));
    try {
      const json = join(dir, 'p.json');
      const out = spawnSync(process.execPath, [CLI, 'profile', '--workload', 'refault', '--procs', '2', '--duration', '100', '--sweep-duration', '60', '--json', json], { encoding: 'utf8', timeout: 140_000 });
      assert.is(out.status, 0, out.stderr);
      const sweep = (JSON.parse(readFileSync(json, 'utf8')) as { sweep: { wait: string; procs: number; faultsPerSec: number }[] }).sweep;
      const key = (p: { wait: string; procs: number }) => `${p.wait} x${p.procs}`;
      const want = ['spin', 'park', 'adaptive'].flatMap((w) => [1, 2, 4, 8, 16].map((n) => `${w} x${n}`));
      assert.equal(sweep.map(key).sort(), [...want].sort());
      for (const p of sweep) assert.ok(p.faultsPerSec > 0, `${key(p)}: ${p.faultsPerSec} faults/s`);
      // Not a terminal: no carriage-return progress lines in what a log would keep.
      assert.not.ok(out.stderr.includes('\r'), JSON.stringify(out.stderr.slice(0, 200)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 'profile sweep'));

test.run();
