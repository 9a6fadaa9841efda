/**
 * What the first faults of a new runtime cost: each process thread is a V8 isolate that compiles
 * the fault path on its own, so a fresh one runs it in the interpreter at first. Creates a fresh
 * Runtime per run, runs one process that maps `pages` pages of /dev/foo0 and refaults them
 * `rounds` times, and prints µs per fault for each round (BENCHMARKS.md has what it measured).
 *
 *   node dist/bench/cold-start.js [--runs 3] [--pages 4096] [--rounds 6] [--pin auto,off]
 */
import { benchArgs, fooRuntime, refaultRounds } from './common.js';

const { runs, pages, rounds, pin: pins } = benchArgs('cold-start', 'The first rounds of faults of one process in a fresh runtime.', {
  runs: { kind: 'int', min: 1, max: 1000, default: 3, help: 'fresh runtimes per pin mode (default 3)' },
  pages: { kind: 'int', min: 1, max: 1_000_000, default: 4096, help: 'pages of the mapping: faults per round (default 4096)' },
  rounds: { kind: 'int', min: 1, max: 100_000, default: 6, help: 'refault rounds per runtime (default 6)' },
  pin: { kind: 'choices', choices: ['auto', 'off'], default: ['auto'], help: 'Runtime pin: auto and/or off; several alternate (default auto)' },
});

console.log(`fresh runtime, one process, refault of ${pages} pages: µs per fault in rounds 1..${rounds}`);
for (let r = 0; r < runs; r++) for (const pin of pins) {
  const rt = await fooRuntime(pages, { pin: pin === 'auto' ? 'auto' : false });
  try {
    const ns = await refaultRounds(rt, pages, rounds);
    console.log(`run ${r + 1}, pin ${pin}${pin === 'auto' ? (rt.pinning ? ' (pinned)' : ' (not pinned)') : ''}: ${ns.map((x) => (x / 1000).toFixed(1)).join('  ')}`);
  } finally {
    await rt.close();
  }
}
