/**
 * Test runner behind `npm test`: runs every dist/test/**\/*.test.js in its own child process, one
 * file at a time (the tests measure concurrency, and the machine has two cores), under a hard
 * per-file timeout.
 *
 *   node dist/test/run.js [FILTER...]
 *
 * FILTER: run only files whose path (relative to dist/test) contains one of the given substrings.
 * DEVPAGER_TEST_TIMEOUT_MS: per-file timeout in ms (default 180000). A file that runs longer is
 * killed with SIGKILL (its whole process group) and counts as failed.
 *
 * Counting: uvu prints "Total: / Passed: / Skipped:" once per file; failed = Total - Passed. A file
 * without that summary (crash, kill, early exit) counts as one failed test, and so does a file that
 * exits non-zero although its summary shows no failure.
 *
 * The very last line printed is exactly `N passed, N failed` (`, N skipped` appended when N > 0).
 * Exit status: 1 if anything failed or no test ran, else 0.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/test
const DEFAULT_TIMEOUT_MS = 180_000;
/** After the child is gone, how long to wait for its pipes to drain (a grandchild may hold them). */
const DRAIN_GRACE_MS = 2_000;

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  note: string;
}

function timeoutFromEnv(): number {
  const raw = process.env.DEVPAGER_TEST_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_TIMEOUT_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`DEVPAGER_TEST_TIMEOUT_MS must be a positive integer (milliseconds), got ${JSON.stringify(raw)}`);
  }
  return n;
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && ent.name.endsWith('.test.js')) out.push(p);
    }
  };
  walk(dir);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The last uvu summary in `text`, or null if there is none. */
function parseSummary(text: string): { total: number; passed: number; skipped: number } | null {
  // Strip ANSI colour codes in case a test forces colour despite NO_COLOR.
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  const last = (re: RegExp): number | null => {
    let m: RegExpExecArray | null;
    let v: number | null = null;
    while ((m = re.exec(clean)) !== null) v = Number(m[1]);
    return v;
  };
  const total = last(/^\s*Total:\s+(\d+)\s*$/gm);
  const passed = last(/^\s*Passed:\s+(\d+)\s*$/gm);
  const skipped = last(/^\s*Skipped:\s+(\d+)\s*$/gm);
  if (total === null || passed === null) return null;
  return { total, passed, skipped: skipped ?? 0 };
}

let current: { pid: number } | null = null;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL'); // the child leads its own process group (detached)
  } catch {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

function runFile(file: string, timeoutMs: number): Promise<FileResult> {
  const rel = relative(HERE, file).split(sep).join('/');
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--enable-source-maps', file], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so a timeout kills grandchildren too
    });
    current = child.pid === undefined ? null : { pid: child.pid };
    let out = '';
    let timedOut = false;
    let spawnError: Error | null = null;
    child.stdout!.on('data', (b: Buffer) => {
      process.stdout.write(b);
      out += b.toString('utf8');
      if (out.length > 4_000_000) out = out.slice(-1_000_000); // the summary is at the end
    });
    child.stderr!.on('data', (b: Buffer) => process.stderr.write(b));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid);
    }, timeoutMs);
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      current = null;
      const ms = performance.now() - t0;
      const sum = parseSummary(out);
      const r: FileResult = { file: rel, passed: 0, failed: 0, skipped: 0, ms, note: '' };
      if (sum) {
        r.passed = sum.passed;
        r.failed = Math.max(0, sum.total - sum.passed);
        r.skipped = sum.skipped;
      }
      const how = exitSignal ? `signal ${exitSignal}` : `code ${exitCode}`;
      if (spawnError) {
        r.failed += 1;
        r.note = `could not start: ${spawnError.message}`;
      } else if (timedOut) {
        // A summary printed before the hang does not make the file pass.
        r.failed = Math.max(1, r.failed + 1);
        r.note = `TIMED OUT after ${timeoutMs} ms (killed with SIGKILL); raise DEVPAGER_TEST_TIMEOUT_MS if it is just slow`;
      } else if (!sum) {
        r.failed += 1;
        r.note = `no uvu summary (exited with ${how}): crashed or exited early`;
      } else if (exitCode !== 0 && r.failed === 0) {
        r.failed += 1;
        r.note = `exited with ${how} although its summary shows no failed test`;
      }
      resolve(r);
    };
    child.on('error', (e) => {
      spawnError = e;
      finish();
    });
    child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      // Normally 'close' follows at once; if a grandchild still holds the pipes, stop waiting.
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, DRAIN_GRACE_MS);
    });
    child.on('close', finish);
  });
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function finalLine(passed: number, failed: number, skipped: number): string {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

async function main(): Promise<number> {
  let timeoutMs: number;
  try {
    timeoutMs = timeoutFromEnv();
  } catch (e) {
    process.stderr.write(`run: ${(e as Error).message}\n`);
    process.stdout.write(finalLine(0, 0, 0) + '\n');
    return 1;
  }
  const filters = process.argv.slice(2);
  const all = findTests(HERE);
  const files = filters.length === 0
    ? all
    : all.filter((f) => filters.some((s) => relative(HERE, f).split(sep).join('/').includes(s)));
  if (files.length === 0) {
    process.stdout.write(filters.length
      ? `run: no test file under ${HERE} matches ${filters.map((s) => JSON.stringify(s)).join(' or ')}\n`
      : `run: no *.test.js file under ${HERE} (did the build run?)\n`);
    process.stdout.write(finalLine(0, 0, 0) + '\n');
    return 1;
  }

  const results: FileResult[] = [];
  for (const f of files) {
    process.stdout.write(`\n# ${relative(HERE, f).split(sep).join('/')}\n`);
    results.push(await runFile(f, timeoutMs));
    const r = results[results.length - 1];
    if (r.note) process.stdout.write(`\n# ${r.file}: ${r.note}\n`);
  }

  let passed = 0, failed = 0, skipped = 0;
  process.stdout.write('\n');
  for (const r of results) {
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
    const status = r.failed > 0 ? 'FAIL' : 'ok  ';
    process.stdout.write(
      `${status} ${r.file}  ${finalLine(r.passed, r.failed, r.skipped)}  (${fmtMs(r.ms)})${r.note ? `  ${r.note}` : ''}\n`,
    );
  }
  if (passed + failed === 0) process.stdout.write('run: no test ran\n');
  process.stdout.write(finalLine(passed, failed, skipped) + '\n');
  return failed > 0 || passed + failed === 0 ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (current) killGroup(current.pid);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

main().then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`run: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.stdout.write(finalLine(0, 1, 0) + '\n');
    process.exitCode = 1;
  },
);
