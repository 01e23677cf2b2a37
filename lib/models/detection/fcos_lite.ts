/**
 * A small one-stage, anchor-free detector in the style of FCOS (Tian et al. 2019) for
 * quick training on small images: a light conv backbone (BatchNorm + ReLU stages) with
 * two output strides (8 and 16) joined top-down, one head shared by both levels (its
 * BatchNorms per level) that
 * predicts per location class logits (sigmoid focal loss), the distances to the box's
 * four sides (GIoU or CIoU loss) and centerness (BCE). Not torchvision's FCOS (which has
 * a ResNet-50 FPN and five levels): sized for 128x128 images with objects of 16-64 px.
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../../errors.js';
import { completeBoxIouLoss, generalizedBoxIouLoss } from '../../losses/box_iou_losses.js';
import { binaryCrossEntropyWithLogits } from '../../losses/classification.js';
import { sigmoidFocalLoss } from '../../losses/focal.js';
import { constant_, normal_ } from '../../nn/init.js';
import { ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/pooling_norm.js';
import { Module } from '../../nn/module.js';
import { batchedNms, clipBoxesToImage } from '../../ops/boxes.js';
import { indexSelect } from '../../ops/indexing.js';
import { interpolate } from '../../ops/resample.js';
import { cat, pad, stack } from '../../ops/shape.js';
import { checkInt } from '../../ops/validate.js';
import { tensor } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
import { Tensor } from '../../tensor/tensor.js';

/** The training losses of {@link FCOSLite}, under torchvision's FCOS names; each is a sum over the batch divided by its number of positive locations. */
export interface FCOSLiteLosses {
  /** Sigmoid focal loss of the class logits at every location. */
  classification: Tensor<'float32'>;
  /** GIoU (or CIoU) loss of the boxes predicted at the positive locations. */
  bbox_regression: Tensor<'float32'>;
  /** BCE of the centerness logits at the positive locations. */
  bbox_ctrness: Tensor<'float32'>;
}

/** Options of {@link fcosLite} and {@link FCOSLite}. */
export interface FCOSLiteOptions {
  /** Classes including the background (label 0), as torchvision's detectors count them; labels are 1..numClasses-1. */
  numClasses: number;
  /** Channels of the backbone's first stage, doubled at each stride (default 16: 16, 32, 64, 128). */
  width?: number;
  /** Channels of the two levels and of the shared head (default 64). */
  headChannels?: number;
  /** Conv-BatchNorm-ReLU blocks in each of the head's two towers, class and box (default 2). */
  headDepth?: number;
  /** Conv-BatchNorm-ReLU blocks in each backbone stage after the stem, the first of stride 2 (default 2). */
  stageBlocks?: number;
  /** Upper bound of `max(l, t, r, b)` for a location of the stride-8 level; the stride-16 level takes the rest (default 32 px). */
  levelSplit?: number;
  /** Centre sampling: a location is positive only within this many strides of its box's centre (default 1.5, as FCOS). */
  centerSamplingRadius?: number;
  /** 'giou' (default) or 'ciou': the box loss. */
  boxLoss?: 'giou' | 'ciou';
  /** Focal loss alpha (default 0.25). */
  focalAlpha?: number;
  /** Focal loss gamma (default 2). */
  focalGamma?: number;
  /** Eval: detections must score above this (default 0.05). */
  scoreThreshold?: number;
  /** Eval: NMS IoU threshold, per class (default 0.6, as FCOS). */
  nmsThreshold?: number;
  /** Eval: candidates per image before NMS, the highest scoring (default 1000). */
  topkCandidates?: number;
  /** Eval: detections kept per image (default 100). */
  detectionsPerImage?: number;
}

/** One level's grid: stride and feature size. */
export interface FCOSLiteLevel {
  /** Pixels between neighbouring locations. */
  stride: number;
  /** Rows of locations. */
  height: number;
  /** Columns of locations. */
  width: number;
}

/**
 * The per-location training targets of one image ({@link FCOSLite.assignTargets}), in
 * location order: level by level, row-major within a level. Location `(i, j)` of a level
 * of stride `s` sits at pixel `((j + 0.5) s, (i + 0.5) s)`.
 */
export interface FCOSLiteAssignment {
  /** Class of each location (0: background). */
  labels: Int32Array;
  /** The ground-truth box each location regresses (-1: none). */
  matchedIdxs: Int32Array;
  /** Distances `[l, t, r, b]` from each positive location to its box's sides (0 for negatives), 4 per location. */
  ltrb: Float32Array;
  /** Centerness target of each positive location, `sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b))` (0 for negatives). */
  centerness: Float32Array;
}

/** The model's strides: the backbone halves the size four times; the head reads after the third and fourth. */
const STRIDES = [8, 16] as const;
/** The images are padded (bottom and right) to a multiple of the largest stride, so the levels line up 2:1. */
const SIZE_DIVISIBLE = 16;
/** `exp` of the box branch is clamped here: distances stay below e^8 strides, never Infinity. */
const MAX_LOG_DISTANCE = 8;

/** Conv 3x3 (no bias), BatchNorm, ReLU: the backbone's block. */
function convBnRelu(inC: number, outC: number, stride: number): Sequential {
  return new Sequential(new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false }), new BatchNorm2d(outC), new ReLU());
}

/**
 * One tower of the head: `depth` conv 3x3 layers shared by the levels, each followed by a
 * BatchNorm of its own per level and ReLU. FCOS uses GroupNorm because one head sees
 * levels whose statistics differ; BatchNorm per level (as YOLOX and NAS-FCOS) solves that
 * too and is one native kernel here where GroupNorm is a dozen elementwise ones, about a
 * quarter of a training step on 2 cores.
 */
class FCOSLiteTower extends Module<[feature: Tensor, level: number], Tensor> {
  readonly #convs: Conv2d[];
  readonly #norms: BatchNorm2d[][];

  constructor(channels: number, depth: number, levels: number) {
    super();
    this.#convs = Array.from({ length: depth }, () => new Conv2d(channels, channels, 3, { padding: 1, bias: false }));
    this.#norms = Array.from({ length: levels }, () => Array.from({ length: depth }, () => new BatchNorm2d(channels)));
    this.#convs.forEach((conv, d) => this.registerModule(`conv${d}`, conv));
    this.#norms.forEach((norms, l) => norms.forEach((norm, d) => this.registerModule(`norm${l}_${d}`, norm)));
  }

  forward(feature: Tensor, level: number): Tensor {
    return this.#convs.reduce((x, conv, d) => this.#norms[level]![d]!.call(conv.call(x)).relu(), feature);
  }
}

/**
 * The shared head: a class tower ending in the logits of the foreground classes, and a box
 * tower ending in the four log-distances (in strides) and the centerness logit.
 */
class FCOSLiteHead extends Module<[feature: Tensor, level: number], [logits: Tensor, distances: Tensor, centerness: Tensor]> {
  readonly #clsTower: FCOSLiteTower;
  readonly #boxTower: FCOSLiteTower;
  readonly #clsLogits: Conv2d;
  readonly #bboxPred: Conv2d;
  readonly #bboxCtrness: Conv2d;

  constructor(channels: number, depth: number, levels: number, foregroundClasses: number) {
    super();
    this.#clsTower = new FCOSLiteTower(channels, depth, levels);
    this.#boxTower = new FCOSLiteTower(channels, depth, levels);
    this.#clsLogits = new Conv2d(channels, foregroundClasses, 3, { padding: 1 });
    this.#bboxPred = new Conv2d(channels, 4, 3, { padding: 1 });
    this.#bboxCtrness = new Conv2d(channels, 1, 3, { padding: 1 });
    this.registerModule('cls_tower', this.#clsTower);
    this.registerModule('box_tower', this.#boxTower);
    this.registerModule('cls_logits', this.#clsLogits);
    this.registerModule('bbox_pred', this.#bboxPred);
    this.registerModule('bbox_ctrness', this.#bboxCtrness);
    // FCOS's initialisation: small weights, and a class prior of 0.01 so that the focal
    // loss of the many background locations does not swamp the first steps.
    for (const conv of [this.#clsLogits, this.#bboxPred, this.#bboxCtrness]) {
      normal_(conv.weight, 0, 0.01);
      constant_(conv.bias!, 0);
    }
    constant_(this.#clsLogits.bias!, -Math.log((1 - 0.01) / 0.01));
  }

  forward(feature: Tensor, level: number): [Tensor, Tensor, Tensor] {
    const box = this.#boxTower.call(feature, level);
    return [this.#clsLogits.call(this.#clsTower.call(feature, level)), this.#bboxPred.call(box), this.#bboxCtrness.call(box)];
  }
}

/** `[N, C, H, W]` -> `[N, H * W, C]`: one row per location, row-major as the targets. */
function perLocation(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return x.permute(0, 2, 3, 1).reshape(n, h * w, c);
}

/**
 * A small FCOS-style detector (see the module comment). `call(images, targets)` in
 * training mode returns the losses ({@link FCOSLiteLosses}); `call(images)` in eval mode
 * returns one `{ boxes, labels, scores }` per image, boxes xyxy in the image's pixels,
 * scores `sqrt(sigmoid(class) * sigmoid(centerness))`. `images` are `[3, H, W]` float32
 * tensors with values in 0..1 (any sizes: a batch is padded bottom-right to a multiple of
 * 16). {@link FCOSLite.losses} and {@link FCOSLite.detect} are the same two paths with one
 * result type each, as {@link GeneralizedRCNN}'s.
 *
 * Locations are assigned as FCOS does ({@link FCOSLite.assignTargets}): a location is
 * positive for a box when it lies inside the box, within `centerSamplingRadius` strides
 * of its centre, and its largest distance to the box's sides falls in its level's range;
 * among several such boxes, the smallest wins.
 *
 * @example
 * const model = models.detection.fcosLite({ numClasses: 11 });
 * model.train();
 * const losses = model.losses(images, [{ boxes, labels }]);
 * Object.values(losses).reduce((a, b) => a.add(b)).backward();
 * model.eval();
 * const [{ boxes, labels, scores }] = noGrad(() => model.detect(images));
 */
export class FCOSLite extends Module<[images: readonly Tensor[], targets?: readonly DetectionTarget[]], Detection[] | FCOSLiteLosses> {
  /** Classes including the background. */
  readonly numClasses: number;
  /** Options after defaults. */
  readonly options: Readonly<Required<FCOSLiteOptions>>;
  readonly #stem: Sequential;
  readonly #stage2: Sequential;
  readonly #stage3: Sequential;
  readonly #stage4: Sequential;
  readonly #lateral3: Conv2d;
  readonly #lateral4: Conv2d;
  readonly #head: FCOSLiteHead;

  /** @param opts - sizes, loss and postprocessing settings (see {@link FCOSLiteOptions}; ArgumentError when out of range) */
  constructor(opts: FCOSLiteOptions) {
    super();
    const op = 'FCOSLite';
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected an options object with numClasses, got ${describe(opts)}`);
    const numClasses = checkInt(op, 'numClasses', opts.numClasses, 2);
    const width = checkInt(op, 'width', opts.width ?? 16, 1);
    const headChannels = checkInt(op, 'headChannels', opts.headChannels ?? 64, 1);
    const headDepth = checkInt(op, 'headDepth', opts.headDepth ?? 2, 0);
    const stageBlocks = checkInt(op, 'stageBlocks', opts.stageBlocks ?? 2, 1);
    const positive = (name: string, value: number, max = Number.POSITIVE_INFINITY) => {
      if (typeof value !== 'number' || !(value > 0 && value <= max)) throw new ArgumentError(`${op}: expected ${name} to be a number in (0, ${max}], got ${describe(value)}`);
      return value;
    };
    const boxLoss = opts.boxLoss ?? 'giou';
    if (boxLoss !== 'giou' && boxLoss !== 'ciou') throw new ArgumentError(`${op}: expected boxLoss 'giou' or 'ciou', got ${describe(boxLoss)}`);
    const scoreThreshold = opts.scoreThreshold ?? 0.05;
    if (typeof scoreThreshold !== 'number' || !(scoreThreshold >= 0 && scoreThreshold < 1)) {
      throw new ArgumentError(`${op}: expected scoreThreshold to be a number in [0, 1), got ${describe(scoreThreshold)}`);
    }
    this.options = {
      numClasses,
      width,
      headChannels,
      headDepth,
      stageBlocks,
      levelSplit: positive('levelSplit', opts.levelSplit ?? 32),
      centerSamplingRadius: positive('centerSamplingRadius', opts.centerSamplingRadius ?? 1.5),
      boxLoss,
      focalAlpha: opts.focalAlpha ?? 0.25,
      focalGamma: opts.focalGamma ?? 2,
      scoreThreshold,
      nmsThreshold: positive('nmsThreshold', opts.nmsThreshold ?? 0.6, 1),
      topkCandidates: checkInt(op, 'topkCandidates', opts.topkCandidates ?? 1000, 1),
      detectionsPerImage: checkInt(op, 'detectionsPerImage', opts.detectionsPerImage ?? 100, 1),
    };
    this.numClasses = numClasses;
    // Strides 2, 4, 8, 16; the head reads stride 8 (stage3) and 16 (stage4).
    this.#stem = convBnRelu(3, width, 2);
    const stage = (inC: number, outC: number) => new Sequential(convBnRelu(inC, outC, 2), ...Array.from({ length: stageBlocks - 1 }, () => convBnRelu(outC, outC, 1)));
    this.#stage2 = stage(width, 2 * width);
    this.#stage3 = stage(2 * width, 4 * width);
    this.#stage4 = stage(4 * width, 8 * width);
    this.#lateral3 = new Conv2d(4 * width, headChannels, 1);
    this.#lateral4 = new Conv2d(8 * width, headChannels, 1);
    this.#head = new FCOSLiteHead(headChannels, headDepth, STRIDES.length, numClasses - 1);
    this.registerModule('stem', this.#stem);
    this.registerModule('stage2', this.#stage2);
    this.registerModule('stage3', this.#stage3);
    this.registerModule('stage4', this.#stage4);
    this.registerModule('lateral3', this.#lateral3);
    this.registerModule('lateral4', this.#lateral4);
    this.registerModule('head', this.#head);
  }

  forward(images: readonly Tensor[], targets?: readonly DetectionTarget[]): Detection[] | FCOSLiteLosses {
    return this.training ? this.#losses('FCOSLite.forward', images, targets) : this.#detect('FCOSLite.forward', images);
  }

  /**
   * The training losses (training mode only; ArgumentError in eval mode or without targets).
   * @param images - `[3, H, W]` float32 images, values in 0..1
   * @param targets - one `{ boxes, labels }` per image, in the image's pixels
   */
  losses(images: readonly Tensor[], targets: readonly DetectionTarget[]): FCOSLiteLosses {
    if (!this.training) throw new ArgumentError('FCOSLite.losses: expected the model in training mode, got eval mode: call train() first, or detect() for detections');
    return this.call(images, targets) as FCOSLiteLosses;
  }

  /**
   * The detections per image, in the images' pixels (eval mode only; ArgumentError in training mode).
   * @param images - `[3, H, W]` float32 images, values in 0..1
   */
  detect(images: readonly Tensor[]): Detection[] {
    if (this.training) throw new ArgumentError('FCOSLite.detect: expected the model in eval mode, got training mode: call eval() first, or losses() for the training losses');
    return this.call(images) as Detection[];
  }

  /**
   * The levels' grids for a batch whose padded size is `imageSize` `[H, W]`: stride 8 and
   * 16, each `ceil(size / stride)` locations a side (the backbone's stride-2 convolutions
   * round up).
   */
  levels(imageSize: readonly [number, number]): FCOSLiteLevel[] {
    return STRIDES.map((stride) => ({ stride, height: Math.ceil(imageSize[0] / stride), width: Math.ceil(imageSize[1] / stride) }));
  }

  /**
   * FCOS's target assignment for one image on the grids of {@link FCOSLite.levels}: for
   * each location, the box it regresses (if any), its class, its distances to the box's
   * sides and its centerness target (see {@link FCOSLiteAssignment}). Runs on the host:
   * the targets are read once.
   *
   * @example
   * const { labels, ltrb } = model.assignTargets({ boxes, labels }, [128, 128]);
   */
  assignTargets(target: DetectionTarget, imageSize: readonly [number, number]): FCOSLiteAssignment {
    const op = 'FCOSLite.assignTargets';
    checkTargets(op, [target], this.numClasses);
    if (!Array.isArray(imageSize) || imageSize.length !== 2 || !imageSize.every((s) => Number.isInteger(s) && s > 0)) {
      throw new ArgumentError(`${op}: expected imageSize to be [height, width] of positive integers, got ${describe(imageSize)}`);
    }
    return this.#assign(target.boxes.dataSync() as Float32Array, target.labels.dataSync() as Int32Array, this.levels(imageSize));
  }

  #assign(boxes: Float32Array, labels: Int32Array, levels: readonly FCOSLiteLevel[]): FCOSLiteAssignment {
    const total = levels.reduce((n, l) => n + l.height * l.width, 0);
    const out: FCOSLiteAssignment = { labels: new Int32Array(total), matchedIdxs: new Int32Array(total).fill(-1), ltrb: new Float32Array(4 * total), centerness: new Float32Array(total) };
    const numBoxes = labels.length;
    const { levelSplit, centerSamplingRadius } = this.options;
    let location = 0;
    levels.forEach((level, li) => {
      const [low, high] = li === 0 ? [0, levelSplit] : [levelSplit, Number.POSITIVE_INFINITY];
      const radius = centerSamplingRadius * level.stride;
      for (let i = 0; i < level.height; ++i) {
        const y = (i + 0.5) * level.stride;
        for (let j = 0; j < level.width; ++j, ++location) {
          const x = (j + 0.5) * level.stride;
          let best = -1;
          let bestArea = Number.POSITIVE_INFINITY;
          for (let g = 0; g < numBoxes; ++g) {
            const [x1, y1, x2, y2] = [boxes[4 * g]!, boxes[4 * g + 1]!, boxes[4 * g + 2]!, boxes[4 * g + 3]!];
            const l = x - x1;
            const t = y - y1;
            const r = x2 - x;
            const b = y2 - y;
            if (Math.min(l, t, r, b) <= 0) continue;
            // Centre sampling: within `radius` of the box's centre (the box bounds it too, checked above).
            if (Math.abs(x - (x1 + x2) / 2) >= radius || Math.abs(y - (y1 + y2) / 2) >= radius) continue;
            const reach = Math.max(l, t, r, b);
            if (reach < low || reach > high) continue;
            const area = (x2 - x1) * (y2 - y1);
            if (area < bestArea) {
              best = g;
              bestArea = area;
            }
          }
          if (best < 0) continue;
          const l = x - boxes[4 * best]!;
          const t = y - boxes[4 * best + 1]!;
          const r = boxes[4 * best + 2]! - x;
          const b = boxes[4 * best + 3]! - y;
          out.labels[location] = labels[best]!;
          out.matchedIdxs[location] = best;
          out.ltrb.set([l, t, r, b], 4 * location);
          out.centerness[location] = Math.sqrt((Math.min(l, r) / Math.max(l, r)) * (Math.min(t, b) / Math.max(t, b)));
        }
      }
    });
    return out;
  }

  /** Backbone, top-down join and head: per-location logits `[N, L, C-1]`, log-distances `[N, L, 4]` and centerness logits `[N, L]`, with the grids. */
  #predict(op: string, images: readonly Tensor[]): { logits: Tensor; distances: Tensor; centerness: Tensor; levels: FCOSLiteLevel[] } {
    const batch = batchImages(op, images);
    const c3 = this.#stage3.call(this.#stage2.call(this.#stem.call(batch)));
    const c4 = this.#stage4.call(c3);
    const p4 = this.#lateral4.call(c4);
    const p3 = this.#lateral3.call(c3).add(interpolate(p4, { scaleFactor: 2, mode: 'nearest' }));
    const outputs = [p3, p4].map((p, level) => this.#head.call(p, level));
    const levels = this.levels([batch.shape[2]!, batch.shape[3]!]);
    const n = batch.shape[0]!;
    return {
      logits: cat(outputs.map(([logits]) => perLocation(logits)), 1),
      distances: cat(outputs.map(([, distances]) => perLocation(distances)), 1),
      centerness: cat(outputs.map(([, , ctr]) => perLocation(ctr)), 1).reshape(n, -1),
      levels,
    };
  }

  #losses(op: string, images: readonly Tensor[], targets: readonly DetectionTarget[] | undefined): FCOSLiteLosses {
    if (targets === undefined) throw new ArgumentError(`${op}: expected targets (one { boxes, labels } per image) in training mode, got undefined: call eval() for detections`);
    checkTargets(op, targets, this.numClasses);
    if (targets.length !== images.length) throw new ArgumentError(`${op}: expected one target per image, got ${targets.length} targets for ${images.length} images`);
    return scope(() => {
      const { logits, distances, centerness, levels } = this.#predict(op, images);
      const [n, locations, foreground] = logits.shape as [number, number, number];
      const grid = locationGrid(levels);
      // Host-side targets for the whole batch: one-hot classes, and for the positive
      // locations their index, location (centre and stride), box and centerness.
      const classTargets = new Float32Array(n * locations * foreground);
      const positives: number[] = [];
      const centres: number[] = [];
      const strides: number[] = [];
      const gtBoxes: number[] = [];
      const ctrTargets: number[] = [];
      targets.forEach((target, i) => {
        const boxes = target.boxes.dataSync() as Float32Array;
        const assignment = this.#assign(boxes, target.labels.dataSync() as Int32Array, levels);
        for (let loc = 0; loc < locations; ++loc) {
          const label = assignment.labels[loc]!;
          if (label === 0) continue;
          const flat = i * locations + loc;
          classTargets[flat * foreground + label - 1] = 1;
          positives.push(flat);
          const [x, y, stride] = [grid.x[loc]!, grid.y[loc]!, grid.stride[loc]!];
          centres.push(x, y, x, y);
          strides.push(stride);
          const g = assignment.matchedIdxs[loc]!;
          gtBoxes.push(boxes[4 * g]!, boxes[4 * g + 1]!, boxes[4 * g + 2]!, boxes[4 * g + 3]!);
          ctrTargets.push(assignment.centerness[loc]!);
        }
      });
      const device = logits.device;
      const numPositive = Math.max(1, positives.length);
      const onDevice = (values: Float32Array, shape: number[]) => tensor(values, { shape, device });
      const classification = sigmoidFocalLoss(logits, onDevice(classTargets, [n, locations, foreground]), {
        alpha: this.options.focalAlpha,
        gamma: this.options.focalGamma,
        reduction: 'sum',
      }).div(numPositive);
      if (positives.length === 0) {
        // No positive location in the batch: the box losses are 0, still attached to the graph.
        const zero = distances.sum().mul(0).add(centerness.sum().mul(0)) as Tensor<'float32'>;
        return { classification, bbox_regression: zero, bbox_ctrness: zero.clone() };
      }
      const index = tensor(Int32Array.from(positives), { device });
      const p = positives.length;
      const predicted = decode(indexSelect(distances.reshape(n * locations, 4), 0, index), onDevice(Float32Array.from(centres), [p, 4]), onDevice(Float32Array.from(strides), [p, 1]));
      const truth = onDevice(Float32Array.from(gtBoxes), [p, 4]);
      const boxLoss = this.options.boxLoss === 'ciou' ? completeBoxIouLoss : generalizedBoxIouLoss;
      const bboxRegression = boxLoss(predicted, truth, { reduction: 'sum' }).div(numPositive);
      const ctrLogits = indexSelect(centerness.reshape(n * locations), 0, index);
      const bboxCtrness = binaryCrossEntropyWithLogits(ctrLogits, onDevice(Float32Array.from(ctrTargets), [p]), { reduction: 'sum' }).div(numPositive);
      return { classification, bbox_regression: bboxRegression, bbox_ctrness: bboxCtrness } as FCOSLiteLosses;
    });
  }

  #detect(op: string, images: readonly Tensor[]): Detection[] {
    return scope(() => {
      const { logits, distances, centerness, levels } = this.#predict(op, images);
      const [n, locations, foreground] = logits.shape as [number, number, number];
      const grid = locationGrid(levels);
      const device = logits.device;
      const centres = new Float32Array(4 * locations);
      for (let loc = 0; loc < locations; ++loc) centres.set([grid.x[loc]!, grid.y[loc]!, grid.x[loc]!, grid.y[loc]!], 4 * loc);
      const centreTensor = tensor(centres, { shape: [locations, 4], device });
      const strideTensor = tensor(grid.stride, { shape: [locations, 1], device });
      // FCOS's score: the geometric mean of the class and centerness probabilities.
      const scores = logits.sigmoid().mul(centerness.sigmoid().unsqueeze(2)).sqrt();
      // Candidate k is location floor(k / C) and class (k mod C) + 1 of the flattened [L, C] scores.
      const classes = tensor(Int32Array.from({ length: locations * foreground }, (_, k) => (k % foreground) + 1), { device });
      const locationOf = tensor(Int32Array.from({ length: locations * foreground }, (_, k) => Math.floor(k / foreground)), { device });
      const { scoreThreshold, nmsThreshold, topkCandidates, detectionsPerImage } = this.options;
      return images.map((image, i): Detection => {
        const boxes = clipBoxesToImage(decode(distances.slice(0, i, i + 1).reshape(locations, 4), centreTensor, strideTensor), [image.shape[1]!, image.shape[2]!]);
        const flat = scores.slice(0, i, i + 1).reshape(-1);
        // Top-k candidates (each a location and a class), then per-class NMS with the score threshold and the detection cap.
        const top = flat.topk(Math.min(topkCandidates, flat.shape[0]!));
        const candidateBoxes = indexSelect(boxes, 0, indexSelect(locationOf, 0, top.indices));
        const candidateLabels = indexSelect(classes, 0, top.indices);
        const keep = batchedNms(candidateBoxes, top.values, candidateLabels, nmsThreshold, { scoreThreshold, maxDetections: detectionsPerImage });
        return {
          boxes: indexSelect(candidateBoxes, 0, keep) as Tensor<'float32'>,
          scores: indexSelect(top.values, 0, keep) as Tensor<'float32'>,
          labels: indexSelect(candidateLabels, 0, keep) as Tensor<'int32'>,
        };
      });
    });
  }
}

/** xyxy boxes from log-distances `[K, 4]` (in strides), location centres `[K, 4]` (`x, y, x, y`) and strides `[K, 1]`. */
function decode(logDistances: Tensor, centres: Tensor, strides: Tensor): Tensor {
  const ltrb = logDistances.clamp(null, MAX_LOG_DISTANCE).exp().mul(strides);
  const sign = tensor(Float32Array.of(-1, -1, 1, 1), { shape: [1, 4], device: ltrb.device });
  return centres.add(ltrb.mul(sign));
}

/** Centre (x, y) and stride of every location, in location order. */
function locationGrid(levels: readonly FCOSLiteLevel[]): { x: Float32Array; y: Float32Array; stride: Float32Array } {
  const total = levels.reduce((n, l) => n + l.height * l.width, 0);
  const grid = { x: new Float32Array(total), y: new Float32Array(total), stride: new Float32Array(total) };
  let loc = 0;
  for (const level of levels) {
    for (let i = 0; i < level.height; ++i) {
      for (let j = 0; j < level.width; ++j, ++loc) {
        grid.x[loc] = (j + 0.5) * level.stride;
        grid.y[loc] = (i + 0.5) * level.stride;
        grid.stride[loc] = level.stride;
      }
    }
  }
  return grid;
}

/** The images as one `[N, 3, H, W]` batch, padded bottom-right with zeros to a multiple of 16. */
function batchImages(op: string, images: readonly Tensor[]): Tensor {
  if (!Array.isArray(images) || images.length === 0) throw new ArgumentError(`${op}: expected images to be a non-empty array of [3, H, W] tensors, got ${describe(images)}`);
  images.forEach((image, i) => {
    if (!(image instanceof Tensor)) throw new ArgumentError(`${op}: expected images[${i}] to be a Tensor, got ${describe(image)}`);
    if (image.ndim !== 3 || image.shape[0] !== 3) throw new ShapeError(`${op}: expected images[${i}] of shape [3, H, W], got [${image.shape.join(', ')}]`);
    if (image.dtype !== 'float32') throw new DTypeError(`${op}: expected images[${i}] of dtype float32 (values in 0..1), got ${image.dtype}`);
  });
  const roundUp = (v: number) => Math.ceil(v / SIZE_DIVISIBLE) * SIZE_DIVISIBLE;
  const height = roundUp(Math.max(...images.map((im) => im.shape[1]!)));
  const width = roundUp(Math.max(...images.map((im) => im.shape[2]!)));
  return stack(images.map((im) => (im.shape[1] === height && im.shape[2] === width ? im : pad(im, [0, width - im.shape[2]!, 0, height - im.shape[1]!]))), 0);
}

/**
 * The training targets' checks: a list of `{ boxes [G, 4] float32, labels [G] int32 }`
 * records, every box with positive width and height, every label in 1..numClasses-1 (one
 * read of each: they come from the host).
 */
function checkTargets(op: string, targets: readonly DetectionTarget[], numClasses: number): void {
  if (!Array.isArray(targets)) throw new ArgumentError(`${op}: expected targets to be an array of { boxes, labels } records, got ${describe(targets)}`);
  targets.forEach((target, i) => {
    if (typeof target !== 'object' || target === null) throw new ArgumentError(`${op}: expected targets[${i}] to be a { boxes, labels } record, got ${describe(target)}`);
    const { boxes, labels } = target;
    if (!(boxes instanceof Tensor) || boxes.ndim !== 2 || boxes.shape[1] !== 4) {
      throw new ShapeError(`${op}: expected targets[${i}].boxes to be a Tensor of shape [G, 4], got ${boxes instanceof Tensor ? `[${boxes.shape.join(', ')}]` : describe(boxes)}`);
    }
    if (boxes.dtype !== 'float32') throw new DTypeError(`${op}: expected targets[${i}].boxes of dtype float32, got ${boxes.dtype}`);
    if (!(labels instanceof Tensor) || labels.ndim !== 1 || labels.shape[0] !== boxes.shape[0]) {
      throw new ShapeError(`${op}: expected targets[${i}].labels to be a Tensor of shape [${boxes.shape[0]}] (one per box), got ${labels instanceof Tensor ? `[${labels.shape.join(', ')}]` : describe(labels)}`);
    }
    if (labels.dtype !== 'int32') throw new DTypeError(`${op}: expected targets[${i}].labels of dtype int32, got ${labels.dtype}`);
    const values = boxes.dataSync();
    const classes = labels.dataSync();
    for (let b = 0; b < boxes.shape[0]!; ++b) {
      const [x1, y1, x2, y2] = [values[4 * b], values[4 * b + 1], values[4 * b + 2], values[4 * b + 3]].map(Number) as [number, number, number, number];
      if (!(x2 > x1 && y2 > y1)) throw new ArgumentError(`${op}: all boxes must have positive width and height; targets[${i}].boxes[${b}] is [${x1}, ${y1}, ${x2}, ${y2}]`);
      const label = Number(classes[b]);
      if (!(label >= 1 && label < numClasses)) throw new ArgumentError(`${op}: expected targets[${i}].labels[${b}] in 1..${numClasses - 1} (0 is the background), got ${label}`);
    }
  });
}

/**
 * Builds an {@link FCOSLite} detector, randomly initialised (there are no pretrained weights).
 *
 * @example
 * const model = models.detection.fcosLite({ numClasses: 11, width: 16 });
 */
export function fcosLite(opts: FCOSLiteOptions): FCOSLite {
  return new FCOSLite(opts);
}
