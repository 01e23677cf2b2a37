/**
 * ResNet (He et al. 2016) in torchvision's layout and parameter names (`conv1`, `bn1`,
 * `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`), so torchvision weights converted to
 * safetensors load unchanged: resnet18/34 (BasicBlock) and resnet50 (Bottleneck).
 * @module
 */
import { add } from '../../ops/elementwise.js';
import { relu } from '../../ops/unary.js';
import { Flatten, Linear, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions } from './options.js';

const conv3x3 = (inC: number, outC: number, stride = 1) => new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false });
const conv1x1 = (inC: number, outC: number, stride = 1) => new Conv2d(inC, outC, 1, { stride, bias: false });

/** Two 3x3 convolutions with a residual connection (ResNet-18/34). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU();
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential | null;

  constructor(inC: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = conv3x3(inC, planes, stride);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = downsample;
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.call(this.conv2.call(relu(this.bn1.call(this.conv1.call(x)))));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return relu(add(out, identity));
  }
}

/** 1x1 reduce, 3x3, 1x1 expand (x4) with a residual connection (ResNet-50), stride on the 3x3 as torchvision. */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  conv3: Conv2d;
  bn3: BatchNorm2d;
  relu = new ReLU();
  downsample: Sequential | null;

  constructor(inC: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = conv1x1(inC, planes);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes, stride);
    this.bn2 = new BatchNorm2d(planes);
    this.conv3 = conv1x1(planes, planes * 4);
    this.bn3 = new BatchNorm2d(planes * 4);
    this.downsample = downsample;
  }

  forward(x: Tensor): Tensor {
    const a = relu(this.bn1.call(this.conv1.call(x)));
    const b = relu(this.bn2.call(this.conv2.call(a)));
    const out = this.bn3.call(this.conv3.call(b));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return relu(add(out, identity));
  }
}

type Block = typeof BasicBlock | typeof Bottleneck;

/** The torchvision ResNet trunk: stem, four stages, global pooling, fc. */
export class ResNet extends Module {
  conv1: Conv2d;
  bn1 = new BatchNorm2d(64);
  relu = new ReLU();
  maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool = new AdaptiveAvgPool2d([1, 1]);
  flatten = new Flatten();
  fc: Linear;

  constructor(block: Block, layers: readonly [number, number, number, number], opts: ClassifierOptions = {}) {
    super();
    this.conv1 = new Conv2d(opts.inChannels ?? 3, 64, 7, { stride: 2, padding: 3, bias: false });
    let inC = 64;
    const stage = (planes: number, blocks: number, stride: number) => {
      const out = planes * block.expansion;
      const downsample = stride !== 1 || inC !== out ? new Sequential(conv1x1(inC, out, stride), new BatchNorm2d(out)) : null;
      const list: Module[] = [new block(inC, planes, stride, downsample)];
      inC = out;
      for (let i = 1; i < blocks; ++i) list.push(new block(inC, planes));
      return new Sequential(...list);
    };
    this.layer1 = stage(64, layers[0], 1);
    this.layer2 = stage(128, layers[1], 2);
    this.layer3 = stage(256, layers[2], 2);
    this.layer4 = stage(512, layers[3], 2);
    this.fc = new Linear(512 * block.expansion, opts.numClasses ?? 1000);
    // torchvision's initialisation: He normal (fan out) for convolutions, BN weight 1, bias 0.
    for (const m of this.modules()) if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
    for (const m of this.modules()) {
      if (m instanceof BatchNorm2d && m.weight && m.bias) {
        constant_(m.weight, 1);
        constant_(m.bias, 0);
      }
    }
  }

  forward(x: Tensor): Tensor {
    let out = this.maxpool.call(relu(this.bn1.call(this.conv1.call(x))));
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) out = layer.call(out);
    return this.fc.call(this.flatten.call(this.avgpool.call(out)));
  }
}

/** ResNet-18 (11,689,512 parameters with 1000 classes). */
export const resnet18 = (opts?: ClassifierOptions) => new ResNet(BasicBlock, [2, 2, 2, 2], opts);
/** ResNet-34. */
export const resnet34 = (opts?: ClassifierOptions) => new ResNet(BasicBlock, [3, 4, 6, 3], opts);
/** ResNet-50 (25,557,032 parameters with 1000 classes). */
export const resnet50 = (opts?: ClassifierOptions) => new ResNet(Bottleneck, [3, 4, 6, 3], opts);
