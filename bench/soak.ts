/**
 * The fuzzer (test/fixtures/fuzz-*.ts) as a long soak: N roles each run fuzzing process after
 * fuzzing process over shared device RAM, while the host writes its pages and checks everyone's,
 * processes are killed at random, and hostile drivers are in play: d_mmap that throws, returns
 * garbage or is slow (the fuzzing device's own pages), and Runtime.create with an attach that
 * throws. Optional, once the runtime can survive them: pagers killed at random (--kill-pagers)
 * and d_mmap that never returns (--hang-drivers). Prints the figures and exits 1 on any violation.
 *
 *   node dist/bench/soak.js --minutes 10 [--seed N] [--roles 4] [--pagers 2] [--kill-every-ms 2000]
 *        [--steps-max 20000] [--attach-every-s 20] [--strict] [--json FILE]
 *        [--kill-pagers hook|driver] [--kill-pagers-every-s 5] [--hang-drivers] [--hang-every-s 10]
 *
 * Every violation names the role's seed: `DEVPAGER_TEST_SEED`-style replay is
 * `rt.run(fuzz-prog, { role, roles, seed, steps })` in a runtime with the fuzzing device.
 *
 * --kill-pagers hook    calls rt.injectPagerDeath(index, 'reply', n), the runtime's internal fault
 *                       injection: the pager thread dies right after the n-th next reply it
 *                       publishes, as if it crashed there; its replacement takes over, no process
 *                       may be signalled and no fuzzing process may see a difference.
 * --kill-pagers driver  spawns processes that touch a page whose d_mmap calls process.exit in the
 *                       pager: each must be signalled, every other process must go on.
 * Both refuse to run (exit 2, with the reason) while the runtime has no rt.stats().pagerRestarts.
 * --hang-drivers needs the driverTimeoutMs option (issue 14, point 2); it refuses likewise.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Runtime, type ProcessHandle, type ProcessStatus } from '../src/index.js';
import { UsageError, posInt } from '../src/cli/args.js';
import { fmtCount, fmtRate } from '../src/util/format.js';
import { mulberry32u } from '../src/util/prng.js';
import { FUZZ_PROG, HostSide, fuzzDevice, leakCheck } from '../test/fixtures/fuzz-host.js';
import { RELEASE_WORD, STOP_WORD } from '../test/fixtures/fuzz-layout.js';
import type { FuzzArgs, FuzzResult } from '../test/fixtures/fuzz-prog.js';

const HOSTILE_PROG = new URL('../test/fixtures/hostile-prog.js', import.meta.url);
const THROW_ATTACH = new URL('../test/fixtures/throwattach-drv.js', import.meta.url);
const HANG_TIMEOUT_MS = 500;

const USAGE = `usage: node dist/bench/soak.js [--minutes M | --seconds S] [--seed N] [--roles N] [--pagers N]
       [--kill-every-ms MS] [--steps-max N] [--attach-every-s S] [--strict] [--json FILE]
       [--kill-pagers hook|driver] [--kill-pagers-every-s S] [--hang-drivers] [--hang-every-s S]`;

interface Figures {
  seed: number;
  seconds: number;
  roles: number;
  pagers: number;
  operations: number;
  processes: number;
  faults: number;
  syscalls: number;
  driverBugs: number;
  kills: number;
  crossChecks: number;
  hostWrites: number;
  hostChecks: number;
  hostileCreates: number;
  pagerKills: number;
  pagerRestarts: number | null;
  hangs: number;
  violations: number;
}

function options() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      roles: { type: 'string', default: '4' },
      pagers: { type: 'string', default: '2' },
      'kill-every-ms': { type: 'string', default: '2000' },
      'steps-max': { type: 'string', default: '20000' },
      'attach-every-s': { type: 'string', default: '20' },
      strict: { type: 'boolean', default: true },
      json: { type: 'string' },
      'kill-pagers': { type: 'string' },
      'kill-pagers-every-s': { type: 'string', default: '5' },
      'hang-drivers': { type: 'boolean', default: false },
      'hang-every-s': { type: 'string', default: '10' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const seconds = values.seconds !== undefined ? posInt('seconds', values.seconds, 1, 7 * 86400) : Math.round(Number(values.minutes ?? '10') * 60);
  if (!(seconds > 0)) throw new UsageError(`--minutes must be a positive number, got '${values.minutes}'`);
  const kp = values['kill-pagers'];
  if (kp !== undefined && kp !== 'hook' && kp !== 'driver') throw new UsageError(`--kill-pagers must be hook or driver, got '${kp}'`);
  return {
    seconds,
    seed: values.seed !== undefined ? posInt('seed', values.seed, 0, 2 ** 32 - 1) : (Date.now() ^ (process.pid << 12)) >>> 0,
    roles: posInt('roles', values.roles!, 1, 12),
    pagers: posInt('pagers', values.pagers!, 1, 8),
    killEveryMs: posInt('kill-every-ms', values['kill-every-ms']!, 0, 3_600_000),
    stepsMax: posInt('steps-max', values['steps-max']!, 600, 10_000_000),
    attachEveryS: posInt('attach-every-s', values['attach-every-s']!, 0, 86400),
    strict: values.strict!,
    json: values.json,
    killPagers: kp as 'hook' | 'driver' | undefined,
    killPagersEveryS: posInt('kill-pagers-every-s', values['kill-pagers-every-s']!, 1, 86400),
    hang: values['hang-drivers']!,
    hangEveryS: posInt('hang-every-s', values['hang-every-s']!, 1, 86400),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

/** Whether this runtime can take what the optional modes throw at it; the reason when not. */
async function unsupported(o: ReturnType<typeof options>): Promise<string | null> {
  if (o.hang) {
    try {
      const rt = await Runtime.create({ memory: 1 << 20, driverTimeoutMs: HANG_TIMEOUT_MS } as Parameters<typeof Runtime.create>[0]);
      await rt.close();
    } catch (e) {
      return `--hang-drivers: this runtime has no driverTimeoutMs option yet (${(e as Error).message}); a d_mmap that never returns would wedge its pager for good (issue 14, point 2)`;
    }
  }
  if (o.killPagers) {
    const rt = await Runtime.create({ memory: 1 << 20 });
    try {
      if (typeof (rt.stats() as unknown as { pagerRestarts?: unknown }).pagerRestarts !== 'number') {
        return `--kill-pagers: this runtime does not restart dead pagers yet (no rt.stats().pagerRestarts); a dead pager leaves the runtime broken (issue 14, point 3)`;
      }
      if (o.killPagers === 'hook' && typeof (rt as unknown as { injectPagerDeath?: unknown }).injectPagerDeath !== 'function') {
        return '--kill-pagers hook: this runtime has no rt.injectPagerDeath hook; use --kill-pagers driver';
      }
    } finally {
      await rt.close();
    }
  }
  return null;
}

async function main(): Promise<number> {
  const o = options();
  const why = await unsupported(o);
  if (why) {
    console.error(`soak: ${why}`);
    return 2;
  }
  const rand = mulberry32u(o.seed);
  const violations: string[] = [];
  const violation = (v: string) => {
    violations.push(v);
    // the first few in full (with the process's recent operations), then their first lines
    if (violations.length <= 3) console.log(`VIOLATION ${violations.length}: ${v}`);
    else if (violations.length <= 20) console.log(`VIOLATION ${violations.length}: ${v.split('\n')[0]}`);
  };
  const rt = await Runtime.create({
    memory: 64 << 20, pagers: o.pagers, maxProcesses: o.roles + 4, devices: [fuzzDevice()],
    ...(o.hang ? { driverTimeoutMs: HANG_TIMEOUT_MS } : {}),
  } as Parameters<typeof Runtime.create>[0]);
  const free0 = rt.stats().memory.freeFrames;
  const host = new HostSide(rt, o.roles, o.seed);
  for (const r of host.hostPages) host.write(r);
  const restarts = () => (rt.stats() as unknown as { pagerRestarts?: number }).pagerRestarts ?? null;
  const restarts0 = restarts();
  const f: Figures = {
    seed: o.seed, seconds: 0, roles: o.roles, pagers: o.pagers, operations: 0, processes: 0, faults: 0, syscalls: 0, driverBugs: 0,
    kills: 0, crossChecks: 0, hostWrites: 0, hostChecks: 0, hostileCreates: 0, pagerKills: 0, pagerRestarts: null, hangs: 0, violations: 0,
  };
  console.log(`soak: ${o.seconds} s, seed ${o.seed}, ${o.roles} fuzzing roles + the host, ${o.pagers} pagers; kills every ~${o.killEveryMs || '-'} ms; ` +
    `hostile drivers: d_mmap throws/garbage/slow, attach throws${o.hang ? ', d_mmap hangs' : ''}; pager kills: ${o.killPagers ?? 'off (--kill-pagers)'}`);

  const t0 = Date.now();
  const deadline = t0 + o.seconds * 1000;
  let stopping = false;
  const live: ({ h: ProcessHandle; seed: number; killed: boolean } | null)[] = new Array(o.roles).fill(null);

  const roleLoop = async (role: number) => {
    let clean = true;
    // After the stop, a role whose last process was killed runs once more, to republish its pages.
    while (!stopping || !clean) {
      const seed = rand();
      const steps = 500 + (rand() % (o.stepsMax - 500));
      const args: FuzzArgs = { role, roles: o.roles, seed, steps, strict: o.strict };
      const h = rt.spawn(FUZZ_PROG, args);
      const me = { h, seed, killed: false };
      live[role] = me;
      const st = await h.exited;
      live[role] = null;
      f.processes++;
      clean = st.result !== undefined;
      if (st.signal === 'SIGKILL' && me.killed) {
        f.kills++;
        continue;
      }
      if (st.signal || st.error) {
        violation(`role ${role} seed ${seed}: died ${st.signal ? `by ${st.signal} ${JSON.stringify(st.siginfo)}` : `with ${st.error!.name}: ${st.error!.message}`}`);
        continue;
      }
      const r = st.result as FuzzResult;
      if (r.mismatch) violation(r.mismatch);
    }
  };

  const killer = async () => {
    if (o.killEveryMs === 0) return;
    while (!stopping) {
      await sleep(o.killEveryMs / 2 + (rand() % o.killEveryMs));
      if (stopping) break;
      const l = live[rand() % o.roles];
      if (l && !l.killed) {
        l.killed = true;
        l.h.kill();
      }
    }
  };

  const hostLoop = async () => {
    while (!stopping) {
      host.writeRandom();
      const bad = host.checkRandom();
      if (bad) violation(`host: ${bad}`);
      await sleep(2);
    }
  };

  const hostileCreates = async () => {
    if (o.attachEveryS === 0) return;
    while (!stopping) {
      await sleep(o.attachEveryS * 1000);
      if (stopping) break;
      try {
        const bad = await within(10_000, Runtime.create({ memory: 1 << 20, devices: [{ name: 'throwattach', unit: 0, driver: THROW_ATTACH }] }), 'Runtime.create with a throwing attach');
        await bad.close();
        violation('Runtime.create resolved although the driver attach throws');
      } catch (e) {
        if (!/attach/.test((e as Error).message)) violation(`Runtime.create with a throwing attach: ${(e as Error).message}`);
        f.hostileCreates++;
      }
    }
  };

  /** A hostile process that must end by a signal, within `ms` when given. */
  const hostile = async (how: 'hang-fault' | 'exit-fault', ms: number | null) => {
    const t = Date.now();
    const st: ProcessStatus = await within(60_000, rt.spawn(HOSTILE_PROG, how).exited, `${how} process`).catch((e) => ({ pid: -1, error: e as Error }));
    if (!st.signal) violation(`${how}: the process ended without a signal: ${st.error ? st.error.message : JSON.stringify(st.result)}`);
    else if (ms !== null && Date.now() - t > ms) violation(`${how}: signalled after ${Date.now() - t} ms (driverTimeoutMs ${HANG_TIMEOUT_MS})`);
  };

  const pagerKiller = async () => {
    if (!o.killPagers) return;
    while (!stopping) {
      await sleep(o.killPagersEveryS * 1000);
      if (stopping) break;
      f.pagerKills++;
      if (o.killPagers === 'hook') rt.injectPagerDeath(rand() % o.pagers, 'reply', 1 + (rand() % 1000));
      else await hostile('exit-fault', null);
    }
  };

  const hanger = async () => {
    if (!o.hang) return;
    while (!stopping) {
      await sleep(o.hangEveryS * 1000);
      if (stopping) break;
      f.hangs++;
      await hostile('hang-fault', HANG_TIMEOUT_MS * 4 + 2000);
    }
  };

  const progress = async () => {
    while (!stopping) {
      await sleep(Math.min(10_000, Math.max(1000, deadline - Date.now())));
      const s = rt.stats();
      console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${fmtCount(host.opsSoFar(o.roles))} ops, ${fmtCount(s.totals.faults)} faults, ${f.processes} processes, ${f.kills} killed, ${violations.length} violations`);
    }
  };

  const loops = Array.from({ length: o.roles }, (_, r) => roleLoop(r).catch((e) => violation(`role ${r}: ${(e as Error).stack}`)));
  const side = [killer(), hostLoop(), hostileCreates(), pagerKiller(), hanger(), progress()].map((p) => p.catch((e) => violation(`soak: ${(e as Error).stack}`)));
  while (Date.now() < deadline) await sleep(Math.min(500, deadline - Date.now()));
  stopping = true;
  host.setWord(STOP_WORD, 1);
  try {
    await within(120_000, Promise.all(loops), 'the fuzzing roles after the stop');
  } catch (e) {
    violation((e as Error).message);
  }
  await Promise.all(side);

  const s = rt.stats();
  f.seconds = (Date.now() - t0) / 1000;
  f.operations = host.opsSoFar(o.roles);
  f.crossChecks = host.crossChecksSoFar(o.roles);
  f.faults = s.totals.faults;
  f.syscalls = s.totals.syscalls;
  f.driverBugs = s.totals.driverBugs;
  f.hostWrites = host.writes;
  f.hostChecks = host.checks;
  const r1 = restarts();
  f.pagerRestarts = r1 === null ? null : r1 - (restarts0 ?? 0);
  for (const v of host.checkAll(true)) violation(`host, at the end: ${v}`);
  for (const v of leakCheck(rt, free0)) violation(`at the end: ${v}`);
  host.setWord(RELEASE_WORD, 1);
  await within(30_000, rt.close(), 'rt.close').catch((e) => violation((e as Error).message));
  f.violations = violations.length;

  console.log(`\nsoak figures (seed ${f.seed}):`);
  console.log(`  duration         ${f.seconds.toFixed(1)} s`);
  console.log(`  operations       ${fmtCount(f.operations)} (${fmtRate(f.operations / f.seconds)}/s), in ${f.processes} processes`);
  console.log(`  faults           ${fmtCount(f.faults)} (${fmtRate(f.faults / f.seconds)}/s); syscalls ${fmtCount(f.syscalls)}; driver bugs ${fmtCount(f.driverBugs)}`);
  console.log(`  kills            ${f.kills} processes killed; ${f.pagerKills} pager kills${f.pagerRestarts === null ? '' : `, ${f.pagerRestarts} pager restarts`}; ${f.hangs} hung d_mmap; ${f.hostileCreates} hostile Runtime.create`);
  console.log(`  checks           ${fmtCount(f.crossChecks)} cross-process page checks, ${fmtCount(f.hostChecks)} host checks, ${fmtCount(f.hostWrites)} host writes`);
  console.log(`  violations       ${f.violations}`);
  if (o.json) writeFileSync(o.json, JSON.stringify(f, null, 2) + '\n');
  return violations.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`soak: ${e.message}\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    console.error(`soak: ${e instanceof Error ? e.stack : String(e)}`);
    process.exitCode = 1;
  },
);
