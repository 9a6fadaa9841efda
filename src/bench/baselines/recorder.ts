/**
 * A measuring thread's side of a JS baseline: count its operations and keep their latencies in
 * its own part of the samples buffer, only for operations that started while the phase was
 * MEASURE, then publish both to its words of the control block for the host (harness.ts collect).
 * Recording allocates nothing: the samples buffer is shared and preallocated.
 */
import { PHASE, PHASE_MEASURE, nSamplesIndex, opsIndex } from './layout.js';

/** The part of workerData every baseline worker gets from the host. */
export interface WorkerShared {
  ctl: SharedArrayBuffer;
  samples: SharedArrayBuffer;
  /** samples each measuring thread may record; beyond it operations are counted, not timed */
  cap: number;
}

export class OpRecorder {
  ops = 0;
  n = 0;
  private readonly samples: Float64Array;
  private readonly base: number;
  private readonly cap: number;
  private t0 = performance.now();

  /** Thread `index` of the measuring threads; its samples are [index * cap, (index + 1) * cap). */
  constructor(d: WorkerShared, private readonly ctl: Int32Array, private readonly index: number) {
    this.samples = new Float64Array(d.samples);
    this.base = index * d.cap;
    this.cap = d.cap;
  }

  /** The phase now: read it at the start of an operation, and pass it to `done` at its end. */
  phase(): number {
    return Atomics.load(this.ctl, PHASE);
  }

  /** The operation that started in phase `ph` (and right after the previous one) has ended. */
  done(ph: number): void {
    const t1 = performance.now();
    if (ph === PHASE_MEASURE) {
      if (this.n < this.cap) this.samples[this.base + this.n++] = Math.round((t1 - this.t0) * 1e6);
      this.ops++;
    }
    this.t0 = t1;
  }

  /** Publish the count and the number of samples (once, after the last operation). */
  publish(): void {
    Atomics.store(this.ctl, opsIndex(this.index), this.ops);
    Atomics.store(this.ctl, nSamplesIndex(this.index), this.n);
  }
}
