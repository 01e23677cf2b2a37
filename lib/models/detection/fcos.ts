/**
 * FCOS (Tian et al. 2019), as torchvision.models.detection.fcos (0.14): the one-stage,
 * anchor-free detector (one "anchor" per feature-map point, a square of the level's stride
 * that only locates the point) and the fcosResnet50Fpn factory. State-dict names are
 * torchvision's (`backbone.*`, `head.classification_head.*`, `head.regression_head.*`), so
 * its checkpoints (converted to safetensors) load as they are.
 *
 * Host reads: in eval, one per image (NMS's keep list); in training, only the targets'
 * values, which come from the host (torchvision reads the foreground count back as well;
 * here the losses divide by it on the device).
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../../errors.js';
import { Module } from '../../nn/module.js';
import { batchedNms, clipBoxesToImage } from '../../ops/boxes.js';
import { where } from '../../ops/compare.js';
import { indexSelect } from '../../ops/indexing.js';
import { cat, stack } from '../../ops/shape.js';
import { topk } from '../../ops/sort.js';
import { checkInt, checkTensor } from '../../ops/validate.js';
import { arange, fromTypedArray, full } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
import type { Tensor } from '../../tensor/tensor.js';
import { AnchorGenerator } from '../../vision/anchor_generator.js';
import type { ImageList, ImageSize } from '../../vision/image_list.js';
import { resnetFpnBackbone } from './backbone_utils.js';
import { LastLevelP6P7 } from './feature_pyramid_network.js';
import { FCOSHead, type FCOSHeadOutputs, type FCOSLosses } from './fcos_heads.js';
import { checkTargets, type DetectionBackbone } from './generalized_rcnn.js';
import { OneStageDetector } from './one_stage_detector.js';
import { GeneralizedRCNNTransform } from './transform.js';

/** Options of {@link FCOS}: torchvision's keyword arguments in camelCase, with its defaults. */
export interface FCOSOptions {
  /** The shorter side's target size(s) (default 800; training draws one per image). */
  minSize?: number | readonly number[];
  /** The longer side's limit (default 1333). */
  maxSize?: number;
  /** Per-channel means subtracted (default ImageNet's [0.485, 0.456, 0.406]). */
  imageMean?: readonly number[];
  /** Per-channel standard deviations divided by (default ImageNet's [0.229, 0.224, 0.225]). */
  imageStd?: readonly number[];
  /** The points' anchors: one per cell (default sizes 8, 16, 32, 64, 128, the strides of P3..P7, aspect ratio 1). */
  anchorGenerator?: AnchorGenerator;
  /** The head (default FCOSHead(backbone.outChannels, 1, numClasses)). */
  head?: FCOSHead;
  /** A point is a positive only within this many strides (its anchor's size) of a box's centre (default 1.5). */
  centerSamplingRadius?: number;
  /** Detections must score above this, `sqrt(class probability * centerness)` (default 0.2). */
  scoreThresh?: number;
  /** The per-class NMS IoU threshold (default 0.6). */
  nmsThresh?: number;
  /** Detections kept per image (default 100). */
  detectionsPerImg?: number;
  /** Candidates kept per level before NMS (default 1000). */
  topkCandidates?: number;
}

/** Throws ArgumentError unless `value` is a number (not NaN). */
function checkNumber(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ArgumentError(`${op}: expected ${name} to be a number, got ${describe(value)}`);
  return value;
}

/** The total of `numAnchorsPerLevel`, after checking it is a non-empty array of integers >= 0. */
function checkLevelSizes(op: string, numAnchorsPerLevel: readonly number[]): number {
  if (!Array.isArray(numAnchorsPerLevel) || numAnchorsPerLevel.length === 0 || !numAnchorsPerLevel.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new ArgumentError(`${op}: expected numAnchorsPerLevel to be a non-empty array of integers >= 0, got ${describe(numAnchorsPerLevel)}`);
  }
  return numAnchorsPerLevel.reduce((sum, n) => sum + n, 0);
}

/** Throws ShapeError unless `value` is a tensor of exactly `shape`. */
function checkShape(op: string, name: string, value: unknown, shape: readonly number[]): void {
  const t = checkTensor(op, name, value);
  if (t.shape.join(',') !== shape.join(',')) throw new ShapeError(`${op}: expected ${name} of shape [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
}

/** Column `c` of `[K, 4]` boxes as `[K]`. */
function column(boxes: Tensor, c: number): Tensor {
  return boxes.slice(1, c, c + 1).squeeze(1);
}

/**
 * FCOS, as torchvision's `FCOS(backbone, num_classes, **kwargs)`: transform -> backbone ->
 * {@link FCOSHead} on every feature level -> per-point classes, boxes and centerness.
 * `call(images, targets)` in training mode returns the losses `{ classification,
 * bbox_regression, bbox_ctrness }` ({@link FCOSLosses}); `call(images)` in eval mode returns
 * one `{ boxes, labels, scores }` per image, boxes in the original image's pixels, scores
 * `sqrt(sigmoid(class logit) * sigmoid(centerness))`. `images` are `[C, H, W]` float32 tensors
 * of any sizes (values in 0..1); targets are `{ boxes [G, 4], labels [G] }` with int32
 * labels in [0, numClasses). {@link FCOS.losses} and {@link FCOS.detect} are the same two
 * paths with one result type each. `numClasses` counts every class the head predicts
 * (torchvision's FCOS has no background logit: label 0 is a class like any other, by
 * convention unused).
 *
 * @example
 * const backbone = models.detection.resnetFpnBackbone({
 *   backboneName: 'resnet50', returnedLayers: [2, 3, 4], extraBlocks: new models.detection.LastLevelP6P7(256, 256),
 * });
 * const model = new models.detection.FCOS(backbone, 3, { minSize: 512, maxSize: 853 });
 * const losses = model.losses([image], [{ boxes, labels }]);
 * model.eval();
 * const [{ boxes: found, labels: classes, scores }] = noGrad(() => model.detect([image]));
 */
export class FCOS extends OneStageDetector<FCOSHead, FCOSLosses> {
  /** A point is a positive only within this many anchor sizes of a box's centre. */
  readonly centerSamplingRadius: number;
  /** Detections score above this. */
  readonly scoreThresh: number;
  /** The per-class NMS IoU threshold. */
  readonly nmsThresh: number;
  /** Detections kept per image. */
  readonly detectionsPerImg: number;
  /** Candidates kept per level before NMS. */
  readonly topkCandidates: number;

  /**
   * @param backbone - a Module returning named feature maps (a Map, in level order) of `outChannels` channels each
   * @param numClasses - classes the head predicts, an integer >= 1 (ignored when `opts.head` is given)
   * @param opts - see {@link FCOSOptions}
   */
  constructor(backbone: DetectionBackbone, numClasses: number, opts: FCOSOptions = {}) {
    super();
    const op = 'FCOS';
    if (!(backbone instanceof Module) || !(typeof backbone.outChannels === 'number' && Number.isInteger(backbone.outChannels) && backbone.outChannels > 0)) {
      throw new ArgumentError(`${op}: expected backbone to be a Module with outChannels, a positive integer (its feature maps' channels), got ${describe(backbone)}`);
    }
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected opts to be an options object, got ${describe(opts)}`);
    checkInt(op, 'numClasses', numClasses, 1);
    if (opts.anchorGenerator !== undefined && !(opts.anchorGenerator instanceof AnchorGenerator)) {
      throw new ArgumentError(`${op}: expected anchorGenerator to be an AnchorGenerator, got ${describe(opts.anchorGenerator)}`);
    }
    if (opts.head !== undefined && !(opts.head instanceof FCOSHead)) throw new ArgumentError(`${op}: expected head to be an FCOSHead, got ${describe(opts.head)}`);
    // Sizes equal to the strides of P3..P7, one square anchor per point.
    const anchorGenerator = opts.anchorGenerator ?? new AnchorGenerator([[8], [16], [32], [64], [128]], Array.from({ length: 5 }, () => [1]));
    const perCell = anchorGenerator.numAnchorsPerLocation()[0];
    if (perCell !== 1) throw new ArgumentError(`${op}: expected anchorGenerator to make one anchor per location (numAnchorsPerLocation()[0] 1), got ${perCell}`);
    this.centerSamplingRadius = checkNumber(op, 'centerSamplingRadius', opts.centerSamplingRadius ?? 1.5);
    this.scoreThresh = checkNumber(op, 'scoreThresh', opts.scoreThresh ?? 0.2);
    this.nmsThresh = checkNumber(op, 'nmsThresh', opts.nmsThresh ?? 0.6);
    this.detectionsPerImg = checkInt(op, 'detectionsPerImg', opts.detectionsPerImg ?? 100, 0);
    this.topkCandidates = checkInt(op, 'topkCandidates', opts.topkCandidates ?? 1000, 0);
    const head = opts.head ?? new FCOSHead(backbone.outChannels, perCell, numClasses);
    const transform = new GeneralizedRCNNTransform(opts.minSize ?? 800, opts.maxSize ?? 1333, opts.imageMean ?? [0.485, 0.456, 0.406], opts.imageStd ?? [0.229, 0.224, 0.225]);
    this.setParts({ backbone, anchorGenerator, head, transform });
  }

  /**
   * The losses of the head's outputs for a batch, as torchvision's `FCOS.compute_loss`:
   * matches each point to a ground-truth box ({@link FCOS.matchPoints}) and hands over to
   * {@link FCOSHead.computeLoss}.
   * @param targets - per image `{ boxes [G_i, 4], labels [G_i] }`, in the batch's (resized) pixels
   * @param headOutputs - the head's outputs for the batch
   * @param anchors - per image, the anchors `[P, 4]`
   * @param numAnchorsPerLevel - points per level, summing to P
   */
  computeLoss(targets: readonly DetectionTarget[], headOutputs: FCOSHeadOutputs, anchors: readonly Tensor[], numAnchorsPerLevel: readonly number[]): FCOSLosses {
    return scope(() => this.head.computeLoss(targets, headOutputs, anchors, this.matchPoints(anchors, targets, numAnchorsPerLevel)));
  }

  /**
   * Each point's ground-truth box per image (int32 `[P]`, -1 for none), as the matching in
   * torchvision's `FCOS.compute_loss`: a box matches a point whose anchor centre lies inside
   * it, within `centerSamplingRadius` anchor sizes (strides) of its centre (in x and in y),
   * and whose largest distance to the box's edges lies in the level's range (anchor size
   * times (4, 8); the first level from 0, the last without bound); of several matches, the
   * smallest box (area, as torchvision's float32 `1e8 - area`: boxes within 8 px² tie, and
   * the first wins).
   * @param anchors - per image, the anchors `[P, 4]`
   * @param targets - per image `{ boxes [G_i, 4] }`
   * @param numAnchorsPerLevel - points per level, summing to P
   */
  matchPoints(anchors: readonly Tensor[], targets: readonly { boxes: Tensor }[], numAnchorsPerLevel: readonly number[]): Array<Tensor<'int32'>> {
    const op = 'FCOS.matchPoints';
    if (!Array.isArray(anchors) || !Array.isArray(targets) || anchors.length !== targets.length) {
      throw new ArgumentError(`${op}: expected one anchors tensor per target, got ${describe(anchors)} and ${describe(targets)}`);
    }
    const numPoints = checkLevelSizes(op, numAnchorsPerLevel);
    anchors.forEach((a, i) => checkShape(op, `anchors[${i}]`, a, [numPoints, 4]));
    const first = numAnchorsPerLevel[0]!;
    const last = numAnchorsPerLevel[numAnchorsPerLevel.length - 1]!;
    return scope(() =>
      noGrad(() =>
        anchors.map((anchorsPerImage, i) => {
          const gtBoxes = checkTensor(op, `targets[${i}].boxes`, targets[i]?.boxes);
          if (gtBoxes.ndim !== 2 || gtBoxes.shape[1] !== 4) throw new ShapeError(`${op}: expected targets[${i}].boxes of shape [G, 4], got [${gtBoxes.shape.join(', ')}]`);
          const device = anchorsPerImage.device;
          if (gtBoxes.shape[0] === 0) return full([numPoints], -1, { dtype: 'int32', device });
          const gtCenters = gtBoxes.slice(1, 0, 2).add(gtBoxes.slice(1, 2, 4)).div(2);
          const anchorCenters = anchorsPerImage.slice(1, 0, 2).add(anchorsPerImage.slice(1, 2, 4)).div(2);
          const anchorSizes = column(anchorsPerImage, 2).sub(column(anchorsPerImage, 0));
          // Centre sampling: the point lies close enough to the box's centre.
          const nearCentre = anchorCenters.unsqueeze(1).sub(gtCenters.unsqueeze(0)).abs().amax(2).lt(anchorSizes.mul(this.centerSamplingRadius).unsqueeze(1));
          // Distances [P, G, 4] from each point to each box's left, top, right and bottom edges.
          const x = column(anchorCenters, 0).unsqueeze(1);
          const y = column(anchorCenters, 1).unsqueeze(1);
          const [x0, y0, x1, y1] = [0, 1, 2, 3].map((c) => column(gtBoxes, c).unsqueeze(0)) as [Tensor, Tensor, Tensor, Tensor];
          const distances = stack([x.sub(x0), y.sub(y0), x1.sub(x), y1.sub(y)], 2);
          const inside = distances.amin(2).gt(0);
          // Each level answers for one range of box sizes.
          const index = arange(numPoints, { dtype: 'int32', device });
          const lower = where(index.lt(first), 0, anchorSizes.mul(4));
          const upper = where(index.ge(numPoints - last), Number.POSITIVE_INFINITY, anchorSizes.mul(8));
          const reach = distances.amax(2);
          const inRange = reach.gt(lower.unsqueeze(1)).to('float32').mul(reach.lt(upper.unsqueeze(1)).to('float32'));
          const matches = nearCentre.to('float32').mul(inside.to('float32')).mul(inRange);
          // The smallest box wins, in torchvision's float32 arithmetic (and its ties).
          const areas = column(gtBoxes, 2).sub(column(gtBoxes, 0)).mul(column(gtBoxes, 3).sub(column(gtBoxes, 1)));
          const { values, indices } = matches.mul(areas.neg().add(1e8).unsqueeze(0)).max(1);
          return where(values.lt(1e-5), -1, indices) as Tensor<'int32'>;
        }),
      ),
    );
  }

  /**
   * The detections per image on the resized batch, as torchvision's
   * `postprocess_detections`: per level, the class scores `sqrt(sigmoid(logit) *
   * sigmoid(centerness))` above {@link scoreThresh}, the best {@link topkCandidates} of them,
   * their points' boxes decoded and clipped to `imageSizes[i]`; then over all levels NMS per
   * class at {@link nmsThresh} and the best {@link detectionsPerImg}. Labels are the class
   * indices (int32). One read from the device per image (NMS's keep list): the threshold is
   * applied by masking, not by reading a count back.
   * @param headOutputs - the head's outputs for the batch (P points per image)
   * @param anchors - per image, the anchors `[P, 4]`
   * @param imageSizes - per image, its `[height, width]` in the batch
   * @param numAnchorsPerLevel - points per level, summing to P
   */
  postprocessDetections(headOutputs: FCOSHeadOutputs, anchors: readonly Tensor[], imageSizes: readonly ImageSize[], numAnchorsPerLevel: readonly number[]): Detection[] {
    const op = 'FCOS.postprocessDetections';
    const numPoints = checkLevelSizes(op, numAnchorsPerLevel);
    if (!Array.isArray(imageSizes) || !Array.isArray(anchors) || anchors.length !== imageSizes.length) {
      throw new ArgumentError(`${op}: expected one anchors tensor per image size, got ${describe(anchors)} and ${describe(imageSizes)}`);
    }
    const numImages = imageSizes.length;
    const { clsLogits, bboxRegression, bboxCtrness } = headOutputs;
    const numClasses = checkTensor(op, 'headOutputs.clsLogits', clsLogits).shape[2] ?? 0;
    checkShape(op, 'headOutputs.clsLogits', clsLogits, [numImages, numPoints, numClasses]);
    checkShape(op, 'headOutputs.bboxRegression', bboxRegression, [numImages, numPoints, 4]);
    checkShape(op, 'headOutputs.bboxCtrness', bboxCtrness, [numImages, numPoints, 1]);
    anchors.forEach((a, i) => checkShape(op, `anchors[${i}]`, a, [numPoints, 4]));
    const device = clsLogits.device;
    return scope(() =>
      noGrad(() => {
        const levels = (t: Tensor) => {
          let offset = 0;
          return numAnchorsPerLevel.map((n) => t.slice(0, offset, (offset += n)));
        };
        // Which point and which class each flattened [points * classes] score belongs to.
        const tables = numAnchorsPerLevel.map((n) => {
          const point = new Int32Array(n * numClasses);
          const label = new Int32Array(n * numClasses);
          for (let k = 0; k < n * numClasses; ++k) [point[k], label[k]] = [Math.floor(k / numClasses), k % numClasses];
          return { point: fromTypedArray(point, [point.length], { device }), label: fromTypedArray(label, [label.length], { device }) };
        });
        return imageSizes.map((size, i) => {
          const row = (t: Tensor) => t.slice(0, i, i + 1).squeeze(0);
          const [logits, regression, ctrness, points] = [row(clsLogits), row(bboxRegression), row(bboxCtrness), anchors[i]!].map(levels) as [Tensor[], Tensor[], Tensor[], Tensor[]];
          const boxes: Tensor[] = [];
          const scores: Tensor[] = [];
          const labels: Tensor[] = [];
          numAnchorsPerLevel.forEach((n, level) => {
            const all = logits[level]!.sigmoid().mul(ctrness[level]!.sigmoid()).sqrt().flatten();
            // Scores at or below the threshold become -1, under every real score (0..1): the
            // top k of the rest are torchvision's top k of those above, and NMS drops the -1s.
            const candidates = topk(where(all.gt(this.scoreThresh), all, -1), Math.min(this.topkCandidates, n * numClasses));
            const point = indexSelect(tables[level]!.point, 0, candidates.indices);
            const decoded = this.head.boxCoder.decode(indexSelect(regression[level]!, 0, point), indexSelect(points[level]!, 0, point));
            boxes.push(clipBoxesToImage(decoded, [size[0], size[1]]));
            scores.push(candidates.values);
            labels.push(indexSelect(tables[level]!.label, 0, candidates.indices));
          });
          const [imageBoxes, imageScores, imageLabels] = [cat(boxes, 0), cat(scores, 0), cat(labels, 0)];
          const keep = batchedNms(imageBoxes, imageScores, imageLabels, this.nmsThresh, { scoreThreshold: 0, maxDetections: this.detectionsPerImg });
          return {
            boxes: indexSelect(imageBoxes, 0, keep) as Tensor<'float32'>,
            scores: indexSelect(imageScores, 0, keep) as Tensor<'float32'>,
            labels: indexSelect(imageLabels, 0, keep) as Tensor<'int32'>,
          };
        });
      }),
    );
  }

  override extraRepr(): string {
    return `centerSamplingRadius=${this.centerSamplingRadius}, scoreThresh=${this.scoreThresh}, nmsThresh=${this.nmsThresh}, detectionsPerImg=${this.detectionsPerImg}, topkCandidates=${this.topkCandidates}`;
  }

  /** The features, head outputs, anchors and level sizes of a transformed batch. */
  #run(imageList: ImageList): { headOutputs: FCOSHeadOutputs; anchors: Tensor[]; numAnchorsPerLevel: number[] } {
    const features = [...this.backbone.call(imageList.tensors).values()];
    const headOutputs = this.head.call(features);
    const anchors = this.anchorGenerator.call(imageList, features);
    const numAnchorsPerLevel = features.map((f) => f.shape[2]! * f.shape[3]!);
    return { headOutputs, anchors, numAnchorsPerLevel };
  }

  protected trainingLosses(op: string, images: readonly Tensor[], targets: readonly DetectionTarget[] | undefined): FCOSLosses {
    if (targets === undefined) throw new ArgumentError(`${op}: expected targets (one { boxes, labels } per image) in training mode, got undefined: call eval() for detections`);
    checkTargets(op, targets);
    this.#checkLabels(op, targets);
    return scope(() => {
      const [imageList, transformed] = this.transform.call(images, targets);
      const resizedTargets = transformed as DetectionTarget[];
      const { headOutputs, anchors, numAnchorsPerLevel } = this.#run(imageList);
      return this.computeLoss(resizedTargets, headOutputs, anchors, numAnchorsPerLevel);
    });
  }

  /** Labels must be int32 class indices the head predicts (torchvision indexes its one-hot targets with them). */
  #checkLabels(op: string, targets: readonly DetectionTarget[]): void {
    const numClasses = this.head.numClasses;
    targets.forEach(({ labels }, i) => {
      if (labels.dtype !== 'int32') throw new DTypeError(`${op}: expected targets[${i}].labels to have dtype int32, got ${labels.dtype}`);
      const bad = labels.dataSync().find((l) => !(l >= 0 && l < numClasses));
      if (bad !== undefined) throw new ArgumentError(`${op}: expected targets[${i}].labels in [0, ${numClasses}) (the head's classes), got ${bad}`);
    });
  }

  protected detections(images: readonly Tensor[]): Detection[] {
    return scope(() => {
      const originalSizes = images.map((image): [number, number] => [image.shape[1]!, image.shape[2]!]);
      const [imageList] = this.transform.call(images);
      const { headOutputs, anchors, numAnchorsPerLevel } = this.#run(imageList);
      const detections = this.postprocessDetections(headOutputs, anchors, imageList.imageSizes, numAnchorsPerLevel);
      // A plain record per image (Detection is an interface, the transform takes any record of tensors).
      return this.transform.postprocess(detections.map((d) => ({ boxes: d.boxes, labels: d.labels, scores: d.scores })), imageList.imageSizes, originalSizes) as Detection[];
    });
  }
}

/** Options of {@link fcosResnet50Fpn}: the model's, the class count and the backbone's trainable stages. */
export interface FCOSResNet50FpnOptions extends FCOSOptions {
  /** Classes the head predicts (default 91, as torchvision's COCO model). */
  numClasses?: number;
  /** ResNet stages, from the top, left trainable: 0..5 (default 3). */
  trainableBackboneLayers?: number;
}

/**
 * FCOS with a ResNet-50 FPN backbone, as torchvision's `fcos_resnet50_fpn` built for a
 * pretrained backbone: layers 2..4 feed the pyramid, P6 and P7 come from P5
 * (LastLevelP6P7(256, 256)), FrozenBatchNorm2d, and `trainableBackboneLayers` (default 3)
 * trainable stages. (Without any weights torchvision switches to BatchNorm2d and trains all
 * 5 stages; neocog has no weight download, so it always builds the layout that
 * torchvision's checkpoints, converted to safetensors, load into.)
 *
 * @example
 * const model = models.detection.fcosResnet50Fpn({ numClasses: 91 });
 * model.loadStateDict((await io.loadSafetensors('fcos_resnet50_fpn_coco.safetensors')).tensors);
 * model.eval();
 * const [{ boxes, labels, scores }] = noGrad(() => model.detect([image]));
 */
export function fcosResnet50Fpn(opts: FCOSResNet50FpnOptions = {}): FCOS {
  const { numClasses = 91, trainableBackboneLayers = 3, ...options } = opts;
  const backbone = resnetFpnBackbone({ backboneName: 'resnet50', trainableLayers: trainableBackboneLayers, returnedLayers: [2, 3, 4], extraBlocks: new LastLevelP6P7(256, 256) });
  return new FCOS(backbone, numClasses, options);
}
