/**
 * CPU affinity of the runtime's threads (RuntimeOptions.pin; Linux, through taskset(1)).
 *
 * Why: left to itself, the scheduler may put a process thread on its pager's CPU and keep it
 * there. Each then waits for the other to be preempted or to park, and neither can tell from
 * inside; a longer spin only waits for the preemption instead. will-it-scale binds each task to
 * a CPU for the same reason. (docs/architecture.md, "Pinning"; the measurements:
 * docs/experiments/pinning.md.)
 *
 * The plan: the pagers take the top cores of the allowed list, one each while that leaves a core
 * for processes, and share them round-robin beyond (so 2 pagers on 2 cores share the top one);
 * process threads share the cores below. Only `cpus` processes run at once anyway (runqueue.ts),
 * and on 2 cores that is one: a core for it and a core for whichever pager answers it. With one
 * CPU there is nothing to separate.
 *
 * Node has no thread-affinity API, so each thread finds its own Linux thread id
 * (/proc/thread-self) and runs `taskset -pc LIST TID` once, when it starts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

export interface PinPlan {
  /** pagers[i]: the CPUs of pager i (one core each) */
  pagers: number[][];
  /** the CPUs every process thread may run on */
  processes: number[];
}

/** Parse a Linux CPU list such as "0-3,8,10-11" into ascending CPU numbers. */
export function parseCpuList(s: string): number[] {
  const out = new Set<number>();
  for (const part of s.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`cannot parse CPU list '${s}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let c = a; c <= b; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** The CPUs this Node process may run on (Cpus_allowed_list in /proc/self/status). */
export function allowedCpus(): number[] {
  const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('/proc/self/status has no Cpus_allowed_list');
  return parseCpuList(m[1]);
}

/** Which CPUs each thread gets, or null with fewer than two CPUs. */
export function pinPlan(cpus: readonly number[], pagers: number): PinPlan | null {
  if (cpus.length < 2) return null;
  const pagerCores = Math.min(pagers, cpus.length - 1);
  const pagerCpus: number[][] = [];
  for (let i = 0; i < pagers; i++) pagerCpus.push([cpus[cpus.length - 1 - (i % pagerCores)]]);
  return { pagers: pagerCpus, processes: cpus.slice(0, cpus.length - pagerCores) };
}

/** A taskset that has not answered by then is treated as failed, so a stuck one cannot hang a thread's start. */
const TASKSET_TIMEOUT_MS = 5000;

let unavailable: string | null | undefined;

/** Why pinning cannot work on this machine, or null if it can (found out once per Node process). */
export function pinUnavailable(): string | null {
  if (unavailable === undefined) unavailable = findWhyUnavailable();
  return unavailable;
}

function findWhyUnavailable(): string | null {
  if (process.platform !== 'linux') return `pinning threads needs Linux (this is ${process.platform})`;
  try {
    readlinkSync('/proc/thread-self');
  } catch (e) {
    return `cannot read /proc/thread-self: ${(e as Error).message}`;
  }
  const r = spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8', timeout: TASKSET_TIMEOUT_MS });
  if (r.error) return `cannot run taskset (util-linux): ${r.error.message}`;
  if (r.status !== 0) return `taskset -p ${process.pid} failed: ${r.stderr.trim()}`;
  return null;
}

/** This thread's Linux thread id. */
export function threadTid(): number {
  return Number(readlinkSync('/proc/thread-self').split('/')[2]);
}

/**
 * What a thread pins itself to when it starts (RuntimeOptions.pin): `strict` (pin: true) makes
 * a failure fatal to the thread; with 'auto' a thread that cannot be pinned runs unpinned.
 */
export interface ThreadPin {
  cpus: number[];
  strict: boolean;
}

/** Pin the calling thread as `pin` says (nothing when null). */
export function applyThreadPin(pin: ThreadPin | null): void {
  if (pin === null) return;
  try {
    pinThisThread(pin.cpus);
  } catch (e) {
    if (pin.strict) throw e;
  }
}

/** Pin the calling thread to `cpus`. Throws an Error that says what failed. */
export function pinThisThread(cpus: readonly number[]): void {
  const tid = threadTid();
  const r = spawnSync('taskset', ['-pc', cpus.join(','), String(tid)], { encoding: 'utf8', timeout: TASKSET_TIMEOUT_MS });
  if (r.error) throw new Error(`cannot pin thread ${tid} to CPUs ${cpus.join(',')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cannot pin thread ${tid} to CPUs ${cpus.join(',')}: taskset: ${r.stderr.trim()}`);
}
