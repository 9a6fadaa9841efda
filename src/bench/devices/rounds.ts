/**
 * Rounds of a device bench: the host stores the round number in GO (and notifies), the clients
 * run it and each adds 1 to DONE; the host awaits DONE = round x clients without blocking its
 * event loop (Atomics.waitAsync), which the device's host side needs meanwhile. The same code
 * drives the devpager programs (the words are in the bench device's control page, seen through
 * kernel.view) and the hand-written workers (the words are in their SharedArrayBuffer), so both
 * are timed the same way.
 */
import { CTL_BAD, CTL_DONE, CTL_GO } from './ctl-driver.js';

export class RoundControl {
  #round = 0;

  /** `words` covers the control words CTL_*; `clients` is how many add to DONE each round. */
  constructor(private readonly words: Int32Array, private readonly clients: number) {}

  /** Run the next round: resolves with its wall time in ms and the bad bytes the clients counted. */
  async run(timeoutMs: number): Promise<{ ms: number; bad: number }> {
    const w = this.words;
    const r = ++this.#round;
    const want = r * this.clients;
    const bad0 = Atomics.load(w, CTL_BAD / 4);
    const t0 = performance.now();
    Atomics.store(w, CTL_GO / 4, r);
    Atomics.notify(w, CTL_GO / 4);
    const deadline = t0 + timeoutMs;
    for (;;) {
      const done = Atomics.load(w, CTL_DONE / 4);
      if (done >= want) break;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`round ${r}: ${want - done} of ${this.clients} clients not done after ${timeoutMs} ms`);
      const res = Atomics.waitAsync(w, CTL_DONE / 4, done, left);
      if (res.async) await res.value;
    }
    return { ms: performance.now() - t0, bad: Atomics.load(w, CTL_BAD / 4) - bad0 };
  }

  /** Tell the clients to stop (round -1). */
  stop(): void {
    Atomics.store(this.words, CTL_GO / 4, -1);
    Atomics.notify(this.words, CTL_GO / 4);
  }
}
