/**
 * What the first faults of a new runtime cost: each process thread is a V8 isolate that compiles
 * the fault path on its own, so a fresh one runs it in the interpreter at first. Creates a fresh
 * Runtime per run, runs one process that maps `pages` pages of /dev/foo0 and refaults them
 * `rounds` times, and prints ns per fault for each round.
 *
 *   node dist/bench/cold-start.js [--runs 3] [--pages 4096] [--rounds 6] [--pin auto,off]
 *
 * Measured here (BENCHMARKS.md, "Warming up 16 isolates"): 10-15 µs per fault in the first round
 * of 4096, 1.4-2.7 µs by the sixth; a warm process takes ~0.9 µs.
 */
import { parseArgs } from 'node:util';
import { Runtime } from '../src/index.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    pages: { type: 'string', default: '4096' },
    rounds: { type: 'string', default: '6' },
    pin: { type: 'string', default: 'auto' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('usage: node dist/bench/cold-start.js [--runs N] [--pages N] [--rounds N] [--pin auto,off (Runtime pin; several alternate)]');
  process.exit(0);
}
const runs = Number(values.runs);
const pages = Number(values.pages);
const rounds = Number(values.rounds);
for (const [name, v] of [['runs', runs], ['pages', pages], ['rounds', rounds]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new TypeError(`--${name} must be a positive integer, got ${v}`);
}
const pins = values.pin!.split(',');
for (const p of pins) if (p !== 'auto' && p !== 'off') throw new TypeError(`--pin: '${p}' is neither auto nor off`);
const FOO = new URL('../src/drivers/foo.js', import.meta.url);
const PROG = new URL('./workers/refault-loop.js', import.meta.url);

console.log(`fresh runtime, one process, refault of ${pages} pages: µs per fault in rounds 1..${rounds}`);
for (let r = 0; r < runs; r++) for (const pin of pins) {
  const rt = await Runtime.create({ memory: 64 << 20, pin: pin === 'auto' ? 'auto' : false, devices: [{ name: 'foo', driver: FOO, config: { size1: pages * 4096 } }] });
  try {
    const out = (await rt.run(PROG, pages, rounds)) as { nsPerFault: number[] };
    console.log(`run ${r + 1}, pin ${pin}${pin === 'auto' ? (rt.pinning ? ' (pinned)' : ' (not pinned)') : ''}: ${out.nsPerFault.map((ns) => (ns / 1000).toFixed(1)).join('  ')}`);
  } finally {
    await rt.close();
  }
}
