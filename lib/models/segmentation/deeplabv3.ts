/**
 * DeepLabV3 (Chen et al. 2017) on a dilated ResNet-50, in torchvision's layout and names,
 * so its segmentation checkpoints load unchanged.
 * @module
 */
import { Dropout, ReLU } from '../../nn/layers/basic.js';
import { ModuleList, Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d } from '../../nn/layers/pooling_norm.js';
import { Module } from '../../nn/module.js';
import { interpolate } from '../../ops/resample.js';
import { cat } from '../../ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FCNHead } from './fcn.js';
import { dilatedResnet50Body, SimpleSegmentationModel, type SegmentationResNetOptions } from './simple_segmentation_model.js';

const convBnRelu = (inC: number, outC: number, kernel: number, dilation = 1) =>
  new Sequential(new Conv2d(inC, outC, kernel, { padding: kernel === 3 ? dilation : 0, dilation, bias: false }), new BatchNorm2d(outC), new ReLU());

/** ASPP's image-level branch: global average pool, 1×1 conv, BN, ReLU, upsampled back to the map's size. */
export class ASPPPooling extends Sequential {
  constructor(inChannels: number, outChannels: number) {
    super(new AdaptiveAvgPool2d([1, 1]), new Conv2d(inChannels, outChannels, 1, { bias: false }), new BatchNorm2d(outChannels), new ReLU());
  }

  override forward(x: Tensor): Tensor {
    return interpolate(super.forward(x), { size: x.shape.slice(2), mode: 'bilinear', alignCorners: false });
  }
}

/**
 * Atrous spatial pyramid pooling, as torchvision's `ASPP`: a 1×1 branch, one dilated 3×3
 * branch per rate and the image-level branch (`convs.0`..), concatenated and projected to
 * `outChannels` (1×1 conv, BN, ReLU, Dropout(0.5): `project`).
 *
 * @example
 * const aspp = new models.segmentation.ASPP(2048, [12, 24, 36]); // [N, 2048, h, w] -> [N, 256, h, w]
 */
export class ASPP extends Module {
  convs: ModuleList;
  project: Sequential;

  constructor(inChannels: number, atrousRates: readonly number[], outChannels = 256) {
    super();
    this.convs = new ModuleList([
      convBnRelu(inChannels, outChannels, 1),
      ...atrousRates.map((rate) => convBnRelu(inChannels, outChannels, 3, rate)),
      new ASPPPooling(inChannels, outChannels),
    ]);
    this.project = new Sequential(new Conv2d((atrousRates.length + 2) * outChannels, outChannels, 1, { bias: false }), new BatchNorm2d(outChannels), new ReLU(), new Dropout(0.5));
  }

  forward(x: Tensor): Tensor {
    return this.project.call(cat([...this.convs].map((branch) => branch.call(x)), 1));
  }
}

/**
 * DeepLabV3's head, as torchvision's `DeepLabHead`: ASPP (rates 12, 24, 36), 3×3 conv,
 * BN, ReLU, 1×1 conv to `numClasses`.
 */
export class DeepLabHead extends Sequential {
  constructor(inChannels: number, numClasses: number) {
    super(new ASPP(inChannels, [12, 24, 36]), new Conv2d(256, 256, 3, { padding: 1, bias: false }), new BatchNorm2d(256), new ReLU(), new Conv2d(256, numClasses, 1));
  }
}

/**
 * DeepLabV3 with a ResNet-50 backbone, as torchvision's `deeplabv3_resnet50` (without
 * downloads: load its checkpoint, converted to safetensors, with `loadStateDict`). Returns
 * `{ out, aux? }` logits at the input's size. torchvision's COCO-with-VOC-labels weights
 * have 21 classes and `auxLoss: true`.
 *
 * @example
 * const model = models.segmentation.deeplabv3Resnet50({ numClasses: 21, auxLoss: true });
 * model.loadStateDict(io.loadStateDictSync('deeplabv3_resnet50.safetensors'));
 * model.eval();
 * const { out } = noGrad(() => model.call(images)); // [N, 21, H, W]
 * const classes = out.argmax(1);
 */
export function deeplabv3Resnet50(opts: SegmentationResNetOptions = {}): SimpleSegmentationModel {
  const numClasses = opts.numClasses ?? 21;
  const aux = opts.auxLoss ?? false;
  return new SimpleSegmentationModel(dilatedResnet50Body(aux), new DeepLabHead(2048, numClasses), aux ? new FCNHead(1024, numClasses) : null);
}
