/**
 * FCN (Long et al. 2015) on a dilated ResNet-50, as torchvision's `fcn_resnet50`, and
 * FCN's head, which DeepLabV3 also uses as its auxiliary classifier.
 * @module
 */
import { Dropout, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/pooling_norm.js';
import { dilatedResnet50Body, SimpleSegmentationModel, type SegmentationResNetOptions } from './simple_segmentation_model.js';

/**
 * FCN's head, as torchvision's `FCNHead`: 3×3 conv to `inChannels / 4`, BatchNorm, ReLU,
 * Dropout(0.1), 1×1 conv to `channels` (children `0`..`4`).
 *
 * @example
 * const head = new models.segmentation.FCNHead(2048, 21);
 */
export class FCNHead extends Sequential {
  constructor(inChannels: number, channels: number) {
    const inter = Math.floor(inChannels / 4);
    super(new Conv2d(inChannels, inter, 3, { padding: 1, bias: false }), new BatchNorm2d(inter), new ReLU(), new Dropout(0.1), new Conv2d(inter, channels, 1));
  }
}

/**
 * FCN with a ResNet-50 backbone, as torchvision's `fcn_resnet50` (an {@link FCNHead} on the
 * dilated layer4, optionally another on layer3). Returns `{ out, aux? }`.
 *
 * @example
 * const model = models.segmentation.fcnResnet50({ numClasses: 5 });
 * const { out } = model.call(randn([2, 3, 128, 128])); // [2, 5, 128, 128]
 */
export function fcnResnet50(opts: SegmentationResNetOptions = {}): SimpleSegmentationModel {
  const numClasses = opts.numClasses ?? 21;
  const aux = opts.auxLoss ?? false;
  return new SimpleSegmentationModel(dilatedResnet50Body(aux), new FCNHead(2048, numClasses), aux ? new FCNHead(1024, numClasses) : null);
}
