/**
 * The RoI heads of Faster and Mask R-CNN, as torchvision.models.detection.roi_heads
 * (0.14): `fastrcnnLoss` and `RoIHeads`, which pools each proposal's features, runs the box
 * head and predictor, and either assigns and samples training targets and returns the two
 * losses (training) or turns the predictions into per-image detections (eval); with a mask
 * branch (Mask R-CNN) also the mask loss or the detections' masks (the branch's functions
 * are in mask_branch.ts). The keypoint branch of Keypoint R-CNN is not part of it.
 *
 * Host reads are only the ones a result's shape depends on: in eval one per image, NMS's
 * keep mask (torchvision reads three times per image: the score filter, remove_small_boxes
 * and NMS); in training one for the batch, the sampled proposals (torchvision's torch.where
 * reads once per image), and with a mask branch one more, the positive proposals. The
 * poolers read the boxes' pyramid levels besides.
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../../errors.js';
import { batchedNms, boxIou, clipBoxesToImage } from '../../ops/boxes.js';
import { where } from '../../ops/compare.js';
import { minimum } from '../../ops/elementwise.js';
import { gather, indexSelect } from '../../ops/indexing.js';
import { cat, split } from '../../ops/shape.js';
import { softmax } from '../../ops/softmax.js';
import { clamp } from '../../ops/statistics.js';
import { checkDTypeIn, checkInRange, checkInt, checkSameDevice, checkTensor } from '../../ops/validate.js';
import { crossEntropy } from '../../losses/classification.js';
import { smoothL1Loss } from '../../losses/regression.js';
import { Module } from '../../nn/module.js';
import { arange, fromTypedArray, zeros } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BalancedPositiveNegativeSampler } from '../../vision/balanced_sampler.js';
import { BoxCoder, type BoxCoderWeights } from '../../vision/box_coder.js';
import { Matcher } from '../../vision/matcher.js';
import type { ImageSize } from '../../vision/image_list.js';
import type { MultiScaleRoIAlign } from '../../vision/poolers.js';
import { maskrcnnInference, maskrcnnLoss } from './mask_branch.js';

/** The mask branch of {@link RoIHeads} (Mask R-CNN), as torchvision's `mask_roi_pool`, `mask_head`, `mask_predictor`. */
export interface MaskBranch {
  /** Pools `[K, C, S, S]` features for boxes, e.g. MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2). */
  maskRoiPool: MultiScaleRoIAlign;
  /** Features per RoI, e.g. {@link MaskRCNNHeads}. */
  maskHead: Module<[Tensor], Tensor>;
  /** Mask logits `[K, numClasses, M, M]` per RoI, e.g. {@link MaskRCNNPredictor}. */
  maskPredictor: Module<[Tensor], Tensor>;
}

/** Options of {@link RoIHeads}; the defaults are torchvision's FasterRCNN's. */
export interface RoIHeadsOptions {
  /** IoU with a ground truth at or above which a proposal is foreground (default 0.5). */
  fgIouThresh?: number;
  /** IoU below which a proposal is background; between the two it is ignored (default 0.5). */
  bgIouThresh?: number;
  /** Proposals sampled per image for the losses (default 512). */
  batchSizePerImage?: number;
  /** The share of foreground among them at most (default 0.25). */
  positiveFraction?: number;
  /** The box coder's weights `[wx, wy, ww, wh]` (default `[10, 10, 5, 5]`). */
  bboxRegWeights?: BoxCoderWeights;
  /** Detections must score above this (default 0.05). */
  scoreThresh?: number;
  /** The IoU above which NMS suppresses a detection of the same class (default 0.5). */
  nmsThresh?: number;
  /** Detections kept per image, the highest-scoring (default 100). */
  detectionsPerImg?: number;
  /** A mask branch (Mask R-CNN): its pooler, head and predictor (default none: boxes only). */
  mask?: MaskBranch;
}

/** The training batch {@link RoIHeads.selectTrainingSamples} picks, per image. */
export interface TrainingSamples {
  /** The sampled proposals `[S_i, 4]` (proposals and ground-truth boxes), in index order. */
  proposals: Array<Tensor<'float32'>>;
  /** Each sampled proposal's ground truth (int32 `[S_i]`; 0 for background proposals, as torchvision). */
  matchedIdxs: Array<Tensor<'int32'>>;
  /** Each sampled proposal's class (int32 `[S_i]`; 0 background). */
  labels: Array<Tensor<'int32'>>;
  /** The deltas `[S_i, 4]` from each sampled proposal to its ground truth. */
  regressionTargets: Array<Tensor<'float32'>>;
}

/** What {@link RoIHeads} returns: detections (eval) and losses (training); the other is empty. */
type RoIHeadsOutput = [detections: Detection[], losses: Record<string, Tensor>];

/**
 * The loss of Fast R-CNN, as torchvision's `fastrcnn_loss`: cross entropy of `classLogits`
 * `[N, C]` against `labels` (int32, one `[N_i]` tensor per image, N = sum N_i), and smooth L1
 * (beta 1/9, summed) between the foreground proposals' deltas of their own class, taken
 * from `boxRegression` `[N, C * 4]`, and `regressionTargets` (one `[N_i, 4]` per image),
 * divided by N. Returns `[classificationLoss, boxLoss]`, both scalars.
 *
 * @example
 * const [lossClassifier, lossBoxReg] = fastrcnnLoss(classLogits, boxRegression, labels, regressionTargets);
 * lossClassifier.add(lossBoxReg).backward();
 */
export function fastrcnnLoss(classLogits: Tensor, boxRegression: Tensor, labels: readonly Tensor[], regressionTargets: readonly Tensor[]): [classificationLoss: Tensor<'float32'>, boxLoss: Tensor<'float32'>] {
  const op = 'fastrcnnLoss';
  const logits = checkTensor(op, 'classLogits', classLogits);
  checkDTypeIn(op, 'classLogits', logits, ['float32']);
  if (logits.ndim !== 2) throw new ShapeError(`${op}: expected classLogits of shape [N, numClasses], got [${logits.shape.join(', ')}]`);
  const [n, classes] = logits.shape as [number, number];
  const regression = checkTensor(op, 'boxRegression', boxRegression);
  checkDTypeIn(op, 'boxRegression', regression, ['float32']);
  if (regression.ndim !== 2 || regression.shape[0] !== n || regression.shape[1] !== classes * 4) {
    throw new ShapeError(`${op}: expected boxRegression of shape [${n}, ${classes * 4}] (4 deltas per class), got [${regression.shape.join(', ')}]`);
  }
  const labelList = checkList(op, 'labels', labels);
  const targetList = checkList(op, 'regressionTargets', regressionTargets);
  if (targetList.length !== labelList.length) throw new ArgumentError(`${op}: expected one regressionTargets tensor per labels tensor (${labelList.length}), got ${targetList.length}`);
  labelList.forEach((l, i) => {
    checkDTypeIn(op, `labels[${i}]`, l, ['int32']);
    if (l.ndim !== 1) throw new ShapeError(`${op}: expected labels[${i}] of shape [N_i], got [${l.shape.join(', ')}]`);
  });
  targetList.forEach((t, i) => {
    checkDTypeIn(op, `regressionTargets[${i}]`, t, ['float32']);
    if (t.ndim !== 2 || t.shape[0] !== labelList[i]!.shape[0] || t.shape[1] !== 4) {
      throw new ShapeError(`${op}: expected regressionTargets[${i}] of shape [${labelList[i]!.shape[0]}, 4] like labels[${i}], got [${t.shape.join(', ')}]`);
    }
  });
  const total = labelList.reduce((sum, l) => sum + l.shape[0]!, 0);
  if (total !== n) throw new ShapeError(`${op}: expected labels to hold one label per row of classLogits (${n}), got ${total}`);
  checkSameDevice(op, { classLogits: logits, boxRegression: regression, labels: labelList[0]!, regressionTargets: targetList[0]! });

  return scope(() => {
    const allLabels = cat(labelList, 0);
    const allTargets = cat(targetList, 0);
    const classificationLoss = crossEntropy(logits, allLabels);
    // torchvision indexes the foreground rows (torch.where: a host read). Here each row's
    // deltas of its own class are gathered on the device and the background rows' losses
    // masked to 0, which sums to the same.
    const ownClass = clamp(allLabels, 0).reshape(n, 1, 1).expand(n, 1, 4).contiguous();
    const ownDeltas = gather(regression.reshape(n, classes, 4), 1, ownClass).reshape(n, 4);
    const perValue = smoothL1Loss(ownDeltas, allTargets, { beta: 1 / 9, reduction: 'none' });
    const boxLoss = where(allLabels.gt(0).unsqueeze(1), perValue, 0).sum().div(n);
    return [classificationLoss, boxLoss as Tensor<'float32'>];
  });
}

/**
 * Each image's sampled positions (int32, ascending) from the sampler's masks of all images
 * end to end (`counts` proposals each). Which proposals were sampled sets the training
 * batch's shape, so the masks are read back: once for the whole batch, where torchvision's
 * torch.where reads once per image.
 */
function sampledIndices(masks: Tensor, counts: readonly number[]): Array<Tensor<'int32'>> {
  const flags = masks.dataSync();
  let offset = 0;
  return counts.map((n) => {
    const positions: number[] = [];
    for (let j = 0; j < n; ++j) if (flags[offset + j]) positions.push(j);
    offset += n;
    return fromTypedArray(Int32Array.from(positions), [positions.length], { device: masks.device });
  });
}

/** A non-empty array of tensors, checked. */
function checkList(op: string, name: string, value: unknown): Tensor[] {
  if (!Array.isArray(value) || value.length === 0) throw new ArgumentError(`${op}: expected ${name} to be a non-empty array of tensors (one per image), got ${describe(value)}`);
  return value.map((t, i) => checkTensor(op, `${name}[${i}]`, t));
}

/**
 * The second stage of Faster and Mask R-CNN, as torchvision's `RoIHeads(box_roi_pool,
 * box_head, box_predictor, ..., mask_roi_pool, mask_head, mask_predictor)`.
 * `call(features, proposals, imageShapes, targets?)` pools
 * the proposals' features with `boxRoiPool`, runs `boxHead` and `boxPredictor`, and returns
 * `[detections, losses]`:
 *
 * - training (`train()`, the default): `targets` is required. The ground-truth boxes are
 *   added to each image's proposals, every proposal gets the ground truth it overlaps best
 *   (IoU >= fgIouThresh: its class; below bgIouThresh: background 0; between: ignored), the
 *   sampler picks `batchSizePerImage` of them (at most `positiveFraction` foreground), and
 *   the losses `{ loss_classifier, loss_box_reg }` of {@link fastrcnnLoss} come back with no
 *   detections.
 * - eval (`eval()`): the detections of each image ({@link RoIHeads.postprocessDetections})
 *   and no losses.
 *
 * With a mask branch (`opts.mask`, Mask R-CNN), the sampled foreground proposals in training
 * are pooled with `maskRoiPool` through `maskHead` and `maskPredictor`, and
 * {@link maskrcnnLoss} against the targets' `masks` adds `loss_mask`; in eval the detections'
 * boxes are, and each detection gets `masks` `[D, 1, M, M]`, the sigmoid of its class's
 * mask logits ({@link maskrcnnInference}).
 *
 * Children are registered under torchvision's names (`box_roi_pool`, `box_head`,
 * `box_predictor`, and `mask_roi_pool`, `mask_head`, `mask_predictor`), so a torchvision
 * Faster or Mask R-CNN's `roi_heads.*` state dict loads. Labels are int32 where
 * torchvision's are int64.
 *
 * @example
 * const heads = new RoIHeads(new vision.MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2),
 *   new TwoMLPHead(256 * 7 * 7, 1024), new FastRCNNPredictor(1024, 91));
 * const [, losses] = heads.call(features, proposals, imageShapes, targets); // training
 * heads.eval();
 * const [detections] = heads.call(features, proposals, imageShapes); // [{ boxes, scores, labels }] per image
 */
export class RoIHeads extends Module<
  [features: ReadonlyMap<string, Tensor>, proposals: readonly Tensor[], imageShapes: readonly ImageSize[], targets?: readonly DetectionTarget[]],
  [Detection[], Record<string, Tensor>]
> {
  readonly #boxRoiPool: MultiScaleRoIAlign;
  readonly #boxHead: Module<[Tensor], Tensor>;
  readonly #boxPredictor: Module<[Tensor], [Tensor, Tensor]>;
  readonly #mask: MaskBranch | null;
  /** Assigns each proposal its ground truth (no low-quality matches, as torchvision). */
  readonly proposalMatcher: Matcher;
  /** Picks each image's training proposals. */
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  /** Encodes regression targets and decodes predictions. */
  readonly boxCoder: BoxCoder;
  /** Detections must score above this. */
  readonly scoreThresh: number;
  /** NMS's IoU threshold (per class). */
  readonly nmsThresh: number;
  /** Detections kept per image. */
  readonly detectionsPerImg: number;

  /**
   * @param boxRoiPool - pools `[K, C, H, W]` features for the proposals
   * @param boxHead - features per RoI, e.g. {@link TwoMLPHead}
   * @param boxPredictor - class logits `[K, numClasses]` and deltas `[K, numClasses * 4]`, e.g. {@link FastRCNNPredictor}
   * @param opts - thresholds and sizes (see {@link RoIHeadsOptions}; ArgumentError when out of range)
   */
  constructor(boxRoiPool: MultiScaleRoIAlign, boxHead: Module<[Tensor], Tensor>, boxPredictor: Module<[Tensor], [Tensor, Tensor]>, opts: RoIHeadsOptions = {}) {
    super();
    const op = 'RoIHeads';
    for (const [name, value] of [['boxRoiPool', boxRoiPool], ['boxHead', boxHead], ['boxPredictor', boxPredictor]] as const) {
      if (!(value instanceof Module)) throw new ArgumentError(`${op}: expected ${name} to be a Module, got ${describe(value)}`);
    }
    this.proposalMatcher = new Matcher(opts.fgIouThresh ?? 0.5, opts.bgIouThresh ?? 0.5, { allowLowQualityMatches: false });
    this.fgBgSampler = new BalancedPositiveNegativeSampler(opts.batchSizePerImage ?? 512, opts.positiveFraction ?? 0.25);
    this.boxCoder = new BoxCoder(opts.bboxRegWeights ?? [10, 10, 5, 5]);
    this.scoreThresh = opts.scoreThresh ?? 0.05;
    if (typeof this.scoreThresh !== 'number' || Number.isNaN(this.scoreThresh)) throw new ArgumentError(`${op}: expected scoreThresh to be a number, got ${describe(this.scoreThresh)}`);
    this.nmsThresh = checkInRange(op, 'nmsThresh', opts.nmsThresh ?? 0.5, 0, 1);
    this.detectionsPerImg = checkInt(op, 'detectionsPerImg', opts.detectionsPerImg ?? 100, 0);
    // Registered under torchvision's names, so that its checkpoints load.
    this.#boxRoiPool = boxRoiPool;
    this.#boxHead = boxHead;
    this.#boxPredictor = boxPredictor;
    this.registerModule('box_roi_pool', boxRoiPool);
    this.registerModule('box_head', boxHead);
    this.registerModule('box_predictor', boxPredictor);
    this.#mask = opts.mask === undefined ? null : checkMaskBranch(op, opts.mask);
    if (this.#mask) {
      this.registerModule('mask_roi_pool', this.#mask.maskRoiPool);
      this.registerModule('mask_head', this.#mask.maskHead);
      this.registerModule('mask_predictor', this.#mask.maskPredictor);
    }
  }

  /** Whether it has a mask branch (torchvision's `has_mask()`). */
  get hasMask(): boolean {
    return this.#mask !== null;
  }

  /** The mask branch's pooler, head and predictor (`mask_roi_pool`, `mask_head`, `mask_predictor`), or null. */
  get mask(): MaskBranch | null {
    return this.#mask;
  }

  /** The RoI pooler (`box_roi_pool`). */
  get boxRoiPool(): MultiScaleRoIAlign {
    return this.#boxRoiPool;
  }

  /** The box head (`box_head`). */
  get boxHead(): Module<[Tensor], Tensor> {
    return this.#boxHead;
  }

  /** The box predictor (`box_predictor`). */
  get boxPredictor(): Module<[Tensor], [Tensor, Tensor]> {
    return this.#boxPredictor;
  }

  forward(
    features: ReadonlyMap<string, Tensor>,
    proposals: readonly Tensor[],
    imageShapes: readonly ImageSize[],
    targets?: readonly DetectionTarget[],
  ): RoIHeadsOutput {
    const op = 'RoIHeads.forward';
    if (features === null || typeof features !== 'object' || typeof (features as { get?: unknown }).get !== 'function') {
      throw new ArgumentError(`${op}: expected features to be a Map of feature-map names to tensors, got ${describe(features)}`);
    }
    const boxes = checkProposals(op, proposals);
    checkImageSizes(op, imageShapes, boxes.length);
    if (targets !== undefined) checkTargets(op, targets, boxes, this.training && this.#mask !== null);
    if (this.training) {
      if (targets === undefined) throw new ArgumentError(`${op}: expected targets (one { boxes, labels } per image) in training mode, got undefined: call eval() for detections`);
      return scope(() => {
        const samples = this.#select(boxes, targets);
        const [classLogits, boxRegression] = this.#predict(features, samples.proposals, imageShapes);
        const [lossClassifier, lossBoxReg] = fastrcnnLoss(classLogits, boxRegression, samples.labels, samples.regressionTargets);
        const losses: Record<string, Tensor> = { loss_classifier: lossClassifier, loss_box_reg: lossBoxReg };
        if (this.#mask) losses.loss_mask = this.#maskLoss(this.#mask, features, samples, imageShapes, targets);
        return [[], losses];
      });
    }
    return scope(() => {
      const [classLogits, boxRegression] = this.#predict(features, boxes, imageShapes);
      const detections = this.#postprocess(op, classLogits, boxRegression, boxes, imageShapes);
      if (this.#mask) {
        const logits = maskLogitsOf(this.#mask, features, detections.map((d) => d.boxes), imageShapes);
        maskrcnnInference(logits, detections.map((d) => d.labels)).forEach((masks, i) => (detections[i]!.masks = masks));
      }
      return [detections, {}];
    });
  }

  /**
   * `loss_mask`, as torchvision's training path of the mask branch: the sampled foreground
   * proposals (one host read for the batch: they set the pooled batch's size; torchvision's
   * torch.where reads once per image) and their ground truths' masks and classes.
   */
  #maskLoss(mask: MaskBranch, features: ReadonlyMap<string, Tensor>, samples: TrainingSamples, imageShapes: readonly ImageSize[], targets: readonly DetectionTarget[]): Tensor {
    const positives = noGrad(() => sampledIndices(cat(samples.labels.map((l) => l.gt(0)), 0), samples.labels.map((l) => l.shape[0]!)));
    const proposals = positives.map((index, i) => indexSelect(samples.proposals[i]!, 0, index));
    const matchedIdxs = positives.map((index, i) => indexSelect(samples.matchedIdxs[i]!, 0, index));
    const logits = maskLogitsOf(mask, features, proposals, imageShapes);
    return maskrcnnLoss(logits, proposals, targets.map((t) => t.masks!), targets.map((t) => t.labels), matchedIdxs);
  }

  /** Pooler, box head and predictor: `[classLogits, boxRegression]` for the proposals of every image. */
  #predict(features: ReadonlyMap<string, Tensor>, proposals: readonly Tensor[], imageShapes: readonly ImageSize[]): [Tensor, Tensor] {
    const pooled = this.#boxRoiPool.call(features, proposals, imageShapes);
    return this.#boxPredictor.call(this.#boxHead.call(pooled));
  }

  /**
   * The training batch, as torchvision's `select_training_samples`: adds each image's
   * ground-truth boxes to its proposals, assigns each proposal a ground truth and a class
   * (background 0, ignored -1), samples with `fgBgSampler` and encodes the regression
   * targets. Without gradient.
   *
   * @example
   * const { proposals, labels, regressionTargets } = heads.selectTrainingSamples(proposals, targets);
   */
  selectTrainingSamples(proposals: readonly Tensor[], targets: readonly DetectionTarget[]): TrainingSamples {
    const op = 'RoIHeads.selectTrainingSamples';
    const boxes = checkProposals(op, proposals);
    checkTargets(op, targets, boxes);
    return this.#select(boxes, targets);
  }

  #select(proposals: ReadonlyArray<Tensor<'float32'>>, targets: readonly DetectionTarget[]): TrainingSamples {
    return scope(() =>
      noGrad(() => {
        const withGt = proposals.map((p, i) => cat([p, targets[i]!.boxes as Tensor<'float32'>], 0));
        const assigned = withGt.map((p, i) => this.#assign(p, targets[i]!));
        const { positive, negative } = this.fgBgSampler.call(assigned.map((a) => a.labels));
        const indices = sampledIndices(cat(positive.map((p, i) => p.add(negative[i]!)), 0), withGt.map((p) => p.shape[0]!));
        const samples = withGt.map((p, i) => {
          const index = indices[i]!;
          const matchedIdxs = indexSelect(assigned[i]!.matchedIdxs, 0, index);
          const gt = targets[i]!.boxes.shape[0] === 0 ? zeros([1, 4], { device: p.device }) : (targets[i]!.boxes as Tensor<'float32'>);
          return { proposals: indexSelect(p, 0, index), matchedIdxs, labels: indexSelect(assigned[i]!.labels, 0, index), matchedGt: indexSelect(gt, 0, matchedIdxs) };
        });
        const sampled = samples.map((s) => s.proposals);
        return {
          proposals: sampled,
          matchedIdxs: samples.map((s) => s.matchedIdxs),
          labels: samples.map((s) => s.labels),
          regressionTargets: this.boxCoder.encode(samples.map((s) => s.matchedGt), sampled),
        };
      }),
    );
  }

  /** One image's matched ground truth (clamped to >= 0) and class (0 background, -1 ignored) per proposal, as torchvision's `assign_targets_to_proposals`. */
  #assign(proposals: Tensor<'float32'>, target: DetectionTarget): { matchedIdxs: Tensor<'int32'>; labels: Tensor<'int32'> } {
    const n = proposals.shape[0]!;
    const device = proposals.device;
    if (target.boxes.shape[0] === 0) return { matchedIdxs: zeros([n], { dtype: 'int32', device }), labels: zeros([n], { dtype: 'int32', device }) };
    const matches = this.proposalMatcher.call(boxIou(target.boxes, proposals));
    const matchedIdxs = clamp(matches, 0);
    const classes = indexSelect(target.labels as Tensor<'int32'>, 0, matchedIdxs);
    const labels = where(matches.eq(Matcher.BELOW_LOW_THRESHOLD), 0, where(matches.eq(Matcher.BETWEEN_THRESHOLDS), -1, classes));
    return { matchedIdxs, labels };
  }

  /**
   * Detections from the predictions, as torchvision's `postprocess_detections`:
   * `classLogits` `[K, C]` and `boxRegression` `[K, C * 4]` for the `proposals` of every
   * image (K = sum K_i). Per image: softmax scores, boxes decoded per class and clipped to
   * the image, the background class dropped, then the (box, class) pairs that score above
   * `scoreThresh` with both sides >= 1e-2 px go through NMS per class (IoU `nmsThresh`),
   * and the `detectionsPerImg` best are kept, by decreasing score. The score and size
   * filters stay on the device (they only mask NMS's candidates); NMS reads its keep mask
   * back, once per image, as the result's size depends on it.
   *
   * @example
   * const detections = heads.postprocessDetections(classLogits, boxRegression, proposals, imageShapes);
   */
  postprocessDetections(classLogits: Tensor, boxRegression: Tensor, proposals: readonly Tensor[], imageShapes: readonly ImageSize[]): Detection[] {
    const op = 'RoIHeads.postprocessDetections';
    const boxes = checkProposals(op, proposals);
    checkImageSizes(op, imageShapes, boxes.length);
    return scope(() => this.#postprocess(op, classLogits, boxRegression, boxes, imageShapes));
  }

  #postprocess(op: string, classLogits: Tensor, boxRegression: Tensor, proposals: ReadonlyArray<Tensor<'float32'>>, imageShapes: readonly ImageSize[]): Detection[] {
    const logits = checkTensor(op, 'classLogits', classLogits);
    checkDTypeIn(op, 'classLogits', logits, ['float32']);
    const counts = proposals.map((p) => p.shape[0]!);
    const k = counts.reduce((a, b) => a + b, 0);
    if (logits.ndim !== 2 || logits.shape[0] !== k || logits.shape[1]! < 1) {
      throw new ShapeError(`${op}: expected classLogits of shape [${k}, numClasses] for ${k} proposals, got [${logits.shape.join(', ')}]`);
    }
    const classes = logits.shape[1]!;
    const regression = checkTensor(op, 'boxRegression', boxRegression);
    if (regression.ndim !== 2 || regression.shape[0] !== k || regression.shape[1] !== classes * 4) {
      throw new ShapeError(`${op}: expected boxRegression of shape [${k}, ${classes * 4}] (4 deltas per class), got [${regression.shape.join(', ')}]`);
    }
    const predBoxes = split(this.boxCoder.decode(regression, proposals), counts, 0);
    const predScores = split(softmax(logits, -1), counts, 0);
    return predBoxes.map((b, i) => this.#detectImage(b, predScores[i]!, imageShapes[i]!));
  }

  /** One image's detections from its decoded boxes `[K, C, 4]` and scores `[K, C]`. */
  #detectImage(boxes: Tensor<'float32'>, scores: Tensor<'float32'>, imageShape: ImageSize): Detection {
    const [k, classes] = scores.shape as [number, number];
    const device = scores.device;
    const clipped = clipBoxesToImage(boxes, [imageShape[0], imageShape[1]]);
    const labels = arange(classes, { dtype: 'int32', device }).reshape(1, classes).expand(k, classes);
    // Every (box, class) pair but the background's becomes a candidate of its own.
    const candidateBoxes = clipped.slice(1, 1).reshape(-1, 4);
    const candidateScores = scores.slice(1, 1).reshape(-1);
    const candidateLabels = labels.slice(1, 1).reshape(-1);
    // torchvision drops the pairs scoring <= scoreThresh, then the boxes with a side under
    // 1e-2 px, each a host read. Here both only mask the candidates: those that fail get
    // score -1, below NMS's score threshold of 0, which every softmax score (>= 0) of the
    // others passes; NMS works on the rest alone, and its keep mask is the one read.
    const sides = minimum(candidateBoxes.slice(1, 2, 3).sub(candidateBoxes.slice(1, 0, 1)), candidateBoxes.slice(1, 3, 4).sub(candidateBoxes.slice(1, 1, 2))).reshape(-1);
    const candidate = where(candidateScores.gt(this.scoreThresh), sides.ge(1e-2), 0);
    const ranked = where(candidate, candidateScores, -1);
    const keep = batchedNms(candidateBoxes, ranked, candidateLabels, this.nmsThresh, { scoreThreshold: 0, maxDetections: this.detectionsPerImg });
    return {
      boxes: indexSelect(candidateBoxes, 0, keep),
      scores: indexSelect(candidateScores, 0, keep),
      labels: indexSelect(candidateLabels, 0, keep),
    };
  }

  override extraRepr(): string {
    return `scoreThresh=${this.scoreThresh}, nmsThresh=${this.nmsThresh}, detectionsPerImg=${this.detectionsPerImg}`;
  }
}

/** Each image's proposals, float32 `[K_i, 4]` on one device, checked. */
function checkProposals(op: string, proposals: unknown): Array<Tensor<'float32'>> {
  const list = checkList(op, 'proposals', proposals);
  list.forEach((p, i) => {
    checkDTypeIn(op, `proposals[${i}]`, p, ['float32']);
    if (p.ndim !== 2 || p.shape[1] !== 4) throw new ShapeError(`${op}: expected proposals[${i}] of shape [K, 4], got [${p.shape.join(', ')}]`);
    checkSameDevice(op, { 'proposals[0]': list[0]!, [`proposals[${i}]`]: p });
  });
  return list as Array<Tensor<'float32'>>;
}

/** One `[height, width]` per image, positive finite numbers. */
function checkImageSizes(op: string, imageShapes: unknown, images: number): void {
  if (!Array.isArray(imageShapes) || imageShapes.length !== images) {
    throw new ArgumentError(`${op}: expected imageShapes to hold one [height, width] per image (${images}), got ${describe(imageShapes)}`);
  }
  imageShapes.forEach((s: unknown, i) => {
    if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
      throw new ArgumentError(`${op}: expected imageShapes[${i}] to be [height, width], two positive numbers, got ${describe(s)}`);
    }
  });
}

/** The mask logits `[K, numClasses, M, M]` of the boxes of every image, through the mask branch. */
function maskLogitsOf(mask: MaskBranch, features: ReadonlyMap<string, Tensor>, boxes: readonly Tensor[], imageShapes: readonly ImageSize[]): Tensor {
  return mask.maskPredictor.call(mask.maskHead.call(mask.maskRoiPool.call(features, boxes, imageShapes)));
}

/** A mask branch of three modules, checked. */
function checkMaskBranch(op: string, mask: unknown): MaskBranch {
  if (mask === null || typeof mask !== 'object') throw new ArgumentError(`${op}: expected mask to be { maskRoiPool, maskHead, maskPredictor }, got ${describe(mask)}`);
  const branch = mask as Partial<MaskBranch>;
  for (const name of ['maskRoiPool', 'maskHead', 'maskPredictor'] as const) {
    if (!(branch[name] instanceof Module)) throw new ArgumentError(`${op}: expected mask.${name} to be a Module, got ${describe(branch[name])}`);
  }
  return branch as MaskBranch;
}

/**
 * One `{ boxes [G, 4] float32, labels [G] int32 }` per image, on the proposals' device; with
 * `needMasks` also `masks [G, H, W]` (uint8, bool or float32).
 */
function checkTargets(op: string, targets: unknown, proposals: ReadonlyArray<Tensor<'float32'>>, needMasks = false): void {
  if (!Array.isArray(targets) || targets.length !== proposals.length) {
    throw new ArgumentError(`${op}: expected targets to hold one { boxes, labels } per image (${proposals.length}), got ${describe(targets)}`);
  }
  targets.forEach((t: unknown, i) => {
    if (t === null || typeof t !== 'object') throw new ArgumentError(`${op}: expected targets[${i}] to be { boxes, labels }, got ${describe(t)}`);
    const { boxes, labels } = t as { boxes?: unknown; labels?: unknown };
    const b = checkTensor(op, `targets[${i}].boxes`, boxes);
    const l = checkTensor(op, `targets[${i}].labels`, labels);
    // torchvision raises TypeError for non-float boxes and non-int64 labels.
    if (b.dtype !== 'float32') throw new DTypeError(`${op}: expected targets[${i}].boxes to have dtype float32, got ${b.dtype}`);
    if (l.dtype !== 'int32') throw new DTypeError(`${op}: expected targets[${i}].labels to have dtype int32, got ${l.dtype}`);
    if (b.ndim !== 2 || b.shape[1] !== 4) throw new ShapeError(`${op}: expected targets[${i}].boxes of shape [G, 4], got [${b.shape.join(', ')}]`);
    if (l.ndim !== 1 || l.shape[0] !== b.shape[0]) throw new ShapeError(`${op}: expected targets[${i}].labels of shape [${b.shape[0]}] like its boxes, got [${l.shape.join(', ')}]`);
    checkSameDevice(op, { [`proposals[${i}]`]: proposals[i]!, [`targets[${i}].boxes`]: b, [`targets[${i}].labels`]: l });
    if (!needMasks) return;
    const masks = (t as { masks?: unknown }).masks;
    if (masks === undefined) throw new ArgumentError(`${op}: expected targets[${i}].masks (instance masks [G, H, W]) in training with a mask branch, got undefined`);
    const m = checkTensor(op, `targets[${i}].masks`, masks);
    checkDTypeIn(op, `targets[${i}].masks`, m, ['uint8', 'bool', 'float32']);
    if (m.ndim !== 3 || m.shape[0] !== b.shape[0]) throw new ShapeError(`${op}: expected targets[${i}].masks of shape [${b.shape[0]}, H, W] (one per box), got [${m.shape.join(', ')}]`);
    checkSameDevice(op, { [`proposals[${i}]`]: proposals[i]!, [`targets[${i}].masks`]: m });
  });
}
