/**
 * The Region Proposal Network of Faster R-CNN (Ren et al. 2015), as
 * torchvision.models.detection.rpn (0.14): RPNHead (objectness and box deltas per anchor of
 * each feature level) and RegionProposalNetwork (anchors, decoding, per-level top-n, NMS, and
 * in training the objectness and box-regression losses). State-dict names are torchvision's
 * (`head.conv.0.0.weight`, `head.cls_logits.weight`, `head.bbox_pred.bias`).
 *
 * Host reads: torchvision's filter_proposals reads the device several times per image (the
 * small-box and score filters, NMS). Here the per-level top-n sizes come from the shapes,
 * the small-box and score filters are masks folded into NMS's score threshold, and the
 * training losses are masked sums divided by the sampled count on the device: the only
 * read is NMS's keep mask, once per image, which no formulation avoids.
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../../errors.js';
import { binaryCrossEntropyWithLogits } from '../../losses/classification.js';
import { smoothL1Loss } from '../../losses/regression.js';
import { constant_, normal_ } from '../../nn/init.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Module } from '../../nn/module.js';
import { batchedNms, boxIou, clipBoxesToImage } from '../../ops/boxes.js';
import { where } from '../../ops/compare.js';
import { gather, indexSelect } from '../../ops/indexing.js';
import { cat } from '../../ops/shape.js';
import { topk } from '../../ops/sort.js';
import { checkDTypeIn, checkInRange, checkInt, checkSameDevice, checkTensor } from '../../ops/validate.js';
import { full, zeros } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { DetectionTarget } from '../../tensor/detection_records.js';
import { Tensor } from '../../tensor/tensor.js';
import { AnchorGenerator } from '../../vision/anchor_generator.js';
import { BalancedPositiveNegativeSampler } from '../../vision/balanced_sampler.js';
import { BoxCoder } from '../../vision/box_coder.js';
import { ImageList, type ImageSize } from '../../vision/image_list.js';
import { Matcher } from '../../vision/matcher.js';

/**
 * A head that maps feature maps (one per level) to per-level objectness logits
 * `[N, A_i, H_i, W_i]` and box deltas `[N, 4 A_i, H_i, W_i]`, as {@link RPNHead} does: what
 * {@link RegionProposalNetwork} accepts as its head.
 */
export type RPNHeadModule = Module<[features: readonly Tensor[]], [Tensor[], Tensor[]]>;

/**
 * The RPN's head, as torchvision's `RPNHead(in_channels, num_anchors, conv_depth)`: per
 * feature level, `convDepth` 3x3 convolutions with ReLU (`conv.i.0`, channels kept), then a
 * 1x1 convolution to one objectness logit per anchor (`cls_logits`) and one to four box
 * deltas per anchor (`bbox_pred`). All weights start normal with std 0.01 and biases at 0,
 * as torchvision's. `forward(features)` takes the levels `[N, inChannels, H_i, W_i]` and
 * returns `[objectness, deltas]`, one tensor per level each: `[N, A, H_i, W_i]` and
 * `[N, 4 A, H_i, W_i]`. Checkpoints saved before torchvision 0.11 (`conv.weight`) load as
 * torchvision loads them.
 *
 * @example
 * const head = new models.detection.RPNHead(256, 3);
 * const [objectness, deltas] = head.call([p2, p3, p4, p5, pool]); // per level
 */
export class RPNHead extends Module<[features: readonly Tensor[]], [Tensor[], Tensor[]]> {
  // Registered under torchvision's names; the camelCase getters read the same modules.
  readonly #conv: Sequential;
  readonly #clsLogits: Conv2d;
  readonly #bboxPred: Conv2d;

  /**
   * @param inChannels - channels of every feature level, an integer >= 1
   * @param numAnchors - anchors per feature-map cell, an integer >= 1
   * @param convDepth - 3x3 convolutions before the predictors, an integer >= 1 (default 1)
   */
  constructor(readonly inChannels: number, readonly numAnchors: number, readonly convDepth = 1) {
    super();
    const op = 'RPNHead';
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'numAnchors', numAnchors, 1);
    checkInt(op, 'convDepth', convDepth, 1);
    this.#conv = new Sequential(...Array.from({ length: convDepth }, () => new Conv2dNormActivation(inChannels, inChannels, 3, { normLayer: null })));
    this.#clsLogits = new Conv2d(inChannels, numAnchors, 1);
    this.#bboxPred = new Conv2d(inChannels, numAnchors * 4, 1);
    this.registerModule('conv', this.#conv);
    this.registerModule('cls_logits', this.#clsLogits);
    this.registerModule('bbox_pred', this.#bboxPred);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        normal_(m.weight, 0, 0.01);
        if (m.bias) constant_(m.bias, 0);
      }
    }
  }

  /** The 3x3 convolutions with ReLU shared by both predictors (`conv`). */
  get conv(): Sequential {
    return this.#conv;
  }

  /** The 1x1 convolution to the objectness logits (`cls_logits`). */
  get clsLogits(): Conv2d {
    return this.#clsLogits;
  }

  /** The 1x1 convolution to the box deltas (`bbox_pred`). */
  get bboxPred(): Conv2d {
    return this.#bboxPred;
  }

  forward(features: readonly Tensor[]): [Tensor[], Tensor[]] {
    const op = 'RPNHead';
    if (!Array.isArray(features) || features.length === 0) throw new ArgumentError(`${op}: expected features to be a non-empty array of feature maps (one per level), got ${describe(features)}`);
    features.forEach((x, i) => {
      if (!(x instanceof Tensor) || x.ndim !== 4 || x.shape[1] !== this.inChannels) {
        const got = x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : describe(x);
        throw new ShapeError(`${op}: expected features[${i}] of shape [N, ${this.inChannels}, H, W], got ${got}`);
      }
    });
    const logits: Tensor[] = [];
    const deltas: Tensor[] = [];
    for (const feature of features) {
      const t = this.#conv.call(feature);
      logits.push(this.#clsLogits.call(t));
      deltas.push(this.#bboxPred.call(t));
      // Only the autograd graph needs it, and it holds its own reference.
      t.dispose();
    }
    return [logits, deltas];
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, numAnchors=${this.numAnchors}, convDepth=${this.convDepth}`;
  }

  /**
   * torchvision < 0.11 saved the 3x3 convolution as a bare Conv2d (`conv.weight`). torchvision
   * renames the key when the checkpoint's version metadata says so; safetensors carries none,
   * so the old key is renamed when the new one is absent.
   */
  protected override adaptStateDict(dict: Map<string, Tensor>, prefix: string): void {
    for (const kind of ['weight', 'bias']) {
      const legacy = `${prefix}conv.${kind}`;
      const current = `${prefix}conv.0.0.${kind}`;
      const value = dict.get(legacy);
      if (value !== undefined && !dict.has(current)) {
        dict.delete(legacy);
        dict.set(current, value);
      }
    }
  }
}

/**
 * One level's `[N, A * C, H, W]` as `[N, H * W * A, C]`: cell-major, then anchor, as the
 * anchors are laid out (torchvision's `permute_and_flatten`).
 */
function permuteAndFlatten(layer: Tensor, n: number, c: number, h: number, w: number): Tensor {
  return layer.view(n, -1, c, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, c);
}

/**
 * The per-level predictions of a detection head in the anchors' order, as torchvision's
 * `concat_box_prediction_layers`: `boxCls[i]` `[N, A_i * C, H_i, W_i]` and
 * `boxRegression[i]` `[N, A_i * 4, H_i, W_i]` become `[N * sum_i(H_i W_i A_i), C]` and
 * `[N * sum_i(H_i W_i A_i), 4]`: image-major, then level, cell, anchor. Differentiable.
 *
 * @example
 * const [objectness, deltas] = concatBoxPredictionLayers(logitsPerLevel, deltasPerLevel); // [N*A, 1], [N*A, 4]
 */
export function concatBoxPredictionLayers(boxCls: readonly Tensor[], boxRegression: readonly Tensor[]): [Tensor<'float32'>, Tensor<'float32'>] {
  const op = 'concatBoxPredictionLayers';
  if (!Array.isArray(boxCls) || !Array.isArray(boxRegression) || boxCls.length === 0 || boxCls.length !== boxRegression.length) {
    throw new ArgumentError(`${op}: expected boxCls and boxRegression to be non-empty arrays of one tensor per level each, got ${describe(boxCls)} and ${describe(boxRegression)}`);
  }
  const clsFlat: Tensor[] = [];
  const regFlat: Tensor[] = [];
  boxCls.forEach((cls, i) => {
    const reg = boxRegression[i]!;
    checkTensor(op, `boxCls[${i}]`, cls);
    checkTensor(op, `boxRegression[${i}]`, reg);
    const [n, axc, h, w] = cls.shape as [number, number, number, number];
    const ax4 = reg.shape[1]!;
    const valid = cls.ndim === 4 && reg.ndim === 4 && ax4 > 0 && ax4 % 4 === 0 && axc % (ax4 / 4) === 0 && reg.shape[0] === n && reg.shape[2] === h && reg.shape[3] === w;
    if (!valid) {
      throw new ShapeError(`${op}: expected boxCls[${i}] [N, A * C, H, W] and boxRegression[${i}] [N, A * 4, H, W] of one N, H, W and A, got [${cls.shape.join(', ')}] and [${reg.shape.join(', ')}]`);
    }
    clsFlat.push(permuteAndFlatten(cls, n, axc / (ax4 / 4), h, w));
    regFlat.push(permuteAndFlatten(reg, n, 4, h, w));
  });
  return scope(() => {
    const cls = cat(clsFlat, 1);
    const reg = cat(regFlat, 1);
    return [cls.flatten(0, -2) as Tensor<'float32'>, reg.reshape(-1, 4) as Tensor<'float32'>];
  });
}

/** A count that differs between training and evaluation, as torchvision's `dict(training=..., testing=...)`. */
export interface RPNTopN {
  /** The count in training mode. */
  training: number;
  /** The count in eval mode. */
  testing: number;
}

/** Options of {@link RegionProposalNetwork}, torchvision's constructor arguments in camelCase. */
export interface RegionProposalNetworkOptions {
  /** IoU with a ground-truth box at or above which an anchor is a positive in training (torchvision's fg_iou_thresh; Faster R-CNN: 0.7). */
  fgIouThresh: number;
  /** IoU below which an anchor is a negative in training; anchors in between are ignored (Faster R-CNN: 0.3). */
  bgIouThresh: number;
  /** Anchors sampled per image for the losses (Faster R-CNN: 256). */
  batchSizePerImage: number;
  /** Share of positives among the sampled anchors (Faster R-CNN: 0.5). */
  positiveFraction: number;
  /** Proposals kept per feature level before NMS, by objectness (Faster R-CNN: 2000 / 1000). */
  preNmsTopN: RPNTopN;
  /** Proposals kept per image after NMS (Faster R-CNN: 2000 / 1000). */
  postNmsTopN: RPNTopN;
  /** IoU above which NMS (per level) drops the lower-scoring proposal (Faster R-CNN: 0.7). */
  nmsThresh: number;
  /** Proposals whose objectness probability is below this are dropped (default 0: none). */
  scoreThresh?: number;
}

/** What {@link RegionProposalNetwork.filterProposals} keeps, per image. */
export interface FilteredProposals {
  /** Per image, the kept proposals `[K_i, 4]` (xyxy), by decreasing objectness. */
  boxes: Array<Tensor<'float32'>>;
  /** Per image, their objectness probabilities `[K_i]`. */
  scores: Array<Tensor<'float32'>>;
}

/** torchvision's `min_size`: proposals narrower or shorter than this (pixels) are dropped. */
const MIN_SIZE = 1e-3;

/** Throws ArgumentError unless `value` is a number (not NaN). */
function checkNumber(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ArgumentError(`${op}: expected ${name} to be a number, got ${describe(value)}`);
  return value;
}

/** A checked {@link RPNTopN}: both counts integers >= 0. */
function checkTopN(op: string, name: string, value: unknown): RPNTopN {
  if (typeof value !== 'object' || value === null) throw new ArgumentError(`${op}: expected ${name} to be { training, testing }, two integers >= 0, got ${describe(value)}`);
  const { training, testing } = value as Record<string, unknown>;
  return { training: checkInt(op, `${name}.training`, training, 0), testing: checkInt(op, `${name}.testing`, testing, 0) };
}

/**
 * The Region Proposal Network, as torchvision's `RegionProposalNetwork(anchor_generator, head,
 * fg_iou_thresh, bg_iou_thresh, batch_size_per_image, positive_fraction, pre_nms_top_n,
 * post_nms_top_n, nms_thresh, score_thresh)`. `forward(images, features, targets?)` runs the
 * head on every feature map (the Map's values, in order), decodes its deltas against the
 * anchors (BoxCoder with weights 1) and keeps, per image: the `preNmsTopN` anchors of each
 * level with the highest objectness, clipped to the image, without boxes under 1e-3 px or
 * scoring below `scoreThresh` (sigmoid of the logit), after NMS per level at `nmsThresh`,
 * the best `postNmsTopN`. It returns `[proposals, losses]`: one float32 `[K_i, 4]` (xyxy) per
 * image by decreasing objectness, and in eval mode `{}`; in training mode (`targets`
 * required) `{ loss_objectness, loss_rpn_box_reg }`: binary cross-entropy on the sampled
 * anchors' logits, and smooth L1 (beta 1/9) on the sampled positives' deltas summed and
 * divided by the sampled count, as torchvision's. Anchors are matched with a
 * {@link Matcher} (low-quality matches allowed) and sampled with a
 * {@link BalancedPositiveNegativeSampler} (neocog's generator: the draw differs from
 * torchvision's unless every anchor is taken). Gradients reach the head through the
 * losses only: proposals are computed from detached predictions, as torchvision's.
 *
 * Reads from the device: one per image (NMS's keep list); the losses need none.
 *
 * @example
 * const { AnchorGenerator, ImageList } = vision;
 * const rpn = new models.detection.RegionProposalNetwork(
 *   new AnchorGenerator([[32], [64], [128], [256], [512]], Array.from({ length: 5 }, () => [0.5, 1, 2])),
 *   new models.detection.RPNHead(256, 3),
 *   { fgIouThresh: 0.7, bgIouThresh: 0.3, batchSizePerImage: 256, positiveFraction: 0.5,
 *     preNmsTopN: { training: 2000, testing: 1000 }, postNmsTopN: { training: 2000, testing: 1000 }, nmsThresh: 0.7 },
 * );
 * const [proposals, losses] = rpn.call(new ImageList(batch, sizes), fpnFeatures, [{ boxes: gtBoxes0 }, { boxes: gtBoxes1 }]);
 * losses.loss_objectness!.add(losses.loss_rpn_box_reg!).backward();
 */
export class RegionProposalNetwork extends Module<[images: ImageList, features: ReadonlyMap<string, Tensor>, targets?: readonly Pick<DetectionTarget, 'boxes'>[]], [Tensor[], Record<string, Tensor>]> {
  // Registered under torchvision's names (anchor_generator, head).
  readonly #anchorGenerator: AnchorGenerator;
  readonly #head: RPNHeadModule;
  /** Decodes the head's deltas against the anchors (weights 1, as torchvision's). */
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  /** Matches anchors to ground-truth boxes in training. */
  readonly proposalMatcher: Matcher;
  /** Samples the anchors the losses are computed on. */
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  /** Proposals kept per level before NMS, in training and eval mode. */
  readonly preNmsTopNCounts: RPNTopN;
  /** Proposals kept per image after NMS, in training and eval mode. */
  readonly postNmsTopNCounts: RPNTopN;
  /** NMS's IoU threshold. */
  readonly nmsThresh: number;
  /** The objectness probability below which proposals are dropped. */
  readonly scoreThresh: number;
  /** Proposals narrower or shorter than this (pixels) are dropped (torchvision's min_size, 1e-3). */
  readonly minSize = MIN_SIZE;

  /**
   * @param anchorGenerator - the anchors of each feature level
   * @param head - the per-level objectness and deltas ({@link RPNHead}); its anchors per
   *   cell must be the generator's (checked at forward, ShapeError)
   * @param opts - see {@link RegionProposalNetworkOptions} (ArgumentError on a bad value)
   */
  constructor(anchorGenerator: AnchorGenerator, head: RPNHeadModule, opts: RegionProposalNetworkOptions) {
    super();
    const op = 'RegionProposalNetwork';
    if (!(anchorGenerator instanceof AnchorGenerator)) throw new ArgumentError(`${op}: expected anchorGenerator to be an AnchorGenerator, got ${describe(anchorGenerator)}`);
    if (!(head instanceof Module)) throw new ArgumentError(`${op}: expected head to be a Module (RPNHead), got ${describe(head)}`);
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected opts to be an options object, got ${describe(opts)}`);
    const fg = checkNumber(op, 'fgIouThresh', opts.fgIouThresh);
    const bg = checkNumber(op, 'bgIouThresh', opts.bgIouThresh);
    if (bg > fg) throw new ArgumentError(`${op}: expected bgIouThresh <= fgIouThresh, got bgIouThresh ${bg} and fgIouThresh ${fg}`);
    checkInt(op, 'batchSizePerImage', opts.batchSizePerImage, 0);
    checkInRange(op, 'positiveFraction', opts.positiveFraction, 0, 1);
    this.preNmsTopNCounts = checkTopN(op, 'preNmsTopN', opts.preNmsTopN);
    this.postNmsTopNCounts = checkTopN(op, 'postNmsTopN', opts.postNmsTopN);
    this.nmsThresh = checkNumber(op, 'nmsThresh', opts.nmsThresh);
    this.scoreThresh = checkNumber(op, 'scoreThresh', opts.scoreThresh ?? 0);
    this.proposalMatcher = new Matcher(fg, bg, { allowLowQualityMatches: true });
    this.fgBgSampler = new BalancedPositiveNegativeSampler(opts.batchSizePerImage, opts.positiveFraction);
    this.#anchorGenerator = anchorGenerator;
    this.#head = head;
    this.registerModule('anchor_generator', anchorGenerator);
    this.registerModule('head', head);
  }

  /** The anchor generator (`anchor_generator`). */
  get anchorGenerator(): AnchorGenerator {
    return this.#anchorGenerator;
  }

  /** The head (`head`). */
  get head(): RPNHeadModule {
    return this.#head;
  }

  /** Proposals kept per level before NMS in the current mode, as torchvision's `pre_nms_top_n()`. */
  preNmsTopN(): number {
    return this.training ? this.preNmsTopNCounts.training : this.preNmsTopNCounts.testing;
  }

  /** Proposals kept per image after NMS in the current mode, as torchvision's `post_nms_top_n()`. */
  postNmsTopN(): number {
    return this.training ? this.postNmsTopNCounts.training : this.postNmsTopNCounts.testing;
  }

  forward(images: ImageList, features: ReadonlyMap<string, Tensor>, targets?: readonly Pick<DetectionTarget, 'boxes'>[]): [Tensor[], Record<string, Tensor>] {
    const op = 'RegionProposalNetwork.forward';
    if (!(images instanceof ImageList)) throw new ArgumentError(`${op}: expected images to be an ImageList, got ${describe(images)}`);
    if (!(features instanceof Map) || features.size === 0) throw new ArgumentError(`${op}: expected features to be a non-empty Map from level name to [N, C, H, W] tensor, got ${describe(features)}`);
    const numImages = images.imageSizes.length;
    const maps = [...features.values()];
    maps.forEach((f, i) => {
      checkTensor(op, `features[${i}]`, f);
      if (f.ndim !== 4 || f.shape[0] !== numImages) throw new ShapeError(`${op}: expected feature '${[...features.keys()][i]}' of shape [${numImages}, C, H, W] (one per image of images), got [${f.shape.join(', ')}]`);
    });
    const checkedTargets = this.training ? this.checkTargets(op, targets, numImages) : null;
    return scope(() => {
      const [objectnessPerLevel, deltasPerLevel] = this.#head.call(maps);
      const anchors = this.#anchorGenerator.call(images, maps);
      const numAnchorsPerLevel = this.checkHeadOutputs(op, objectnessPerLevel, deltasPerLevel, anchors[0]!.shape[0]!, numImages);
      const [objectness, deltas] = concatBoxPredictionLayers(objectnessPerLevel, deltasPerLevel);
      // Faster R-CNN does not backpropagate through the proposals.
      const proposals = noGrad(() => this.boxCoder.decode(deltas.detach(), anchors).view(numImages, -1, 4));
      const { boxes } = this.filterProposals(proposals, objectness, images.imageSizes, numAnchorsPerLevel);
      if (checkedTargets === null) return [boxes, {}];
      const { labels, matchedGtBoxes } = this.assignTargetsToAnchors(anchors, checkedTargets);
      const regressionTargets = noGrad(() => this.boxCoder.encode(matchedGtBoxes, anchors));
      const { lossObjectness, lossBoxReg } = this.computeLoss(objectness, deltas, labels, regressionTargets);
      return [boxes, { loss_objectness: lossObjectness, loss_rpn_box_reg: lossBoxReg }];
    });
  }

  /** The training targets, checked: one `{ boxes: [K, 4] float32 }` per image. */
  private checkTargets(op: string, targets: readonly Pick<DetectionTarget, 'boxes'>[] | undefined, numImages: number): readonly Pick<DetectionTarget, 'boxes'>[] {
    if (!Array.isArray(targets)) throw new ArgumentError(`${op}: expected targets (one { boxes } per image) in training mode, got ${describe(targets)}`);
    if (targets.length !== numImages) throw new ArgumentError(`${op}: expected ${numImages} targets (one per image), got ${targets.length}`);
    targets.forEach((t, i) => {
      const boxes = checkTensor(op, `targets[${i}].boxes`, (t as Pick<DetectionTarget, 'boxes'> | undefined)?.boxes);
      checkDTypeIn(op, `targets[${i}].boxes`, boxes, ['float32']);
      if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected targets[${i}].boxes of shape [K, 4], got [${boxes.shape.join(', ')}]`);
    });
    return targets;
  }

  /** Each level's anchor count, after checking the head's outputs against the anchors. */
  private checkHeadOutputs(op: string, objectness: readonly Tensor[], deltas: readonly Tensor[], numAnchors: number, numImages: number): number[] {
    const perCell = this.#anchorGenerator.numAnchorsPerLocation();
    if (objectness.length !== perCell.length || deltas.length !== perCell.length) {
      throw new ShapeError(`${op}: expected the head to return ${perCell.length} objectness and deltas maps (one per level), got ${objectness.length} and ${deltas.length}`);
    }
    const counts = objectness.map((o, i) => {
      const [n, a, h, w] = o.shape as [number, number, number, number];
      if (o.ndim !== 4 || n !== numImages || a !== perCell[i]) {
        throw new ShapeError(`${op}: expected the head's objectness at level ${i} of shape [${numImages}, ${perCell[i]}, H, W] (the anchor generator's anchors per cell), got [${o.shape.join(', ')}]`);
      }
      return a * h * w;
    });
    const total = counts.reduce((s, c) => s + c, 0);
    if (total !== numAnchors) throw new ShapeError(`${op}: expected the head's maps to cover the ${numAnchors} anchors of each image, got ${total}`);
    return counts;
  }

  /**
   * The indices `[N, sum_i min(preNmsTopN, n_i)]` of each level's top objectness (level
   * offsets added), as torchvision's `_get_top_n_idx`. The counts come from the shapes.
   */
  private topNIndices(objectness: Tensor, numAnchorsPerLevel: readonly number[]): Tensor<'int32'> {
    const preNmsTopN = this.preNmsTopN();
    let offset = 0;
    const perLevel = numAnchorsPerLevel.map((n) => {
      const level = objectness.slice(1, offset, offset + n);
      const indices = topk(level, Math.min(preNmsTopN, n), 1).indices.add(offset);
      offset += n;
      return indices;
    });
    return cat(perLevel, 1) as Tensor<'int32'>;
  }

  /**
   * The proposals kept per image, as torchvision's `filter_proposals`: from `proposals`
   * `[N, A, 4]` and objectness logits (`N * A` values), each level's `preNmsTopN()` best,
   * clipped to `imageSizes[i]`, without boxes under {@link minSize} or probabilities under
   * {@link scoreThresh}, after NMS per level, the `postNmsTopN()` best. One read from the
   * device per image (NMS's keep list); the filters before it are folded into NMS's score
   * threshold as masks.
   */
  filterProposals(proposals: Tensor, objectness: Tensor, imageSizes: readonly ImageSize[], numAnchorsPerLevel: readonly number[]): FilteredProposals {
    const op = 'RegionProposalNetwork.filterProposals';
    checkTensor(op, 'proposals', proposals);
    checkTensor(op, 'objectness', objectness);
    checkSameDevice(op, { proposals, objectness });
    const numImages = imageSizes.length;
    const total = numAnchorsPerLevel.reduce((s, n) => s + n, 0);
    if (proposals.ndim !== 3 || proposals.shape[0] !== numImages || proposals.shape[1] !== total || proposals.shape[2] !== 4) {
      throw new ShapeError(`${op}: expected proposals of shape [${numImages}, ${total}, 4] (imageSizes and numAnchorsPerLevel), got [${proposals.shape.join(', ')}]`);
    }
    if (objectness.numel !== numImages * total) throw new ShapeError(`${op}: expected objectness to hold ${numImages} x ${total} values, got shape [${objectness.shape.join(', ')}]`);
    const device = proposals.device;
    return scope(() =>
      noGrad(() => {
        const logits = objectness.detach().reshape(numImages, -1);
        const levels = cat(numAnchorsPerLevel.map((n, level) => full([n], level, { dtype: 'int32', device })), 0);
        const topN = this.topNIndices(logits, numAnchorsPerLevel);
        const probabilities = gather(logits, 1, topN).sigmoid();
        const boxes: Array<Tensor<'float32'>> = [];
        const scores: Array<Tensor<'float32'>> = [];
        imageSizes.forEach((size, i) => {
          const indices = topN.slice(0, i, i + 1).squeeze(0);
          const clipped = clipBoxesToImage(indexSelect(proposals.slice(0, i, i + 1).squeeze(0), 0, indices), size);
          const imageScores = probabilities.slice(0, i, i + 1).squeeze(0);
          // torchvision drops small boxes and then low scores (>=, kept for backwards
          // compatibility) before NMS. Here both are one mask: a dropped box's score
          // becomes NaN, which NMS's score threshold drops, so nothing is read back.
          const widths = clipped.slice(1, 2, 3).sub(clipped.slice(1, 0, 1));
          const heights = clipped.slice(1, 3, 4).sub(clipped.slice(1, 1, 2));
          const bigEnough = widths.minimum(heights).squeeze(1).ge(this.minSize);
          const candidates = where(bigEnough, imageScores, Number.NaN);
          const keep = batchedNms(clipped, candidates, indexSelect(levels, 0, indices), this.nmsThresh, {
            scoreThreshold: this.scoreThresh,
            maxDetections: this.postNmsTopN(),
          });
          boxes.push(indexSelect(clipped, 0, keep) as Tensor<'float32'>);
          scores.push(indexSelect(imageScores, 0, keep) as Tensor<'float32'>);
        });
        return { boxes, scores };
      }),
    );
  }

  /**
   * Each anchor's label and matched ground-truth box per image, as torchvision's
   * `assign_targets_to_anchors`: labels (float32 `[A]`) are 1 for anchors matched to a box
   * (IoU >= fgIouThresh, or a box's best anchor), 0 below bgIouThresh, -1 in between
   * (ignored); matched boxes `[A, 4]` are each anchor's best ground truth (the first box for
   * unmatched anchors, zeros for an image without boxes, where every anchor is a negative).
   */
  assignTargetsToAnchors(anchors: readonly Tensor[], targets: readonly Pick<DetectionTarget, 'boxes'>[]): { labels: Array<Tensor<'float32'>>; matchedGtBoxes: Array<Tensor<'float32'>> } {
    const op = 'RegionProposalNetwork.assignTargetsToAnchors';
    if (!Array.isArray(anchors) || !Array.isArray(targets) || anchors.length !== targets.length) {
      throw new ArgumentError(`${op}: expected one anchors tensor per target, got ${describe(anchors)} and ${describe(targets)}`);
    }
    const labels: Array<Tensor<'float32'>> = [];
    const matchedGtBoxes: Array<Tensor<'float32'>> = [];
    scope(() =>
      noGrad(() => {
        anchors.forEach((anchorsPerImage, i) => {
          const gtBoxes = targets[i]!.boxes;
          const numAnchors = anchorsPerImage.shape[0]!;
          const device = anchorsPerImage.device;
          if (gtBoxes.shape[0] === 0) {
            // A background image: every anchor is a negative.
            matchedGtBoxes.push(zeros([numAnchors, 4], { device }));
            labels.push(zeros([numAnchors], { device }));
            return;
          }
          const matched = this.proposalMatcher.call(boxIou(gtBoxes, anchorsPerImage));
          // -1 and -2 are codes, not boxes: they take box 0, as torchvision's clamp(min=0).
          matchedGtBoxes.push(indexSelect(gtBoxes, 0, where(matched.lt(0), 0, matched)) as Tensor<'float32'>);
          const foreground = matched.ge(0).to('float32');
          labels.push(where(matched.eq(Matcher.BETWEEN_THRESHOLDS), -1, foreground));
        });
        return [labels, matchedGtBoxes];
      }),
    );
    return { labels, matchedGtBoxes };
  }

  /**
   * The two RPN losses, as torchvision's `compute_loss`: with the sampler's anchors over all
   * images, binary cross-entropy of their objectness logits (`objectness`, `N * A` values)
   * against `labels`, averaged, and smooth L1 (beta 1/9) of the positives' deltas
   * (`predBboxDeltas` `[N * A, 4]`) against `regressionTargets`, summed and divided by the
   * sampled count. Masked sums rather than torchvision's index lists, so nothing is read
   * back; a batch with nothing sampled gives NaN, as torchvision's.
   */
  computeLoss(
    objectness: Tensor,
    predBboxDeltas: Tensor,
    labels: readonly Tensor[],
    regressionTargets: readonly Tensor[],
  ): { lossObjectness: Tensor<'float32'>; lossBoxReg: Tensor<'float32'> } {
    const op = 'RegionProposalNetwork.computeLoss';
    checkTensor(op, 'objectness', objectness);
    checkTensor(op, 'predBboxDeltas', predBboxDeltas);
    const rows = predBboxDeltas.shape[0]!;
    if (predBboxDeltas.ndim !== 2 || predBboxDeltas.shape[1] !== 4) throw new ShapeError(`${op}: expected predBboxDeltas of shape [M, 4], got [${predBboxDeltas.shape.join(', ')}]`);
    if (objectness.numel !== rows) throw new ShapeError(`${op}: expected objectness to hold ${rows} values (one per row of predBboxDeltas), got shape [${objectness.shape.join(', ')}]`);
    if (!Array.isArray(labels) || !Array.isArray(regressionTargets) || labels.length !== regressionTargets.length) {
      throw new ArgumentError(`${op}: expected labels and regressionTargets to be arrays of one tensor per image each, got ${describe(labels)} and ${describe(regressionTargets)}`);
    }
    labels.forEach((l, i) => {
      checkTensor(op, `labels[${i}]`, l);
      const t = checkTensor(op, `regressionTargets[${i}]`, regressionTargets[i]);
      if (t.ndim !== 2 || t.shape[1] !== 4 || t.shape[0] !== l.shape[0]) {
        throw new ShapeError(`${op}: expected regressionTargets[${i}] of shape [${l.shape[0]}, 4] (one row per label), got [${t.shape.join(', ')}]`);
      }
    });
    const labelled = labels.reduce((n, l) => n + l.numel, 0);
    if (labelled !== rows) throw new ShapeError(`${op}: expected the labels to cover the ${rows} rows of predBboxDeltas, got ${labelled}`);
    return scope(() => {
      const { positive, negative } = this.fgBgSampler.call(labels);
      const isPositive = cat(positive, 0).bool();
      const sampled = cat(positive, 0).add(cat(negative, 0)).to('float32');
      const sampledCount = sampled.sum();
      const allLabels = cat(labels as Tensor[], 0);
      const lossObjectness = binaryCrossEntropyWithLogits(objectness.flatten(), allLabels, { weight: sampled, reduction: 'sum' }).div(sampledCount);
      // Unmatched anchors' targets can be infinite (an image without boxes encodes zero-size
      // boxes): replaced before the loss, so neither the loss nor its gradient sees them.
      const positiveRows = isPositive.unsqueeze(1).expand(-1, 4);
      const targets = where(positiveRows, cat(regressionTargets as Tensor[], 0), 0);
      const perElement = smoothL1Loss(predBboxDeltas, targets, { beta: 1 / 9, reduction: 'none' });
      const lossBoxReg = where(positiveRows, perElement, 0).sum().div(sampledCount);
      return { lossObjectness: lossObjectness as Tensor<'float32'>, lossBoxReg: lossBoxReg as Tensor<'float32'> };
    });
  }

  override extraRepr(): string {
    const { preNmsTopNCounts: pre, postNmsTopNCounts: post } = this;
    return `preNmsTopN=${JSON.stringify(pre)}, postNmsTopN=${JSON.stringify(post)}, nmsThresh=${this.nmsThresh}, scoreThresh=${this.scoreThresh}`;
  }
}
