/**
 * Segmentation metrics: Dice and IoU per sample and class, as MONAI's `compute_dice` /
 * `compute_iou`, and a confusion matrix accumulated over batches with per-class IoU, mean
 * IoU, pixel accuracy, precision and recall (torchvision's segmentation reference, with
 * absent classes left out of the mean). The per-sample scores stay tensors on the input's
 * device; the accumulator reads its matrix once, in `compute()`.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { oneHot } from '../ops/shape.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { confusionMatrix } from './classification.js';

/** How {@link diceScore}, {@link iouScore} and the surface distances read their inputs. */
export interface SegmentationMaskOptions {
  /**
   * Inputs are int32 label maps `[N, ...spatial]` with this many classes (one-hot encoded
   * here). Without it they are binary masks `[N, C, ...spatial]` of any dtype (nonzero =
   * foreground).
   */
  numClasses?: number;
  /** Keep channel 0 (the background; default true). */
  includeBackground?: boolean;
}

/** Options of {@link diceScore} and {@link iouScore}. */
export interface OverlapScoreOptions extends SegmentationMaskOptions {
  /**
   * Where the target of a (sample, class) is empty the score is NaN (true, the default, as
   * MONAI's `ignore_empty`), or 1 when the prediction is empty too and 0 otherwise (false).
   */
  ignoreEmpty?: boolean;
}

/**
 * Checks a prediction/target pair and returns both as float32 0/1 masks `[N, C', ...spatial]`.
 * @internal
 */
export function segmentationMasks(op: string, pred: Tensor, target: Tensor, opts: SegmentationMaskOptions): { pred: Tensor<'float32'>; target: Tensor<'float32'> } {
  checkTensor(op, 'pred', pred);
  checkTensor(op, 'target', target);
  checkSameDevice(op, { pred, target });
  if (pred.shape.join(',') !== target.shape.join(',')) {
    throw new ShapeError(`${op}: expected pred and target of one shape, got pred [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}]`);
  }
  const labels = opts.numClasses !== undefined;
  let classes: number;
  if (labels) {
    classes = opts.numClasses!;
    if (!Number.isInteger(classes) || classes < 1) throw new ArgumentError(`${op}: expected numClasses to be an integer >= 1, got ${String(classes)}`);
    checkDTypeIn(op, 'pred', pred, ['int32']);
    checkDTypeIn(op, 'target', target, ['int32']);
    if (pred.ndim < 2) throw new ShapeError(`${op}: expected label maps of rank >= 2 ([N, ...spatial]), got [${pred.shape.join(', ')}]`);
  } else {
    if (pred.ndim < 3) {
      throw new ShapeError(`${op}: expected masks of rank >= 3 ([N, C, ...spatial]; pass numClasses for label maps [N, ...spatial]), got [${pred.shape.join(', ')}]`);
    }
    classes = pred.shape[1]!;
  }
  if (opts.includeBackground === false && classes === 1) throw new ArgumentError(`${op}: includeBackground false would drop the only class; expected C >= 2`);
  return scope(() => noGrad(() => {
    const encode = (t: Tensor): Tensor<'float32'> => {
      if (!labels) return t.ne(0).float();
      const r = t.ndim;
      return oneHot(t, classes).permute([0, r, ...Array.from({ length: r - 1 }, (_, i) => i + 1)]).float();
    };
    let [p, t] = [encode(pred), encode(target)];
    if (opts.includeBackground === false) [p, t] = [p.slice(1, 1), t.slice(1, 1)];
    return { pred: p, target: t };
  }));
}

/** Per-(sample, class) intersection and the two sizes, `[N, C']` each. */
function overlapCounts(op: string, pred: Tensor, target: Tensor, opts: SegmentationMaskOptions): { intersection: Tensor; predSize: Tensor; targetSize: Tensor } {
  const masks = segmentationMasks(op, pred, target, opts);
  const axes = Array.from({ length: masks.pred.ndim - 2 }, (_, i) => i + 2);
  return { intersection: masks.pred.mul(masks.target).sum(axes), predSize: masks.pred.sum(axes), targetSize: masks.target.sum(axes) };
}

/**
 * Dice coefficient `2 |P ∩ T| / (|P| + |T|)` per sample and class, `[N, C']` float32, as
 * MONAI's `compute_dice`: binary masks `[N, C, ...spatial]` (2-D or 3-D; nonzero is
 * foreground) or, with `numClasses`, int32 label maps `[N, ...spatial]` (e.g.
 * `argmax(logits, 1)`). An empty target gives NaN (`ignoreEmpty`, default) or 1/0. Label
 * values outside [0, numClasses) reject `data()` with an IndexError. No gradient: train
 * with {@link diceLoss}.
 *
 * @example
 * const dice = metrics.diceScore(argmax(logits, 1), masks, { numClasses: 4, includeBackground: false }); // [N, 3]
 * const perClass = await dice.data();
 */
export function diceScore(pred: Tensor, target: Tensor, opts: OverlapScoreOptions = {}): Tensor<'float32'> {
  return scope(() =>
    noGrad(() => {
      const { intersection, predSize, targetSize } = overlapCounts('diceScore', pred, target, opts);
      const sizes = predSize.add(targetSize);
      const dice = intersection.mul(2).div(sizes);
      return (opts.ignoreEmpty ?? true ? where(targetSize.gt(0), dice, Number.NaN) : where(sizes.gt(0), dice, 1)) as Tensor<'float32'>;
    }),
  );
}

/**
 * Intersection over union (Jaccard index) `|P ∩ T| / |P ∪ T|` per sample and class,
 * `[N, C']` float32, as MONAI's `compute_iou`; inputs and empty handling as {@link diceScore}.
 *
 * @example
 * const iou = metrics.iouScore(predMasks, trueMasks); // masks [N, C, H, W] of 0/1
 */
export function iouScore(pred: Tensor, target: Tensor, opts: OverlapScoreOptions = {}): Tensor<'float32'> {
  return scope(() =>
    noGrad(() => {
      const { intersection, predSize, targetSize } = overlapCounts('iouScore', pred, target, opts);
      const union = predSize.add(targetSize).sub(intersection);
      const iou = intersection.div(union);
      return (opts.ignoreEmpty ?? true ? where(targetSize.gt(0), iou, Number.NaN) : where(union.gt(0), iou, 1)) as Tensor<'float32'>;
    }),
  );
}

/** What {@link SegmentationConfusionMatrix.compute} returns; per-class arrays have `numClasses` entries. */
export interface SegmentationMetrics {
  /** `[numClasses][numClasses]` pixel counts; row = target class, column = predicted class. */
  confusionMatrix: number[][];
  /** IoU per class, `TP / (TP + FP + FN)`; NaN for a class neither in a target nor predicted. */
  iou: number[];
  /** The mean of the IoUs that are not NaN (classes never seen are left out); NaN when none is left. */
  meanIou: number;
  /** Dice (F1) per class, `2 TP / (2 TP + FP + FN)`; NaN as for iou. */
  dice: number[];
  /** Correct pixels over all counted pixels. */
  pixelAccuracy: number;
  /** Per class, `TP / (TP + FP)`: NaN where the class was never predicted. */
  precision: number[];
  /** Per class, `TP / (TP + FN)` (torchvision's per-class accuracy): NaN where the class was never a target. */
  recall: number[];
}

/**
 * A confusion matrix accumulated over batches, and the segmentation metrics read from it,
 * as torchvision's segmentation reference (`ConfusionMatrix`). `update` adds a batch on the
 * device and queues no host read; `compute` reads the matrix once. Target or predicted
 * labels outside [0, numClasses), such as VOC's 255, are not counted. Counts are int32
 * (enough for 2^31 - 1 pixels per cell).
 *
 * @example
 * const cm = new metrics.SegmentationConfusionMatrix(21);
 * for await (const { images, masks } of loader) cm.update(model.forward(images), masks); // scores [N, 21, H, W] or labels
 * const { meanIou, iou, pixelAccuracy } = await cm.compute();
 */
export class SegmentationConfusionMatrix {
  /** The number of classes (rows and columns of the matrix). */
  readonly numClasses: number;
  /** The counts so far, on the device of the first batch; null before any update. */
  private counts: Tensor<'int32'> | null = null;

  /** An empty matrix for `numClasses` classes. */
  constructor(numClasses: number) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new ArgumentError(`SegmentationConfusionMatrix: expected numClasses to be an integer >= 1, got ${String(numClasses)}`);
    }
    this.numClasses = numClasses;
  }

  /**
   * Adds a batch: `pred` int32 labels of the target's shape or class scores `[N, numClasses,
   * ...spatial]` (argmax over dim 1), `target` int32 labels `[N, ...spatial]`; as
   * {@link confusionMatrix}, whose checks apply.
   */
  update(pred: Tensor, target: Tensor): void {
    const op = 'SegmentationConfusionMatrix.update';
    if (this.counts) checkSameDevice(op, { pred, target, accumulated: this.counts });
    const batch = confusionMatrix(pred, target, this.numClasses);
    if (!this.counts) {
      this.counts = batch;
      return;
    }
    const sum = noGrad(() => this.counts!.add(batch));
    this.counts.dispose();
    batch.dispose();
    this.counts = sum;
  }

  /** The metrics of every batch so far (all NaN but an all-zero matrix before any update). */
  async compute(): Promise<SegmentationMetrics> {
    const n = this.numClasses;
    const flat = this.counts ? Array.from(await this.counts.data()) : new Array<number>(n * n).fill(0);
    const matrix = Array.from({ length: n }, (_, r) => flat.slice(r * n, (r + 1) * n));
    const rows = matrix.map((row) => row.reduce((a, b) => a + b, 0));
    const cols = matrix[0]!.map((_, c) => matrix.reduce((a, row) => a + row[c]!, 0));
    const tp = matrix.map((row, c) => row[c]!);
    // 0 / 0 is NaN: a class with no pixels anywhere has no IoU, rather than IoU 0.
    const iou = tp.map((t, c) => t / (rows[c]! + cols[c]! - t));
    const seen = iou.filter((v) => !Number.isNaN(v));
    const total = rows.reduce((a, b) => a + b, 0);
    return {
      confusionMatrix: matrix,
      iou,
      meanIou: seen.length ? seen.reduce((a, b) => a + b, 0) / seen.length : Number.NaN,
      dice: tp.map((t, c) => (2 * t) / (rows[c]! + cols[c]!)),
      pixelAccuracy: tp.reduce((a, b) => a + b, 0) / total,
      precision: tp.map((t, c) => t / cols[c]!),
      recall: tp.map((t, c) => t / rows[c]!),
    };
  }

  /** Forgets every batch so far. */
  reset(): void {
    this.counts?.dispose();
    this.counts = null;
  }
}
