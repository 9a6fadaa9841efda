/**
 * The shadow-model syscall fuzzer (fixtures/fuzz-*.ts), with fixed seeds: three processes and the
 * host at once over one device whose RAM pages they share, two pagers, every syscall with sensible,
 * edge and wrong-typed arguments, every result checked against each process's model, every shared
 * page checked across processes and against the host's kernel view; then nothing may be left:
 * frames, device references, processes.
 *
 *   DEVPAGER_TEST_SEED=n      base seed (a failure prints the seed of the failing process)
 *   DEVPAGER_FUZZ_STEPS=n     operations per process (default 5000)
 *   DEVPAGER_FUZZ_STRICT=0    tolerate the deviations fuzz-model.ts KNOWN_DEVIATIONS lists and
 *                             send no out-of-range values to stores, atomics, prot and flags
 *                             (strict is the default: devpager fixed what those covered)
 *
 * A failure is shrunk (replayed alone, cut down) and printed as the minimal operation list.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KNOWN_DEVIATIONS } from './fixtures/fuzz-model.js';
import { fuzzDevice, fuzzRound, leakCheck, mergeCounts, mergeTolerated, shrink, showOps } from './fixtures/fuzz-host.js';
import { withRuntime } from './fixtures/pager-host.js';
import { testSeed } from './helpers.js';

const ROLES = 3;
const STEPS = Number(process.env.DEVPAGER_FUZZ_STEPS ?? 5000);
const STRICT = process.env.DEVPAGER_FUZZ_STRICT !== '0';
const base = testSeed(0xf022);
const SEEDS = [base, (base + 0x1234567) >>> 0];
const OPTS = { memory: 32 << 20, pagers: 2, devices: [fuzzDevice()] };

/** Outcomes every round must have produced (guards against a generator that degenerated). */
const MUST_SEE = [
  'mmap:ok', 'mmap:EINVAL', 'mmap:EBADF', 'mmap:EACCES', 'mmap:EFBIG', 'mmap:ENOMEM', 'mmap:type',
  'munmap:ok', 'munmap:EINVAL', 'mprotect:ok', 'mprotect:EACCES', 'madvise:EFAULT', 'msync:EFAULT', 'mincore:ENOMEM',
  'open:ENOENT', 'close:EBADF', 'load32:ok', 'load32:SIGSEGV', 'load32:SIGBUS', 'load32:type', 'store32:ok',
  'store8:SIGSEGV', 'store64:type', 'read:ok', 'write:ok', 'write:SIGSEGV', 'atomicAdd32:ok', 'cas32:ok', 'wait32:ok', 'notify32:ok',
];

for (const seed of SEEDS) {
  test(`fuzz: ${ROLES} processes and the host sharing device RAM, seed ${seed}, ${STEPS} ops each${STRICT ? ' (strict)' : ''}`, async () => {
    await withRuntime(OPTS, 90_000, `fuzz seed ${seed}`, async (rt) => {
      const free0 = rt.stats().memory.freeFrames;
      const rep = await fuzzRound(rt, { roles: ROLES, seed, steps: STEPS, strict: STRICT, keepOps: true });
      if (rep.violations.length > 0) {
        let detail = '';
        if (rep.failed?.ops) {
          const s = await shrink(OPTS, rep.failed, ROLES, STRICT, 80, 30_000);
          detail = s.reproduced
            ? `\nshrunk to ${s.ops.length} ops (${s.runs} replays), replayed alone:\n${showOps(s.ops)}\n  -> ${s.mismatch}`
            : `\n(the failing sequence did not fail when replayed alone: it needs the other processes)`;
        }
        assert.unreachable(`seed ${seed}:\n${rep.violations.slice(0, 5).join('\n')}${detail}`);
      }
      const counts = mergeCounts(rep.results);
      for (const k of MUST_SEE) assert.ok((counts[k] ?? 0) > 0, `seed ${seed}: outcome ${k} never happened (${Object.keys(counts).sort().join(', ')})`);
      const foreign = rep.results.reduce((n, r) => n + r.foreignChecks, 0);
      const fb = rep.results.reduce((n, r) => n + r.fbFaults, 0);
      assert.ok(foreign > 0, `seed ${seed}: no read of another owner's page was checked`);
      assert.ok(fb > 0, `seed ${seed}: no fault reached a d_mmap that misbehaves`);
      assert.ok(rep.host.checks > 0 && rep.host.writes > 0, 'the host wrote and checked pages');
      const leaks = leakCheck(rt, free0);
      assert.equal(leaks, [], `seed ${seed}: ${leaks.join('; ')}`);
      const tol = mergeTolerated(rep.results);
      const ops = rep.results.reduce((n, r) => n + r.steps, 0);
      console.log(`  seed ${seed}: ${ops} ops, ${foreign} cross-process page checks, ${rep.host.checks} host checks, ${fb} faults on misbehaving d_mmap, ${rep.results.reduce((n, r) => n + r.skipped, 0)} skipped (harness)`);
      if (Object.keys(tol).length > 0) console.log(`  tolerated known deviations: ${Object.entries(tol).map(([k, v]) => `${k} x${v}`).join(', ')} (${Object.keys(tol).map((k) => KNOWN_DEVIATIONS[k as keyof typeof KNOWN_DEVIATIONS]).join('; ')})`);
    });
  });
}

test.run();
