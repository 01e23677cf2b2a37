/**
 * The soft Dice loss and Dice + cross entropy, as MONAI's `DiceLoss` and `DiceCELoss`.
 * Composed from differentiable ops, so autograd needs no backward of its own.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { argmax } from '../ops/statistics.js';
import { checkTensor } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { binaryCrossEntropyWithLogits, crossEntropy } from './classification.js';
import { reduce, type Reduction } from './reduction.js';
import { checkNumber, overlapAxes, segmentationLossPair, type SegmentationLossInputOptions } from './segmentation_input.js';

/** Options of {@link diceLoss}. */
export interface DiceLossOptions extends SegmentationLossInputOptions {
  /** Sum squares of input and target in the denominator (Milletari's V-Net form; default false). */
  squaredPred?: boolean;
  /** The soft Jaccard (IoU) loss instead: denominator `2 (|p| + |t| - |p t|)` (default false). */
  jaccard?: boolean;
  /** Added to the numerator, so an empty target with an empty prediction scores 1 (default 1e-5). */
  smoothNr?: number;
  /** Added to the denominator, so empty masks never divide by 0 (default 1e-5). */
  smoothDr?: number;
  /** One Dice per class over the whole batch (global) instead of one per sample and class (default false). */
  batch?: boolean;
  /** 'mean' (default) or 'sum' over the per-(sample, class) losses, or 'none': `[N, C']` (`[C']` with batch). */
  reduction?: Reduction;
}

/**
 * The per-(sample, class) soft Dice loss `[N, C']` (or `[C']` with batch) before reduction.
 * @internal
 */
export function diceLossTerms(op: string, input: Tensor, target: Tensor, opts: DiceLossOptions): Tensor<'float32'> {
  const smoothNr = checkNumber(op, 'smoothNr', opts.smoothNr ?? 1e-5, 0);
  const smoothDr = checkNumber(op, 'smoothDr', opts.smoothDr ?? 1e-5, 0);
  const { probs, truth } = segmentationLossPair(op, input, target, opts);
  const axes = overlapAxes(probs.ndim, opts.batch ?? false);
  const intersection = probs.mul(truth).sum(axes);
  const ground = opts.squaredPred ? truth.square().sum(axes) : truth.sum(axes);
  const predicted = opts.squaredPred ? probs.square().sum(axes) : probs.sum(axes);
  let denominator = ground.add(predicted);
  if (opts.jaccard) denominator = denominator.sub(intersection).mul(2);
  return intersection.mul(2).add(smoothNr).div(denominator.add(smoothDr)).neg().add(1) as Tensor<'float32'>;
}

/**
 * Soft Dice loss of logits (or probabilities) `input` `[N, C, ...spatial]` (2-D or 3-D)
 * against int32 class indices `[N, ...spatial]` or a one-hot / mask target of the input's
 * shape, as MONAI's `DiceLoss`: per sample and class,
 * `1 - (2 |p t| + smoothNr) / (|p| + |t| + smoothDr)` with sums over the spatial dims
 * (and the batch with `batch`), then reduced. An empty target with an empty prediction
 * gives `1 - smoothNr / smoothDr` (0 with the defaults): no NaN. Set `softmax` for
 * multi-class logits or `sigmoid` for binary / multi-label ones; with neither the input is
 * taken as probabilities. The softmax runs over all channels before the background is
 * dropped. Differentiable in `input`. Differs from MONAI in that 'none' gives `[N, C']`
 * rather than `[N, C', 1, 1]`, and index targets need no `toOnehotY` flag (their rank
 * says what they are). A class index outside [0, C) rejects `data()` with an IndexError.
 *
 * @example
 * const loss = diceLoss(logits, masks, { softmax: true, includeBackground: false }); // logits [N, C, H, W], masks int32 [N, H, W]
 * loss.backward();
 */
export function diceLoss(input: Tensor, target: Tensor, opts: DiceLossOptions = {}): Tensor<'float32'> {
  const op = 'diceLoss';
  return scope(() => reduce(op, diceLossTerms(op, input, target, opts), opts.reduction));
}

/** Options of {@link diceCeLoss}. */
export interface DiceCeLossOptions extends Omit<DiceLossOptions, 'reduction'> {
  /** Weight of the Dice term (default 1). */
  lambdaDice?: number;
  /** Weight of the cross-entropy term (default 1). */
  lambdaCe?: number;
  /** Per-class weight `[C]` of the cross entropy (not of the Dice term). */
  ceWeight?: Tensor | null;
  /** 'mean' (default) or 'sum', applied to both terms ('none' is refused: their shapes differ). */
  reduction?: 'mean' | 'sum';
}

/**
 * `lambdaDice * diceLoss + lambdaCe * crossEntropy` of logits `input` `[N, C, ...spatial]`,
 * as MONAI's `DiceCELoss`: the Dice term takes every {@link DiceLossOptions} option; the
 * cross entropy always sees the raw logits and every class (background included), on
 * class indices (one-hot targets are turned into indices by argmax over dim 1). With a
 * single channel (`C = 1`) the second term is binary cross entropy with logits against the
 * float mask, as MONAI does. Differentiable in `input`.
 *
 * @example
 * const loss = diceCeLoss(logits, masks, { softmax: true, lambdaDice: 0.5, lambdaCe: 0.5 });
 */
export function diceCeLoss(input: Tensor, target: Tensor, opts: DiceCeLossOptions = {}): Tensor<'float32'> {
  const op = 'diceCeLoss';
  const lambdaDice = checkNumber(op, 'lambdaDice', opts.lambdaDice ?? 1, 0);
  const lambdaCe = checkNumber(op, 'lambdaCe', opts.lambdaCe ?? 1, 0);
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new ArgumentError(`${op}: expected reduction 'mean' or 'sum' (the Dice and cross-entropy terms have different shapes), got '${String(reduction)}'`);
  }
  if (opts.ceWeight) checkTensor(op, 'ceWeight', opts.ceWeight);
  return scope(() => {
    const dice = reduce(op, diceLossTerms(op, input, target, opts), reduction);
    let ce: Tensor;
    if (input.shape[1] === 1) {
      const mask = target.ndim === input.ndim ? target.float() : target.unsqueeze(1).float();
      ce = binaryCrossEntropyWithLogits(input, mask, { reduction });
    } else {
      const labels = target.ndim === input.ndim ? argmax(target.float(), 1) : target;
      ce = crossEntropy(input, labels, { weight: opts.ceWeight ?? null, reduction });
    }
    return dice.mul(lambdaDice).add(ce.mul(lambdaCe)) as Tensor<'float32'>;
  });
}
