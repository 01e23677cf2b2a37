/**
 * SSD (Liu et al. 2016, "SSD: Single Shot MultiBox Detector"), as
 * torchvision.models.detection.ssd (0.14): the one-stage detector SSD (a fixed-size transform
 * -> backbone -> head on every feature map -> default boxes; smooth-L1 box loss and cross
 * entropy with 3:1 hard-negative mining in training, per-class top-k, decoding and NMS in
 * eval) and the ssd300Vgg16 factory (torchvision's layout, so its COCO checkpoint, converted to
 * safetensors, loads as it is).
 *
 * Host reads: in training, the targets' boxes and labels (they come from the host); in eval,
 * one per image, NMS's keep list. torchvision reads per class besides (the score filter, the
 * top-k count) and indexes the foreground boxes per image: here those are masks on the device.
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../../errors.js';
import { crossEntropy } from '../../losses/classification.js';
import { smoothL1Loss } from '../../losses/regression.js';
import { Module } from '../../nn/module.js';
import { batchedNms, boxIou, clipBoxesToImage } from '../../ops/boxes.js';
import { where } from '../../ops/compare.js';
import { indexSelect } from '../../ops/indexing.js';
import { cat } from '../../ops/shape.js';
import { softmax } from '../../ops/softmax.js';
import { argsort, topk } from '../../ops/sort.js';
import { clamp } from '../../ops/statistics.js';
import { checkInRange, checkInt } from '../../ops/validate.js';
import { arange, full } from '../../tensor/creation.js';
import type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BoxCoder } from '../../vision/box_coder.js';
import { DefaultBoxGenerator } from '../../vision/default_box_generator.js';
import type { ImageList, ImageSize } from '../../vision/image_list.js';
import { SSDMatcher } from '../../vision/matcher.js';
import { checkTargets } from './generalized_rcnn.js';
import { SSDHead, SSDScoringHead, type SSDHeadOutputs } from './ssd_heads.js';
import { vgg16Features, vggExtractor } from './ssd_vgg.js';
import { GeneralizedRCNNTransform } from './transform.js';

/** A backbone that {@link SSD} accepts: images to named feature maps, with each map's channels (torchvision's `out_channels`). */
export type SSDBackbone = Module<[x: Tensor], Map<string, Tensor>> & { readonly outChannels: readonly number[] };

/** A head that {@link SSD} accepts: feature maps (one per level) to every default box's predictions. */
export type SSDHeadModule = Module<[features: readonly Tensor[]], SSDHeadOutputs>;

/** SSD's training losses, under torchvision's names. */
export interface SSDLosses {
  /** Smooth-L1 loss of the foreground boxes' deltas, summed over the batch, over the foreground count. */
  bbox_regression: Tensor<'float32'>;
  /** Cross entropy of the foreground boxes and the hardest negatives (3 per positive), summed over the batch, over the foreground count. */
  classification: Tensor<'float32'>;
}

/** Options of {@link SSD}: torchvision's keyword arguments in camelCase, with its defaults. */
export interface SSDOptions {
  /** Per-channel means subtracted (default ImageNet's [0.485, 0.456, 0.406]). */
  imageMean?: readonly number[];
  /** Per-channel standard deviations divided by (default ImageNet's [0.229, 0.224, 0.225]). */
  imageStd?: readonly number[];
  /** The head (default SSDHead(backbone.outChannels, boxes per cell, numClasses)). */
  head?: SSDHeadModule;
  /** Detections must score (softmax) above this (default 0.01). */
  scoreThresh?: number;
  /** The per-class NMS IoU threshold of the detections (default 0.45). */
  nmsThresh?: number;
  /** Detections kept per image (default 200). */
  detectionsPerImg?: number;
  /** IoU at or above which a default box is foreground (default 0.5; each box's best default box is foreground too). */
  iouThresh?: number;
  /** Candidates kept per class, by score, before NMS (default 400). */
  topkCandidates?: number;
  /** Share of positives among the classification loss's samples: negatives per positive are (1 - f) / f (default 0.25: 3). */
  positiveFraction?: number;
}

/** A number (not NaN), checked. */
function checkNumber(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ArgumentError(`${op}: expected ${name} to be a number, got ${describe(value)}`);
  return value;
}

/**
 * SSD, as torchvision's `SSD(backbone, anchor_generator, size, num_classes, **kwargs)`.
 * `backbone` returns named feature maps of `outChannels[k]` channels (one per level of
 * `anchorGenerator`); every image is resized to `size` = `[width, height]` (torchvision's
 * GeneralizedRCNNTransform with `fixed_size` and size_divisible 1); `numClasses` counts the
 * background (class 0), as torchvision's; give null only with `head`.
 *
 * - training (`train()`): `call(images, targets)` (or {@link SSD.losses}) returns
 *   {@link SSDLosses} `{ bbox_regression, classification }`: every default box is matched to
 *   the targets (IoU >= iouThresh, and each box's best default box, by {@link SSDMatcher});
 *   the smooth-L1 loss (beta 1) covers the matched boxes' deltas (BoxCoder weights 10, 10, 5,
 *   5), the cross entropy the positives and, per image, the 3 x (positive count) negatives of
 *   highest loss (hard-negative mining); both are summed over the batch and divided by the
 *   matched count. Nothing is drawn at random, so the losses are deterministic.
 * - eval (`eval()`): `call(images)` (or {@link SSD.detect}) returns one `{ boxes, labels,
 *   scores }` per image in the original image's pixels: per class but the background, the
 *   `topkCandidates` default boxes whose softmax score exceeds `scoreThresh`, decoded and
 *   clipped; then NMS per class, the best `detectionsPerImg`. Labels are int32 (torchvision:
 *   int64).
 *
 * `images` are `[C, H, W]` float32 tensors of any sizes (values in 0..1).
 *
 * @example
 * const model = models.detection.ssd300Vgg16({ numClasses: 21 });
 * const { bbox_regression, classification } = model.losses([image], [{ boxes, labels }]);
 * bbox_regression.add(classification).backward();
 */
export class SSD extends Module<[images: readonly Tensor[], targets?: readonly DetectionTarget[]], Detection[] | SSDLosses> {
  /** Matches default boxes to ground-truth boxes in training. */
  readonly proposalMatcher: SSDMatcher;
  /** Encodes and decodes the head's deltas against the default boxes (weights 10, 10, 5, 5, as torchvision's). */
  readonly boxCoder = new BoxCoder([10, 10, 5, 5]);
  /** Detections must score above this. */
  readonly scoreThresh: number;
  /** NMS's IoU threshold (per class). */
  readonly nmsThresh: number;
  /** Detections kept per image. */
  readonly detectionsPerImg: number;
  /** Candidates kept per class before NMS. */
  readonly topkCandidates: number;
  /** Hard negatives per positive in the classification loss. */
  readonly negToPosRatio: number;
  readonly #backbone: SSDBackbone;
  readonly #anchorGenerator: DefaultBoxGenerator;
  readonly #head: SSDHeadModule;
  readonly #transform: GeneralizedRCNNTransform;

  /**
   * @param backbone - image batch to named feature maps, with `outChannels` (one per level)
   * @param anchorGenerator - the default boxes, one level per feature map
   * @param size - `[width, height]` every image is resized to (positive integers)
   * @param numClasses - classes including the background (an integer >= 1), or null with `opts.head`
   * @param opts - see {@link SSDOptions} (ArgumentError when out of range)
   */
  constructor(backbone: SSDBackbone, anchorGenerator: DefaultBoxGenerator, size: readonly [number, number], numClasses: number | null, opts: SSDOptions = {}) {
    super();
    const op = 'SSD';
    const channels = (backbone as { outChannels?: unknown } | null)?.outChannels;
    if (!(backbone instanceof Module) || !(Array.isArray(channels) && channels.length > 0 && channels.every((c) => Number.isInteger(c) && c > 0))) {
      throw new ArgumentError(`${op}: expected backbone to be a Module with outChannels, a list of positive integers (each feature map's channels), got ${describe(backbone)}`);
    }
    if (!(anchorGenerator instanceof DefaultBoxGenerator)) throw new ArgumentError(`${op}: expected anchorGenerator to be a DefaultBoxGenerator, got ${describe(anchorGenerator)}`);
    if (!Array.isArray(size) || size.length !== 2 || size.some((v) => !Number.isInteger(v) || v < 1)) throw new ArgumentError(`${op}: expected size to be [width, height], positive integers, got ${describe(size)}`);
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected opts to be an options object, got ${describe(opts)}`);
    if (numClasses !== null && opts.head !== undefined) throw new ArgumentError(`${op}: numClasses should be null when head is given, got ${describe(numClasses)}`);
    if (numClasses === null && opts.head === undefined) throw new ArgumentError(`${op}: numClasses should be given when head is not, got null`);
    if (numClasses !== null) checkInt(op, 'numClasses', numClasses, 1);
    if (opts.head !== undefined && !(opts.head instanceof Module)) throw new ArgumentError(`${op}: expected head to be a Module (e.g. an SSDHead), got ${describe(opts.head)}`);
    if (opts.head === undefined && channels.length !== anchorGenerator.aspectRatios.length) {
      throw new ArgumentError(`${op}: expected the backbone's outChannels (${channels.length} feature maps) to match the anchor generator's aspect ratios (${anchorGenerator.aspectRatios.length} levels)`);
    }

    // The cheap parts first, so that a bad option throws before the head's weights are made.
    this.proposalMatcher = new SSDMatcher(checkInRange(op, 'iouThresh', opts.iouThresh ?? 0.5, 0, 1));
    this.scoreThresh = checkNumber(op, 'scoreThresh', opts.scoreThresh ?? 0.01);
    this.nmsThresh = checkInRange(op, 'nmsThresh', opts.nmsThresh ?? 0.45, 0, 1);
    this.detectionsPerImg = checkInt(op, 'detectionsPerImg', opts.detectionsPerImg ?? 200, 0);
    this.topkCandidates = checkInt(op, 'topkCandidates', opts.topkCandidates ?? 400, 0);
    const positiveFraction = checkNumber(op, 'positiveFraction', opts.positiveFraction ?? 0.25);
    if (!(positiveFraction > 0 && positiveFraction <= 1)) throw new ArgumentError(`${op}: expected positiveFraction in (0, 1], got ${positiveFraction}`);
    this.negToPosRatio = (1 - positiveFraction) / positiveFraction;
    const [width, height] = size;
    this.#transform = new GeneralizedRCNNTransform(Math.min(width, height), Math.max(width, height), opts.imageMean ?? [0.485, 0.456, 0.406], opts.imageStd ?? [0.229, 0.224, 0.225], {
      sizeDivisible: 1,
      fixedSize: [width, height],
    });
    this.#backbone = backbone;
    this.#anchorGenerator = anchorGenerator;
    this.#head = opts.head ?? new SSDHead(channels as number[], anchorGenerator.numAnchorsPerLocation(), numClasses!);
    this.registerModule('backbone', this.#backbone);
    this.registerModule('anchor_generator', this.#anchorGenerator);
    this.registerModule('head', this.#head);
    this.registerModule('transform', this.#transform);
  }

  /** The feature extractor (`backbone`). */
  get backbone(): SSDBackbone {
    return this.#backbone;
  }

  /** The default boxes per feature-map location (`anchor_generator`). */
  get anchorGenerator(): DefaultBoxGenerator {
    return this.#anchorGenerator;
  }

  /** The classification and regression head (`head`). */
  get head(): SSDHeadModule {
    return this.#head;
  }

  /** The input normalisation and fixed-size resizing (`transform`). */
  get transform(): GeneralizedRCNNTransform {
    return this.#transform;
  }

  forward(images: readonly Tensor[], targets?: readonly DetectionTarget[]): Detection[] | SSDLosses {
    return this.training ? this.#trainingLosses('SSD.forward', images, targets) : this.#detections(images);
  }

  /**
   * The training losses (training mode only; ArgumentError in eval mode or without targets).
   * @param images - `[C, H, W]` float32 images
   * @param targets - one `{ boxes [G, 4] float32, labels [G] int32 }` per image, in the image's pixels
   */
  losses(images: readonly Tensor[], targets: readonly DetectionTarget[]): SSDLosses {
    if (!this.training) throw new ArgumentError('SSD.losses: expected the model in training mode, got eval mode: call train() first, or detect() for detections');
    return this.call(images, targets) as SSDLosses;
  }

  /**
   * The detections per image, in the original images' pixels (eval mode only; ArgumentError in training mode).
   * @param images - `[C, H, W]` float32 images
   */
  detect(images: readonly Tensor[]): Detection[] {
    if (this.training) throw new ArgumentError('SSD.detect: expected the model in eval mode, got training mode: call eval() first, or losses() for the training losses');
    return this.call(images) as Detection[];
  }

  /** Backbone, head and default boxes of a transformed batch, the head's outputs checked against the boxes. */
  #run(op: string, batch: Tensor, imageList: ImageList): { headOutputs: SSDHeadOutputs; anchors: Array<Tensor<'float32'>> } {
    const features = [...this.#backbone.call(batch).values()];
    const headOutputs = this.#head.call(features);
    const anchors = this.#anchorGenerator.call(imageList, features);
    const numAnchors = anchors[0]!.shape[0]!;
    const { cls_logits: logits, bbox_regression: deltas } = headOutputs;
    if (logits.ndim !== 3 || logits.shape[1] !== numAnchors || deltas.shape.join(',') !== [logits.shape[0], numAnchors, 4].join(',')) {
      throw new ShapeError(`${op}: expected the head's cls_logits [N, ${numAnchors}, numClasses] and bbox_regression [N, ${numAnchors}, 4] (one row per default box), got [${logits.shape.join(', ')}] and [${deltas.shape.join(', ')}]`);
    }
    return { headOutputs, anchors };
  }

  #trainingLosses(op: string, images: readonly Tensor[], targets: readonly DetectionTarget[] | undefined): SSDLosses {
    if (targets === undefined) throw new ArgumentError(`${op}: expected targets (one { boxes, labels } per image) in training mode, got undefined: call eval() for detections`);
    checkTargets(op, targets);
    this.#checkLabels(op, targets);
    return scope(() => {
      const [imageList, transformed] = this.#transform.call(images, targets);
      const resizedTargets = transformed as DetectionTarget[];
      const { headOutputs, anchors } = this.#run(op, imageList.tensors, imageList);
      const matchedIdxs = noGrad(() =>
        anchors.map((anchorsPerImage, i) => {
          const boxes = resizedTargets[i]!.boxes;
          // An image without boxes: every default box is background (the matcher needs a box).
          if (boxes.shape[0] === 0) return full([anchorsPerImage.shape[0]!], SSDMatcher.BELOW_LOW_THRESHOLD, { dtype: 'int32', device: anchorsPerImage.device });
          return this.proposalMatcher.call(boxIou(boxes, anchorsPerImage));
        }),
      );
      return this.computeLoss(resizedTargets, headOutputs, anchors, matchedIdxs);
    });
  }

  /** Labels must be int32 in [0, numClasses) (cross entropy's classes). One read per image (the labels come from the host). */
  #checkLabels(op: string, targets: readonly DetectionTarget[]): void {
    // SSD's and SSDlite's heads hold their class logits' scoring head as `classificationHead`.
    const classificationHead = (this.#head as { classificationHead?: unknown }).classificationHead;
    const numClasses = classificationHead instanceof SSDScoringHead ? classificationHead.numColumns : null;
    targets.forEach(({ labels }, i) => {
      if (labels.dtype !== 'int32') throw new DTypeError(`${op}: expected targets[${i}].labels of dtype int32, got ${labels.dtype}`);
      if (numClasses === null) return;
      const bad = Array.from(labels.dataSync()).find((label) => !(label >= 0 && label < numClasses));
      if (bad !== undefined) throw new ArgumentError(`${op}: expected targets[${i}].labels in [0, ${numClasses}) (the head's numClasses), got ${bad}`);
    });
  }

  /**
   * The losses, as torchvision's `SSD.compute_loss(targets, head_outputs, anchors,
   * matched_idxs)`: per image, the smooth-L1 loss (beta 1, summed) of the matched default
   * boxes' deltas against their boxes' encodings; each default box's class target (its box's
   * label where matched, else 0); the cross entropy of every default box, of which the
   * positives (target > 0) count, and per image the `negToPosRatio` x (positive count)
   * others of highest loss (ranked by a stable sort, descending). Both sums over the batch
   * are divided by max(1, matched count).
   * @param targets - one `{ boxes [G, 4], labels [G] int32 }` per image (transformed)
   * @param headOutputs - the head's outputs for the batch
   * @param anchors - per image, the default boxes `[A, 4]`
   * @param matchedIdxs - per image, each default box's matched box, int32 `[A]` (a matcher's codes)
   */
  computeLoss(targets: readonly DetectionTarget[], headOutputs: SSDHeadOutputs, anchors: readonly Tensor[], matchedIdxs: readonly Tensor[]): SSDLosses {
    const op = 'SSD.computeLoss';
    const { bbox_regression: deltas, cls_logits: logits } = headOutputs;
    const [n, a, c] = logits.shape as [number, number, number];
    if (logits.ndim !== 3 || deltas.shape.join(',') !== [n, a, 4].join(',')) throw new ShapeError(`${op}: expected cls_logits [N, A, C] and bbox_regression [N, A, 4], got [${logits.shape.join(', ')}] and [${deltas.shape.join(', ')}]`);
    for (const [name, list] of [['targets', targets], ['anchors', anchors], ['matchedIdxs', matchedIdxs]] as const) {
      if (!Array.isArray(list) || list.length !== n) throw new ArgumentError(`${op}: expected ${name} to be an array of ${n} entries (one per image of the head outputs), got ${describe(list)}`);
    }
    anchors.forEach((anchor, i) => {
      if (anchor.ndim !== 2 || anchor.shape[0] !== a || anchor.shape[1] !== 4) throw new ShapeError(`${op}: expected anchors[${i}] of shape [${a}, 4], got [${anchor.shape.join(', ')}]`);
      const matched = matchedIdxs[i]!;
      if (matched.dtype !== 'int32' || matched.ndim !== 1 || matched.shape[0] !== a) throw new ShapeError(`${op}: expected matchedIdxs[${i}] int32 of shape [${a}] (one per default box), got ${matched.dtype} [${matched.shape.join(', ')}]`);
    });
    return scope(() => {
      const boxLosses: Tensor[] = [];
      const clsTargets: Tensor[] = [];
      const matchedCounts: Tensor[] = [];
      targets.forEach((target, i) => {
        const matched = matchedIdxs[i]!;
        const foreground = matched.ge(0);
        matchedCounts.push(foreground.to('float32').sum());
        if (target.boxes.shape[0] === 0) {
          // A zero still on the graph, as torchvision's sum over no rows (+ 0 turns a -0 into 0).
          boxLosses.push(deltas.slice(0, i, i + 1).sum().mul(0).add(0));
          clsTargets.push(full([a], 0, { dtype: 'int32', device: logits.device }));
          return;
        }
        const safeIdx = where(foreground, matched, 0);
        // torchvision indexes the foreground rows; here every row is encoded against a box
        // (the matched one, or box 0) and the background rows are masked out of the sum.
        const targetRegression = noGrad(() => this.boxCoder.encodeSingle(indexSelect(target.boxes, 0, safeIdx), anchors[i]!));
        const perCoordinate = smoothL1Loss(deltas.slice(0, i, i + 1).squeeze(0), targetRegression, { reduction: 'none' });
        boxLosses.push(where(foreground.unsqueeze(1), perCoordinate, 0).sum());
        clsTargets.push(where(foreground, indexSelect(target.labels, 0, safeIdx), 0));
      });
      const classTargets = clsTargets.length === 1 ? clsTargets[0]!.unsqueeze(0) : stackRows(clsTargets);
      const clsLoss = crossEntropy(logits.reshape(-1, c), classTargets.reshape(-1), { reduction: 'none' }).view(n, a);
      // Hard-negative mining: per image, the negToPosRatio x (positive count) background
      // boxes of highest loss. The rank of each box in a descending stable sort is the
      // inverse permutation of the sort's order (torchvision: idx.sort(1)[1]).
      const positive = classTargets.gt(0);
      const background = noGrad(() => {
        const numNegative = positive.to('float32').sum(1, { keepdim: true }).mul(this.negToPosRatio);
        const negativeLoss = where(positive, Number.NEGATIVE_INFINITY, clsLoss.detach());
        const rank = argsort(argsort(negativeLoss, 1, { descending: true }), 1);
        return rank.to('float32').lt(numNegative);
      });
      const numForeground = clamp(matchedCounts.reduce((x, y) => x.add(y)), 1);
      const classification = where(positive, clsLoss, 0).sum().add(where(background, clsLoss, 0).sum()).div(numForeground);
      const bboxRegression = boxLosses.reduce((x, y) => x.add(y)).div(numForeground);
      return { bbox_regression: bboxRegression as Tensor<'float32'>, classification: classification as Tensor<'float32'> };
    });
  }

  #detections(images: readonly Tensor[]): Detection[] {
    return scope(() => {
      const originalSizes = images.map((image): [number, number] => [image.shape[1]!, image.shape[2]!]);
      const [imageList] = this.#transform.call(images);
      const { headOutputs, anchors } = this.#run('SSD.forward', imageList.tensors, imageList);
      const detections = this.postprocessDetections(headOutputs, anchors, imageList.imageSizes);
      // A plain record per image (Detection is an interface, the transform takes any record of tensors).
      return this.#transform.postprocess(detections.map((d) => ({ boxes: d.boxes, labels: d.labels, scores: d.scores })), imageList.imageSizes, originalSizes) as Detection[];
    });
  }

  /**
   * The detections of each image in the transformed image's pixels, as torchvision's
   * `postprocess_detections(head_outputs, image_anchors, image_shapes)`: every default box's
   * deltas decoded and clipped to the image, its softmax scores; per class but the background,
   * the `topkCandidates` boxes scoring above `scoreThresh`; then NMS per class at
   * `nmsThresh`, the best `detectionsPerImg`. torchvision reads the score filter's count per
   * class; here the boxes that fail it rank last in the top-k and are dropped by NMS's score
   * threshold, so NMS's keep list is the one read per image.
   * @param headOutputs - the head's outputs `[N, A, ...]`
   * @param anchors - per image, the default boxes `[A, 4]`
   * @param imageShapes - per image, its `[height, width]` in the batch
   */
  postprocessDetections(headOutputs: SSDHeadOutputs, anchors: readonly Tensor[], imageShapes: readonly ImageSize[]): Detection[] {
    const op = 'SSD.postprocessDetections';
    const { bbox_regression: deltas, cls_logits: logits } = headOutputs;
    if (!Array.isArray(anchors) || anchors.length !== imageShapes.length) throw new ArgumentError(`${op}: expected anchors to be an array of one [A, 4] tensor per image (${imageShapes.length}), got ${describe(anchors)}`);
    const [n, a, c] = logits.shape as [number, number, number];
    if (logits.ndim !== 3 || n !== imageShapes.length || deltas.shape.join(',') !== [n, a, 4].join(',')) {
      throw new ShapeError(`${op}: expected cls_logits [${imageShapes.length}, A, C] and bbox_regression [${imageShapes.length}, A, 4], got [${logits.shape.join(', ')}] and [${deltas.shape.join(', ')}]`);
    }
    anchors.forEach((anchor, i) => {
      if (anchor.ndim !== 2 || anchor.shape[0] !== a || anchor.shape[1] !== 4) throw new ShapeError(`${op}: expected anchors[${i}] of shape [${a}, 4], got [${anchor.shape.join(', ')}]`);
    });
    return scope(() =>
      noGrad(() =>
        imageShapes.map((imageShape, i) => {
          const device = logits.device;
          const decoded = this.boxCoder.decodeSingle(deltas.slice(0, i, i + 1).squeeze(0).detach(), anchors[i]!);
          const boxes = clipBoxesToImage(decoded, [imageShape[0], imageShape[1]]);
          // Per class but the background, rows of [C - 1, A].
          const scores = softmax(logits.slice(0, i, i + 1).squeeze(0).detach(), -1).slice(1, 1, c).transpose(0, 1);
          // torchvision keeps the scores above the threshold, then their top k. Here the others
          // rank as -1, below every softmax, so the same boxes lead the top k and any others
          // that fill it are dropped by NMS's score threshold of 0.
          const k = Math.min(this.topkCandidates, a);
          const { values, indices } = topk(where(scores.gt(this.scoreThresh), scores, -1), k, 1);
          const flatIdx = indices.reshape(-1);
          const candidateBoxes = indexSelect(boxes, 0, flatIdx);
          const candidateScores = values.reshape(-1);
          const labels = arange(1, c, 1, { dtype: 'int32', device }).unsqueeze(1).expand(c - 1, k).reshape(-1);
          const keep = batchedNms(candidateBoxes, candidateScores, labels, this.nmsThresh, { scoreThreshold: 0, maxDetections: this.detectionsPerImg });
          return {
            boxes: indexSelect(candidateBoxes, 0, keep) as Tensor<'float32'>,
            scores: indexSelect(candidateScores, 0, keep) as Tensor<'float32'>,
            labels: indexSelect(labels, 0, keep) as Tensor<'int32'>,
          };
        }),
      ),
    );
  }

  override extraRepr(): string {
    return `scoreThresh=${this.scoreThresh}, nmsThresh=${this.nmsThresh}, detectionsPerImg=${this.detectionsPerImg}, topkCandidates=${this.topkCandidates}, negToPosRatio=${this.negToPosRatio}`;
  }
}

/** Rows `[A]` stacked into `[N, A]`. */
function stackRows(rows: readonly Tensor[]): Tensor {
  return cat(rows.map((r) => r.unsqueeze(0)), 0);
}

/** Options of {@link ssd300Vgg16}: the model's, the class count and the backbone's trainable stages. */
export interface SSD300VGG16Options extends Omit<SSDOptions, 'head'> {
  /** Classes including the background (default 91: COCO's 90 and the background). */
  numClasses?: number;
  /** VGG-16 stages, from the top, left trainable: 0..5 (default 4, as torchvision's with pretrained weights; 5 trains all). */
  trainableBackboneLayers?: number;
}

/**
 * SSD300 with a VGG-16 backbone, as torchvision's `ssd300_vgg16`: {@link SSDFeatureExtractorVGG}
 * (conv4_3 L2-normalised, fc6/fc7 and four extra blocks: six maps of 38, 19, 10, 5, 3 and 1
 * cells), {@link DefaultBoxGenerator} with aspect ratios [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
 * scales [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05] and steps [8, 16, 32, 64, 100, 300]
 * (8732 default boxes), images resized to 300x300 and normalised with mean [0.48235,
 * 0.45882, 0.40784] and std 1/255 (inputs in 0..1 become 0..255 less the mean, as the
 * original Caffe VGG). `trainableBackboneLayers` (default 4, torchvision's default with
 * pretrained weights; torchvision trains all 5 when built without any) stages of VGG train.
 *
 * @example
 * const model = models.detection.ssd300Vgg16({ numClasses: 91 });
 * model.loadStateDict((await io.loadSafetensors('ssd300_vgg16_coco.safetensors')).tensors);
 * model.eval();
 * const [{ boxes, labels, scores }] = noGrad(() => model.detect([image]));
 */
export function ssd300Vgg16(opts: SSD300VGG16Options = {}): SSD {
  const { numClasses = 91, trainableBackboneLayers = 4, ...options } = opts;
  const backbone = vggExtractor(vgg16Features(), false, trainableBackboneLayers);
  const anchorGenerator = new DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], {
    scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
    steps: [8, 16, 32, 64, 100, 300],
  });
  // Rescales the input as the backbone's Caffe weights expect: undoes ToTensor's 0..1 scaling.
  return new SSD(backbone, anchorGenerator, [300, 300], numClasses, { imageMean: [0.48235, 0.45882, 0.40784], imageStd: [1 / 255, 1 / 255, 1 / 255], ...options });
}
