/**
 * A progress line for training loops: a bar with rate and ETA redrawn in place on a TTY,
 * and a plain line every quarter of the epoch otherwise (CI logs stay readable). The rate
 * carries its unit: `img/s` when each step counts a batch of images, `batch/s` when it
 * counts batches.
 * @module
 */

/** `12345`, `123.4`, `1.23`: three significant figures or whole numbers, never `0` for a slow rate. */
function formatRate(rate: number): string {
  if (rate >= 100) return rate.toFixed(0);
  if (rate >= 10) return rate.toFixed(1);
  return rate.toFixed(2);
}

/** `42s`, `3m07s`, `1h02m`. */
function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A progress line such as `epoch 1 12/50 loss 0.4310 812 img/s ETA 3s`, as Keras' or tqdm's.
 *
 * @example
 * const bar = new ProgressBar('epoch 1', loader.length, batchSize); // rate in img/s
 * for (const [i, batch] of batches.entries()) bar.update(i + 1, `loss ${loss.toFixed(4)}`);
 */
export class ProgressBar {
  #started = performance.now();

  /**
   * @param label - Text at the start of the line, e.g. `epoch 3`.
   * @param total - Steps in the epoch; NaN or Infinity when unknown (no ETA then).
   * @param itemsPerStep - Items each step counts (default 1): the batch size to show images per second.
   * @param stream - Where the line goes (default process.stdout).
   * @param unit - The unit of the rate (default `img` when `itemsPerStep` > 1, else `batch`).
   */
  constructor(
    readonly label: string,
    readonly total: number,
    readonly itemsPerStep = 1,
    readonly stream: NodeJS.WriteStream = process.stdout,
    readonly unit = itemsPerStep > 1 ? 'img' : 'batch',
  ) {}

  /** Reports step `step` (1-based) with extra text such as the running loss. */
  update(step: number, text = ''): void {
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = (step * this.itemsPerStep) / Math.max(seconds, 1e-3);
    const eta = ((this.total - step) * this.itemsPerStep) / Math.max(rate, 1e-3);
    // An unknown total (an iterable dataset) shows the count and rate without an ETA.
    const known = Number.isFinite(this.total);
    const speed = `${formatRate(rate)} ${this.unit}/s`;
    const line = (known ? `${this.label} ${step}/${this.total} ${text} ${speed} ETA ${formatDuration(eta)}` : `${this.label} ${step} ${text} ${speed}`).replace(/\s+/g, ' ');
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
