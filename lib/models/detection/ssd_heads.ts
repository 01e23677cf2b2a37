/**
 * SSD's heads (Liu et al. 2016, "SSD: Single Shot MultiBox Detector"), as
 * torchvision.models.detection.ssd (0.14): SSDScoringHead (one 3x3 convolution per feature
 * level, outputs laid out per default box), SSDClassificationHead (class logits),
 * SSDRegressionHead (box deltas) and SSDHead, which holds the two. State-dict names are
 * torchvision's (`classification_head.module_list.0.weight`, `regression_head.module_list.5.bias`).
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { constant_, xavierUniform_ } from '../../nn/init.js';
import { ModuleList } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Module } from '../../nn/module.js';
import { cat } from '../../ops/shape.js';
import { checkInt } from '../../ops/validate.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

/** What SSD's head returns for a batch: every default box's predictions, under torchvision's keys. */
export interface SSDHeadOutputs {
  /** Box deltas `[N, sum_k(H_k W_k A_k), 4]` against the default boxes, level by level, cell-major, then box. */
  bbox_regression: Tensor;
  /** Class logits `[N, sum_k(H_k W_k A_k), numClasses]` (class 0 the background), in the same order. */
  cls_logits: Tensor;
}

/** A list of positive integers, one per level, checked. */
function checkPerLevel(op: string, name: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) throw new ArgumentError(`${op}: expected ${name} to be a non-empty array of positive integers (one per feature level), got ${describe(value)}`);
  return value.map((v, k) => checkInt(op, `${name}[${k}]`, v as number, 1));
}

/** One 3x3 convolution per level, initialised as torchvision's `_xavier_init`: Xavier-uniform weights, zero biases. */
function convPerLevel(inChannels: readonly number[], outPerAnchor: number, numAnchors: readonly number[]): ModuleList<Conv2d> {
  const list = new ModuleList<Conv2d>(inChannels.map((c, k) => new Conv2d(c, outPerAnchor * numAnchors[k]!, 3, { padding: 1 })));
  for (const conv of list) {
    xavierUniform_(conv.weight);
    if (conv.bias) constant_(conv.bias, 0);
  }
  return list;
}

/**
 * What {@link SSDScoringHead} runs on one feature level: a map `[N, inChannels, H, W]` to
 * `[N, A * numColumns, H, W]` (SSD's 3x3 convolution, SSDlite's depthwise-separable block).
 */
export type SSDLevelPredictor = Module<[x: Tensor], Tensor> & { readonly inChannels: number };

/**
 * A predictor per feature level whose outputs `[N, A_k * numColumns, H_k, W_k]` are laid out
 * per default box and concatenated over levels into `[N, sum_k(H_k W_k A_k), numColumns]`,
 * as torchvision's `SSDScoringHead(module_list, num_columns)`. SSD's predictors are 3x3
 * convolutions; SSDlite's are depthwise-separable blocks (ssdlite_heads.ts).
 */
export class SSDScoringHead<P extends SSDLevelPredictor = Conv2d> extends Module<[features: readonly Tensor[]], Tensor> {
  readonly #moduleList: ModuleList<P>;

  /**
   * @param moduleList - one predictor per feature level (a Conv2d, or any module with `inChannels`)
   * @param numColumns - outputs per default box (classes, or 4 deltas), an integer >= 1
   */
  constructor(moduleList: ModuleList<P>, readonly numColumns: number) {
    super();
    const op = new.target.name;
    if (!(moduleList instanceof ModuleList) || moduleList.length === 0) throw new ArgumentError(`${op}: expected moduleList to be a non-empty ModuleList of per-level predictors, got ${describe(moduleList)}`);
    checkInt(op, 'numColumns', numColumns, 1);
    this.#moduleList = moduleList;
    this.registerModule('module_list', moduleList);
  }

  /** The predictor of each level (`module_list`). */
  get moduleList(): ModuleList<P> {
    return this.#moduleList;
  }

  /** @param features - one `[N, C_k, H_k, W_k]` map per level, C_k the level's convolution's input channels */
  forward(features: readonly Tensor[]): Tensor {
    const op = `${this.constructor.name}.forward`;
    const convs = [...this.#moduleList];
    if (!Array.isArray(features) || features.length !== convs.length) {
      throw new ArgumentError(`${op}: expected features to be an array of ${convs.length} feature maps (one per level), got ${Array.isArray(features) ? features.length : describe(features)}`);
    }
    features.forEach((x, k) => {
      if (!(x instanceof Tensor) || x.ndim !== 4 || x.shape[1] !== convs[k]!.inChannels || x.shape[0] !== features[0]!.shape[0]) {
        const got = x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : describe(x);
        throw new ShapeError(`${op}: expected features[${k}] of shape [N, ${convs[k]!.inChannels}, H, W] (N of features[0]), got ${got}`);
      }
    });
    return scope(() =>
      cat(
        features.map((feature, k) => {
          const out = convs[k]!.call(feature);
          const [n, , h, w] = out.shape as [number, number, number, number];
          // (N, A * K, H, W) -> (N, H, W, A, K) -> (N, HWA, K): the default boxes' order.
          return out.view(n, -1, this.numColumns, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, this.numColumns);
        }),
        1,
      ),
    );
  }

  override extraRepr(): string {
    return `numColumns=${this.numColumns}`;
  }
}

/**
 * SSD's classification head, as torchvision's `SSDClassificationHead(in_channels, num_anchors,
 * num_classes)`: per level a 3x3 convolution to `numAnchors[k] * numClasses` logits.
 * `forward(features)` returns `[N, sum_k(H_k W_k A_k), numClasses]`.
 *
 * @example
 * const head = new models.detection.SSDClassificationHead([512, 1024, 512, 256, 256, 256], [4, 6, 6, 6, 4, 4], 91);
 */
export class SSDClassificationHead extends SSDScoringHead {
  /**
   * @param inChannels - channels of each feature level
   * @param numAnchors - default boxes per cell of each level (as many as inChannels)
   * @param numClasses - classes including the background, an integer >= 1
   */
  constructor(inChannels: readonly number[], numAnchors: readonly number[], readonly numClasses: number) {
    const op = 'SSDClassificationHead';
    const channels = checkPerLevel(op, 'inChannels', inChannels);
    const anchors = checkPerLevel(op, 'numAnchors', numAnchors);
    if (anchors.length !== channels.length) throw new ArgumentError(`${op}: expected numAnchors of ${channels.length} entries (one per level of inChannels), got ${anchors.length}`);
    checkInt(op, 'numClasses', numClasses, 1);
    super(convPerLevel(channels, numClasses, anchors), numClasses);
  }
}

/**
 * SSD's box regression head, as torchvision's `SSDRegressionHead(in_channels, num_anchors)`:
 * per level a 3x3 convolution to 4 deltas per default box. `forward(features)` returns
 * `[N, sum_k(H_k W_k A_k), 4]`.
 *
 * @example
 * const head = new models.detection.SSDRegressionHead([512, 1024, 512, 256, 256, 256], [4, 6, 6, 6, 4, 4]);
 */
export class SSDRegressionHead extends SSDScoringHead {
  /**
   * @param inChannels - channels of each feature level
   * @param numAnchors - default boxes per cell of each level (as many as inChannels)
   */
  constructor(inChannels: readonly number[], numAnchors: readonly number[]) {
    const op = 'SSDRegressionHead';
    const channels = checkPerLevel(op, 'inChannels', inChannels);
    const anchors = checkPerLevel(op, 'numAnchors', numAnchors);
    if (anchors.length !== channels.length) throw new ArgumentError(`${op}: expected numAnchors of ${channels.length} entries (one per level of inChannels), got ${anchors.length}`);
    super(convPerLevel(channels, 4, anchors), 4);
  }
}

/**
 * SSD's head, as torchvision's `SSDHead(in_channels, num_anchors, num_classes)`: an
 * {@link SSDClassificationHead} (`classification_head`) and an {@link SSDRegressionHead}
 * (`regression_head`) on the same feature levels. `forward(features)` returns
 * {@link SSDHeadOutputs} `{ bbox_regression, cls_logits }`.
 *
 * @example
 * const head = new models.detection.SSDHead([512, 1024, 512, 256, 256, 256], [4, 6, 6, 6, 4, 4], 91);
 * const { cls_logits, bbox_regression } = head.call(features); // [N, 8732, 91], [N, 8732, 4] at 300x300
 */
export class SSDHead extends Module<[features: readonly Tensor[]], SSDHeadOutputs> {
  readonly #classificationHead: SSDClassificationHead;
  readonly #regressionHead: SSDRegressionHead;

  /**
   * @param inChannels - channels of each feature level
   * @param numAnchors - default boxes per cell of each level
   * @param numClasses - classes including the background, an integer >= 1
   */
  constructor(inChannels: readonly number[], numAnchors: readonly number[], numClasses: number) {
    super();
    this.#classificationHead = new SSDClassificationHead(inChannels, numAnchors, numClasses);
    this.#regressionHead = new SSDRegressionHead(inChannels, numAnchors);
    this.registerModule('classification_head', this.#classificationHead);
    this.registerModule('regression_head', this.#regressionHead);
  }

  /** The class logits per default box (`classification_head`). */
  get classificationHead(): SSDClassificationHead {
    return this.#classificationHead;
  }

  /** The box deltas per default box (`regression_head`). */
  get regressionHead(): SSDRegressionHead {
    return this.#regressionHead;
  }

  forward(features: readonly Tensor[]): SSDHeadOutputs {
    return { bbox_regression: this.#regressionHead.call(features), cls_logits: this.#classificationHead.call(features) };
  }
}
