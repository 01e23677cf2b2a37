/**
 * The heads of FCOS (Tian et al. 2019), as torchvision.models.detection.fcos (0.14):
 * FCOSClassificationHead (class logits per feature-map point), FCOSRegressionHead (box
 * distances and centerness per point) and FCOSHead (both, and the three training losses).
 * State-dict names are torchvision's (`classification_head.conv.0.weight`,
 * `classification_head.cls_logits.bias`, `regression_head.bbox_reg.weight`,
 * `regression_head.bbox_ctrness.weight`), so a torchvision checkpoint's `head.*` loads as it is.
 *
 * The losses are masked sums on the device (torchvision indexes the foreground with boolean
 * masks and reads its count back): nothing is read from the device.
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../../errors.js';
import { generalizedBoxIouLoss } from '../../losses/box_iou_losses.js';
import { binaryCrossEntropyWithLogits } from '../../losses/classification.js';
import { sigmoidFocalLoss } from '../../losses/focal.js';
import { constant_, normal_ } from '../../nn/init.js';
import { ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { GroupNorm } from '../../nn/layers/pooling_norm.js';
import { Module } from '../../nn/module.js';
import { where } from '../../ops/compare.js';
import { maximum, minimum } from '../../ops/elementwise.js';
import { indexSelect } from '../../ops/indexing.js';
import { cat, stack } from '../../ops/shape.js';
import { checkInt, checkTensor } from '../../ops/validate.js';
import { arange, fromTypedArray, full, zeros } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { DetectionTarget } from '../../tensor/detection_records.js';
import { Tensor } from '../../tensor/tensor.js';
import { BoxLinearCoder } from '../../vision/box_coder.js';

/** Makes the normalisation layer after each 3x3 convolution of a tower, given its channels (torchvision's `norm_layer`). */
export type FCOSNormLayer = (channels: number) => Module;

/** Options of {@link FCOSClassificationHead}. */
export interface FCOSClassificationHeadOptions {
  /** 3x3 convolutions (each with normalisation and ReLU) before the predictor (default 4). */
  numConvs?: number;
  /** The predictor's bias starts at `-log((1 - p) / p)`, so every class starts at probability p (default 0.01). */
  priorProbability?: number;
  /** The normalisation layer (default GroupNorm with 32 groups). */
  normLayer?: FCOSNormLayer;
}

/** Options of {@link FCOSRegressionHead}. */
export interface FCOSRegressionHeadOptions {
  /** 3x3 convolutions (each with normalisation and ReLU) before the predictors (default 4). */
  numConvs?: number;
  /** The normalisation layer (default GroupNorm with 32 groups). */
  normLayer?: FCOSNormLayer;
}

/** What {@link FCOSHead} predicts for a batch, all points of all levels concatenated (level, then cell, then anchor). */
export interface FCOSHeadOutputs {
  /** Class logits `[N, P, numClasses]` (torchvision's `cls_logits`). */
  clsLogits: Tensor<'float32'>;
  /** Distances `[N, P, 4]` (left, top, right, bottom, in anchor sizes; >= 0) (`bbox_regression`). */
  bboxRegression: Tensor<'float32'>;
  /** Centerness logits `[N, P, 1]` (`bbox_ctrness`). */
  bboxCtrness: Tensor<'float32'>;
}

/** The training losses of FCOS, under torchvision's names, each divided by the foreground count (at least 1). */
export interface FCOSLosses {
  /** Sigmoid focal loss of every point's class logits against its one-hot class (none for the background). */
  classification: Tensor<'float32'>;
  /** GIoU loss of the foreground points' decoded boxes against their ground-truth boxes. */
  bbox_regression: Tensor<'float32'>;
  /** Binary cross-entropy of the foreground points' centerness logits against their centerness. */
  bbox_ctrness: Tensor<'float32'>;
}

const groupNorm32: FCOSNormLayer = (channels) => new GroupNorm(32, channels);

/** `numConvs` x (3x3 convolution, normalisation, ReLU), channels kept: torchvision's `conv` tower (`conv.0`, `conv.1`, ...). */
function tower(op: string, inChannels: number, numConvs: number, normLayer: FCOSNormLayer | undefined): Sequential {
  if (normLayer !== undefined && typeof normLayer !== 'function') throw new ArgumentError(`${op}: expected normLayer to be a function from channels to a Module, got ${describe(normLayer)}`);
  const make = normLayer ?? groupNorm32;
  const layers: Module[] = [];
  for (let i = 0; i < numConvs; ++i) layers.push(new Conv2d(inChannels, inChannels, 3, { padding: 1 }), make(inChannels), new ReLU());
  return new Sequential(...layers);
}

/** Weights normal with std 0.01 and biases `bias`, as torchvision initialises every FCOS head convolution. */
function initConv(conv: Conv2d, bias: number): void {
  normal_(conv.weight, 0, 0.01);
  if (conv.bias) constant_(conv.bias, bias);
}

/** Throws ShapeError unless `features` is a non-empty array of `[N, inChannels, H, W]` tensors. */
function checkFeatures(op: string, features: readonly Tensor[], inChannels: number): void {
  if (!Array.isArray(features) || features.length === 0) throw new ArgumentError(`${op}: expected features to be a non-empty array of feature maps (one per level), got ${describe(features)}`);
  features.forEach((x, i) => {
    if (!(x instanceof Tensor) || x.ndim !== 4 || x.shape[1] !== inChannels) {
      throw new ShapeError(`${op}: expected features[${i}] of shape [N, ${inChannels}, H, W], got ${x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : describe(x)}`);
    }
  });
}

/** One level's `[N, A * K, H, W]` as `[N, H * W * A, K]`: cell-major, then anchor, as the anchors are laid out. */
function pointsLast(x: Tensor, k: number): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  return x.view(n, -1, k, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, k);
}

/**
 * FCOS's classification branch, as torchvision's `FCOSClassificationHead(in_channels,
 * num_anchors, num_classes, num_convs, prior_probability, norm_layer)`: per level, a tower of
 * `numConvs` 3x3 convolutions with GroupNorm(32) and ReLU (`conv`), then a 3x3 convolution
 * to `numAnchors * numClasses` logits (`cls_logits`). Convolution weights start normal with
 * std 0.01; biases at 0, the predictor's at `-log((1 - p) / p)`. `forward(features)` takes
 * the levels `[N, inChannels, H_i, W_i]` and returns the logits `[N, sum_i(H_i W_i A), numClasses]`.
 *
 * @example
 * const head = new models.detection.FCOSClassificationHead(256, 1, 91);
 * const logits = head.call([p3, p4, p5, p6, p7]); // [N, P, 91]
 */
export class FCOSClassificationHead extends Module<[features: readonly Tensor[]], Tensor<'float32'>> {
  readonly #conv: Sequential;
  readonly #clsLogits: Conv2d;

  /**
   * @param inChannels - channels of every feature level, an integer >= 1 (a multiple of 32 with the default GroupNorm)
   * @param numAnchors - anchors per feature-map cell, an integer >= 1 (FCOS: 1)
   * @param numClasses - classes predicted, an integer >= 1
   * @param opts - numConvs (default 4), priorProbability (default 0.01), normLayer (default GroupNorm(32))
   */
  constructor(readonly inChannels: number, readonly numAnchors: number, readonly numClasses: number, opts: FCOSClassificationHeadOptions = {}) {
    super();
    const op = 'FCOSClassificationHead';
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'numAnchors', numAnchors, 1);
    checkInt(op, 'numClasses', numClasses, 1);
    const numConvs = checkInt(op, 'numConvs', opts.numConvs ?? 4, 0);
    const prior = opts.priorProbability ?? 0.01;
    if (typeof prior !== 'number' || !(prior > 0 && prior < 1)) throw new ArgumentError(`${op}: expected priorProbability to be a number in (0, 1), got ${describe(prior)}`);
    this.#conv = tower(op, inChannels, numConvs, opts.normLayer);
    this.#clsLogits = new Conv2d(inChannels, numAnchors * numClasses, 3, { padding: 1 });
    this.registerModule('conv', this.#conv);
    this.registerModule('cls_logits', this.#clsLogits);
    for (const m of this.#conv.modules()) if (m instanceof Conv2d) initConv(m, 0);
    initConv(this.#clsLogits, -Math.log((1 - prior) / prior));
  }

  /** The convolution tower (`conv`). */
  get conv(): Sequential {
    return this.#conv;
  }

  /** The predictor (`cls_logits`). */
  get clsLogits(): Conv2d {
    return this.#clsLogits;
  }

  forward(features: readonly Tensor[]): Tensor<'float32'> {
    checkFeatures('FCOSClassificationHead', features, this.inChannels);
    return scope(() => cat(features.map((x) => pointsLast(this.#clsLogits.call(this.#conv.call(x)), this.numClasses)), 1) as Tensor<'float32'>);
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, numAnchors=${this.numAnchors}, numClasses=${this.numClasses}`;
  }
}

/**
 * FCOS's regression branch, as torchvision's `FCOSRegressionHead(in_channels, num_anchors,
 * num_convs, norm_layer)`: per level, a tower of `numConvs` 3x3 convolutions with
 * GroupNorm(32) and ReLU (`conv`), then two 3x3 convolutions: to `4 * numAnchors` distances
 * passed through ReLU (`bbox_reg`) and to `numAnchors` centerness logits (`bbox_ctrness`).
 * Weights start normal with std 0.01, biases at 0. `forward(features)` returns
 * `[distances [N, P, 4], centerness [N, P, 1]]` over the points P of all levels.
 *
 * @example
 * const head = new models.detection.FCOSRegressionHead(256, 1);
 * const [distances, centerness] = head.call([p3, p4, p5, p6, p7]);
 */
export class FCOSRegressionHead extends Module<[features: readonly Tensor[]], [Tensor<'float32'>, Tensor<'float32'>]> {
  readonly #conv: Sequential;
  readonly #bboxReg: Conv2d;
  readonly #bboxCtrness: Conv2d;

  /**
   * @param inChannels - channels of every feature level, an integer >= 1 (a multiple of 32 with the default GroupNorm)
   * @param numAnchors - anchors per feature-map cell, an integer >= 1 (FCOS: 1)
   * @param opts - numConvs (default 4), normLayer (default GroupNorm(32))
   */
  constructor(readonly inChannels: number, readonly numAnchors: number, opts: FCOSRegressionHeadOptions = {}) {
    super();
    const op = 'FCOSRegressionHead';
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'numAnchors', numAnchors, 1);
    const numConvs = checkInt(op, 'numConvs', opts.numConvs ?? 4, 0);
    this.#conv = tower(op, inChannels, numConvs, opts.normLayer);
    this.#bboxReg = new Conv2d(inChannels, numAnchors * 4, 3, { padding: 1 });
    this.#bboxCtrness = new Conv2d(inChannels, numAnchors, 3, { padding: 1 });
    this.registerModule('conv', this.#conv);
    this.registerModule('bbox_reg', this.#bboxReg);
    this.registerModule('bbox_ctrness', this.#bboxCtrness);
    for (const m of this.modules()) if (m instanceof Conv2d) initConv(m, 0);
  }

  /** The convolution tower (`conv`). */
  get conv(): Sequential {
    return this.#conv;
  }

  /** The distance predictor (`bbox_reg`). */
  get bboxReg(): Conv2d {
    return this.#bboxReg;
  }

  /** The centerness predictor (`bbox_ctrness`). */
  get bboxCtrness(): Conv2d {
    return this.#bboxCtrness;
  }

  forward(features: readonly Tensor[]): [Tensor<'float32'>, Tensor<'float32'>] {
    checkFeatures('FCOSRegressionHead', features, this.inChannels);
    return scope(() => {
      const distances: Tensor[] = [];
      const centerness: Tensor[] = [];
      for (const x of features) {
        const t = this.#conv.call(x);
        distances.push(pointsLast(this.#bboxReg.call(t).relu(), 4));
        centerness.push(pointsLast(this.#bboxCtrness.call(t), 1));
      }
      return [cat(distances, 1) as Tensor<'float32'>, cat(centerness, 1) as Tensor<'float32'>];
    });
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, numAnchors=${this.numAnchors}`;
  }
}

/**
 * FCOS's head, as torchvision's `FCOSHead(in_channels, num_anchors, num_classes,
 * num_convs)`: a {@link FCOSClassificationHead} (`classification_head`) and a
 * {@link FCOSRegressionHead} (`regression_head`) over the same feature levels, and the
 * training losses ({@link FCOSHead.computeLoss}). `forward(features)` returns
 * {@link FCOSHeadOutputs}.
 *
 * @example
 * const head = new models.detection.FCOSHead(256, 1, 91);
 * const { clsLogits, bboxRegression, bboxCtrness } = head.call(levels);
 */
export class FCOSHead extends Module<[features: readonly Tensor[]], FCOSHeadOutputs> {
  /** Decodes the distances against the anchors (normalised by their size), as torchvision's. */
  readonly boxCoder = new BoxLinearCoder({ normalizeBySize: true });
  readonly #classificationHead: FCOSClassificationHead;
  readonly #regressionHead: FCOSRegressionHead;

  /**
   * @param inChannels - channels of every feature level, an integer >= 1 (a multiple of 32)
   * @param numAnchors - anchors per feature-map cell, an integer >= 1 (FCOS: 1)
   * @param numClasses - classes predicted, an integer >= 1
   * @param numConvs - 3x3 convolutions of each tower (default 4)
   */
  constructor(readonly inChannels: number, readonly numAnchors: number, readonly numClasses: number, numConvs = 4) {
    super();
    this.#classificationHead = new FCOSClassificationHead(inChannels, numAnchors, numClasses, { numConvs });
    this.#regressionHead = new FCOSRegressionHead(inChannels, numAnchors, { numConvs });
    this.registerModule('classification_head', this.#classificationHead);
    this.registerModule('regression_head', this.#regressionHead);
  }

  /** The classification branch (`classification_head`). */
  get classificationHead(): FCOSClassificationHead {
    return this.#classificationHead;
  }

  /** The regression and centerness branch (`regression_head`). */
  get regressionHead(): FCOSRegressionHead {
    return this.#regressionHead;
  }

  forward(features: readonly Tensor[]): FCOSHeadOutputs {
    const clsLogits = this.#classificationHead.call(features);
    const [bboxRegression, bboxCtrness] = this.#regressionHead.call(features);
    return { clsLogits, bboxRegression, bboxCtrness };
  }

  /**
   * The three FCOS losses, as torchvision's `FCOSHead.compute_loss`: every point of image i
   * with `matchedIdxs[i]` >= 0 is a foreground point of class `targets[i].labels[m]` and box
   * `targets[i].boxes[m]`; the others are background. Summed over the batch and divided by
   * the foreground count (at least 1): sigmoid focal loss of all class logits against the
   * one-hot classes, GIoU loss of the foreground's decoded boxes, and binary cross-entropy
   * of the foreground's centerness logits against `sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`
   * of their encoded ground truth. Masked sums: nothing is read from the device.
   * @param targets - per image `{ boxes [G_i, 4], labels [G_i] }`
   * @param headOutputs - the head's predictions for the batch (P points per image)
   * @param anchors - per image, the anchors `[P, 4]`
   * @param matchedIdxs - per image, int32 `[P]`: the matched ground-truth box, or -1
   */
  computeLoss(targets: readonly DetectionTarget[], headOutputs: FCOSHeadOutputs, anchors: readonly Tensor[], matchedIdxs: readonly Tensor[]): FCOSLosses {
    const op = 'FCOSHead.computeLoss';
    const { clsLogits, bboxRegression, bboxCtrness } = headOutputs;
    checkTensor(op, 'headOutputs.clsLogits', clsLogits);
    const [numImages, numPoints, numClasses] = clsLogits.shape as [number, number, number];
    const expectShape = (name: string, t: unknown, shape: number[]) => {
      const tensor = checkTensor(op, name, t);
      if (tensor.shape.join(',') !== shape.join(',')) throw new ShapeError(`${op}: expected ${name} of shape [${shape.join(', ')}], got [${tensor.shape.join(', ')}]`);
    };
    if (clsLogits.ndim !== 3) throw new ShapeError(`${op}: expected headOutputs.clsLogits of shape [N, P, C], got [${clsLogits.shape.join(', ')}]`);
    expectShape('headOutputs.bboxRegression', bboxRegression, [numImages, numPoints, 4]);
    expectShape('headOutputs.bboxCtrness', bboxCtrness, [numImages, numPoints, 1]);
    for (const [name, list] of [['targets', targets], ['anchors', anchors], ['matchedIdxs', matchedIdxs]] as const) {
      if (!Array.isArray(list) || list.length !== numImages) throw new ArgumentError(`${op}: expected ${name} to be an array of ${numImages} entries (one per image), got ${describe(list)}`);
    }
    anchors.forEach((a, i) => expectShape(`anchors[${i}]`, a, [numPoints, 4]));
    matchedIdxs.forEach((m, i) => expectShape(`matchedIdxs[${i}]`, m, [numPoints]));

    return scope(() => {
      const device = clsLogits.device;
      const { gtClasses, gtBoxes } = noGrad(() => {
        const classes: Tensor[] = [];
        const boxes: Tensor[] = [];
        targets.forEach((target, i) => {
          const matched = matchedIdxs[i]!;
          if (target.labels.shape[0] === 0) {
            classes.push(full([numPoints], -1, { dtype: 'int32', device }));
            boxes.push(zeros([numPoints, 4], { device }));
            return;
          }
          // -1 (unmatched) takes box 0, as torchvision's clip(min=0); the class says background.
          const unmatched = matched.lt(0);
          const index = where(unmatched, 0, matched);
          classes.push(where(unmatched, -1, indexSelect(target.labels, 0, index)));
          boxes.push(indexSelect(target.boxes, 0, index));
        });
        return { gtClasses: stack(classes, 0), gtBoxes: stack(boxes, 0) };
      });
      const foreground = gtClasses.ge(0);
      const foregroundWeight = foreground.to('float32');
      // torchvision's max(1, num_foreground), on the device.
      const normaliser = foregroundWeight.sum().clamp(1, null);

      // One-hot classes: background (-1) matches no class.
      const oneHot = gtClasses.unsqueeze(2).eq(arange(numClasses, { dtype: 'int32', device })).to('float32');
      const lossCls = sigmoidFocalLoss(clsLogits, oneHot, { reduction: 'sum' });

      // GIoU on the foreground only: background rows compare a unit box with itself, so no
      // degenerate pair can put NaN into the gradient, and are then left out of the sum
      // (their loss is not exactly 0: eps).
      const predBoxes = this.boxCoder.decode(bboxRegression, stack(anchors as Tensor[], 0));
      const rows = foreground.unsqueeze(2).expand(numImages, numPoints, 4).reshape(-1, 4);
      const unit = fromTypedArray(Float32Array.of(0, 0, 1, 1), [4], { device });
      const giou = generalizedBoxIouLoss(where(rows, predBoxes.reshape(-1, 4), unit), where(rows, gtBoxes.reshape(-1, 4), unit));
      const lossBoxReg = where(foreground.reshape(-1), giou, 0).sum();

      // Centerness targets: NaN or infinite off the foreground (boxes not around the point), replaced before the loss.
      const ctrTargets = noGrad(() => {
        const codes = this.boxCoder.encode(stack(anchors as Tensor[], 0), gtBoxes);
        const col = (c: number) => codes.slice(2, c, c + 1).squeeze(2);
        const [l, t, r, b] = [col(0), col(1), col(2), col(3)];
        const ctr = minimum(l, r).div(maximum(l, r)).mul(minimum(t, b).div(maximum(t, b))).sqrt();
        return where(foreground, ctr, 0);
      });
      const lossCtr = binaryCrossEntropyWithLogits(bboxCtrness.squeeze(2), ctrTargets, { weight: foregroundWeight, reduction: 'sum' });
      return {
        classification: lossCls.div(normaliser) as Tensor<'float32'>,
        bbox_regression: lossBoxReg.div(normaliser) as Tensor<'float32'>,
        bbox_ctrness: lossCtr.div(normaliser) as Tensor<'float32'>,
      };
    });
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, numAnchors=${this.numAnchors}, numClasses=${this.numClasses}`;
  }
}
