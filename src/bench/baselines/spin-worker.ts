/**
 * Spin floor worker: one side of a ping-pong pair. Both sides spin with Atomics.load; nothing parks.
 *
 * Pair p owns two words on separate lines of `words`: REQ (written by the pinger) and REP (written
 * by the ponger). One round trip = pinger stores seq to REQ, ponger sees it and stores it to REP,
 * pinger sees it. Both spin loops also watch PHASE so STOP always ends them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  LINE, PHASE, PHASE_MEASURE, PHASE_STOP,
  elapsedIndex, nSamplesIndex, opsIndex, waitForStart,
} from './layout.js';
import { pinThisThread } from '../../affinity.js';
import type { WorkerShared } from './recorder.js';

interface SpinData extends WorkerShared {
  role: 'ping' | 'pong';
  pair: number;
  words: SharedArrayBuffer;
  /** 0: run by phases (duration mode); > 0: warm up, then time exactly this many round trips. */
  iterations: number;
  /** the CPUs to pin this thread to, or null */
  cpus: number[] | null;
}

const d = workerData as SpinData;
const ctl = new Int32Array(d.ctl);
const ctl64 = new Float64Array(d.ctl);
const words = new Int32Array(d.words);
const REQ = 2 * LINE * d.pair;
const REP = 2 * LINE * d.pair + LINE;
const port = parentPort!;

function pong(): void {
  let last = 0;
  for (;;) {
    let v: number;
    while ((v = Atomics.load(words, REQ)) === last) {
      if (Atomics.load(ctl, PHASE) === PHASE_STOP) return;
    }
    last = v;
    Atomics.store(words, REP, v);
  }
}

/** Duration mode: count and record a round trip when PHASE was MEASURE at its start. */
function pingByPhase(samples: Float64Array, base: number, cap: number): void {
  let seq = 0;
  let ops = 0;
  let n = 0;
  let t0 = performance.now();
  outer: for (;;) {
    const ph = Atomics.load(ctl, PHASE);
    if (ph === PHASE_STOP) break;
    seq = (seq + 1) | 0;
    Atomics.store(words, REQ, seq);
    while (Atomics.load(words, REP) !== seq) {
      if (Atomics.load(ctl, PHASE) === PHASE_STOP) break outer;
    }
    const t1 = performance.now();
    if (ph === PHASE_MEASURE) {
      if (n < cap) samples[base + n++] = Math.round((t1 - t0) * 1e6);
      ops++;
    }
    t0 = t1;
  }
  Atomics.store(ctl, opsIndex(d.pair), ops);
  Atomics.store(ctl, nSamplesIndex(d.pair), n);
}

/** Iterations mode: warm up, then time exactly `iterations` round trips in this thread. */
function pingCounted(samples: Float64Array, base: number, cap: number, iterations: number): void {
  let seq = 0;
  const warm = Math.max(1000, Math.floor(iterations / 10));
  for (let i = 0; i < warm; i++) {
    seq = (seq + 1) | 0;
    Atomics.store(words, REQ, seq);
    while (Atomics.load(words, REP) !== seq) {
      if (Atomics.load(ctl, PHASE) === PHASE_STOP) return;
    }
  }
  let n = 0;
  let ops = 0;
  const start = performance.now();
  let t0 = start;
  for (let i = 0; i < iterations; i++) {
    seq = (seq + 1) | 0;
    Atomics.store(words, REQ, seq);
    while (Atomics.load(words, REP) !== seq) {
      if (Atomics.load(ctl, PHASE) === PHASE_STOP) break;
    }
    const t1 = performance.now();
    if (n < cap) samples[base + n++] = Math.round((t1 - t0) * 1e6);
    ops++;
    t0 = t1;
  }
  ctl64[elapsedIndex(d.pair)] = t0 - start;
  Atomics.store(ctl, opsIndex(d.pair), ops);
  Atomics.store(ctl, nSamplesIndex(d.pair), n);
}

if (d.cpus) pinThisThread(d.cpus); // throws, failing the run, if it cannot
port.postMessage('ready');
waitForStart(ctl);
if (d.role === 'pong') {
  pong();
} else {
  const samples = new Float64Array(d.samples);
  const base = d.pair * d.cap;
  if (d.iterations > 0) pingCounted(samples, base, d.cap, d.iterations);
  else pingByPhase(samples, base, d.cap);
}
port.postMessage('done');
