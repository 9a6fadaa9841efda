/**
 * The package, used the way a user gets it: `npm pack`, then `npm install` of that tarball into a
 * fresh project, whose node_modules/devpager is then all there is. That project imports 'devpager'
 * and 'devpager/drivers/foo' through the exports map, runs the README's tour verbatim (the code
 * blocks are extracted from README.md, so the README cannot drift from what works), and runs the
 * installed `devpager bench`, whose C baselines must be found inside the installed package.
 *
 * The install is offline first (the dependencies are in npm's cache after `npm ci`), then allowed
 * to reach the registry; only when both fail for want of a network are the installed-package tests
 * skipped, with the reason printed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from './helpers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRATCH = mkdtempSync(join(os.tmpdir(), 'devpager-user-'));
process.on('exit', () => rmSync(SCRATCH, { recursive: true, force: true }));

/** What the tarball may hold: the compiled library, the C baselines' sources, the docs, README, LICENSE, package.json. */
const SHIPS = /^(dist\/src\/.+\.(js|cjs|d\.ts|d\.cts)|src\/bench\/baselines\/native\/[^/]+\.[ch]|docs\/.+\.(md|png)|README\.md|BENCHMARKS\.md|LICENSE|package\.json)$/;

function tourBlocks(): { host: string; prog: string } {
  const md = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...md.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  const host = blocks.find((b) => b.startsWith('// host.mjs'));
  const prog = blocks.find((b) => b.startsWith('// prog.mjs'));
  if (!host || !prog) throw new Error('README.md lost its host.mjs/prog.mjs tour blocks');
  return { host, prog };
}

function npmError(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  return String(err.stderr || err.message || e).trim();
}

/** `npm pack` of the built tree (no rebuild: `npm test` has just built it). */
async function pack(): Promise<{ tarball: string; files: string[] }> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', SCRATCH], { cwd: ROOT, timeout: 60_000 });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return { tarball: join(SCRATCH, info.filename), files: info.files.map((f) => f.path) };
}

/** Install the tarball into a fresh project; null when installed, else why the registry could not be reached. */
async function install(tarball: string, dir: string): Promise<string | null> {
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), '{"name":"devpager-user","type":"module","private":true}');
  const args = ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball];
  try {
    await run('npm', [...args, '--offline'], { cwd: dir, timeout: 90_000 });
    return null;
  } catch (offline) {
    if (!/ENOTCACHED/.test(npmError(offline))) throw new Error(`npm install --offline failed: ${npmError(offline)}`);
  }
  try {
    await run('npm', [...args, '--prefer-offline'], { cwd: dir, timeout: 90_000 });
    return null;
  } catch (online) {
    const why = npmError(online);
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network/i.test(why)) {
      return `the dependencies are not in npm's cache and the registry is unreachable: ${why.split('\n')[0]}`;
    }
    throw new Error(`npm install --prefer-offline failed: ${why}`);
  }
}

const packed = await withTimeout(60_000, pack(), 'npm pack');
const USER = join(SCRATCH, 'user');
const unreachable = await withTimeout(200_000, install(packed.tarball, USER), 'npm install of the tarball');
if (unreachable !== null) console.log(`# skipping the installed-package tests: ${unreachable}`);
const installed = unreachable === null ? test : test.skip;
const INSTALLED = join(USER, 'node_modules', 'devpager');

test('package.json: ESM, exports (types first), bin, engines, files', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.is(pkg.name, 'devpager');
  assert.is(pkg.type, 'module');
  assert.equal(Object.keys(pkg.exports['.'])[0], 'types');
  assert.ok(pkg.bin.devpager, 'bin devpager');
  assert.ok(pkg.engines.node.includes('20'));
  for (const s of ['build', 'test', 'bench', 'prepare']) assert.ok(pkg.scripts[s], `script ${s}`);
});

test('the tarball holds the library, its types and the C baselines, and nothing from test/ or bench/', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const stray = packed.files.filter((f) => !SHIPS.test(f));
  assert.equal(stray, [], `files that should not ship: ${stray.slice(0, 10).join(', ')}`);
  assert.equal(packed.files.filter((f) => /^(dist\/)?(test|bench)\//.test(f)), [], 'nothing from test/ or bench/ ships');
  const needed = [
    pkg.bin.devpager, pkg.exports['.'].import, pkg.exports['.'].types, pkg.exports['./drivers/foo'].import,
    'dist/src/workers/process-entry.cjs', 'dist/src/bench/baselines/native.js',
    'src/bench/baselines/native/anon-fault.c', 'src/bench/baselines/native/uffd.c', 'src/bench/baselines/native/latency.h', 'README.md',
  ].map((p: string) => p.replace(/^\.\//, ''));
  for (const f of needed) assert.ok(packed.files.includes(f), `${f} ships`);
});

installed('the installed package has no test/ or bench/ folder at any depth', () => {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const rel = relative(INSTALLED, join(d, e.name));
      if (e.name === 'test' || (e.name === 'bench' && rel !== 'dist/src/bench' && rel !== 'src/bench')) found.push(rel);
      walk(join(d, e.name));
    }
  };
  walk(INSTALLED);
  assert.equal(found, []);
  assert.ok(existsSync(join(INSTALLED, 'src/bench/baselines/native/uffd.c')), 'the C sources are installed');
});

test("README tour runs verbatim from a fresh project that depends on 'devpager'", () =>
  withTimeout(60_000, async () => {
    const dir = mkdtempSync(join(SCRATCH, 'tour-'));
    // The installed tarball when there is one; the source tree, linked, when the install was skipped.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(unreachable === null ? INSTALLED : ROOT, join(dir, 'node_modules', 'devpager'), 'dir');
    const { host, prog } = tourBlocks();
    writeFileSync(join(dir, 'host.mjs'), host);
    writeFileSync(join(dir, 'prog.mjs'), prog);
    writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}');
    const { stdout } = await run(process.execPath, ['host.mjs'], { cwd: dir, timeout: 45_000 });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0], /^SIGSEGV SEGV_MAPERR at 0x[0-9a-f]+$/, 'the process reports its signal');
    const addr = parseInt(lines[0].split('0x')[1], 16);
    assert.is(addr % 4096, 0, 'the address is the first byte past the 3-page mapping');
    assert.is(lines[1], 'c0ffee', 'the host sees what the process wrote, through kernel memory');
  }, 'README tour'));

installed('the installed `devpager bench --quick` runs the userfaultfd baseline from the shipped C source', () =>
  withTimeout(150_000, async () => {
    const bin = join(USER, 'node_modules', '.bin', 'devpager');
    const json = join(SCRATCH, 'bench.json');
    // One short cell, no warm-up and no probe: what is checked is the baselines, all of which run.
    const { stdout } = await run(bin, ['bench', '--quick', '--workload', 'refault', '--procs', '1', '--duration', '50', '--warmup', '0', '--no-probe', '--json', json],
      { cwd: USER, timeout: 140_000 });
    assert.match(stdout, /^userfaultfd\s/m, 'the baselines table has a userfaultfd row');
    assert.not.match(stdout, /source not found/);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { baselines: { all: { name: string }[]; skipped: { name: string; skipped: string }[] } };
    const ran = doc.baselines.all.some((r) => r.name === 'userfaultfd');
    const skip = doc.baselines.skipped.find((r) => r.name === 'userfaultfd');
    assert.ok(ran || skip, 'userfaultfd is reported, as a result or as a skip');
    // A skip may name a missing compiler or a kernel that refuses userfaultfd, never a missing file.
    if (skip) assert.not.match(skip.skipped, /not found at/);
  }, 'installed devpager bench'));

test('the devpager bin answers --help and rejects unknown commands with exit code 2', () =>
  withTimeout(30_000, async () => {
    const bin = unreachable === null ? join(USER, 'node_modules', '.bin', 'devpager') : join(ROOT, 'dist/src/cli/main.js');
    const { stdout } = await run(process.execPath, [bin, '--help'], { timeout: 20_000 });
    assert.match(stdout, /bench/);
    assert.match(stdout, /profile/);
    try {
      await run(process.execPath, [bin, 'no-such-command'], { timeout: 20_000 });
      assert.unreachable('an unknown command must fail');
    } catch (e) {
      const err = e as { code?: number; stderr?: string };
      assert.is(err.code, 2);
      assert.match(String(err.stderr), /no-such-command/);
    }
  }, 'bin'));

test.run();
