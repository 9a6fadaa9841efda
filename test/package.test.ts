/**
 * The built package, used the way a user would: a fresh project whose node_modules/devpager is
 * this package, importing 'devpager' and 'devpager/drivers/foo' through the exports map, running
 * the README's tour verbatim (the code blocks are extracted from README.md, so the README cannot
 * drift from what works), and the `devpager` bin.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from './helpers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function tourBlocks(): { host: string; prog: string } {
  const md = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...md.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  const host = blocks.find((b) => b.startsWith('// host.mjs'));
  const prog = blocks.find((b) => b.startsWith('// prog.mjs'));
  if (!host || !prog) throw new Error('README.md lost its host.mjs/prog.mjs tour blocks');
  return { host, prog };
}

test('package.json: ESM, exports (types first), bin, engines, files', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.is(pkg.name, 'devpager');
  assert.is(pkg.type, 'module');
  assert.equal(Object.keys(pkg.exports['.'])[0], 'types');
  assert.ok(pkg.bin.devpager, 'bin devpager');
  assert.ok(pkg.engines.node.includes('20'));
  assert.equal(pkg.files, ['dist']);
  for (const s of ['build', 'test', 'bench', 'prepare']) assert.ok(pkg.scripts[s], `script ${s}`);
});

test("README tour runs verbatim from a fresh project that depends on 'devpager'", () =>
  withTimeout(60_000, async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'devpager-user-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(ROOT, join(dir, 'node_modules', 'devpager'), 'dir');
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 'README tour'));

test('the devpager bin answers --help and rejects unknown commands with exit code 2', () =>
  withTimeout(30_000, async () => {
    const bin = join(ROOT, 'dist/src/cli/main.js');
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
