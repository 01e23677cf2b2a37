/**
 * SSDlite's heads (Sandler et al. 2018, "MobileNetV2", section 6.2), as
 * torchvision.models.detection.ssdlite (0.14): SSD's heads with every 3x3 convolution
 * replaced by a depthwise-separable prediction block (a 3x3 depthwise convolution with norm
 * and ReLU6, then a 1x1 convolution), SSDLiteClassificationHead, SSDLiteRegressionHead and
 * SSDLiteHead, which holds the two; and the normal initialisation (std 0.03) torchvision
 * gives every new SSDlite convolution. State-dict names are torchvision's
 * (`classification_head.module_list.0.0.0.weight`, `regression_head.module_list.5.1.bias`).
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { constant_, normal_ } from '../../nn/init.js';
import { ReLU6 } from '../../nn/layers/basic.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { ModuleList, Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/pooling_norm.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { checkInt } from '../../ops/validate.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { NormLayerFactory } from '../classification/options.js';
import { SSDScoringHead, type SSDHeadOutputs } from './ssd_heads.js';

/**
 * SSDlite's normalisation layer: BatchNorm2d with eps 0.001 and momentum 0.03, as
 * torchvision's `ssdlite320_mobilenet_v3_large` makes it (the backbone, the extra blocks and
 * the heads all use it).
 */
export const ssdliteBatchNorm: NormLayerFactory = (channels) => new BatchNorm2d(channels, { eps: 0.001, momentum: 0.03 });

/**
 * Every convolution in `module` initialised as torchvision's SSDlite `_normal_init`: weights
 * normal with mean 0 and std 0.03, biases 0 (normalisation layers keep theirs).
 */
export function ssdliteNormalInit(module: AnyModule): void {
  for (const m of module.modules()) {
    if (m instanceof Conv2d) {
      normal_(m.weight, 0, 0.03);
      if (m.bias) constant_(m.bias, 0);
    }
  }
}

/**
 * SSDlite's prediction block, as torchvision's `_prediction_block(in_channels, out_channels,
 * kernel_size, norm_layer)`: `0` a `kernelSize` depthwise convolution (stride 1, 'same'
 * padding, no bias) with norm and ReLU6, `1` a 1x1 convolution (with bias) to `outChannels`.
 * `forward(x)` maps `[N, inChannels, H, W]` to `[N, outChannels, H, W]`.
 *
 * @example
 * const block = new models.detection.SSDLitePredictionBlock(672, 6 * 91); // 6 boxes x 91 classes per cell
 */
export class SSDLitePredictionBlock extends Sequential {
  /**
   * @param inChannels - channels of the feature map (a positive integer)
   * @param outChannels - outputs per cell (a positive integer)
   * @param kernelSize - the depthwise convolution's size (default 3)
   * @param normLayer - the depthwise convolution's normalisation (default {@link ssdliteBatchNorm})
   */
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize = 3, normLayer: NormLayerFactory = ssdliteBatchNorm) {
    const op = 'SSDLitePredictionBlock';
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'outChannels', outChannels, 1);
    checkInt(op, 'kernelSize', kernelSize, 1);
    super(
      new Conv2dNormActivation(inChannels, inChannels, kernelSize, { groups: inChannels, normLayer, activationLayer: () => new ReLU6() }),
      new Conv2d(inChannels, outChannels, 1),
    );
  }
}

/** A list of positive integers, one per level, checked. */
function checkPerLevel(op: string, name: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) throw new ArgumentError(`${op}: expected ${name} to be a non-empty array of positive integers (one per feature level), got ${describe(value)}`);
  return value.map((v, k) => checkInt(op, `${name}[${k}]`, v as number, 1));
}

/** One prediction block per level to `outPerAnchor * numAnchors[k]` channels, normal-initialised as torchvision's. */
function blocksPerLevel(op: string, inChannels: readonly number[], numAnchors: readonly number[], outPerAnchor: number, normLayer: NormLayerFactory): ModuleList<SSDLitePredictionBlock> {
  const channels = checkPerLevel(op, 'inChannels', inChannels);
  const anchors = checkPerLevel(op, 'numAnchors', numAnchors);
  if (anchors.length !== channels.length) throw new ArgumentError(`${op}: expected numAnchors of ${channels.length} entries (one per level of inChannels), got ${anchors.length}`);
  if (typeof normLayer !== 'function') throw new ArgumentError(`${op}: expected normLayer to be a function (channels) => Module, got ${describe(normLayer)}`);
  const list = new ModuleList<SSDLitePredictionBlock>(channels.map((c, k) => new SSDLitePredictionBlock(c, outPerAnchor * anchors[k]!, 3, normLayer)));
  ssdliteNormalInit(list);
  return list;
}

/**
 * SSDlite's classification head, as torchvision's `SSDLiteClassificationHead(in_channels,
 * num_anchors, num_classes, norm_layer)`: per level an {@link SSDLitePredictionBlock} to
 * `numAnchors[k] * numClasses` logits. `forward(features)` returns
 * `[N, sum_k(H_k W_k A_k), numClasses]`.
 *
 * @example
 * const head = new models.detection.SSDLiteClassificationHead([672, 480, 512, 256, 256, 128], [6, 6, 6, 6, 6, 6], 91);
 */
export class SSDLiteClassificationHead extends SSDScoringHead<SSDLitePredictionBlock> {
  /**
   * @param inChannels - channels of each feature level
   * @param numAnchors - default boxes per cell of each level (as many as inChannels)
   * @param numClasses - classes including the background, an integer >= 1
   * @param normLayer - the blocks' normalisation (default {@link ssdliteBatchNorm})
   */
  constructor(inChannels: readonly number[], numAnchors: readonly number[], readonly numClasses: number, normLayer: NormLayerFactory = ssdliteBatchNorm) {
    const op = 'SSDLiteClassificationHead';
    checkInt(op, 'numClasses', numClasses, 1);
    super(blocksPerLevel(op, inChannels, numAnchors, numClasses, normLayer), numClasses);
  }
}

/**
 * SSDlite's box regression head, as torchvision's `SSDLiteRegressionHead(in_channels,
 * num_anchors, norm_layer)`: per level an {@link SSDLitePredictionBlock} to 4 deltas per
 * default box. `forward(features)` returns `[N, sum_k(H_k W_k A_k), 4]`.
 *
 * @example
 * const head = new models.detection.SSDLiteRegressionHead([672, 480, 512, 256, 256, 128], [6, 6, 6, 6, 6, 6]);
 */
export class SSDLiteRegressionHead extends SSDScoringHead<SSDLitePredictionBlock> {
  /**
   * @param inChannels - channels of each feature level
   * @param numAnchors - default boxes per cell of each level (as many as inChannels)
   * @param normLayer - the blocks' normalisation (default {@link ssdliteBatchNorm})
   */
  constructor(inChannels: readonly number[], numAnchors: readonly number[], normLayer: NormLayerFactory = ssdliteBatchNorm) {
    super(blocksPerLevel('SSDLiteRegressionHead', inChannels, numAnchors, 4, normLayer), 4);
  }
}

/**
 * SSDlite's head, as torchvision's `SSDLiteHead(in_channels, num_anchors, num_classes,
 * norm_layer)`: an {@link SSDLiteClassificationHead} (`classification_head`) and an
 * {@link SSDLiteRegressionHead} (`regression_head`) on the same feature levels.
 * `forward(features)` returns {@link SSDHeadOutputs} `{ bbox_regression, cls_logits }`.
 *
 * @example
 * const head = new models.detection.SSDLiteHead([672, 480, 512, 256, 256, 128], [6, 6, 6, 6, 6, 6], 91);
 * const { cls_logits, bbox_regression } = head.call(features); // [N, 3234, 91], [N, 3234, 4] at 320x320
 */
export class SSDLiteHead extends Module<[features: readonly Tensor[]], SSDHeadOutputs> {
  readonly #classificationHead: SSDLiteClassificationHead;
  readonly #regressionHead: SSDLiteRegressionHead;

  /**
   * @param inChannels - channels of each feature level
   * @param numAnchors - default boxes per cell of each level
   * @param numClasses - classes including the background, an integer >= 1
   * @param normLayer - the blocks' normalisation (default {@link ssdliteBatchNorm})
   */
  constructor(inChannels: readonly number[], numAnchors: readonly number[], numClasses: number, normLayer: NormLayerFactory = ssdliteBatchNorm) {
    super();
    this.#classificationHead = new SSDLiteClassificationHead(inChannels, numAnchors, numClasses, normLayer);
    this.#regressionHead = new SSDLiteRegressionHead(inChannels, numAnchors, normLayer);
    this.registerModule('classification_head', this.#classificationHead);
    this.registerModule('regression_head', this.#regressionHead);
  }

  /** The class logits per default box (`classification_head`). */
  get classificationHead(): SSDLiteClassificationHead {
    return this.#classificationHead;
  }

  /** The box deltas per default box (`regression_head`). */
  get regressionHead(): SSDLiteRegressionHead {
    return this.#regressionHead;
  }

  forward(features: readonly Tensor[]): SSDHeadOutputs {
    return { bbox_regression: this.#regressionHead.call(features), cls_logits: this.#classificationHead.call(features) };
  }
}
