/**
 * Matcher and SSDMatcher, as torchvision.models.detection._utils: each prediction (anchor,
 * proposal) gets the ground-truth box it overlaps best, or a negative code. Computed with
 * comparisons and reductions on the device (torchvision's in-place index assignments become
 * `where`), so nothing is read back to the host.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { argmax } from '../ops/statistics.js';
import { maxAlong } from '../ops/sort.js';
import { checkDTypeIn, checkTensor } from '../ops/validate.js';
import { arange } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of {@link Matcher}. */
export interface MatcherOptions {
  /**
   * Also match each ground truth's best predictions when their quality is below
   * `highThreshold` (default false), as torchvision's `allow_low_quality_matches`: Faster
   * R-CNN's RPN turns it on so that every ground truth has at least one anchor.
   */
  allowLowQualityMatches?: boolean;
}

/** The match-quality matrix `[M, N]` (float32, both sizes > 0), checked. */
function checkMatrix(op: string, value: unknown): Tensor<'float32'> {
  const matrix = checkTensor(op, 'matchQualityMatrix', value);
  checkDTypeIn(op, 'matchQualityMatrix', matrix, ['float32']);
  if (matrix.ndim !== 2) throw new ShapeError(`${op}: expected matchQualityMatrix of shape [M ground truths, N predictions], got [${matrix.shape.join(', ')}]`);
  // torchvision raises ValueError here; detection models handle images without boxes first.
  if (matrix.shape[0] === 0) throw new ShapeError(`${op}: expected at least one ground-truth box (matchQualityMatrix [M, N] with M > 0), got [${matrix.shape.join(', ')}]: handle images without boxes before matching, as torchvision's models do`);
  if (matrix.shape[1] === 0) throw new ShapeError(`${op}: expected at least one prediction (matchQualityMatrix [M, N] with N > 0), got [${matrix.shape.join(', ')}]`);
  return matrix as Tensor<'float32'>;
}

function checkThreshold(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ArgumentError(`${op}: expected ${name} to be a number, got ${describe(value)}`);
  return value;
}

/**
 * Assigns each of N predictions the ground truth (of M) it matches best, from a
 * match-quality matrix `[M, N]` (usually `boxIou(gtBoxes, anchors)`), as torchvision's
 * `Matcher(high_threshold, low_threshold, allow_low_quality_matches)`. `call` returns int32
 * `[N]` (torchvision: int64): the index of the best ground truth where its quality is
 * `>= highThreshold`, {@link Matcher.BETWEEN_THRESHOLDS} (-2) where it is in
 * `[lowThreshold, highThreshold)`, {@link Matcher.BELOW_LOW_THRESHOLD} (-1) below
 * `lowThreshold`. A prediction tied between ground truths takes the lowest index, as
 * torch.max on the CPU. An empty matrix (no ground truths or no predictions) throws
 * ShapeError, where torchvision raises ValueError.
 *
 * @example
 * const matcher = new vision.Matcher(0.7, 0.3, { allowLowQualityMatches: true });
 * const matches = matcher.call(boxIou(gtBoxes, anchors)); // int32 [numAnchors]
 * const foreground = matches.ge(0);
 */
export class Matcher {
  /** The code of predictions whose best quality is below `lowThreshold`. */
  static readonly BELOW_LOW_THRESHOLD = -1;
  /** The code of predictions whose best quality is in `[lowThreshold, highThreshold)`. */
  static readonly BETWEEN_THRESHOLDS = -2;
  /** {@link Matcher.BELOW_LOW_THRESHOLD} on the instance, as torchvision code reads it (`matcher.BELOW_LOW_THRESHOLD`). */
  readonly BELOW_LOW_THRESHOLD = -1;
  /** {@link Matcher.BETWEEN_THRESHOLDS} on the instance. */
  readonly BETWEEN_THRESHOLDS = -2;
  /** Quality at or above which a prediction is matched. */
  readonly highThreshold: number;
  /** Quality below which a prediction is a negative (-1) rather than ignored (-2). */
  readonly lowThreshold: number;
  /** Whether each ground truth's best predictions are matched whatever their quality. */
  readonly allowLowQualityMatches: boolean;

  /**
   * @param highThreshold - quality at or above which a prediction is matched
   * @param lowThreshold - quality below which a prediction is a negative; at most
   *   highThreshold (ArgumentError otherwise, as torchvision's assertion)
   */
  constructor(highThreshold: number, lowThreshold: number, opts: MatcherOptions = {}) {
    const op = new.target.name;
    this.highThreshold = checkThreshold(op, 'highThreshold', highThreshold);
    this.lowThreshold = checkThreshold(op, 'lowThreshold', lowThreshold);
    if (lowThreshold > highThreshold) throw new ArgumentError(`${op}: expected lowThreshold <= highThreshold, got lowThreshold ${lowThreshold} and highThreshold ${highThreshold}`);
    const allow = opts.allowLowQualityMatches ?? false;
    if (typeof allow !== 'boolean') throw new ArgumentError(`${op}: expected allowLowQualityMatches to be a boolean, got ${describe(allow)}`);
    this.allowLowQualityMatches = allow;
  }

  /** The matches int32 `[N]` of `matchQualityMatrix` `[M, N]` (float32, M, N > 0). */
  call(matchQualityMatrix: Tensor): Tensor<'int32'> {
    const matrix = checkMatrix(`${this.constructor.name}.call`, matchQualityMatrix);
    return scope(() => noGrad(() => this.match(matrix)));
  }

  /** The matching itself, on a checked matrix, inside the caller's scope. */
  protected match(matrix: Tensor<'float32'>): Tensor<'int32'> {
    // Best ground truth of each prediction (dim 0: over ground truths).
    const { values, indices: allMatches } = maxAlong(matrix, 0);
    // torchvision assigns -1 below the low threshold and -2 between the two; a NaN quality
    // is in neither set and keeps its index, as there.
    const matches = where(values.lt(this.lowThreshold), this.BELOW_LOW_THRESHOLD, where(values.lt(this.highThreshold), this.BETWEEN_THRESHOLDS, allMatches));
    if (!this.allowLowQualityMatches) return matches;
    // torchvision's set_low_quality_matches_: every prediction that reaches some ground
    // truth's best quality (ties included) gets back its best ground truth. Which ground
    // truth made it eligible does not matter, so a mask over predictions says it all.
    const highestForeachGt = matrix.amax(1, { keepdim: true });
    const eligible = matrix.eq(highestForeachGt).sum(0).gt(0);
    return where(eligible, allMatches, matches);
  }
}

/**
 * The matcher of SSD, as torchvision's `SSDMatcher(threshold)`: a {@link Matcher} with both
 * thresholds at `threshold` (no -2 codes, no low-quality matches), after which each ground
 * truth's best prediction is matched to it whatever the quality. When several ground truths
 * share a best prediction the last of them wins, as torchvision's index assignment on the
 * CPU.
 *
 * @example
 * const matches = new vision.SSDMatcher(0.5).call(boxIou(gtBoxes, defaultBoxes));
 */
export class SSDMatcher extends Matcher {
  /** @param threshold - quality at or above which a prediction is matched */
  constructor(threshold: number) {
    super(threshold, threshold);
  }

  protected override match(matrix: Tensor<'float32'>): Tensor<'int32'> {
    const matches = super.match(matrix);
    const [m, n] = matrix.shape as [number, number];
    const device = matrix.device;
    // torchvision: matches[best_pred_of_each_gt] = arange(M). On the device: for each
    // prediction, the highest ground-truth index whose best prediction it is (-1 if none).
    const bestPred = argmax(matrix, 1).unsqueeze(1);
    const isBest = bestPred.eq(arange(n, { dtype: 'int32', device }).unsqueeze(0));
    const gtIndex = where(isBest, arange(m, { dtype: 'int32', device }).unsqueeze(1), -1).amax(0);
    return where(gtIndex.ge(0), gtIndex, matches);
  }
}
