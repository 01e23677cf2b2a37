/**
 * MobileNetV2 (Sandler et al. 2018) in torchvision's layout and names (`features.N.conv...`,
 * `classifier.1`). Its generic pieces live in lib/nn/layers (ReLU6, Conv2dNormActivation).
 * @module
 */
import { add } from '../../ops/elementwise.js';
import { Dropout, Flatten, Linear, ReLU6 } from '../../nn/layers/basic.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_, normal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions, NormLayerFactory } from './options.js';

/** Options of {@link MobileNetV2}. */
export interface MobileNetV2Options extends ClassifierOptions {
  /** The normalisation layer after each convolution (default BatchNorm2d; detection backbones use FrozenBatchNorm2d). */
  normLayer?: NormLayerFactory;
}

const batchNorm2d: NormLayerFactory = (channels) => new BatchNorm2d(channels);

/** Conv2d + norm + ReLU6, as torchvision's MobileNetV2 builds them (names .0, .1, .2). */
function convBnRelu6(inC: number, outC: number, kernel: number, normLayer: NormLayerFactory, stride = 1, groups = 1): Conv2dNormActivation {
  return new Conv2dNormActivation(inC, outC, kernel, { stride, groups, normLayer, activationLayer: () => new ReLU6() });
}

/** Expand (1x1), depthwise 3x3, project (1x1) with a residual when shapes allow. */
export class InvertedResidual extends Module {
  conv: Sequential;
  readonly useResidual: boolean;
  /** Channels it puts out (torchvision's `out_channels`). */
  readonly outChannels: number;
  /** Stride of its depthwise convolution; a block with stride > 1 starts a new stage (torchvision's `_is_cn`). */
  readonly stride: number;

  constructor(inC: number, outC: number, stride: number, expandRatio: number, normLayer: NormLayerFactory = batchNorm2d) {
    super();
    const hidden = Math.round(inC * expandRatio);
    this.useResidual = stride === 1 && inC === outC;
    this.outChannels = outC;
    this.stride = stride;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(convBnRelu6(inC, hidden, 1, normLayer));
    layers.push(convBnRelu6(hidden, hidden, 3, normLayer, stride, hidden), new Conv2d(hidden, outC, 1, { bias: false }), normLayer(outC));
    this.conv = new Sequential(...layers);
  }

  forward(x: Tensor): Tensor {
    const out = this.conv.call(x);
    return this.useResidual ? add(x, out) : out;
  }
}

/** MobileNetV2 (3,504,872 parameters with 1000 classes), width multiplier 1. */
export class MobileNetV2 extends Module {
  features: Sequential;
  pool = new AdaptiveAvgPool2d([1, 1]);
  flatten = new Flatten();
  classifier: Sequential;

  constructor(opts: MobileNetV2Options = {}) {
    super();
    const normLayer = opts.normLayer ?? batchNorm2d;
    // [expansion t, output channels c, repeats n, first stride s]
    const settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]] as const;
    const layers: Module[] = [convBnRelu6(opts.inChannels ?? 3, 32, 3, normLayer, 2)];
    let inC = 32;
    for (const [t, c, n, s] of settings) {
      for (let i = 0; i < n; ++i) {
        layers.push(new InvertedResidual(inC, c, i === 0 ? s : 1, t, normLayer));
        inC = c;
      }
    }
    layers.push(convBnRelu6(inC, 1280, 1, normLayer));
    this.features = new Sequential(...layers);
    this.classifier = new Sequential(new Dropout(0.2), new Linear(1280, opts.numClasses ?? 1000));
    // torchvision's initialisation.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal_(m.weight, { mode: 'fanOut' });
        if (m.bias) constant_(m.bias, 0);
      } else if (m instanceof BatchNorm2d && m.weight && m.bias) {
        constant_(m.weight, 1);
        constant_(m.bias, 0);
      } else if (m instanceof Linear) {
        normal_(m.weight, 0, 0.01);
        if (m.bias) constant_(m.bias, 0);
      }
    }
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.flatten.call(this.pool.call(this.features.call(x))));
  }
}

/** MobileNetV2 with torchvision's layout. */
export const mobilenetV2 = (opts?: MobileNetV2Options) => new MobileNetV2(opts);
