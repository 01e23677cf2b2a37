/**
 * torchvision's segmentation model shape (`_SimpleSegmentationModel`): a backbone returning
 * named feature maps, a classifier on the last, an optional auxiliary classifier on an
 * earlier one, both upsampled to the input's size; and the dilated ResNet-50 backbone that
 * FCN and DeepLabV3 share.
 * @module
 */
import { ShapeError } from '../../errors.js';
import { Module } from '../../nn/module.js';
import { interpolate } from '../../ops/resample.js';
import type { Tensor } from '../../tensor/tensor.js';
import { resnet50 } from '../classification/resnet.js';
import { IntermediateLayerGetter } from '../detection/backbone_utils.js';

/** What a torchvision-style segmentation model returns: logits at the input's size. */
export interface SegmentationOutput {
  /** The classifier's logits `[N, numClasses, H, W]`. */
  out: Tensor;
  /** The auxiliary classifier's logits `[N, numClasses, H, W]`, where the model has one (train it with a weight, e.g. 0.5). */
  aux?: Tensor;
}

/** A backbone that returns named feature maps: `out` (and `aux` where there is an auxiliary classifier). */
export type SegmentationBackbone = Module<[x: Tensor], Map<string, Tensor>>;

/**
 * A backbone, a `classifier` on its `out` features and an optional `auxClassifier` on its
 * `aux` features, each output upsampled bilinearly (alignCorners false) to the input's
 * size, as torchvision's `_SimpleSegmentationModel` (state dict `backbone.*`,
 * `classifier.*`, `aux_classifier.*`). Input `[N, C, H, W]`; returns `{ out, aux? }`.
 */
export class SimpleSegmentationModel extends Module<[x: Tensor], SegmentationOutput> {
  backbone: SegmentationBackbone;
  classifier: Module;
  // torchvision's name, so its state dicts load.
  aux_classifier: Module | null;

  constructor(backbone: SegmentationBackbone, classifier: Module, auxClassifier: Module | null = null) {
    super();
    this.backbone = backbone;
    this.classifier = classifier;
    this.aux_classifier = auxClassifier;
  }

  forward(x: Tensor): SegmentationOutput {
    const op = this.constructor.name;
    if (x.ndim !== 4) throw new ShapeError(`${op}: expected input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
    const size = x.shape.slice(2);
    const features = this.backbone.call(x);
    const upsample = (t: Tensor) => interpolate(t, { size, mode: 'bilinear', alignCorners: false });
    const result: SegmentationOutput = { out: upsample(this.classifier.call(features.get('out')!)) };
    if (this.aux_classifier) result.aux = upsample(this.aux_classifier.call(features.get('aux')!));
    return result;
  }
}

/** torchvision's dilated ResNet-50 (output stride 8) returning layer4 as `out` and, with `aux`, layer3 as `aux`. */
export function dilatedResnet50Body(aux: boolean): IntermediateLayerGetter {
  const trunk = resnet50({ replaceStrideWithDilation: [false, true, true] });
  return new IntermediateLayerGetter(trunk, aux ? { layer3: 'aux', layer4: 'out' } : { layer4: 'out' });
}

/** Options of {@link deeplabv3Resnet50} and {@link fcnResnet50}. */
export interface SegmentationResNetOptions {
  /** Classes, background included (default 21, Pascal VOC's). */
  numClasses?: number;
  /** Add the auxiliary FCN head on layer3 (`aux_classifier`; default false, as torchvision without weights). */
  auxLoss?: boolean;
}
