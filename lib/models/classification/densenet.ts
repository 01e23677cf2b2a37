/**
 * DenseNet-BC (Huang et al. 2017) in torchvision's layout and names (`features.conv0`,
 * `features.denseblock1.denselayer1.norm1`, `features.transition1.conv`, `features.norm5`,
 * `classifier`), as torchvision's `densenet121`. torchvision's `memory_efficient`
 * checkpointing is left out: it changes memory, not results.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { dropout } from '../../ops/dropout.js';
import { adaptiveAvgPool2d } from '../../ops/pool.js';
import { cat } from '../../ops/shape.js';
import { relu } from '../../ops/unary.js';
import { checkInRange, checkInt } from '../../ops/validate.js';
import { Linear, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AvgPool2d, BatchNorm2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions } from './options.js';

/**
 * One layer of a dense block, as torchvision's `_DenseLayer`: BN-ReLU-1×1 conv to
 * `bnSize * growthRate` channels, BN-ReLU-3×3 conv to `growthRate` channels, then dropout
 * (in training, where `dropRate` > 0). Its input is every earlier feature map of the block,
 * already concatenated on channels.
 */
export class DenseLayer extends Module {
  norm1: BatchNorm2d;
  relu1: ReLU;
  conv1: Conv2d;
  norm2: BatchNorm2d;
  relu2: ReLU;
  conv2: Conv2d;

  constructor(inC: number, growthRate: number, bnSize: number, readonly dropRate = 0) {
    super();
    // Assigned in torchvision's order: children register as they are assigned.
    this.norm1 = new BatchNorm2d(inC);
    this.relu1 = new ReLU();
    this.conv1 = new Conv2d(inC, bnSize * growthRate, 1, { bias: false });
    this.norm2 = new BatchNorm2d(bnSize * growthRate);
    this.relu2 = new ReLU();
    this.conv2 = new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false });
  }

  forward(x: Tensor): Tensor {
    const bottleneck = this.conv1.call(this.relu1.call(this.norm1.call(x)));
    const out = this.conv2.call(this.relu2.call(this.norm2.call(bottleneck)));
    return this.dropRate > 0 ? dropout(out, { p: this.dropRate, training: this.training }) : out;
  }
}

/**
 * A dense block, as torchvision's `_DenseBlock`: children `denselayer1`..`denselayerN`, each
 * fed the concatenation of the block's input and every earlier layer's output; it puts out
 * the concatenation of all of them (`inC + numLayers * growthRate` channels).
 */
export class DenseBlock extends Module {
  private readonly layers: DenseLayer[] = [];

  constructor(numLayers: number, inC: number, growthRate: number, bnSize: number, dropRate = 0) {
    super();
    for (let i = 0; i < numLayers; ++i) {
      const layer = new DenseLayer(inC + i * growthRate, growthRate, bnSize, dropRate);
      this.layers.push(layer);
      this.registerModule(`denselayer${i + 1}`, layer);
    }
  }

  forward(x: Tensor): Tensor {
    const features = [x];
    for (const layer of this.layers) features.push(layer.call(features.length === 1 ? x : cat(features, 1)));
    return cat(features, 1);
  }
}

/** Between two dense blocks, as torchvision's `_Transition`: BN, ReLU, 1×1 conv to `outC`, 2×2 average pool (children norm, relu, conv, pool). */
export class DenseTransition extends Sequential {
  constructor(inC: number, outC: number) {
    super({ norm: new BatchNorm2d(inC), relu: new ReLU(), conv: new Conv2d(inC, outC, 1, { bias: false }), pool: new AvgPool2d(2, { stride: 2 }) });
  }
}

/** Options of {@link DenseNet} (torchvision's `DenseNet` keyword arguments). */
export interface DenseNetOptions extends ClassifierOptions {
  /** Channels each dense layer adds (`k` in the paper; default 32). */
  growthRate?: number;
  /** Dense layers in each of the four blocks (default [6, 12, 24, 16], DenseNet-121's). */
  blockConfig?: readonly [number, number, number, number];
  /** Channels of the stem convolution (default 64). */
  numInitFeatures?: number;
  /** Bottleneck width of a dense layer, in multiples of `growthRate` (default 4). */
  bnSize?: number;
  /** Dropout probability after each dense layer, in training (default 0). */
  dropRate?: number;
}

/**
 * DenseNet-BC, as torchvision.models.DenseNet: `features` (a Sequential of conv0, norm0,
 * relu0, pool0, denseblock1, transition1, ..., denseblock4, norm5), then ReLU, global
 * average pooling and `classifier` (Linear), with torchvision's initialisation. Built by
 * {@link densenet121}.
 */
export class DenseNet extends Module {
  features: Sequential;
  classifier: Linear;

  constructor(opts: DenseNetOptions = {}) {
    super();
    const growthRate = checkInt('DenseNet', 'growthRate', opts.growthRate ?? 32, 1);
    const numInit = checkInt('DenseNet', 'numInitFeatures', opts.numInitFeatures ?? 64, 1);
    const bnSize = checkInt('DenseNet', 'bnSize', opts.bnSize ?? 4, 1);
    const dropRate = checkInRange('DenseNet', 'dropRate', opts.dropRate ?? 0, 0, 1);
    const blocks = opts.blockConfig ?? [6, 12, 24, 16];
    if (blocks.length !== 4) throw new ArgumentError(`DenseNet: expected blockConfig to list 4 blocks, got ${blocks.length}`);
    blocks.forEach((n, i) => checkInt('DenseNet', `blockConfig[${i}]`, n, 1));
    // Named entries in torchvision's order: a Sequential registers them as given.
    const layers: Record<string, Module> = {
      conv0: new Conv2d(opts.inChannels ?? 3, numInit, 7, { stride: 2, padding: 3, bias: false }),
      norm0: new BatchNorm2d(numInit),
      relu0: new ReLU(),
      pool0: new MaxPool2d(3, { stride: 2, padding: 1 }),
    };
    let channels = numInit;
    blocks.forEach((numLayers, i) => {
      layers[`denseblock${i + 1}`] = new DenseBlock(numLayers, channels, growthRate, bnSize, dropRate);
      channels += numLayers * growthRate;
      if (i !== blocks.length - 1) {
        layers[`transition${i + 1}`] = new DenseTransition(channels, Math.floor(channels / 2));
        channels = Math.floor(channels / 2);
      }
    });
    layers.norm5 = new BatchNorm2d(channels);
    this.features = new Sequential(layers);
    this.classifier = new Linear(channels, opts.numClasses ?? 1000);
    // torchvision's initialisation: He normal (fan in) for convolutions, Linear bias 0; BatchNorm2d's own (1, 0).
    for (const m of this.modules()) {
      if (m instanceof Conv2d) kaimingNormal_(m.weight);
      else if (m instanceof Linear && m.bias) constant_(m.bias, 0);
    }
  }

  forward(x: Tensor): Tensor {
    // ReLU and pooling as functions, as torchvision's forward: they are not children there either.
    const pooled = adaptiveAvgPool2d(relu(this.features.call(x)), [1, 1]);
    return this.classifier.call(pooled.reshape([pooled.shape[0]!, -1]));
  }
}

/**
 * DenseNet-121 (7,978,856 parameters with 1000 classes), as torchvision's `densenet121`.
 *
 * @example
 * const model = models.densenet121().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000]
 * const block = model.features; // conv0 ... norm5, for Grad-CAM or a backbone
 */
export const densenet121 = (opts?: Omit<DenseNetOptions, 'growthRate' | 'blockConfig' | 'numInitFeatures'>) => new DenseNet(opts);
