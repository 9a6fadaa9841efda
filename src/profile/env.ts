/**
 * `devpager profile -- node host.mjs`: the command runs the user's host script with
 * DEVPAGER_PROFILE set, and every Runtime that script creates reads it — tracing goes on, and
 * when the runtime closes it writes its report — so the script needs no change.
 *
 * The variable holds JSON: { prefix, outputs: ["html", "trace", "json", "text"], traceEvents?,
 * traceSample?, manifest?, parent? }. The first runtime of the host process writes `<prefix>.html` and so on,
 * the second `<prefix>-2.html`; a process other than the command's own child (one the script
 * started) adds its pid. Each runtime appends one JSON line naming its files to `manifest`.
 */
import { appendFileSync } from 'node:fs';
import type { ProfileSource } from './source.js';
import { writeProfile, type ProfilePaths } from './write.js';

export const PROFILE_ENV = 'DEVPAGER_PROFILE';

export interface EnvProfile {
  prefix: string;
  outputs: ('html' | 'trace' | 'json' | 'text')[];
  traceEvents?: number;
  traceSample?: number;
  manifest?: string;
  /** the pid of the `devpager profile` command */
  parent?: number;
}

const OUTPUTS = ['html', 'trace', 'json', 'text'] as const;
const EXT = { html: '.html', trace: '.trace.json', json: '.json', text: '.txt' } as const;

/** The profile request in the environment, or null; a malformed one is an error naming the variable. */
export function envProfile(env: NodeJS.ProcessEnv = process.env): EnvProfile | null {
  const raw = env[PROFILE_ENV];
  if (raw === undefined || raw === '') return null;
  let v: EnvProfile;
  try {
    v = JSON.parse(raw) as EnvProfile;
  } catch {
    throw new TypeError(`${PROFILE_ENV} must be the JSON that 'devpager profile' sets, got ${JSON.stringify(raw.slice(0, 80))}`);
  }
  if (v === null || typeof v !== 'object' || typeof v.prefix !== 'string' || v.prefix === '' || !Array.isArray(v.outputs) || !v.outputs.every((o) => (OUTPUTS as readonly string[]).includes(o))) {
    throw new TypeError(`${PROFILE_ENV}: expected { prefix, outputs: [${OUTPUTS.join(', ')}] }, got ${raw.slice(0, 120)}`);
  }
  for (const k of ['traceEvents', 'traceSample'] as const) {
    const x = v[k];
    if (x !== undefined && (!Number.isInteger(x) || x < 1)) throw new TypeError(`${PROFILE_ENV}: ${k} must be a positive integer, got ${String(x)}`);
  }
  return v;
}

/** Runtime options with tracing forced on (and the ring size asked for, unless the script set one). */
export function withEnvProfile<O extends { trace?: boolean; traceEvents?: number; traceSample?: number }>(options: O, p: EnvProfile | null): O {
  if (p === null) return options;
  const o = { ...options, trace: true };
  if (p.traceEvents !== undefined && options.traceEvents === undefined) o.traceEvents = p.traceEvents;
  if (p.traceSample !== undefined && options.traceSample === undefined) o.traceSample = p.traceSample;
  return o;
}

let runtimesProfiled = 0;

/** The file paths of this process's next runtime's report. */
export function envPaths(p: EnvProfile, n: number): ProfilePaths {
  const own = p.parent === undefined || p.parent === process.ppid;
  const base = `${p.prefix}${own ? '' : `-pid${process.pid}`}${n > 1 ? `-${n}` : ''}`;
  const out: ProfilePaths = {};
  for (const o of p.outputs) out[o] = base + EXT[o];
  return out;
}

/** At close: write this runtime's report where the environment says; never throws. */
export async function writeEnvProfile(src: ProfileSource, p: EnvProfile): Promise<void> {
  const n = ++runtimesProfiled;
  const paths = envPaths(p, n);
  try {
    const w = await writeProfile(src, paths, { title: `devpager profile: ${process.argv.slice(1).map((a) => a.replace(/^.*\//, '')).join(' ')} (runtime ${n})` });
    const line = JSON.stringify({ pid: process.pid, runtime: n, files: w.files, verdict: w.report.verdict });
    if (p.manifest) appendFileSync(p.manifest, line + '\n');
    else process.stderr.write(`devpager profile: wrote ${Object.values(w.files).join(', ')}\n`);
  } catch (e) {
    process.stderr.write(`devpager profile: could not write the report of runtime ${n}: ${(e as Error).message}\n`);
    if (p.manifest) appendFileSync(p.manifest, JSON.stringify({ pid: process.pid, runtime: n, error: (e as Error).message }) + '\n');
  }
}
