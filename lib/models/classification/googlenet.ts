/**
 * GoogLeNet (Inception v1, Szegedy et al. 2015) in torchvision 0.14's layout and names
 * (`conv1.conv`, `inception3a.branch2.1.bn`, `aux1.fc1`, `fc`), with the two auxiliary
 * classifiers that training mode returns beside the logits. Its convolutions are the
 * `BasicConv2d` of inception.ts (BatchNorm eps 0.001), as in torchvision.
 * @module
 */
import { adaptiveAvgPool2d } from '../../ops/pool.js';
import { cat } from '../../ops/shape.js';
import { relu } from '../../ops/unary.js';
import { Dropout, Linear } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BasicConv2d, checkInceptionOptions, initInception, transformImageNetInput, type InceptionOptions } from './inception.js';

/**
 * What GoogLeNet returns in training mode with auxLogits, as torchvision's
 * `GoogLeNetOutputs`; eval mode returns the logits alone.
 *
 * @example
 * const out = net.train().call(images);
 * const { logits, aux1, aux2 } = out as models.GoogLeNetOutputs;
 * const loss = crossEntropy(logits, labels).add(crossEntropy(aux1, labels).add(crossEntropy(aux2, labels)).mul(0.3));
 */
export interface GoogLeNetOutputs {
  /** The main classifier's logits `[N, numClasses]`. */
  logits: Tensor;
  /** The second auxiliary classifier's logits `[N, numClasses]` (from inception4d). */
  aux2: Tensor;
  /** The first auxiliary classifier's logits `[N, numClasses]` (from inception4a). */
  aux1: Tensor;
}

// A max pool that rounds its output size up, as every one of GoogLeNet's does.
const ceilPool = (kernel: number, stride: number, padding = 0) => new MaxPool2d(kernel, { stride, padding, ceilMode: true });

/**
 * GoogLeNet's Inception module: `branch1` (1×1), `branch2` (1×1 then 3×3), `branch3` (1×1
 * then 3×3: torchvision's, not the paper's 5×5, a known deviation (pytorch/vision#906) that
 * its weights were trained with), `branch4` (3×3 max pool then 1×1), concatenated on channels.
 *
 * @example
 * new models.Inception(192, 64, 96, 128, 16, 32, 32) // inception3a: 256 channels out
 */
export class Inception extends Module {
  branch1: BasicConv2d;
  branch2: Sequential;
  branch3: Sequential;
  branch4: Sequential;

  constructor(inC: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number, poolProj: number) {
    super();
    this.branch1 = new BasicConv2d(inC, ch1x1, 1);
    this.branch2 = new Sequential(new BasicConv2d(inC, ch3x3red, 1), new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 }));
    this.branch3 = new Sequential(new BasicConv2d(inC, ch5x5red, 1), new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 }));
    this.branch4 = new Sequential(ceilPool(3, 1, 1), new BasicConv2d(inC, poolProj, 1));
  }

  forward(x: Tensor): Tensor {
    return cat([this.branch1.call(x), this.branch2.call(x), this.branch3.call(x), this.branch4.call(x)], 1);
  }
}

/**
 * GoogLeNet's auxiliary classifier: adaptive average pool to 4×4, 1×1 conv to 128, Linear
 * 2048 -> 1024 with ReLU, dropout (0.7), Linear to the classes (`conv`, `fc1`, `fc2`).
 *
 * @example
 * new models.GoogLeNetAux(512, 1000).call(inception4aOutput) // [N, 1000]
 */
export class GoogLeNetAux extends Module {
  conv: BasicConv2d;
  fc1: Linear;
  fc2: Linear;
  dropout: Dropout;

  constructor(inC: number, numClasses: number, dropout = 0.7) {
    super();
    this.conv = new BasicConv2d(inC, 128, 1);
    this.fc1 = new Linear(2048, 1024);
    this.fc2 = new Linear(1024, numClasses);
    this.dropout = new Dropout(dropout);
  }

  forward(x: Tensor): Tensor {
    const features = this.conv.call(adaptiveAvgPool2d(x, [4, 4])).flatten(1);
    return this.fc2.call(this.dropout.call(relu(this.fc1.call(features))));
  }
}

/**
 * GoogLeNet, as torchvision.models.GoogLeNet. In training mode with auxLogits it returns
 * {@link GoogLeNetOutputs}; otherwise the logits `[N, numClasses]`. Inputs from 15×15 in
 * eval; the auxiliary heads pool to 4×4, so any size that reaches inception4a works in
 * training too. Initialised as torchvision: truncated normal with std 0.01.
 *
 * @example
 * const net = new models.GoogLeNet({ numClasses: 10, auxLogits: false });
 */
export class GoogLeNet extends Module<[Tensor], Tensor | GoogLeNetOutputs> {
  readonly transformInput: boolean;
  conv1: BasicConv2d;
  maxpool1: MaxPool2d;
  conv2: BasicConv2d;
  conv3: BasicConv2d;
  maxpool2: MaxPool2d;
  inception3a: Inception;
  inception3b: Inception;
  maxpool3: MaxPool2d;
  inception4a: Inception;
  inception4b: Inception;
  inception4c: Inception;
  inception4d: Inception;
  inception4e: Inception;
  maxpool4: MaxPool2d;
  inception5a: Inception;
  inception5b: Inception;
  aux1: GoogLeNetAux | null;
  aux2: GoogLeNetAux | null;
  avgpool: AdaptiveAvgPool2d;
  dropout: Dropout;
  fc: Linear;

  constructor(opts: InceptionOptions = {}) {
    super();
    checkInceptionOptions('GoogLeNet', opts);
    const numClasses = opts.numClasses ?? 1000;
    this.transformInput = opts.transformInput ?? false;
    // Assigned in torchvision's order: children register as they are assigned.
    this.conv1 = new BasicConv2d(opts.inChannels ?? 3, 64, 7, { stride: 2, padding: 3 });
    this.maxpool1 = ceilPool(3, 2);
    this.conv2 = new BasicConv2d(64, 64, 1);
    this.conv3 = new BasicConv2d(64, 192, 3, { padding: 1 });
    this.maxpool2 = ceilPool(3, 2);
    this.inception3a = new Inception(192, 64, 96, 128, 16, 32, 32);
    this.inception3b = new Inception(256, 128, 128, 192, 32, 96, 64);
    this.maxpool3 = ceilPool(3, 2);
    this.inception4a = new Inception(480, 192, 96, 208, 16, 48, 64);
    this.inception4b = new Inception(512, 160, 112, 224, 24, 64, 64);
    this.inception4c = new Inception(512, 128, 128, 256, 24, 64, 64);
    this.inception4d = new Inception(512, 112, 144, 288, 32, 64, 64);
    this.inception4e = new Inception(528, 256, 160, 320, 32, 128, 128);
    this.maxpool4 = ceilPool(2, 2);
    this.inception5a = new Inception(832, 256, 160, 320, 32, 128, 128);
    this.inception5b = new Inception(832, 384, 192, 384, 48, 128, 128);
    const aux = opts.auxLogits ?? true;
    this.aux1 = aux ? new GoogLeNetAux(512, numClasses) : null;
    this.aux2 = aux ? new GoogLeNetAux(528, numClasses) : null;
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.dropout = new Dropout(opts.dropout ?? 0.2);
    this.fc = new Linear(1024, numClasses);
    initInception(this, 0.01);
  }

  forward(x: Tensor): Tensor | GoogLeNetOutputs {
    let out = this.transformInput ? transformImageNetInput(x) : x;
    const run = (layers: Module[]) => {
      for (const layer of layers) out = layer.call(out);
    };
    run([this.conv1, this.maxpool1, this.conv2, this.conv3, this.maxpool2, this.inception3a, this.inception3b, this.maxpool3, this.inception4a]);
    const aux1 = this.training && this.aux1 ? this.aux1.call(out) : null;
    run([this.inception4b, this.inception4c, this.inception4d]);
    const aux2 = this.training && this.aux2 ? this.aux2.call(out) : null;
    run([this.inception4e, this.maxpool4, this.inception5a, this.inception5b, this.avgpool]);
    const logits = this.fc.call(this.dropout.call(out.flatten(1)));
    return aux1 && aux2 ? { logits, aux2, aux1 } : logits;
  }
}

/**
 * GoogLeNet (13,004,888 parameters with 1000 classes and the auxiliary classifiers;
 * 6,624,904 without), as torchvision's `googlenet(weights=None)`: auxLogits true,
 * transformInput false. Its ImageNet checkpoint has no auxiliary heads: build with
 * `{ auxLogits: false, transformInput: true }` (torchvision's settings for those weights).
 *
 * @example
 * const model = models.googlenet().eval();
 * const logits = noGrad(() => model.call(images)) as Tensor; // [N, 1000]
 * const { logits: main, aux1, aux2 } = models.googlenet().train().call(images) as models.GoogLeNetOutputs;
 */
export const googlenet = (opts: InceptionOptions = {}) => new GoogLeNet(opts);
