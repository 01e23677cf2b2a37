/**
 * Batch-level MixUp and CutMix, as torchvision.transforms.v2's `MixUp` / `CutMix` (and timm's
 * Mixup): one λ ~ Beta(α, α) per batch, each image mixed with the batch rolled by one (image i
 * with image i - 1), and soft float32 targets `[N, numClasses]` that crossEntropy accepts.
 * Draws come from neocog's seeded generator (manualSeed).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DTypeError, IndexError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { oneHot, roll } from '../ops/shape.js';
import { rand, randn } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { boxMask } from './warp.js';

/** Options of {@link mixup} and {@link cutmix}. */
export interface MixOptions {
  /** Beta(alpha, alpha) concentration, > 0 (default 1: λ uniform in [0, 1], torchvision's default). */
  alpha?: number;
  /** Number of classes of the one-hot targets (an integer >= 1; labels must lie in [0, numClasses)). */
  numClasses: number;
}

/** A mixed batch: the images, their soft targets and the λ used (the weight of the unrolled batch). */
export interface MixedBatch {
  /** float32 `[N, C, H, W]`. */
  images: Tensor<'float32'>;
  /** float32 `[N, numClasses]`, each row summing to 1. */
  labels: Tensor<'float32'>;
  /** λ: for CutMix, corrected to the pasted box's area as torchvision's reference scripts. */
  lambda: number;
}

/** `count` draws of a uniform in [0, 1) or a standard normal from the seeded generator. */
function draws(kind: 'uniform' | 'normal', count: number): Float32Array {
  const t = kind === 'uniform' ? rand([count]) : randn([count]);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/** One Gamma(shape, 1) draw (Marsaglia & Tsang 2000; shape < 1 boosted by u^(1/shape)). */
function drawGamma(shape: number): number {
  if (shape < 1) return drawGamma(shape + 1) * Math.pow(1 - draws('uniform', 1)[0]!, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  // Over 95% of proposals are accepted, so one round of 8 almost always suffices.
  for (;;) {
    const normal = draws('normal', 8);
    const uniform = draws('uniform', 8);
    for (let i = 0; i < 8; ++i) {
      const x = normal[i]!;
      const v = (1 + c * x) ** 3;
      if (v > 0 && Math.log(1 - uniform[i]!) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }
}

/** One Beta(alpha, alpha) draw, as X / (X + Y) of two Gamma(alpha) draws. */
function drawBeta(alpha: number): number {
  const x = drawGamma(alpha);
  const y = drawGamma(alpha);
  return x + y > 0 ? x / (x + y) : 0.5;
}

/** Checks the batch and options (before any draw) and returns α and the one-hot targets' width. */
function check(op: string, images: Tensor, labels: Tensor, opts: MixOptions): { alpha: number; numClasses: number } {
  const alpha = opts.alpha ?? 1;
  if (!(typeof alpha === 'number' && alpha > 0 && Number.isFinite(alpha))) throw new ArgumentError(`${op}: expected alpha > 0, got ${describe(opts.alpha)}`);
  const numClasses = opts.numClasses;
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new ArgumentError(`${op}: expected numClasses to be an integer >= 1, got ${describe(numClasses)}`);
  if (images.ndim !== 4) throw new ShapeError(`${op}: expected images [N, C, H, W], got shape [${images.shape.join(', ')}]`);
  if (images.dtype !== 'float32') throw new DTypeError(`${op}: expected float32 images, got ${images.dtype}`);
  if (labels.dtype !== 'int32') throw new DTypeError(`${op}: expected labels to be int32 class indices, got ${labels.dtype}`);
  if (labels.ndim !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new ShapeError(`${op}: expected labels [${images.shape[0]}] (one per image), got shape [${labels.shape.join(', ')}]`);
  }
  const outside = Array.from(labels.dataSync()).find((l) => !(l >= 0 && l < numClasses));
  if (outside !== undefined) throw new IndexError(`${op}: expected labels in [0, ${numClasses}), got ${outside}`);
  return { alpha, numClasses };
}

/** λ · x + (1 - λ) · x rolled by one along the batch. */
function mixWithRolled(x: Tensor, lambda: number): Tensor<'float32'> {
  return x.float().mul(lambda).add(roll(x, 1, 0).float().mul(1 - lambda)) as Tensor<'float32'>;
}

function mixed(images: Tensor<'float32'>, labels: Tensor, numClasses: number, lambda: number): MixedBatch {
  const soft = noGrad(() => scope(() => mixWithRolled(oneHot(labels, numClasses), lambda)));
  return { images, labels: soft, lambda };
}

/**
 * MixUp (Zhang et al. 2018), as torchvision.transforms.v2.MixUp: draws λ ~ Beta(α, α) and
 * returns `λ · images + (1 - λ) · images.roll(1, 0)` with targets mixed the same way from
 * one-hot labels. `images` float32 `[N, C, H, W]`, `labels` int32 `[N]` in [0, numClasses).
 * Train on the result with `crossEntropy(output, labels)` (probability targets).
 *
 * @example
 * const { images: x, labels: y } = data.mixup(images, labels, { alpha: 0.2, numClasses: 10 });
 * const loss = crossEntropy(model.call(x), y);
 */
export function mixup(images: Tensor, labels: Tensor, opts: MixOptions): MixedBatch {
  const { alpha, numClasses } = check('mixup', images, labels, opts);
  const lambda = drawBeta(alpha);
  return mixed(noGrad(() => scope(() => mixWithRolled(images, lambda))), labels, numClasses, lambda);
}

/**
 * CutMix (Yun et al. 2019), as torchvision.transforms.v2.CutMix: draws λ ~ Beta(α, α) and a
 * box centre uniformly over the `H x W` image, with half-sides ⌊√(1 - λ)/2 · W⌋ and
 * ⌊√(1 - λ)/2 · H⌋ clipped to the image; the box of `images.roll(1, 0)` is pasted into each
 * image, and λ is corrected to `1 - box area / (H · W)` for the targets (as torchvision's
 * reference scripts). Same arguments and result as {@link mixup}.
 *
 * @example
 * const { images: x, labels: y } = data.cutmix(images, labels, { alpha: 1, numClasses: 10 });
 */
export function cutmix(images: Tensor, labels: Tensor, opts: MixOptions): MixedBatch {
  const { alpha, numClasses } = check('cutmix', images, labels, opts);
  const [h, w] = images.shape.slice(2) as [number, number];
  const drawn = drawBeta(alpha);
  const [u, v] = draws('uniform', 2);
  // torch.randint(W) and torch.randint(H): the centre's column and row.
  const cx = Math.min(Math.floor(u! * w), w - 1);
  const cy = Math.min(Math.floor(v! * h), h - 1);
  const r = 0.5 * Math.sqrt(1 - drawn);
  const halfW = Math.trunc(r * w);
  const halfH = Math.trunc(r * h);
  const [x1, y1, x2, y2] = [Math.max(cx - halfW, 0), Math.max(cy - halfH, 0), Math.min(cx + halfW, w), Math.min(cy + halfH, h)];
  const lambda = 1 - ((x2 - x1) * (y2 - y1)) / (w * h);
  const pasted = noGrad(() => scope(() => where(boxMask(h, w, [y1, x1, y2 - y1, x2 - x1], images.device), roll(images, 1, 0), images) as Tensor<'float32'>));
  return mixed(pasted, labels, numClasses, lambda);
}
