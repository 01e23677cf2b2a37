/**
 * RetinaNet (Lin et al. 2017), as torchvision.models.detection.retinanet (0.14): the
 * one-stage detector RetinaNet (transform -> backbone -> head on every pyramid level ->
 * anchors; focal and L1 losses in training, per-level top-k, decoding and NMS in eval) and
 * the retinanetResnet50Fpn factory (torchvision's v1 layout, so its COCO checkpoint,
 * converted to safetensors, loads as it is).
 *
 * Host reads: in training, the targets' boxes and labels (they come from the host); in eval,
 * one per image, NMS's keep list. torchvision reads per level besides (the score filter, the
 * top-k count): here those are a mask folded into NMS's score threshold.
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../../errors.js';
import { Module } from '../../nn/module.js';
import { batchedNms, boxIou, clipBoxesToImage } from '../../ops/boxes.js';
import { where } from '../../ops/compare.js';
import { indexSelect } from '../../ops/indexing.js';
import { cat } from '../../ops/shape.js';
import { topk } from '../../ops/sort.js';
import { checkInRange, checkInt } from '../../ops/validate.js';
import { arange, full } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
import type { Tensor } from '../../tensor/tensor.js';
import { AnchorGenerator } from '../../vision/anchor_generator.js';
import { BoxCoder } from '../../vision/box_coder.js';
import type { ImageSize } from '../../vision/image_list.js';
import { Matcher } from '../../vision/matcher.js';
import { resnetFpnBackbone } from './backbone_utils.js';
import { LastLevelP6P7 } from './feature_pyramid_network.js';
import { checkTargets, type DetectionBackbone } from './generalized_rcnn.js';
import { RetinaNetHead, type RetinaNetHeadModule, type RetinaNetLosses } from './retinanet_heads.js';
import { OneStageDetector } from './one_stage_detector.js';
import { GeneralizedRCNNTransform } from './transform.js';

/** Options of {@link RetinaNet}: torchvision's keyword arguments in camelCase, with its defaults. */
export interface RetinaNetOptions {
  /** The shorter side's target size(s) (default 800; training draws one per image). */
  minSize?: number | readonly number[];
  /** The longer side's limit (default 1333). */
  maxSize?: number;
  /** Per-channel means subtracted (default ImageNet's [0.485, 0.456, 0.406]). */
  imageMean?: readonly number[];
  /** Per-channel standard deviations divided by (default ImageNet's [0.229, 0.224, 0.225]). */
  imageStd?: readonly number[];
  /** The anchors (default {@link retinanetDefaultAnchorGenerator}: 3 sizes x 3 aspect ratios on 5 levels). */
  anchorGenerator?: AnchorGenerator;
  /** The head (default RetinaNetHead(backbone.outChannels, anchors per cell, numClasses)). */
  head?: RetinaNetHeadModule;
  /** Matches anchors to ground-truth boxes in training (default Matcher(fgIouThresh, bgIouThresh) with low-quality matches). */
  proposalMatcher?: Matcher;
  /** Detections must score above this (default 0.05). */
  scoreThresh?: number;
  /** The per-class NMS IoU threshold of the detections (default 0.5). */
  nmsThresh?: number;
  /** Detections kept per image (default 300). */
  detectionsPerImg?: number;
  /** IoU at or above which an anchor is foreground (default 0.5). */
  fgIouThresh?: number;
  /** IoU below which an anchor is background; in between it is ignored (default 0.4). */
  bgIouThresh?: number;
  /** Candidates kept per level, by score, before NMS (default 1000). */
  topkCandidates?: number;
}

/** The head's outputs split per feature level, as torchvision's `postprocess_detections` takes them. */
export interface RetinaNetLevelOutputs {
  /** Per level, class logits `[N, H_i W_i A, numClasses]`. */
  cls_logits: readonly Tensor[];
  /** Per level, box deltas `[N, H_i W_i A, 4]`. */
  bbox_regression: readonly Tensor[];
}

/**
 * RetinaNet's default anchors, as torchvision's `_default_anchorgen()`: on each of 5 levels
 * the sizes x, x 2^(1/3), x 2^(2/3) truncated to integers, for x = 32, 64, 128, 256, 512
 * ((32, 40, 50), (64, 80, 101), ...), times aspect ratios 0.5, 1 and 2: 9 anchors per cell.
 *
 * @example
 * const anchors = models.detection.retinanetDefaultAnchorGenerator();
 * anchors.numAnchorsPerLocation(); // [9, 9, 9, 9, 9]
 */
export function retinanetDefaultAnchorGenerator(): AnchorGenerator {
  const sizes = [32, 64, 128, 256, 512].map((x) => [x, Math.trunc(x * 2 ** (1 / 3)), Math.trunc(x * 2 ** (2 / 3))]);
  return new AnchorGenerator(sizes, sizes.map(() => [0.5, 1, 2]));
}

/** A number (not NaN), checked. */
function checkNumber(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ArgumentError(`${op}: expected ${name} to be a number, got ${describe(value)}`);
  return value;
}

/**
 * RetinaNet, as torchvision's `RetinaNet(backbone, num_classes, **kwargs)`. `backbone`
 * returns named feature maps of `outChannels` channels (one per anchor level: 5 for the
 * default anchors, as {@link resnetFpnBackbone} with `LastLevelP6P7` gives);
 * `numClasses` counts the background, as torchvision's; give null only with `head`.
 *
 * - training (`train()`): `call(images, targets)` (or {@link RetinaNet.losses}) returns
 *   {@link RetinaNetLosses} `{ classification, bbox_regression }`: every anchor is matched to
 *   the targets (IoU >= 0.5 foreground, < 0.4 background, each box's best anchors
 *   foreground), the focal loss covers every anchor but the ignored ones and the L1 loss the
 *   foreground ones, both over the foreground count. Nothing is sampled, so the losses are
 *   deterministic.
 * - eval (`eval()`): `call(images)` (or {@link RetinaNet.detect}) returns one
 *   `{ boxes, labels, scores }` per image in the original image's pixels: per level the
 *   `topkCandidates` (anchor, class) pairs whose sigmoid score exceeds `scoreThresh`,
 *   decoded and clipped, then NMS per class over all levels, the best `detectionsPerImg`.
 *   Labels are int32 (torchvision: int64); label 0 can be detected, as there.
 *
 * `images` are `[C, H, W]` float32 tensors of any sizes (values in 0..1).
 *
 * @example
 * const backbone = models.detection.resnetFpnBackbone({ backboneName: 'resnet50', returnedLayers: [2, 3, 4],
 *   extraBlocks: new models.detection.LastLevelP6P7(256, 256) });
 * const model = new models.detection.RetinaNet(backbone, 3, { minSize: 512, maxSize: 853 });
 * const { classification, bbox_regression } = model.losses([image], [{ boxes, labels }]);
 * classification.add(bbox_regression).backward();
 */
export class RetinaNet extends OneStageDetector<RetinaNetHeadModule, RetinaNetLosses> {
  /** Matches anchors to ground-truth boxes in training. */
  readonly proposalMatcher: Matcher;
  /** Decodes the head's deltas against the anchors (weights 1, as torchvision's). */
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  /** Detections must score above this. */
  readonly scoreThresh: number;
  /** NMS's IoU threshold (per class). */
  readonly nmsThresh: number;
  /** Detections kept per image. */
  readonly detectionsPerImg: number;
  /** Candidates kept per level before NMS. */
  readonly topkCandidates: number;

  /**
   * @param backbone - image batch to named feature maps, with `outChannels`
   * @param numClasses - classes including the background (an integer >= 1), or null with `opts.head`
   * @param opts - see {@link RetinaNetOptions} (ArgumentError when out of range)
   */
  constructor(backbone: DetectionBackbone, numClasses: number | null, opts: RetinaNetOptions = {}) {
    super();
    const op = 'RetinaNet';
    if (!(backbone instanceof Module) || !(typeof backbone.outChannels === 'number' && Number.isInteger(backbone.outChannels) && backbone.outChannels > 0)) {
      throw new ArgumentError(`${op}: expected backbone to be a Module with outChannels, a positive integer (its feature maps' channels), got ${describe(backbone)}`);
    }
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected opts to be an options object, got ${describe(opts)}`);
    if (numClasses !== null && opts.head !== undefined) throw new ArgumentError(`${op}: numClasses should be null when head is given, got ${describe(numClasses)}`);
    if (numClasses === null && opts.head === undefined) throw new ArgumentError(`${op}: numClasses should be given when head is not, got null`);
    if (numClasses !== null) checkInt(op, 'numClasses', numClasses, 1);
    if (opts.anchorGenerator !== undefined && !(opts.anchorGenerator instanceof AnchorGenerator)) throw new ArgumentError(`${op}: expected anchorGenerator to be an AnchorGenerator, got ${describe(opts.anchorGenerator)}`);
    if (opts.head !== undefined && !(opts.head instanceof Module && typeof opts.head.computeLoss === 'function')) throw new ArgumentError(`${op}: expected head to be a Module with computeLoss (e.g. a RetinaNetHead), got ${describe(opts.head)}`);
    if (opts.proposalMatcher !== undefined && !(opts.proposalMatcher instanceof Matcher)) throw new ArgumentError(`${op}: expected proposalMatcher to be a Matcher, got ${describe(opts.proposalMatcher)}`);

    // The cheap parts first, so that a bad option throws before the head's weights are made.
    this.proposalMatcher = opts.proposalMatcher ?? new Matcher(opts.fgIouThresh ?? 0.5, opts.bgIouThresh ?? 0.4, { allowLowQualityMatches: true });
    this.scoreThresh = checkNumber(op, 'scoreThresh', opts.scoreThresh ?? 0.05);
    this.nmsThresh = checkInRange(op, 'nmsThresh', opts.nmsThresh ?? 0.5, 0, 1);
    this.detectionsPerImg = checkInt(op, 'detectionsPerImg', opts.detectionsPerImg ?? 300, 0);
    this.topkCandidates = checkInt(op, 'topkCandidates', opts.topkCandidates ?? 1000, 0);
    const transform = new GeneralizedRCNNTransform(opts.minSize ?? 800, opts.maxSize ?? 1333, opts.imageMean ?? [0.485, 0.456, 0.406], opts.imageStd ?? [0.229, 0.224, 0.225]);
    const anchorGenerator = opts.anchorGenerator ?? retinanetDefaultAnchorGenerator();
    const head = opts.head ?? new RetinaNetHead(backbone.outChannels, anchorGenerator.numAnchorsPerLocation()[0]!, numClasses!);

    this.setParts({ backbone, anchorGenerator, head, transform });
  }

  protected trainingLosses(op: string, images: readonly Tensor[], targets: readonly DetectionTarget[] | undefined): RetinaNetLosses {
    if (targets === undefined) throw new ArgumentError(`${op}: expected targets (one { boxes, labels } per image) in training mode, got undefined: call eval() for detections`);
    checkTargets(op, targets);
    this.#checkLabels(op, targets);
    return scope(() => {
      const [imageList, transformed] = this.transform.call(images, targets);
      const resizedTargets = transformed as DetectionTarget[];
      const features = [...this.backbone.call(imageList.tensors).values()];
      const headOutputs = this.head.call(features);
      const anchors = this.anchorGenerator.call(imageList, features);
      this.#checkHeadOutputs(op, headOutputs.cls_logits, anchors[0]!.shape[0]!);
      const matchedIdxs = noGrad(() =>
        anchors.map((anchorsPerImage, i) => {
          const boxes = resizedTargets[i]!.boxes;
          // An image without boxes: every anchor is background (the matcher needs a box).
          if (boxes.shape[0] === 0) return full([anchorsPerImage.shape[0]!], Matcher.BELOW_LOW_THRESHOLD, { dtype: 'int32', device: anchorsPerImage.device });
          return this.proposalMatcher.call(boxIou(boxes, anchorsPerImage));
        }),
      );
      return this.head.computeLoss(resizedTargets, headOutputs, anchors, matchedIdxs);
    });
  }

  /**
   * Labels must be int32 and, with a {@link RetinaNetHead}, in [0, numClasses): torchvision
   * fails on an index out of range there; a masked one-hot would silently drop it. One read
   * per image, with the boxes' (the labels come from the host).
   */
  #checkLabels(op: string, targets: readonly DetectionTarget[]): void {
    const numClasses = this.head instanceof RetinaNetHead ? this.head.classificationHead.numClasses : null;
    targets.forEach(({ labels }, i) => {
      if (labels.dtype !== 'int32') throw new DTypeError(`${op}: expected targets[${i}].labels of dtype int32, got ${labels.dtype}`);
      if (numClasses === null) return;
      const bad = Array.from(labels.dataSync()).find((label) => !(label >= 0 && label < numClasses));
      if (bad !== undefined) throw new ArgumentError(`${op}: expected targets[${i}].labels in [0, ${numClasses}) (the head's numClasses), got ${bad}`);
    });
  }

  /** The head must give one prediction per anchor: ShapeError otherwise (a head and anchor generator of different levels). */
  #checkHeadOutputs(op: string, clsLogits: Tensor, numAnchors: number): void {
    if (clsLogits.ndim !== 3 || clsLogits.shape[1] !== numAnchors) {
      throw new ShapeError(`${op}: expected the head's cls_logits of shape [N, ${numAnchors}, numClasses] (one row per anchor of the anchor generator), got [${clsLogits.shape.join(', ')}]`);
    }
  }

  protected detections(images: readonly Tensor[]): Detection[] {
    const op = 'RetinaNet.forward';
    return scope(() => {
      const originalSizes = images.map((image): [number, number] => [image.shape[1]!, image.shape[2]!]);
      const [imageList] = this.transform.call(images);
      const features = [...this.backbone.call(imageList.tensors).values()];
      const headOutputs = this.head.call(features);
      const anchors = this.anchorGenerator.call(imageList, features);
      this.#checkHeadOutputs(op, headOutputs.cls_logits, anchors[0]!.shape[0]!);
      // Each level's share of the anchors: its cells times the anchors per cell.
      const cells = features.map((f) => f.shape[2]! * f.shape[3]!);
      const perCell = anchors[0]!.shape[0]! / cells.reduce((a, b) => a + b, 0);
      const counts = cells.map((c) => c * perCell);
      const splitLevels = (t: Tensor, dim: number) => {
        let offset = 0;
        return counts.map((n) => t.slice(dim, offset, (offset += n)));
      };
      const detections = this.postprocessDetections(
        { cls_logits: splitLevels(headOutputs.cls_logits, 1), bbox_regression: splitLevels(headOutputs.bbox_regression, 1) },
        anchors.map((a) => splitLevels(a, 0)),
        imageList.imageSizes,
      );
      // A plain record per image (Detection is an interface, the transform takes any record of tensors).
      return this.transform.postprocess(detections.map((d) => ({ boxes: d.boxes, labels: d.labels, scores: d.scores })), imageList.imageSizes, originalSizes) as Detection[];
    });
  }

  /**
   * The detections of each image in the transformed image's pixels, as torchvision's
   * `postprocess_detections(head_outputs, anchors, image_shapes)`: per level, the
   * `topkCandidates` (anchor, class) pairs whose sigmoid score exceeds `scoreThresh`, their
   * boxes decoded against the anchors and clipped to the image; then NMS per class over all
   * levels at `nmsThresh`, and the best `detectionsPerImg`. torchvision reads the score
   * filter's count per level; here the pairs that fail it rank last in the top-k and are
   * dropped by NMS's score threshold, so NMS's keep list is the one read per image.
   * @param headOutputs - the head's outputs split per level
   * @param anchors - per image, per level, the anchors `[H_i W_i A, 4]`
   * @param imageShapes - per image, its `[height, width]` in the batch
   */
  postprocessDetections(headOutputs: RetinaNetLevelOutputs, anchors: readonly (readonly Tensor[])[], imageShapes: readonly ImageSize[]): Detection[] {
    const op = 'RetinaNet.postprocessDetections';
    const { cls_logits: logitsPerLevel, bbox_regression: deltasPerLevel } = headOutputs;
    const levels = logitsPerLevel.length;
    if (!Array.isArray(anchors) || anchors.length !== imageShapes.length) throw new ArgumentError(`${op}: expected anchors to be an array of one per-level list per image (${imageShapes.length}), got ${describe(anchors)}`);
    anchors.forEach((perLevel, i) => {
      if (!Array.isArray(perLevel) || perLevel.length !== levels || deltasPerLevel.length !== levels) {
        throw new ArgumentError(`${op}: expected anchors[${i}], cls_logits and bbox_regression to hold one tensor per level (${levels}), got ${describe(perLevel)} and ${deltasPerLevel.length}`);
      }
      perLevel.forEach((a, l) => {
        const logits = logitsPerLevel[l]!;
        if (logits.ndim !== 3 || logits.shape[0] !== imageShapes.length || logits.shape[1] !== a.shape[0] || deltasPerLevel[l]!.shape.join(',') !== [imageShapes.length, a.shape[0], 4].join(',')) {
          throw new ShapeError(`${op}: expected level ${l}'s cls_logits [${imageShapes.length}, ${a.shape[0]}, numClasses] and bbox_regression [${imageShapes.length}, ${a.shape[0]}, 4] (one row per anchor), got [${logits.shape.join(', ')}] and [${deltasPerLevel[l]!.shape.join(', ')}]`);
        }
      });
    });
    return scope(() =>
      noGrad(() =>
        imageShapes.map((imageShape, i) => {
          const boxes: Tensor[] = [];
          const scores: Tensor[] = [];
          const ranks: Tensor[] = [];
          const labels: Tensor[] = [];
          logitsPerLevel.forEach((levelLogits, l) => {
            const logits = levelLogits.slice(0, i, i + 1).squeeze(0).detach();
            const [numAnchors, numClasses] = logits.shape as [number, number];
            const device = logits.device;
            const levelScores = logits.sigmoid().flatten();
            // torchvision keeps the scores above the threshold, then their top k. Here the
            // others rank as -1, below every sigmoid, so the same pairs lead the top k and
            // any others that fill it are dropped by NMS's score threshold of 0.
            const { values, indices } = topk(where(levelScores.gt(this.scoreThresh), levelScores, -1), Math.min(this.topkCandidates, levelScores.numel));
            // Pair index = anchor * numClasses + class: both looked up rather than divided (int32 has no floor division here).
            const anchorOfPair = arange(numAnchors, { dtype: 'int32', device }).unsqueeze(1).expand(numAnchors, numClasses).reshape(-1);
            const classOfPair = arange(numClasses, { dtype: 'int32', device }).unsqueeze(0).expand(numAnchors, numClasses).reshape(-1);
            const anchorIdxs = indexSelect(anchorOfPair, 0, indices);
            const deltas = indexSelect(deltasPerLevel[l]!.slice(0, i, i + 1).squeeze(0).detach(), 0, anchorIdxs);
            const decoded = this.boxCoder.decodeSingle(deltas, indexSelect(anchors[i]![l]!, 0, anchorIdxs));
            boxes.push(clipBoxesToImage(decoded, [imageShape[0], imageShape[1]]));
            scores.push(indexSelect(levelScores, 0, indices));
            ranks.push(values);
            labels.push(indexSelect(classOfPair, 0, indices));
          });
          const [allBoxes, allScores, allLabels] = [cat(boxes, 0), cat(scores, 0), cat(labels, 0)];
          const keep = batchedNms(allBoxes, cat(ranks, 0), allLabels, this.nmsThresh, { scoreThreshold: 0, maxDetections: this.detectionsPerImg });
          return {
            boxes: indexSelect(allBoxes, 0, keep) as Tensor<'float32'>,
            scores: indexSelect(allScores, 0, keep) as Tensor<'float32'>,
            labels: indexSelect(allLabels, 0, keep) as Tensor<'int32'>,
          };
        }),
      ),
    );
  }

  override extraRepr(): string {
    return `scoreThresh=${this.scoreThresh}, nmsThresh=${this.nmsThresh}, detectionsPerImg=${this.detectionsPerImg}, topkCandidates=${this.topkCandidates}`;
  }
}

/** Options of {@link retinanetResnet50Fpn}: the model's, the class count and the backbone's trainable stages. */
export interface RetinaNetResNet50FpnOptions extends RetinaNetOptions {
  /** Classes including the background (default 91: COCO's 90 and the background). */
  numClasses?: number;
  /** ResNet stages, from the top, left trainable: 0..5 (default 3). */
  trainableBackboneLayers?: number;
}

/**
 * RetinaNet with a ResNet-50 FPN backbone, as torchvision's `retinanet_resnet50_fpn` (v1)
 * built for a pretrained backbone: layer2..layer4 under the FPN, P6 and P7 from P5
 * (LastLevelP6P7(256, 256)), FrozenBatchNorm2d and `trainableBackboneLayers` (default 3)
 * trainable stages. (Without any weights torchvision switches to BatchNorm2d and trains all 5
 * stages; neocog has no weight download, so it always builds the layout that torchvision's
 * checkpoints, converted to safetensors, load into.)
 *
 * @example
 * const model = models.detection.retinanetResnet50Fpn({ numClasses: 91 });
 * model.loadStateDict((await io.loadSafetensors('retinanet_resnet50_fpn_coco.safetensors')).tensors);
 * model.eval();
 * const [{ boxes, labels, scores }] = noGrad(() => model.detect([image]));
 */
export function retinanetResnet50Fpn(opts: RetinaNetResNet50FpnOptions = {}): RetinaNet {
  const { numClasses = 91, trainableBackboneLayers = 3, ...options } = opts;
  // P3..P5 only: P2 would give too many anchors (the paper's choice, kept by torchvision).
  const backbone = resnetFpnBackbone({ backboneName: 'resnet50', trainableLayers: trainableBackboneLayers, returnedLayers: [2, 3, 4], extraBlocks: new LastLevelP6P7(256, 256) });
  return new RetinaNet(backbone, numClasses, options);
}
