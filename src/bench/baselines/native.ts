/**
 * Optional native baselines, built from C at run time (never committed binaries).
 *
 * The C sources ship with the package as sources (package.json "files"), next to this file's
 * TypeScript: tsc does not copy them, so they are found from the compiled file's location, which
 * is dist/src/bench/baselines/native.js both in the repository and in an installed package: four
 * levels up is the package root, and the sources are at src/bench/baselines/native/ below it.
 * Each run compiles into a fresh directory under os.tmpdir() with `cc -O2 -pthread`, runs the
 * program with a timeout, parses the one JSON line it prints, and removes the directory. No `cc`,
 * not Linux, or a compile failure: the baseline is reported as skipped with the reason, never
 * silently dropped.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { durationOption, warmupMs, type BaselineResult, type SkippedBaseline } from './harness.js';

const PACKAGE_ROOT = new URL('../../../../', import.meta.url);
export const NATIVE_SOURCE_DIR = new URL('src/bench/baselines/native/', PACKAGE_ROOT);

const SOURCES = {
  'anon-fault': new URL('anon-fault.c', NATIVE_SOURCE_DIR),
  uffd: new URL('uffd.c', NATIVE_SOURCE_DIR),
} as const;
export type NativeProgram = keyof typeof SOURCES;

const PROGRAM_BASELINE: Record<NativeProgram, string> = { 'anon-fault': 'linux-anon-fault', uffd: 'userfaultfd' };

interface RunOut { stdout: string; stderr: string }

function run(file: string, args: string[], timeoutMs: number): Promise<RunOut> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        const why = e.killed ? `killed after ${timeoutMs} ms` : e.message;
        reject(Object.assign(new Error(`${file}: ${why}${stderr ? `: ${String(stderr).trim()}` : ''}`), { code: e.code }));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Compiled programs for one nativeBaselines() call; `dispose` removes the temp directory. */
export class NativeBuild {
  private constructor(private readonly dir: string) {}

  /** Returns a build, or the reason native baselines cannot run here. */
  static async create(): Promise<NativeBuild | string> {
    if (process.platform !== 'linux') return `native baselines need Linux (this is ${process.platform})`;
    try {
      await run('cc', ['--version'], 10_000);
    } catch (e) {
      return (e as { code?: unknown }).code === 'ENOENT'
        ? 'no C compiler: `cc` is not on PATH (install gcc or clang to run the native baselines)'
        : `cc --version failed: ${(e as Error).message}`;
    }
    return new NativeBuild(await mkdtemp(join(tmpdir(), 'devpager-baselines-')));
  }

  /** Compile one program; returns the binary path or a skip reason. */
  async compile(program: NativeProgram): Promise<string | { skipped: string }> {
    const src = fileURLToPath(SOURCES[program]);
    if (!existsSync(src)) return { skipped: `C source not found at ${src} (the package is incomplete: it ships src/bench/baselines/native/*.c)` };
    const out = join(this.dir, program);
    try {
      await run('cc', ['-O2', '-pthread', '-o', out, src], 60_000);
    } catch (e) {
      const first = (e as Error).message.split('\n').slice(0, 3).join(' ');
      return { skipped: `compiling ${program}.c failed: ${first}` };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function parseLine(program: NativeProgram, stdout: string): BaselineResult | SkippedBaseline {
  const line = stdout.trim().split('\n').pop() ?? '';
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`${program}: expected one JSON line, got ${JSON.stringify(line.slice(0, 200))}`);
  }
  const name = typeof o.name === 'string' ? o.name : PROGRAM_BASELINE[program];
  if (typeof o.skipped === 'string') return { name, skipped: o.skipped };
  const num = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${program}: field ${k} missing or not a number in ${line}`);
    return v;
  };
  const r: BaselineResult = {
    name, procs: num('procs'), ops: num('ops'), elapsedMs: num('elapsedMs'), opsPerSec: num('opsPerSec'),
    p50Ns: num('p50Ns'), p99Ns: num('p99Ns'), p999Ns: num('p999Ns'), meanNs: num('meanNs'),
  };
  if (typeof o.detail === 'string') r.detail = o.detail;
  if (r.ops === 0) { r.p50Ns = r.p99Ns = r.p999Ns = r.meanNs = NaN; }
  return r;
}

/** Run one compiled program; failures of the program become a skip with the reason. */
export async function runNative(
  build: NativeBuild, program: NativeProgram, args: string[], durationMs: number,
): Promise<BaselineResult | SkippedBaseline> {
  const bin = await build.compile(program);
  if (typeof bin !== 'string') return { name: PROGRAM_BASELINE[program], ...bin };
  const timeoutMs = durationMs + warmupMs(durationMs) + 15_000;
  try {
    const { stdout } = await run(bin, args, timeoutMs);
    return parseLine(program, stdout);
  } catch (e) {
    return { name: PROGRAM_BASELINE[program], skipped: (e as Error).message };
  }
}

/**
 * linux-anon-fault with 1 and 2 threads, then userfaultfd (UFFDIO_COPY, threads unpinned).
 * Always resolves; every entry is a result or a skip with its reason.
 */
export async function nativeBaselines(opts: { durationMs?: number } = {}): Promise<Array<BaselineResult | SkippedBaseline>> {
  const durationMs = durationOption(opts.durationMs);
  const build = await NativeBuild.create();
  if (typeof build === 'string') {
    return [{ name: 'linux-anon-fault', skipped: build }, { name: 'userfaultfd', skipped: build }];
  }
  try {
    const d = String(Math.round(durationMs));
    return [
      await runNative(build, 'anon-fault', ['1', d], durationMs),
      await runNative(build, 'anon-fault', ['2', d], durationMs),
      await runNative(build, 'uffd', [d, 'copy'], durationMs),
    ];
  } finally {
    await build.dispose();
  }
}
