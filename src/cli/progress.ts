/**
 * A one-line progress bar on stderr: step i/n, the current step, and an ETA. Drawn only when
 * stderr is a TTY (nothing at all otherwise, so logs and pipes stay clean).
 *
 * Steps carry an estimated cost (ms); the ETA is the estimated cost still ahead, scaled by how
 * the actual time compares with the estimate so far.
 */
/**
 * A one-line status on stderr, redrawn in place on a terminal and silent otherwise (in a log every
 * step would pile up on one line). An empty string clears it.
 */
export function statusLine(out: NodeJS.WriteStream = process.stderr): (s: string) => void {
  const tty = out.isTTY === true;
  return (s) => {
    if (tty) out.write(`\r\x1b[2K${s}`);
  };
}

export class Progress {
  private readonly tty: boolean;
  private done = 0;
  private doneCost = 0;
  private label = '';
  private readonly t0 = performance.now();
  private curCost = 0;
  private curStart = performance.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly total: number,
    private readonly totalCost: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
    }
  }

  /** A new step begins (the previous one, if any, is finished). */
  step(label: string, costMs: number): void {
    if (this.label !== '') this.finishStep();
    this.label = label;
    this.curCost = costMs;
    this.curStart = performance.now();
    this.draw();
  }

  private finishStep(): void {
    this.done++;
    this.doneCost += this.curCost;
  }

  private eta(): string {
    const elapsed = performance.now() - this.t0;
    const inStep = Math.min(this.curCost, performance.now() - this.curStart);
    const est = this.doneCost + inStep;
    const speed = est > 0 && elapsed > 500 ? elapsed / est : 1;
    const left = Math.max(0, (this.totalCost - est) * speed);
    const s = Math.round(left / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  private draw(): void {
    if (!this.tty) return;
    const width = 24;
    // More steps than announced (a count that fell short) must not break the bar: it stays full.
    const n = Math.min(this.done + 1, this.total);
    const filled = Math.min(width, Math.round((this.done / Math.max(1, this.total)) * width));
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const cols = this.out.columns ?? 100;
    const line = `${bar} ${n}/${this.total}  ETA ${this.eta()}  ${this.label}`;
    this.out.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
  }

  /** Remove the bar. */
  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty) this.out.write('\r\x1b[2K');
  }
}
