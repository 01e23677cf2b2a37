/**
 * VGG (Simonyan & Zisserman 2015) in torchvision's layout (`features.N`, `classifier.N`):
 * vgg11/13/16/19 and their batch-norm variants vgg11Bn/13Bn/16Bn/19Bn, as torchvision's
 * `vgg11` ... `vgg19_bn`.
 * @module
 */
import { Dropout, Flatten, Linear, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_, normal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions } from './options.js';

/** Layer lists of the VGG variants, as torchvision's `cfgs` (A, B, D, E): output channels of a 3x3 conv + ReLU, or 'M' for a 2x2 max pool. */
export const VGG_CONFIGS = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const;

/** Options of {@link vggFeatures} and {@link VGG}. */
export interface VGGFeaturesOptions {
  /** Channels of the input images (default 3). */
  inChannels?: number;
  /** A BatchNorm2d between each convolution and its ReLU, as torchvision's `*_bn` models (default false). */
  batchNorm?: boolean;
}

/**
 * VGG's convolutional body, as torchvision's `make_layers`: a Sequential of Conv2d(3x3,
 * padding 1) [+ BatchNorm2d] + ReLU per number in `config` and MaxPool2d(2, 2) per 'M', so
 * its state-dict names are a VGG's `features.N` less the prefix. FCN and SSD on VGG-16
 * (models.segmentation, models.detection) build their backbones with it.
 *
 * @example
 * const body = vggFeatures(VGG_CONFIGS.vgg16); // 31 children, 5 pools: [N, 3, H, W] -> [N, 512, H/32, W/32]
 * const bn = vggFeatures(VGG_CONFIGS.vgg11, { batchNorm: true }); // features.0 conv, features.1 BatchNorm2d, ...
 */
export function vggFeatures(config: ReadonlyArray<number | 'M'>, opts: VGGFeaturesOptions = {}): Sequential {
  const layers: Module[] = [];
  let inC = opts.inChannels ?? 3;
  for (const v of config) {
    if (v === 'M') {
      layers.push(new MaxPool2d(2, { stride: 2 }));
    } else {
      layers.push(new Conv2d(inC, v, 3, { padding: 1 }));
      if (opts.batchNorm) layers.push(new BatchNorm2d(v));
      layers.push(new ReLU());
      inC = v;
    }
  }
  return new Sequential(...layers);
}

/** Options of the {@link VGG} constructor: a classifier's and its body's. */
export interface VGGOptions extends ClassifierOptions, VGGFeaturesOptions {}

/**
 * VGG, as torchvision.models.VGG: `features` (3x3 convs, optionally batch-normalised, and
 * max pools per `config`), a 7x7 adaptive average pool and a three-layer `classifier`, with
 * torchvision's state-dict names and initialisation. Built by `vgg11()` ... `vgg19Bn()`.
 */
export class VGG extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  flatten: Flatten;
  classifier: Sequential;

  constructor(config: ReadonlyArray<number | 'M'>, opts: VGGOptions = {}) {
    super();
    // Assigned in torchvision's order (forward's): children register as they are assigned.
    this.features = vggFeatures(config, opts);
    this.avgpool = new AdaptiveAvgPool2d([7, 7]);
    this.flatten = new Flatten();
    this.classifier = new Sequential(
      new Linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(0.5),
      new Linear(4096, 4096), new ReLU(), new Dropout(0.5),
      new Linear(4096, opts.numClasses ?? 1000),
    );
    // torchvision's initialisation (BatchNorm2d's own, weight 1 and bias 0, is torchvision's too).
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

/** VGG-11 (132,863,336 parameters with 1000 classes), as torchvision's `vgg11`. */
export const vgg11 = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg11, opts);
/**
 * VGG-13 (133,047,848 parameters with 1000 classes), as torchvision's `vgg13`.
 *
 * @example
 * const model = models.vgg13({ numClasses: 10 });
 */
export const vgg13 = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg13, opts);
/** VGG-16 (138,357,544 parameters with 1000 classes), as torchvision's `vgg16`. */
export const vgg16 = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg16, opts);
/**
 * VGG-19 (143,667,240 parameters with 1000 classes), as torchvision's `vgg19`.
 *
 * @example
 * const model = models.vgg19().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000]
 */
export const vgg19 = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg19, opts);
/**
 * VGG-11 with batch norm (132,868,840 parameters with 1000 classes), as torchvision's `vgg11_bn`.
 *
 * @example
 * const model = models.vgg11Bn().eval();
 * model.loadStateDict(io.loadStateDictSync('vgg11_bn.safetensors'));
 */
export const vgg11Bn = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg11, { ...opts, batchNorm: true });
/**
 * VGG-13 with batch norm (133,053,736 parameters with 1000 classes), as torchvision's `vgg13_bn`.
 *
 * @example
 * const model = models.vgg13Bn({ numClasses: 10 });
 */
export const vgg13Bn = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg13, { ...opts, batchNorm: true });
/**
 * VGG-16 with batch norm (138,365,992 parameters with 1000 classes), as torchvision's `vgg16_bn`.
 *
 * @example
 * const cam = models.vgg16Bn().features; // the convolutional body, for Grad-CAM or a backbone
 */
export const vgg16Bn = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg16, { ...opts, batchNorm: true });
/**
 * VGG-19 with batch norm (143,678,248 parameters with 1000 classes), as torchvision's `vgg19_bn`.
 *
 * @example
 * const model = models.vgg19Bn().eval();
 */
export const vgg19Bn = (opts?: ClassifierOptions) => new VGG(VGG_CONFIGS.vgg19, { ...opts, batchNorm: true });
