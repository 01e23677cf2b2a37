/**
 * RetinaNet's heads (Lin et al. 2017, "Focal Loss for Dense Object Detection"), as
 * torchvision.models.detection.retinanet (0.14): RetinaNetClassificationHead (class logits per
 * anchor, sigmoid focal loss), RetinaNetRegressionHead (box deltas per anchor, L1 loss) and
 * RetinaNetHead, which holds the two. State-dict names are torchvision's
 * (`classification_head.conv.0.0.weight`, `classification_head.cls_logits.bias`,
 * `regression_head.bbox_reg.weight`); checkpoints in the layout before 0.13
 * (`conv.0.weight`, `conv.2.weight`, ...: the COCO weights of retinanet_resnet50_fpn) load
 * as torchvision loads them.
 *
 * Host reads: none. torchvision's losses index the foreground anchors (a read per image);
 * here they are masked sums over every anchor divided by the foreground count on the device.
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../../errors.js';
import { sigmoidFocalLoss } from '../../losses/focal.js';
import { l1Loss } from '../../losses/regression.js';
import { constant_, normal_ } from '../../nn/init.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Module } from '../../nn/module.js';
import { where } from '../../ops/compare.js';
import { indexSelect } from '../../ops/indexing.js';
import { cat } from '../../ops/shape.js';
import { clamp } from '../../ops/statistics.js';
import { checkInt, checkTensor } from '../../ops/validate.js';
import { arange, zeros } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
import { Tensor } from '../../tensor/tensor.js';
import { BoxCoder } from '../../vision/box_coder.js';
import { Matcher } from '../../vision/matcher.js';

/** What RetinaNet's head returns for a batch: every anchor's predictions, under torchvision's keys. */
export interface RetinaNetHeadOutputs {
  /** Class logits `[N, sum_i(H_i W_i A), numClasses]`, level by level, cell-major, then anchor (the anchors' order). */
  cls_logits: Tensor;
  /** Box deltas `[N, sum_i(H_i W_i A), 4]` against the anchors, in the same order. */
  bbox_regression: Tensor;
}

/** RetinaNet's training losses, under torchvision's names. */
export interface RetinaNetLosses {
  /** Sigmoid focal loss of the anchors that are not ignored, summed, over the foreground count, averaged over images. */
  classification: Tensor<'float32'>;
  /** L1 loss of the foreground anchors' deltas, summed, over the foreground count, averaged over images. */
  bbox_regression: Tensor<'float32'>;
}

/**
 * A head that {@link RetinaNet} accepts: feature maps (one per level) to
 * {@link RetinaNetHeadOutputs}, and the losses from them, as torchvision's
 * `head(features)` and `head.compute_loss(targets, head_outputs, anchors, matched_idxs)`.
 */
export type RetinaNetHeadModule = Module<[features: readonly Tensor[]], RetinaNetHeadOutputs> & {
  computeLoss(targets: readonly DetectionTarget[], headOutputs: RetinaNetHeadOutputs, anchors: readonly Tensor[], matchedIdxs: readonly Tensor[]): RetinaNetLosses;
};

/** Options of the RetinaNet heads. */
export interface RetinaNetHeadOptions {
  /**
   * Makes the normalisation layer after each 3x3 convolution (default none, as
   * retinanet_resnet50_fpn; its v2 uses `(c) => new nn.GroupNorm(32, c)`). With one the
   * names become `conv.i.0.weight`, `conv.i.1.weight`, as torchvision's.
   */
  normLayer?: ((channels: number) => Module) | null;
}

/** Options of {@link RetinaNetClassificationHead}. */
export interface RetinaNetClassificationHeadOptions extends RetinaNetHeadOptions {
  /** Every class's initial probability, which sets the logits' bias to `-log((1 - p) / p)` (default 0.01). */
  priorProbability?: number;
}

/** The four 3x3 convolutions (+ ReLU) of each head, initialised as torchvision's: weights normal with std 0.01, biases 0. */
function towerOfConvs(inChannels: number, normLayer: ((channels: number) => Module) | null): Sequential {
  const tower = new Sequential(...Array.from({ length: 4 }, () => new Conv2dNormActivation(inChannels, inChannels, 3, { normLayer })));
  for (const m of tower.modules()) {
    if (m instanceof Conv2d) {
      normal_(m.weight, 0, 0.01);
      if (m.bias) constant_(m.bias, 0);
    }
  }
  return tower;
}

/** Throws ShapeError unless `features` is a non-empty array of `[N, inChannels, H, W]` tensors of one N. */
function checkFeatures(op: string, features: readonly Tensor[], inChannels: number): void {
  if (!Array.isArray(features) || features.length === 0) throw new ArgumentError(`${op}: expected features to be a non-empty array of feature maps (one per level), got ${describe(features)}`);
  features.forEach((x, i) => {
    if (!(x instanceof Tensor) || x.ndim !== 4 || x.shape[1] !== inChannels || x.shape[0] !== features[0]!.shape[0]) {
      const got = x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : describe(x);
      throw new ShapeError(`${op}: expected features[${i}] of shape [N, ${inChannels}, H, W] (N of features[0]), got ${got}`);
    }
  });
}

/** Runs `tower` then `predictor` on every level and lays the outputs `[N, A * C, H, W]` out as `[N, sum_i(H_i W_i A), C]`. */
function predictPerAnchor(features: readonly Tensor[], tower: Sequential, predictor: Conv2d, c: number): Tensor {
  return scope(() => {
    const perLevel = features.map((feature) => {
      const out = predictor.call(tower.call(feature));
      const [n, , h, w] = out.shape as [number, number, number, number];
      // (N, A * C, H, W) -> (N, H, W, A, C) -> (N, HWA, C): the anchors' order.
      return out.view(n, -1, c, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, c);
    });
    return cat(perLevel, 1);
  });
}

/**
 * The per-image arguments of the heads' losses, checked: one target, anchors `[A, 4]` and
 * int32 matches `[A]` per image of the head outputs `[N, A, C]`.
 */
function checkLossArgs(op: string, targets: readonly DetectionTarget[], outputs: Tensor, c: number, matchedIdxs: readonly Tensor[], anchors: readonly Tensor[] | null): void {
  checkTensor(op, 'headOutputs', outputs);
  const [n, a] = outputs.shape as [number, number];
  if (outputs.ndim !== 3 || outputs.shape[2] !== c) throw new ShapeError(`${op}: expected head outputs of shape [N, A, ${c}], got [${outputs.shape.join(', ')}]`);
  for (const [name, list] of [['targets', targets], ['matchedIdxs', matchedIdxs], ...(anchors ? [['anchors', anchors] as const] : [])] as const) {
    if (!Array.isArray(list) || list.length !== n) throw new ArgumentError(`${op}: expected ${name} to be an array of ${n} entries (one per image of the head outputs), got ${describe(list)}`);
  }
  targets.forEach((t, i) => {
    const boxes = checkTensor(op, `targets[${i}].boxes`, (t as DetectionTarget | undefined)?.boxes);
    const labels = checkTensor(op, `targets[${i}].labels`, t.labels);
    if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected targets[${i}].boxes of shape [G, 4], got [${boxes.shape.join(', ')}]`);
    if (labels.ndim !== 1 || labels.shape[0] !== boxes.shape[0]) throw new ShapeError(`${op}: expected targets[${i}].labels of shape [${boxes.shape[0]}] (one per box), got [${labels.shape.join(', ')}]`);
    if (labels.dtype !== 'int32') throw new DTypeError(`${op}: expected targets[${i}].labels of dtype int32, got ${labels.dtype}`);
    const matched = checkTensor(op, `matchedIdxs[${i}]`, matchedIdxs[i]);
    if (matched.dtype !== 'int32') throw new DTypeError(`${op}: expected matchedIdxs[${i}] of dtype int32 (a Matcher's output), got ${matched.dtype}`);
    if (matched.ndim !== 1 || matched.shape[0] !== a) throw new ShapeError(`${op}: expected matchedIdxs[${i}] of shape [${a}] (one per anchor), got [${matched.shape.join(', ')}]`);
    if (anchors) {
      const anchor = checkTensor(op, `anchors[${i}]`, anchors[i]);
      if (anchor.ndim !== 2 || anchor.shape[0] !== a || anchor.shape[1] !== 4) throw new ShapeError(`${op}: expected anchors[${i}] of shape [${a}, 4], got [${anchor.shape.join(', ')}]`);
    }
  });
}

/**
 * Each anchor's matched ground truth as an index that is safe to gather with (the matched
 * one where `matched >= 0`, else 0), and the foreground mask `matched >= 0`.
 */
function foregroundOf(matched: Tensor): { safeIdx: Tensor; foreground: Tensor<'bool'> } {
  const foreground = matched.ge(0);
  return { safeIdx: where(foreground, matched, 0), foreground };
}

/**
 * RetinaNet's classification subnet, as torchvision's `RetinaNetClassificationHead(in_channels,
 * num_anchors, num_classes, prior_probability, norm_layer)`: on each level, four 3x3
 * convolutions with ReLU (`conv`, channels kept) and a 3x3 convolution to
 * `numAnchors * numClasses` logits (`cls_logits`). Weights start normal with std 0.01, the
 * tower's biases at 0 and the logits' at `-log((1 - prior) / prior)`, as torchvision's.
 * `forward(features)` returns the logits `[N, sum_i(H_i W_i A), numClasses]`.
 *
 * @example
 * const head = new models.detection.RetinaNetClassificationHead(256, 9, 91);
 * const logits = head.call([p3, p4, p5, p6, p7]); // [N, anchors, 91]
 */
export class RetinaNetClassificationHead extends Module<[features: readonly Tensor[]], Tensor> {
  readonly #conv: Sequential;
  readonly #clsLogits: Conv2d;

  /**
   * @param inChannels - channels of every feature level, an integer >= 1
   * @param numAnchors - anchors per feature-map cell, an integer >= 1
   * @param numClasses - classes (torchvision counts the background among them), an integer >= 1
   * @param opts - the prior probability (in (0, 1)) and the normalisation layer
   */
  constructor(readonly inChannels: number, readonly numAnchors: number, readonly numClasses: number, opts: RetinaNetClassificationHeadOptions = {}) {
    super();
    const op = 'RetinaNetClassificationHead';
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'numAnchors', numAnchors, 1);
    checkInt(op, 'numClasses', numClasses, 1);
    const prior = opts.priorProbability ?? 0.01;
    if (typeof prior !== 'number' || !(prior > 0 && prior < 1)) throw new ArgumentError(`${op}: expected priorProbability in (0, 1), got ${describe(prior)}`);
    this.#conv = towerOfConvs(inChannels, opts.normLayer ?? null);
    this.#clsLogits = new Conv2d(inChannels, numAnchors * numClasses, 3, { padding: 1 });
    normal_(this.#clsLogits.weight, 0, 0.01);
    // Every anchor starts as background with probability 1 - prior, so the focal loss of the
    // many easy negatives does not swamp the first iterations (the paper's section 4.1).
    constant_(this.#clsLogits.bias!, -Math.log((1 - prior) / prior));
    this.registerModule('conv', this.#conv);
    this.registerModule('cls_logits', this.#clsLogits);
  }

  /** The four 3x3 convolutions with ReLU (`conv`). */
  get conv(): Sequential {
    return this.#conv;
  }

  /** The 3x3 convolution to the class logits (`cls_logits`). */
  get clsLogits(): Conv2d {
    return this.#clsLogits;
  }

  forward(features: readonly Tensor[]): Tensor {
    checkFeatures('RetinaNetClassificationHead', features, this.inChannels);
    return predictPerAnchor(features, this.#conv, this.#clsLogits, this.numClasses);
  }

  /**
   * The classification loss, as torchvision's `compute_loss(targets, head_outputs,
   * matched_idxs)`: per image, the sigmoid focal loss (alpha 0.25, gamma 2) of every anchor
   * not ignored by the matcher (`matchedIdxs[i] != -2`) against one-hot targets (the matched
   * box's label for foreground anchors, all zeros otherwise), summed and divided by
   * max(1, foreground count); then the mean over images.
   * @param targets - one `{ boxes [G, 4], labels [G] int32 }` per image (labels in [0, numClasses))
   * @param clsLogits - the head's logits `[N, A, numClasses]`
   * @param matchedIdxs - per image, each anchor's matched box, int32 `[A]` (a {@link Matcher}'s codes)
   */
  computeLoss(targets: readonly DetectionTarget[], clsLogits: Tensor, matchedIdxs: readonly Tensor[]): Tensor<'float32'> {
    const op = 'RetinaNetClassificationHead.computeLoss';
    checkLossArgs(op, targets, clsLogits, this.numClasses, matchedIdxs, null);
    return scope(() => {
      const classes = arange(this.numClasses, { dtype: 'int32', device: clsLogits.device }).unsqueeze(0);
      const perImage = targets.map((target, i) => {
        const logits = clsLogits.slice(0, i, i + 1).squeeze(0);
        const matched = matchedIdxs[i]!;
        const { safeIdx, foreground } = foregroundOf(matched);
        const numForeground = foreground.to('float32').sum();
        // torchvision: gt_classes_target[foreground, labels[matched[foreground]]] = 1.
        const gtClassesTarget =
          target.labels.shape[0] === 0
            ? zeros(logits.shape, { device: logits.device })
            : indexSelect(target.labels, 0, safeIdx).unsqueeze(1).eq(classes).to('float32').mul(foreground.unsqueeze(1).to('float32'));
        // Anchors between the matcher's thresholds are left out of the sum.
        const valid = matched.ne(Matcher.BETWEEN_THRESHOLDS).unsqueeze(1).expand(-1, this.numClasses);
        const loss = sigmoidFocalLoss(logits, gtClassesTarget, { reduction: 'none' });
        return where(valid, loss, 0).sum().div(clamp(numForeground, 1));
      });
      return perImage.reduce((a, b) => a.add(b)).div(targets.length) as Tensor<'float32'>;
    });
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, numAnchors=${this.numAnchors}, numClasses=${this.numClasses}`;
  }

  protected override adaptStateDict(dict: Map<string, Tensor>, prefix: string): void {
    renameLegacyTower(dict, prefix);
  }
}

/**
 * RetinaNet's box regression subnet, as torchvision's `RetinaNetRegressionHead(in_channels,
 * num_anchors, norm_layer)`: on each level, four 3x3 convolutions with ReLU (`conv`) and a
 * 3x3 convolution to four deltas per anchor (`bbox_reg`), all weights normal with std 0.01
 * and biases 0. `forward(features)` returns the deltas `[N, sum_i(H_i W_i A), 4]`, which
 * {@link RetinaNetRegressionHead.boxCoder} (weights 1) decodes against the anchors.
 *
 * @example
 * const head = new models.detection.RetinaNetRegressionHead(256, 9);
 * const deltas = head.call([p3, p4, p5, p6, p7]); // [N, anchors, 4]
 */
export class RetinaNetRegressionHead extends Module<[features: readonly Tensor[]], Tensor> {
  readonly #conv: Sequential;
  readonly #bboxReg: Conv2d;
  /** Encodes the regression targets (weights 1, as torchvision's). */
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);

  /**
   * @param inChannels - channels of every feature level, an integer >= 1
   * @param numAnchors - anchors per feature-map cell, an integer >= 1
   * @param opts - the normalisation layer
   */
  constructor(readonly inChannels: number, readonly numAnchors: number, opts: RetinaNetHeadOptions = {}) {
    super();
    const op = 'RetinaNetRegressionHead';
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'numAnchors', numAnchors, 1);
    this.#conv = towerOfConvs(inChannels, opts.normLayer ?? null);
    this.#bboxReg = new Conv2d(inChannels, numAnchors * 4, 3, { padding: 1 });
    normal_(this.#bboxReg.weight, 0, 0.01);
    constant_(this.#bboxReg.bias!, 0);
    this.registerModule('conv', this.#conv);
    this.registerModule('bbox_reg', this.#bboxReg);
  }

  /** The four 3x3 convolutions with ReLU (`conv`). */
  get conv(): Sequential {
    return this.#conv;
  }

  /** The 3x3 convolution to the box deltas (`bbox_reg`). */
  get bboxReg(): Conv2d {
    return this.#bboxReg;
  }

  forward(features: readonly Tensor[]): Tensor {
    checkFeatures('RetinaNetRegressionHead', features, this.inChannels);
    return predictPerAnchor(features, this.#conv, this.#bboxReg, 4);
  }

  /**
   * The box loss, as torchvision's `compute_loss(targets, head_outputs, anchors,
   * matched_idxs)` with its L1 loss type: per image, the L1 distance between the foreground
   * anchors' deltas and the deltas that turn each into its matched box, summed and divided by
   * max(1, foreground count); then the mean over images.
   * @param targets - one `{ boxes [G, 4], labels [G] }` per image
   * @param bboxRegression - the head's deltas `[N, A, 4]`
   * @param anchors - per image, the anchors `[A, 4]`
   * @param matchedIdxs - per image, each anchor's matched box, int32 `[A]` (a {@link Matcher}'s codes)
   */
  computeLoss(targets: readonly DetectionTarget[], bboxRegression: Tensor, anchors: readonly Tensor[], matchedIdxs: readonly Tensor[]): Tensor<'float32'> {
    const op = 'RetinaNetRegressionHead.computeLoss';
    checkLossArgs(op, targets, bboxRegression, 4, matchedIdxs, anchors);
    return scope(() => {
      const perImage = targets.map((target, i) => {
        const deltas = bboxRegression.slice(0, i, i + 1).squeeze(0);
        const { safeIdx, foreground } = foregroundOf(matchedIdxs[i]!);
        const numForeground = foreground.to('float32').sum();
        const rows = foreground.unsqueeze(1).expand(-1, 4);
        // An image without boxes has no foreground: a masked sum of nothing, 0 (as torchvision's empty sum).
        if (target.boxes.shape[0] === 0) return where(rows, deltas, 0).sum();
        // Background anchors take box 0: finite targets that the mask then replaces, so that
        // neither the loss nor its gradient sees them.
        const regressionTargets = noGrad(() => where(rows, this.boxCoder.encodeSingle(indexSelect(target.boxes, 0, safeIdx), anchors[i]!), 0));
        const loss = l1Loss(deltas, regressionTargets, { reduction: 'none' });
        return where(rows, loss, 0).sum().div(clamp(numForeground, 1));
      });
      return perImage.reduce((a, b) => a.add(b)).div(Math.max(1, targets.length)) as Tensor<'float32'>;
    });
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, numAnchors=${this.numAnchors}`;
  }

  protected override adaptStateDict(dict: Map<string, Tensor>, prefix: string): void {
    renameLegacyTower(dict, prefix);
  }
}

/**
 * torchvision before 0.13 saved each tower as a flat Sequential of Conv2d and ReLU
 * (`conv.0`, `conv.2`, `conv.4`, `conv.6`); 0.13 made each pair a Conv2dNormActivation
 * (`conv.0.0` ... `conv.3.0`). torchvision renames the keys when the checkpoint's version
 * metadata is older; safetensors carries none, so an old key is renamed when the new one
 * is absent.
 */
function renameLegacyTower(dict: Map<string, Tensor>, prefix: string): void {
  for (let i = 0; i < 4; ++i) {
    for (const kind of ['weight', 'bias']) {
      const legacy = `${prefix}conv.${2 * i}.${kind}`;
      const current = `${prefix}conv.${i}.0.${kind}`;
      const value = dict.get(legacy);
      if (value !== undefined && !dict.has(current)) {
        dict.delete(legacy);
        dict.set(current, value);
      }
    }
  }
}

/**
 * RetinaNet's head, as torchvision's `RetinaNetHead(in_channels, num_anchors, num_classes,
 * norm_layer)`: a {@link RetinaNetClassificationHead} (`classification_head`) and a
 * {@link RetinaNetRegressionHead} (`regression_head`) run on the same feature levels.
 * `forward(features)` returns `{ cls_logits, bbox_regression }`; `computeLoss` returns
 * `{ classification, bbox_regression }`.
 *
 * @example
 * const head = new models.detection.RetinaNetHead(256, 9, 91);
 * const { cls_logits, bbox_regression } = head.call([p3, p4, p5, p6, p7]);
 */
export class RetinaNetHead extends Module<[features: readonly Tensor[]], RetinaNetHeadOutputs> {
  readonly #classificationHead: RetinaNetClassificationHead;
  readonly #regressionHead: RetinaNetRegressionHead;

  /**
   * @param inChannels - channels of every feature level, an integer >= 1
   * @param numAnchors - anchors per feature-map cell, an integer >= 1
   * @param numClasses - classes (torchvision counts the background among them), an integer >= 1
   * @param opts - the normalisation layer of both towers
   */
  constructor(inChannels: number, numAnchors: number, numClasses: number, opts: RetinaNetHeadOptions = {}) {
    super();
    const normLayer = opts.normLayer ?? null;
    this.#classificationHead = new RetinaNetClassificationHead(inChannels, numAnchors, numClasses, { normLayer });
    this.#regressionHead = new RetinaNetRegressionHead(inChannels, numAnchors, { normLayer });
    this.registerModule('classification_head', this.#classificationHead);
    this.registerModule('regression_head', this.#regressionHead);
  }

  /** The class logits' subnet (`classification_head`). */
  get classificationHead(): RetinaNetClassificationHead {
    return this.#classificationHead;
  }

  /** The box deltas' subnet (`regression_head`). */
  get regressionHead(): RetinaNetRegressionHead {
    return this.#regressionHead;
  }

  forward(features: readonly Tensor[]): RetinaNetHeadOutputs {
    return { cls_logits: this.#classificationHead.call(features), bbox_regression: this.#regressionHead.call(features) };
  }

  /**
   * Both losses, as torchvision's `compute_loss(targets, head_outputs, anchors, matched_idxs)`.
   * @param targets - one `{ boxes [G, 4], labels [G] int32 }` per image
   * @param headOutputs - what {@link RetinaNetHead.forward} returned for the batch
   * @param anchors - per image, the anchors `[A, 4]`
   * @param matchedIdxs - per image, each anchor's matched box, int32 `[A]` (a {@link Matcher}'s codes)
   */
  computeLoss(targets: readonly DetectionTarget[], headOutputs: RetinaNetHeadOutputs, anchors: readonly Tensor[], matchedIdxs: readonly Tensor[]): RetinaNetLosses {
    if (typeof headOutputs !== 'object' || headOutputs === null) throw new ArgumentError(`RetinaNetHead.computeLoss: expected headOutputs to be { cls_logits, bbox_regression }, got ${describe(headOutputs)}`);
    return {
      classification: this.#classificationHead.computeLoss(targets, headOutputs.cls_logits, matchedIdxs),
      bbox_regression: this.#regressionHead.computeLoss(targets, headOutputs.bbox_regression, anchors, matchedIdxs),
    };
  }
}
