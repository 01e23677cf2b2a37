/**
 * VGG (Simonyan & Zisserman 2015) in torchvision's layout (`features.N`, `classifier.N`):
 * vgg11 and vgg16, without batch norm, as torchvision's `vgg11` / `vgg16`.
 * @module
 */
import { Dropout, Flatten, Linear, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_, normal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions } from './options.js';

/** Layer lists of the VGG variants, as torchvision's `cfgs`: output channels of a 3x3 conv + ReLU, or 'M' for a 2x2 max pool. */
export const VGG_CONFIGS = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
} as const;

/**
 * VGG's convolutional body, as torchvision's `make_layers` without batch norm: a
 * Sequential of Conv2d(3x3, padding 1) + ReLU per number in `config` and MaxPool2d(2, 2) per
 * 'M', so its state-dict names are a VGG's `features.N` less the prefix. FCN on VGG-16
 * (models.segmentation) builds its backbone with it.
 *
 * @example
 * const body = vggFeatures(VGG_CONFIGS.vgg16); // 31 children, 5 pools: [N, 3, H, W] -> [N, 512, H/32, W/32]
 */
export function vggFeatures(config: ReadonlyArray<number | 'M'>, inChannels = 3): Sequential {
  const layers: Module[] = [];
  let inC = inChannels;
  for (const v of config) {
    if (v === 'M') {
      layers.push(new MaxPool2d(2, { stride: 2 }));
    } else {
      layers.push(new Conv2d(inC, v, 3, { padding: 1 }), new ReLU());
      inC = v;
    }
  }
  return new Sequential(...layers);
}

/**
 * VGG, as torchvision.models.VGG (without batch norm): `features` (3x3 convs and max
 * pools per `config`), a 7x7 adaptive average pool and a three-layer `classifier`, with
 * torchvision's state-dict names. Built by `vgg11()` / `vgg16()`.
 */
export class VGG extends Module {
  features: Sequential;
  avgpool = new AdaptiveAvgPool2d([7, 7]);
  flatten = new Flatten();
  classifier: Sequential;

  constructor(config: ReadonlyArray<number | 'M'>, opts: ClassifierOptions = {}) {
    super();
    this.features = vggFeatures(config, opts.inChannels ?? 3);
    this.classifier = new Sequential(
      new Linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(0.5),
      new Linear(4096, 4096), new ReLU(), new Dropout(0.5),
      new Linear(4096, opts.numClasses ?? 1000),
    );
    // torchvision's initialisation.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
        if (m.bias) constant_(m.bias, 0);
      } else if (m instanceof Linear) {
        normal_(m.weight, 0, 0.01);
        if (m.bias) constant_(m.bias, 0);
      }
    }
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.flatten.call(this.avgpool.call(this.features.call(x))));
  }
}

/** VGG-11 (132,863,336 parameters with 1000 classes). */
export const vgg11 = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg11, opts);
/** VGG-16 (138,357,544 parameters with 1000 classes). */
export const vgg16 = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg16, opts);
