/**
 * Mask R-CNN, as torchvision.models.detection.mask_rcnn (0.14): the mask head
 * (MaskRCNNHeads) and predictor (MaskRCNNPredictor), the MaskRCNN class (Faster R-CNN with a
 * mask branch in its RoI heads) and the maskrcnnResnet50Fpn factory. State-dict names are
 * torchvision's (`roi_heads.mask_head.0.0.weight`, `roi_heads.mask_predictor.conv5_mask.weight`,
 * ...), so its checkpoints, converted to safetensors, load as they are.
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError } from '../../errors.js';
import { kaimingNormal_, zeros_ } from '../../nn/init.js';
import { ReLU } from '../../nn/layers/basic.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d, ConvTranspose2d } from '../../nn/layers/conv.js';
import { Module } from '../../nn/module.js';
import { checkInt } from '../../ops/validate.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { MultiScaleRoIAlign } from '../../vision/poolers.js';
import { resnetFpnBackbone } from './backbone_utils.js';
import { FasterRCNN, type FasterRCNNOptions } from './faster_rcnn.js';
import type { DetectionBackbone } from './generalized_rcnn.js';

/** Options of {@link MaskRCNNHeads}. */
export interface MaskRCNNHeadsOptions {
  /** Makes a normalisation layer after each convolution (default none, torchvision's v1 head; its v2 head uses BatchNorm2d). */
  normLayer?: ((channels: number) => Module) | null;
}

/**
 * The mask head of Mask R-CNN, as torchvision's `MaskRCNNHeads(in_channels, layers,
 * dilation, norm_layer)`: one 3x3 convolution (padding and dilation `dilation`, so the size
 * is kept) + ReLU per entry of `layers`, each a {@link Conv2dNormActivation}, on pooled RoI
 * features `[K, inChannels, S, S]` -> `[K, layers.at(-1), S, S]`. State-dict names
 * `0.0.weight`, `0.0.bias`, `1.0.weight`, ... (torchvision's version-2 layout; its older
 * `mask_fcn1.weight` names are not read). Convolutions start Kaiming-normal (fan out, ReLU)
 * with zero biases, as torchvision's.
 *
 * @example
 * const head = new MaskRCNNHeads(256, [256, 256, 256, 256], 1); // maskrcnn_resnet50_fpn's
 * const features = head.call(pooled); // [K, 256, 14, 14] -> [K, 256, 14, 14]
 */
export class MaskRCNNHeads extends Sequential {
  /** Output channels of each convolution (torchvision's `layers`). */
  readonly channels: readonly number[];

  /**
   * @param inChannels - channels of the pooled features, an integer >= 1
   * @param layers - output channels of each convolution, a non-empty list of integers >= 1
   * @param dilation - the convolutions' dilation and padding, an integer >= 1
   * @param opts - the normalisation layer (see {@link MaskRCNNHeadsOptions})
   */
  constructor(readonly inChannels: number, layers: readonly number[], readonly dilation: number, opts: MaskRCNNHeadsOptions = {}) {
    const op = 'MaskRCNNHeads';
    checkInt(op, 'inChannels', inChannels, 1);
    if (!Array.isArray(layers) || layers.length === 0) throw new ArgumentError(`${op}: expected layers to be a non-empty list of channel counts, got ${describe(layers)}`);
    layers.forEach((c, i) => checkInt(op, `layers[${i}]`, c, 1));
    checkInt(op, 'dilation', dilation, 1);
    const blocks = layers.map((c, i) => new Conv2dNormActivation(i === 0 ? inChannels : layers[i - 1]!, c, 3, { padding: dilation, dilation, normLayer: opts.normLayer ?? null }));
    super(...blocks);
    this.channels = [...layers];
    noGrad(() => {
      for (const block of blocks) {
        const conv = block.at(0) as Conv2d;
        kaimingNormal_(conv.weight, { mode: 'fanOut', nonlinearity: 'relu' });
        if (conv.bias) zeros_(conv.bias);
      }
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, layers=[${this.channels.join(', ')}], dilation=${this.dilation}`;
  }
}

/**
 * The mask predictor of Mask R-CNN, as torchvision's `MaskRCNNPredictor(in_channels,
 * dim_reduced, num_classes)`: a 2x2 stride-2 transposed convolution (`conv5_mask`), ReLU
 * (`relu`) and a 1x1 convolution to one mask logit map per class (`mask_fcn_logits`):
 * `[K, inChannels, S, S]` -> `[K, numClasses, 2S, 2S]`. Weights start Kaiming-normal (fan
 * out, ReLU), as torchvision's.
 *
 * @example
 * const predictor = new MaskRCNNPredictor(256, 256, 91);
 * const maskLogits = predictor.call(head.call(pooled)); // [K, 91, 28, 28]
 */
export class MaskRCNNPredictor extends Sequential {
  /**
   * @param inChannels - channels of the mask head's features, an integer >= 1
   * @param dimReduced - channels of the upsampled features, an integer >= 1
   * @param numClasses - classes including the background, an integer >= 1
   */
  constructor(readonly inChannels: number, readonly dimReduced: number, readonly numClasses: number) {
    const op = 'MaskRCNNPredictor';
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'dimReduced', dimReduced, 1);
    checkInt(op, 'numClasses', numClasses, 1);
    const upsample = new ConvTranspose2d(inChannels, dimReduced, 2, { stride: 2 });
    const logits = new Conv2d(dimReduced, numClasses, 1);
    super({ conv5_mask: upsample, relu: new ReLU(), mask_fcn_logits: logits });
    // torchvision initialises the weights only; the biases keep their layers' defaults.
    noGrad(() => {
      kaimingNormal_(upsample.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      kaimingNormal_(logits.weight, { mode: 'fanOut', nonlinearity: 'relu' });
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.dimReduced}, ${this.numClasses}`;
  }
}

/** Options of {@link MaskRCNN}: Faster R-CNN's, and the mask branch's parts, with torchvision's defaults. */
export interface MaskRCNNOptions extends FasterRCNNOptions {
  /** The mask branch's pooler (default MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2)). */
  maskRoiPool?: MultiScaleRoIAlign;
  /** The mask head (default MaskRCNNHeads(backbone.outChannels, [256, 256, 256, 256], 1)). */
  maskHead?: Module<[Tensor], Tensor>;
  /** The mask predictor (default MaskRCNNPredictor(256, 256, numClasses)); give numClasses null with it (and boxPredictor). */
  maskPredictor?: Module<[Tensor], Tensor>;
}

/**
 * Mask R-CNN, as torchvision's `MaskRCNN(backbone, num_classes, **kwargs)`: a
 * {@link FasterRCNN} whose RoI heads also have a mask branch. In training the targets carry
 * `masks` `[G, H, W]` (uint8 or bool, the image's size; the transform resizes them, nearest)
 * and the losses gain `loss_mask`; in eval each detection record carries `masks`
 * `[D, 1, H, W]`, float32 probabilities pasted into the original image
 * ({@link pasteMasksInImage}; threshold at 0.5 for binary masks). `numClasses` counts the
 * background; give null only with both `boxPredictor` and `maskPredictor` (ArgumentError
 * for null with a default predictor, or a number with `maskPredictor`).
 *
 * @example
 * const backbone = models.detection.resnetFpnBackbone({ backboneName: 'resnet50' });
 * const model = new models.detection.MaskRCNN(backbone, 3, { minSize: 512, maxSize: 853 });
 * const { loss_mask } = model.losses([image], [{ boxes, labels, masks }]);
 * model.eval();
 * const [{ boxes, labels, scores, masks }] = noGrad(() => model.detect([image])); // masks [D, 1, H, W]
 */
export class MaskRCNN extends FasterRCNN {
  /**
   * @param backbone - named feature maps of `outChannels` channels (levels '0'..'3' for the default poolers)
   * @param numClasses - classes including the background, or null with `boxPredictor` and `maskPredictor`
   * @param opts - torchvision's keyword arguments (see {@link MaskRCNNOptions})
   */
  constructor(backbone: DetectionBackbone, numClasses: number | null, opts: MaskRCNNOptions = {}) {
    const op = 'MaskRCNN';
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected opts to be an options object, got ${describe(opts)}`);
    const { maskRoiPool, maskHead, maskPredictor, ...fasterOptions } = opts;
    if (maskRoiPool !== undefined && !(maskRoiPool instanceof MultiScaleRoIAlign)) throw new ArgumentError(`${op}: expected maskRoiPool to be a MultiScaleRoIAlign, got ${describe(maskRoiPool)}`);
    if (numClasses !== null && maskPredictor !== undefined) throw new ArgumentError(`${op}: numClasses should be null when maskPredictor is given, got ${describe(numClasses)}`);
    if (numClasses === null && maskPredictor === undefined) throw new ArgumentError(`${op}: numClasses should be given when maskPredictor is not, got null`);
    if (numClasses !== null) checkInt(op, 'numClasses', numClasses, 1);
    const outChannels = (backbone as { outChannels?: unknown } | null)?.outChannels;
    if (!(backbone instanceof Module) || !(typeof outChannels === 'number' && Number.isInteger(outChannels) && outChannels > 0)) {
      throw new ArgumentError(`${op}: expected backbone to be a Module with outChannels, a positive integer (its feature maps' channels), got ${describe(backbone)}`);
    }
    const mask = {
      maskRoiPool: maskRoiPool ?? new MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2),
      maskHead: maskHead ?? new MaskRCNNHeads(outChannels, [256, 256, 256, 256], 1),
      // torchvision's default predictor takes 256 channels (its default head's last layer).
      maskPredictor: maskPredictor ?? new MaskRCNNPredictor(256, 256, numClasses!),
    };
    super(backbone, numClasses, fasterOptions, mask);
  }
}

/** Options of {@link maskrcnnResnet50Fpn}: the model's, the class count and the backbone's trainable stages. */
export interface MaskRCNNResNet50FpnOptions extends MaskRCNNOptions {
  /** Classes including the background (default 91: COCO's 90 and the background). */
  numClasses?: number;
  /** ResNet stages, from the top, left trainable: 0..5 (default 3). */
  trainableBackboneLayers?: number;
}

/**
 * Mask R-CNN with a ResNet-50 FPN backbone, as torchvision's `maskrcnn_resnet50_fpn` built
 * for a pretrained backbone: FrozenBatchNorm2d and `trainableBackboneLayers` (default 3)
 * trainable stages, the v1 mask head (no normalisation). (Without any weights torchvision
 * switches to BatchNorm2d and trains all 5 stages; neocog has no weight download, so it
 * always builds the layout that torchvision's checkpoints, converted to safetensors, load
 * into.)
 *
 * @example
 * const model = models.detection.maskrcnnResnet50Fpn({ numClasses: 91 });
 * model.loadStateDict((await io.loadSafetensors('maskrcnn_resnet50_fpn_coco.safetensors')).tensors);
 * model.eval();
 * const [{ boxes, labels, scores, masks }] = noGrad(() => model.detect([image]));
 * const binary = masks!.ge(0.5); // [D, 1, H, W]
 */
export function maskrcnnResnet50Fpn(opts: MaskRCNNResNet50FpnOptions = {}): MaskRCNN {
  const { numClasses = 91, trainableBackboneLayers = 3, ...options } = opts;
  const backbone = resnetFpnBackbone({ backboneName: 'resnet50', trainableLayers: trainableBackboneLayers });
  return new MaskRCNN(backbone, numClasses, options);
}
