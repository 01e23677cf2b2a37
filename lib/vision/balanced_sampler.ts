/**
 * BalancedPositiveNegativeSampler, as torchvision.models.detection._utils: picks a training
 * batch of positive and negative anchors or proposals per image with a fixed share of
 * positives. Drawn on the device from neocog's seeded generator, so nothing is read back
 * to the host (torchvision's torch.where and randperm wait for the device).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { scatterAdd } from '../ops/resample.js';
import { argsort } from '../ops/sort.js';
import { checkDTypeIn, checkInRange, checkInt, checkTensor } from '../ops/validate.js';
import { arange, full, randint, zeros } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** What {@link BalancedPositiveNegativeSampler} returns: uint8 0/1 masks per image, as torchvision's `(pos_idx, neg_idx)`. */
export interface SampledMasks {
  /** Per image, 1 at the sampled positives, `[N_i]`. */
  positive: Array<Tensor<'uint8'>>;
  /** Per image, 1 at the sampled negatives, `[N_i]`. */
  negative: Array<Tensor<'uint8'>>;
}

/** Random sort keys are integers below this (randint's largest range): exact, unlike float offsets. */
const KEY_RANGE = 2 ** 24;

/**
 * Each element's rank in one random order that puts positives first, then negatives, then
 * the ignored: a sort by (kind, random key). Positives rank 0 .. P-1 and negatives P .. P+N-1,
 * each set in uniformly random order.
 */
function randomRank(isPositive: Tensor<'bool'>, isNegative: Tensor<'bool'>): Tensor<'int32'> {
  const n = isPositive.shape[0]!;
  const device = isPositive.device;
  const kind = where(isPositive, 0, where(isNegative, 1, full([n], 2, { dtype: 'int32', device })));
  const keys = kind.mul(KEY_RANGE).add(randint(0, KEY_RANGE, [n], { device }));
  const order = argsort(keys);
  // The inverse permutation: rank[order[i]] = i.
  return scatterAdd(zeros([n], { dtype: 'int32', device }), 0, order, arange(n, { dtype: 'int32', device }));
}

/**
 * Samples, per image, up to `batchSizePerImage` elements of which at most
 * `floor(batchSizePerImage * positiveFraction)` are positives, filling the rest with
 * negatives, as torchvision's `BalancedPositiveNegativeSampler(batch_size_per_image,
 * positive_fraction)`. `call` takes one label tensor `[N_i]` per image: int32 (as
 * RoIHeads' labels) or float32 (as the RPN's), with values >= 1 positive, 0 negative and
 * -1 (any other negative value) ignored. It returns uint8 masks of the sampled positives
 * and negatives, as torchvision's: `min(#positives, floor(batch * fraction))` positives and
 * `min(#negatives, batch - positives taken)` negatives, chosen uniformly at random.
 * torchvision draws them with randperm; here the draw comes from neocog's seeded generator
 * (`manualSeed`), so runs are reproducible but the picks differ from torchvision's.
 *
 * @example
 * const sampler = new vision.BalancedPositiveNegativeSampler(256, 0.5);
 * const { positive, negative } = sampler.call(labelsPerImage);
 * const sampled = positive[0]!.add(negative[0]!).bool(); // image 0's training anchors
 */
export class BalancedPositiveNegativeSampler {
  /** Elements sampled per image (fewer when the image has too few). */
  readonly batchSizePerImage: number;
  /** The share of positives aimed at (the rest are negatives). */
  readonly positiveFraction: number;

  /**
   * @param batchSizePerImage - elements to sample per image, an integer >= 0
   * @param positiveFraction - the share of positives, in [0, 1]
   */
  constructor(batchSizePerImage: number, positiveFraction: number) {
    this.batchSizePerImage = checkInt('BalancedPositiveNegativeSampler', 'batchSizePerImage', batchSizePerImage, 0);
    this.positiveFraction = checkInRange('BalancedPositiveNegativeSampler', 'positiveFraction', positiveFraction, 0, 1);
  }

  /** The sampled masks of each image's labels `[N_i]` (see the class). */
  call(matchedIdxs: readonly Tensor[]): SampledMasks {
    const op = 'BalancedPositiveNegativeSampler.call';
    if (!Array.isArray(matchedIdxs)) throw new ArgumentError(`${op}: expected matchedIdxs to be an array of label tensors (one per image), got ${describe(matchedIdxs)}`);
    matchedIdxs.forEach((labels, i) => {
      checkTensor(op, `matchedIdxs[${i}]`, labels);
      checkDTypeIn(op, `matchedIdxs[${i}]`, labels, ['int32', 'float32']);
      if (labels.ndim !== 1) throw new ShapeError(`${op}: expected matchedIdxs[${i}] of shape [N], got [${labels.shape.join(', ')}]`);
    });
    const samples = matchedIdxs.map((labels) => scope(() => noGrad(() => this.sampleImage(labels))));
    return { positive: samples.map((s) => s.positive), negative: samples.map((s) => s.negative) };
  }

  /** One image's masks, inside the caller's scope. */
  private sampleImage(labels: Tensor): { positive: Tensor<'uint8'>; negative: Tensor<'uint8'> } {
    const n = labels.shape[0]!;
    const device = labels.device;
    if (n === 0) return { positive: zeros([0], { dtype: 'uint8', device }), negative: zeros([0], { dtype: 'uint8', device }) };
    // int(batch * fraction) in Python truncates.
    const positiveCap = Math.trunc(this.batchSizePerImage * this.positiveFraction);
    const isPositive = labels.ge(1);
    const isNegative = labels.eq(0);
    const rank = randomRank(isPositive, isNegative);
    const positive = where(isPositive, rank.lt(positiveCap), 0);
    // Negatives rank from the positives' count on, and fill what the positives taken left
    // of the batch; both counts stay on the device.
    const negativeEnd = isPositive.sum().add(this.batchSizePerImage).sub(positive.sum());
    const negative = where(isNegative, rank.lt(negativeEnd), 0);
    return { positive: positive.to('uint8'), negative: negative.to('uint8') };
  }
}
