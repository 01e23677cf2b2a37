/**
 * Samplers, as torch.utils.data: what decides which dataset indices an epoch visits, in
 * which order. Any `Iterable<number>` with a `length` is one (an array of indices too);
 * the DataLoader iterates it anew each epoch.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import { seededRandom } from './dataloader.js';

/** The indices of one epoch, in order: the DataLoader's `sampler` option. */
export interface Sampler extends Iterable<number> {
  /** Indices per epoch. */
  readonly length: number;
}

/** Options of {@link WeightedRandomSampler}. */
export interface WeightedRandomSamplerOptions {
  /** Draw with replacement (default true, as PyTorch); without, each index comes at most once. */
  replacement?: boolean;
  /** Seed of the draws (default 0); each epoch (each iteration) draws anew from it. */
  seed?: number;
}

/**
 * Draws `numSamples` indices in `[0, weights.length)` with probability proportional to
 * `weights`, as torch's `WeightedRandomSampler` (e.g. to oversample rare classes: weight
 * each sample by 1 / its class count). Weights need not sum to 1.
 *
 * @example
 * const sampler = new WeightedRandomSampler(labels.map((y) => 1 / counts[y]), labels.length, { seed: 0 });
 * const loader = new DataLoader(dataset, { batchSize: 64, sampler });
 */
export class WeightedRandomSampler implements Sampler {
  readonly weights: readonly number[];
  readonly length: number;
  readonly replacement: boolean;
  readonly seed: number;
  #epoch = 0;

  constructor(weights: ArrayLike<number>, numSamples: number, opts: WeightedRandomSamplerOptions = {}) {
    const op = 'WeightedRandomSampler';
    if (weights === null || typeof weights !== 'object' || typeof weights.length !== 'number') {
      throw new ArgumentError(`${op}: expected weights to be an array of numbers, got ${describe(weights)}`);
    }
    const list = Array.from(weights);
    list.forEach((w, i) => {
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
        throw new ArgumentError(`${op}: expected weights[${i}] to be a finite number >= 0, got ${describe(w)}`);
      }
    });
    if (!list.some((w) => w > 0)) throw new ArgumentError(`${op}: expected at least one weight > 0, got ${list.length} weights summing to 0`);
    if (!Number.isInteger(numSamples) || numSamples <= 0) {
      throw new ArgumentError(`${op}: expected numSamples to be a positive integer, got ${describe(numSamples)}`);
    }
    const replacement = opts.replacement ?? true;
    if (typeof replacement !== 'boolean') throw new ArgumentError(`${op}: expected replacement to be a boolean, got ${describe(replacement)}`);
    const positive = list.filter((w) => w > 0).length;
    if (!replacement && numSamples > positive) {
      throw new ArgumentError(`${op}: cannot draw ${numSamples} samples without replacement from ${positive} indices of weight > 0`);
    }
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed)) throw new ArgumentError(`${op}: expected seed to be an integer, got ${describe(seed)}`);
    this.weights = Object.freeze(list);
    this.length = numSamples;
    this.replacement = replacement;
    this.seed = seed;
  }

  /** The indices of the next epoch. */
  *[Symbol.iterator](): Iterator<number> {
    const random = seededRandom(this.seed * 1000003 + this.#epoch++);
    if (this.replacement) {
      // Inverse-CDF sampling: a binary search of the cumulative weights per draw.
      const cumulative: number[] = [];
      let total = 0;
      for (const w of this.weights) cumulative.push((total += w));
      for (let n = 0; n < this.length; ++n) {
        const u = random() * total;
        let lo = 0;
        let hi = cumulative.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cumulative[mid]! > u) hi = mid;
          else lo = mid + 1;
        }
        yield lo;
      }
      return;
    }
    // Without replacement: Efraimidis–Spirakis keys u^(1/w); the largest keys win, in order.
    const keys = this.weights.map((w, i) => ({ i, key: w > 0 ? Math.log(random()) / w : Number.NEGATIVE_INFINITY }));
    keys.sort((a, b) => b.key - a.key);
    for (let n = 0; n < this.length; ++n) yield keys[n]!.i;
  }
}
