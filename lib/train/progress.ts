/**
 * A progress line for training loops: a bar with rate and ETA redrawn in place on a TTY,
 * and a plain line every quarter of the epoch otherwise (CI logs stay readable).
 * @module
 */
export class ProgressBar {
  #started = performance.now();

  constructor(
    readonly label: string,
    readonly total: number,
    readonly itemsPerStep = 1,
    readonly stream: NodeJS.WriteStream = process.stdout,
  ) {}

  /** Reports step `step` (1-based) with extra text such as the running loss. */
  update(step: number, text = ''): void {
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = (step * this.itemsPerStep) / Math.max(seconds, 1e-3);
    const eta = ((this.total - step) * this.itemsPerStep) / Math.max(rate, 1e-3);
    // An unknown total (an iterable dataset) shows the count and rate without an ETA.
    const known = Number.isFinite(this.total);
    const line = (known ? `${this.label} ${step}/${this.total} ${text} ${rate.toFixed(0)}/s ETA ${eta.toFixed(0)}s` : `${this.label} ${step} ${text} ${rate.toFixed(0)}/s`).replace(/\s+/g, ' ');
    if (!known) {
      if (this.stream.isTTY) this.stream.write(`\r${line}`);
      else if (step % 100 === 0) this.stream.write(`${line}\n`);
    } else if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round((width * step) / Math.max(this.total, 1));
      this.stream.write(`\r[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${line}`);
      if (step >= this.total) this.stream.write('\n');
    } else if (step >= this.total || step % Math.max(1, Math.ceil(this.total / 4)) === 0) {
      this.stream.write(`${line}\n`);
    }
  }
}
