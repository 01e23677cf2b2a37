/**
 * LR-ASPP (Lite Reduced Atrous Spatial Pyramid Pooling, Howard et al. 2019) on a dilated
 * MobileNetV3-Large, in torchvision 0.14's layout and names, so its checkpoints load unchanged.
 * @module
 */
import { ShapeError } from '../../errors.js';
import { ReLU, Sigmoid } from '../../nn/layers/basic.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d } from '../../nn/layers/pooling_norm.js';
import { Module } from '../../nn/module.js';
import { add, mul } from '../../ops/elementwise.js';
import { checkInt } from '../../ops/validate.js';
import { interpolate } from '../../ops/resample.js';
import type { Tensor } from '../../tensor/tensor.js';
import { InvertedResidualV3, mobilenetV3Large } from '../classification/mobilenet_v3.js';
import { IntermediateLayerGetter } from '../detection/backbone_utils.js';
import type { SegmentationOutput } from './simple_segmentation_model.js';

/** A backbone returning the named feature maps `low` (output stride 8) and `high` (output stride 16). */
export type LRASPPBackbone = Module<[x: Tensor], Map<string, Tensor>>;

/**
 * LR-ASPP's head, as torchvision's `LRASPPHead`: the high-level features through a 1×1
 * conv, BN and ReLU (`cbr`), gated per channel by a global-pool 1×1 conv and sigmoid
 * (`scale`), upsampled bilinearly to the low-level features' size and classified
 * (`high_classifier`), plus a 1×1 classifier on the low-level features (`low_classifier`).
 * Takes `Map { low: [N, lowChannels, h, w], high: [N, highChannels, h', w'] }`; returns
 * `[N, numClasses, h, w]`.
 */
export class LRASPPHead extends Module<[features: Map<string, Tensor>], Tensor> {
  cbr: Sequential;
  scale: Sequential;
  // torchvision's names, so its state dicts load.
  low_classifier: Conv2d;
  high_classifier: Conv2d;

  constructor(lowChannels: number, highChannels: number, numClasses: number, interChannels: number) {
    super();
    this.cbr = new Sequential(new Conv2d(highChannels, interChannels, 1, { bias: false }), new BatchNorm2d(interChannels), new ReLU());
    this.scale = new Sequential(new AdaptiveAvgPool2d([1, 1]), new Conv2d(highChannels, interChannels, 1, { bias: false }), new Sigmoid());
    this.low_classifier = new Conv2d(lowChannels, numClasses, 1);
    this.high_classifier = new Conv2d(interChannels, numClasses, 1);
  }

  forward(features: Map<string, Tensor>): Tensor {
    const low = features.get('low');
    const high = features.get('high');
    if (low === undefined || high === undefined) {
      throw new ShapeError(`LRASPPHead: expected features 'low' and 'high', got ${[...features.keys()].map((k) => `'${k}'`).join(', ') || 'none'}`);
    }
    const gated = mul(this.cbr.call(high), this.scale.call(high));
    const upsampled = interpolate(gated, { size: low.shape.slice(2), mode: 'bilinear', alignCorners: false });
    return add(this.low_classifier.call(low), this.high_classifier.call(upsampled));
  }
}

/**
 * LR-ASPP, as torchvision's `LRASPP`: a `backbone` returning `low` and `high` feature
 * maps and a {@link LRASPPHead} `classifier`, its logits upsampled bilinearly
 * (alignCorners false) to the input's size. Input `[N, C, H, W]`; returns `{ out }`
 * (there is no auxiliary classifier).
 */
export class LRASPP extends Module<[x: Tensor], SegmentationOutput> {
  backbone: LRASPPBackbone;
  classifier: LRASPPHead;

  constructor(backbone: LRASPPBackbone, lowChannels: number, highChannels: number, numClasses: number, interChannels = 128) {
    super();
    this.backbone = backbone;
    this.classifier = new LRASPPHead(lowChannels, highChannels, numClasses, interChannels);
  }

  forward(x: Tensor): SegmentationOutput {
    if (x.ndim !== 4) throw new ShapeError(`LRASPP: expected input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
    const logits = this.classifier.call(this.backbone.call(x));
    return { out: interpolate(logits, { size: x.shape.slice(2), mode: 'bilinear', alignCorners: false }) };
  }
}

/** Options of {@link lrasppMobilenetV3Large}. */
export interface LRASPPOptions {
  /** Classes, background included (default 21, Pascal VOC's). */
  numClasses?: number;
  /** Channels of the head's intermediate maps (torchvision's `inter_channels`; default 128). */
  interChannels?: number;
}

/**
 * LR-ASPP on a dilated MobileNetV3-Large, as torchvision's `lraspp_mobilenet_v3_large`
 * (without downloads: load its checkpoint, converted to safetensors, with `loadStateDict`).
 * As torchvision's `_lraspp_mobilenetv3`, the low-level features are those of the block
 * that starts the output-stride-8 stage (`features.4`, 40 channels) and the high-level ones
 * the last layer's (`features.16`, 960 channels, output stride 16 once dilated); the
 * backbone's state dict is `backbone.0.*`..`backbone.16.*`. Returns `{ out }` logits at
 * the input's size, for any input size.
 *
 * @example
 * const model = models.segmentation.lrasppMobilenetV3Large({ numClasses: 21 });
 * model.loadStateDict(io.loadStateDictSync('lraspp_mobilenet_v3_large.safetensors'));
 * model.eval();
 * const { out } = noGrad(() => model.call(images)); // [N, 21, H, W]
 */
export function lrasppMobilenetV3Large(opts: LRASPPOptions = {}): LRASPP {
  const numClasses = checkInt('lrasppMobilenetV3Large', 'numClasses', opts.numClasses ?? 21, 1);
  const interChannels = checkInt('lrasppMobilenetV3Large', 'interChannels', opts.interChannels ?? 128, 1);
  const features = mobilenetV3Large({ dilated: true }).features;
  const blocks = [...features.children()];
  // The stem, every stage-starting block, and the last layer: torchvision's stage_indices.
  const stageIndices = [0, ...blocks.flatMap((b, i) => (b instanceof InvertedResidualV3 && b.startsStage ? [i] : [])), blocks.length - 1];
  const lowPos = stageIndices[stageIndices.length - 4]!;
  const highPos = stageIndices[stageIndices.length - 1]!;
  const channels = (i: number) => {
    const block = blocks[i];
    // Both kinds of child of MobileNetV3's features say their width.
    return block instanceof InvertedResidualV3 || block instanceof Conv2dNormActivation ? block.outChannels : 0;
  };
  const backbone = new IntermediateLayerGetter(features, { [String(lowPos)]: 'low', [String(highPos)]: 'high' });
  return new LRASPP(backbone, channels(lowPos), channels(highPos), numClasses, interChannels);
}
