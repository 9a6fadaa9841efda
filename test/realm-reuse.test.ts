/**
 * A process worker runs the next program in the realm of the last one only when that program
 * left nothing behind (process/realm.ts recycle, process/realm-audit.ts): module state is fresh
 * either way, and every kind of state a program can leave — globals, built-in prototypes, hidden
 * intrinsics, the Process prototype, devpager's exports, env, Node's shared globals, `process`
 * listeners, work still scheduled, RegExp statics, a frozen built-in — is seen by no successor.
 *
 *   node dist/test/run.js realm-reuse
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { withTimeout } from './helpers.js';
import { INDEX, captureWarnings, fixtureUrl, runChild } from './fixtures/repro-util.js';

const PROG = fixtureUrl('reuse-prog');
const { KINDS } = (await import(PROG.href)) as { KINDS: string[] };

let rt: Runtime;
test.before(async () => {
  // One process thread: every program runs where the one before it ran.
  rt = await withTimeout(15_000, Runtime.create({ memory: 16 << 20, maxProcesses: 1, prestart: 1 }), 'Runtime.create');
});
test.after(async () => {
  await withTimeout(20_000, rt.close(), 'rt.close');
});

const realms = () => {
  const t = rt.stats().totals as unknown as { realmsMade: number; realmsReused: number };
  return { made: t.realmsMade, reused: t.realmsReused };
};

test('a program that leaves nothing behind hands its realm to the next, whose modules are evaluated afresh', async () => {
  await withTimeout(20_000, async () => {
    await rt.run(PROG, 'clean'); // the first program of the thread may have had a new realm
    const before = realms();
    for (let i = 0; i < 3; i++) assert.equal(await rt.run(PROG, 'clean'), { evaluations: 1, value: 7 }, 'module state starts fresh');
    const after = realms();
    assert.is(after.reused - before.reused, 3, `three programs ran in a reused realm (${JSON.stringify(before)} -> ${JSON.stringify(after)})`);
    assert.is(after.made, before.made, 'and none needed a new one');
  }, 'clean');
});

for (const kind of KINDS) {
  test(`what a program leaves behind (${kind}) reaches no later program`, async () => {
    const w = captureWarnings();
    try {
      await withTimeout(20_000, async () => {
        await rt.run(PROG, 'clean');
        assert.is(await rt.run(PROG, 'leave', kind), 'left');
        assert.is(await rt.run(PROG, 'look', kind), 'fresh', 'the next program sees nothing of it');
        assert.is(await rt.run(PROG, 'look', kind), 'fresh', 'nor does the one after');
      }, kind);
    } finally {
      w.stop();
    }
  });
}

test('a realm whose program changed it is not reused: the next program gets a new one', async () => {
  await withTimeout(20_000, async () => {
    await rt.run(PROG, 'clean');
    const before = realms();
    await rt.run(PROG, 'leave', 'global');
    await rt.run(PROG, 'clean');
    const after = realms();
    assert.is(after.made - before.made, 1, `the program after the change ran in a new realm (${JSON.stringify(before)} -> ${JSON.stringify(after)})`);
  }, 'dirty');
});

test('import() works in every program of a worker, not only its first', async () => {
  await withTimeout(20_000, async () => {
    for (let i = 0; i < 3; i++) assert.is(await rt.run(PROG, 'dynamic'), 'function', `program ${i + 1}`);
  }, 'dynamic import');
});

test('a change to a shared object that cannot be undone is reported, naming the process and the object', async () => {
  const w = captureWarnings();
  try {
    const own = await withTimeout(15_000, Runtime.create({ memory: 16 << 20, maxProcesses: 1, prestart: 1 }), 'Runtime.create');
    try {
      const h = own.spawn(PROG, 'freeze-shared');
      assert.is((await withTimeout(10_000, h.exited, 'freeze-shared')).result, 'frozen');
      const line = w.text().split('\n').find((l) => l.includes('cannot be undone'));
      assert.ok(line, `a warning; got ${JSON.stringify(w.text().slice(0, 400))}`);
      assert.ok(line.includes(`process ${h.pid}`) && line.includes('Buffer.prototype'), line);
    } finally {
      await withTimeout(20_000, own.close(), 'rt.close');
    }
  } finally {
    w.stop();
  }
});

test("a program's console.log and console.error print, in every process of a worker, corked or not", async () => {
  // In its own Node process, so that what the workers print is the child's stdout and stderr.
  const code = `
    const { Runtime } = await import(${JSON.stringify(INDEX)});
    const rt = await Runtime.create({ memory: 16 << 20, maxProcesses: 1, prestart: 1 });
    await rt.run(${JSON.stringify(PROG.href)}, 'cork', 'corked');
    for (let i = 0; i < 4; i++) await rt.run(${JSON.stringify(PROG.href)}, 'print', 'marker-' + i);
    const t = rt.stats().totals;
    console.log('realms ' + JSON.stringify({ made: t.realmsMade, reused: t.realmsReused }));
    await rt.close();`;
  const r = await runChild(code, 30_000);
  assert.is(r.code, 0, `exit code; stderr: ${r.stderr.slice(0, 400)}`);
  // As exit(3) flushes stdio: a program that corked stdout still prints, and so do the next ones.
  assert.ok(r.stdout.includes('stdout corked'), `the corked program's line; stdout: ${JSON.stringify(r.stdout.slice(0, 300))}`);
  for (const i of [0, 1, 2, 3]) {
    assert.ok(r.stdout.includes(`stdout marker-${i}`), `console.log of process ${i + 1}; stdout: ${JSON.stringify(r.stdout.slice(0, 300))}`);
    assert.ok(r.stderr.includes(`stderr marker-${i}`), `console.error of process ${i + 1}; stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`);
  }
  // Output still on its way to the main thread is the worker's, not something the program left.
  const realms = JSON.parse(/realms (\{.*\})/.exec(r.stdout)?.[1] ?? 'null') as { made: number; reused: number } | null;
  assert.ok(realms !== null && realms.reused >= 2, `programs that printed handed their realms on: ${JSON.stringify(realms)}`);
});

test.run();
