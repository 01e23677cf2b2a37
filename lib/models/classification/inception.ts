/**
 * Inception v3 (Szegedy et al. 2016) in torchvision 0.14's layout and names
 * (`Conv2d_1a_3x3.conv`, `Mixed_5b.branch5x5_1.bn`, `AuxLogits.fc`, `fc`), for 299×299
 * inputs, with the auxiliary classifier that training mode returns beside the logits.
 * `BasicConv2d` (conv, BatchNorm with eps 0.001, ReLU) is shared with GoogLeNet.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../../ops/pool.js';
import { cat } from '../../ops/shape.js';
import { relu } from '../../ops/unary.js';
import { checkInRange, checkInt } from '../../ops/validate.js';
import { Dropout, Linear } from '../../nn/layers/basic.js';
import { Conv2d, type ConvLayerOptions } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { truncNormal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions } from './options.js';

/**
 * Convolution without bias, BatchNorm (eps 0.001) and ReLU, as torchvision's
 * `inception.BasicConv2d` / `googlenet.BasicConv2d`: children `conv` and `bn`.
 *
 * @example
 * new models.BasicConv2d(192, 64, 1)
 * new models.BasicConv2d(128, 128, [1, 7], { padding: [0, 3] })
 */
export class BasicConv2d extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  /** The standard deviation torchvision's initialisation draws this conv's weight with, where it is not the model's default. */
  stddev: number | undefined;

  constructor(inC: number, outC: number, kernelSize: number | readonly number[], opts: Omit<ConvLayerOptions, 'bias'> = {}) {
    super();
    this.conv = new Conv2d(inC, outC, kernelSize, { ...opts, bias: false });
    this.bn = new BatchNorm2d(outC, { eps: 0.001 });
  }

  forward(x: Tensor): Tensor {
    return relu(this.bn.call(this.conv.call(x)));
  }
}

/**
 * Options of the Inception models (torchvision's `GoogLeNet` / `Inception3` keyword arguments).
 *
 * @example
 * models.inceptionV3({ numClasses: 10, auxLogits: false, dropout: 0.3 })
 */
export interface InceptionOptions extends ClassifierOptions {
  /**
   * Build the auxiliary classifiers, whose logits training mode returns beside the main
   * ones (default true, as torchvision's constructors without weights).
   */
  auxLogits?: boolean;
  /**
   * Map inputs normalised with ImageNet's mean and std to the (x - 0.5) / 0.5 range the
   * original Google weights expect (default false, as torchvision without weights).
   */
  transformInput?: boolean;
  /** Dropout probability before the last linear layer (default 0.5 for Inception v3, 0.2 for GoogLeNet). */
  dropout?: number;
}

/**
 * What Inception v3 returns in training mode with auxLogits, as torchvision's
 * `InceptionOutputs`; eval mode returns the logits alone.
 *
 * @example
 * const { logits, aux } = net.train().call(images) as models.InceptionOutputs;
 * const loss = crossEntropy(logits, labels).add(crossEntropy(aux, labels).mul(0.4)); // torchvision's recipe
 */
export interface InceptionOutputs {
  /** The main classifier's logits `[N, numClasses]`. */
  logits: Tensor;
  /** The auxiliary classifier's logits `[N, numClasses]` (from Mixed_6e). */
  aux: Tensor;
}

/** Checks the options both Inception models take (shared with googlenet.ts; not public). */
export function checkInceptionOptions(arch: string, opts: InceptionOptions): void {
  if (opts.numClasses !== undefined) checkInt(arch, 'numClasses', opts.numClasses, 1);
  if (opts.dropout !== undefined) checkInRange(arch, 'dropout', opts.dropout, 0, 1);
  if (opts.transformInput && (opts.inChannels ?? 3) !== 3) throw new ArgumentError(`${arch}: transformInput needs 3 input channels, got inChannels ${opts.inChannels}`);
}

/**
 * torchvision's `_transform_input`: each channel c of ImageNet-normalised `[N, 3, H, W]` to
 * `x * std_c / 0.5 + (mean_c - 0.5) / 0.5` (shared with googlenet.ts; not public).
 */
export function transformImageNetInput(x: Tensor): Tensor {
  const scale = tensor([0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5], { dtype: 'float32', device: x.device }).reshape([1, 3, 1, 1]);
  const shift = tensor([(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5], { dtype: 'float32', device: x.device }).reshape([1, 3, 1, 1]);
  return x.mul(scale).add(shift);
}

/** The 3×3 average pool (stride 1, padding 1, padded zeros counted) of the A, C and E blocks' pool branch. */
const pool3x3 = (x: Tensor) => avgPool2d(x, 3, { stride: 1, padding: 1 });

/**
 * Inception-A (35×35): 1×1, 5×5, double 3×3 and pool branches.
 *
 * @example
 * new models.InceptionA(192, 32).call(x) // [N, 192, 35, 35] -> [N, 256, 35, 35]
 */
export class InceptionA extends Module {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inC: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(inC, 64, 1);
    this.branch5x5_1 = new BasicConv2d(inC, 48, 1);
    this.branch5x5_2 = new BasicConv2d(48, 64, 5, { padding: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { padding: 1 });
    this.branch_pool = new BasicConv2d(inC, poolFeatures, 1);
  }

  forward(x: Tensor): Tensor {
    return cat([
      this.branch1x1.call(x),
      this.branch5x5_2.call(this.branch5x5_1.call(x)),
      this.branch3x3dbl_3.call(this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x))),
      this.branch_pool.call(pool3x3(x)),
    ], 1);
  }
}

/**
 * Inception-B (35×35 -> 17×17): strided 3×3, strided double 3×3 and max-pool branches.
 *
 * @example
 * new models.InceptionB(288).call(x) // [N, 288, 35, 35] -> [N, 768, 17, 17]
 */
export class InceptionB extends Module {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;

  constructor(inC: number) {
    super();
    this.branch3x3 = new BasicConv2d(inC, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });
  }

  forward(x: Tensor): Tensor {
    return cat([
      this.branch3x3.call(x),
      this.branch3x3dbl_3.call(this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x))),
      maxPool2d(x, 3, { stride: 2 }),
    ], 1);
  }
}

/**
 * Inception-C (17×17): 1×1, factorised 7×7, double factorised 7×7 and pool branches, `c7` channels inside.
 *
 * @example
 * new models.InceptionC(768, 128).call(x) // [N, 768, 17, 17] -> [N, 768, 17, 17]
 */
export class InceptionC extends Module {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inC: number, c7: number) {
    super();
    const row = { padding: [0, 3] };
    const column = { padding: [3, 0] };
    this.branch1x1 = new BasicConv2d(inC, 192, 1);
    this.branch7x7_1 = new BasicConv2d(inC, c7, 1);
    this.branch7x7_2 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7_3 = new BasicConv2d(c7, 192, [7, 1], column);
    this.branch7x7dbl_1 = new BasicConv2d(inC, c7, 1);
    this.branch7x7dbl_2 = new BasicConv2d(c7, c7, [7, 1], column);
    this.branch7x7dbl_3 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7dbl_4 = new BasicConv2d(c7, c7, [7, 1], column);
    this.branch7x7dbl_5 = new BasicConv2d(c7, 192, [1, 7], row);
    this.branch_pool = new BasicConv2d(inC, 192, 1);
  }

  forward(x: Tensor): Tensor {
    let dbl = x;
    for (const conv of [this.branch7x7dbl_1, this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5]) dbl = conv.call(dbl);
    return cat([
      this.branch1x1.call(x),
      this.branch7x7_3.call(this.branch7x7_2.call(this.branch7x7_1.call(x))),
      dbl,
      this.branch_pool.call(pool3x3(x)),
    ], 1);
  }
}

/**
 * Inception-D (17×17 -> 8×8): strided 3×3, factorised 7×7 then strided 3×3, and max-pool branches.
 *
 * @example
 * new models.InceptionD(768).call(x) // [N, 768, 17, 17] -> [N, 1280, 8, 8]
 */
export class InceptionD extends Module {
  branch3x3_1: BasicConv2d;
  branch3x3_2: BasicConv2d;
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2: BasicConv2d;
  branch7x7x3_3: BasicConv2d;
  branch7x7x3_4: BasicConv2d;

  constructor(inC: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(inC, 192, 1);
    this.branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
    this.branch7x7x3_1 = new BasicConv2d(inC, 192, 1);
    this.branch7x7x3_2 = new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] });
    this.branch7x7x3_3 = new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] });
    this.branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });
  }

  forward(x: Tensor): Tensor {
    const seven = this.branch7x7x3_4.call(this.branch7x7x3_3.call(this.branch7x7x3_2.call(this.branch7x7x3_1.call(x))));
    return cat([this.branch3x3_2.call(this.branch3x3_1.call(x)), seven, maxPool2d(x, 3, { stride: 2 })], 1);
  }
}

/**
 * Inception-E (8×8): 1×1, 3×3 split into 1×3 and 3×1, double 3×3 split the same way, and pool branches.
 *
 * @example
 * new models.InceptionE(1280).call(x) // [N, 1280, 8, 8] -> [N, 2048, 8, 8]
 */
export class InceptionE extends Module {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a: BasicConv2d;
  branch3x3_2b: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3a: BasicConv2d;
  branch3x3dbl_3b: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inC: number) {
    super();
    this.branch1x1 = new BasicConv2d(inC, 320, 1);
    this.branch3x3_1 = new BasicConv2d(inC, 384, 1);
    this.branch3x3_2a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
    this.branch3x3_2b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 448, 1);
    this.branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { padding: 1 });
    this.branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
    this.branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
    this.branch_pool = new BasicConv2d(inC, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const a = this.branch3x3_1.call(x);
    const b = this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x));
    return cat([
      this.branch1x1.call(x),
      cat([this.branch3x3_2a.call(a), this.branch3x3_2b.call(a)], 1),
      cat([this.branch3x3dbl_3a.call(b), this.branch3x3dbl_3b.call(b)], 1),
      this.branch_pool.call(pool3x3(x)),
    ], 1);
  }
}

/**
 * Inception v3's auxiliary classifier on Mixed_6e's 17×17 output: 5×5 stride-3 average
 * pool, 1×1 conv to 128, 5×5 conv to 768, global pool, Linear (`conv0`, `conv1`, `fc`).
 *
 * @example
 * new models.InceptionAux(768, 1000).call(mixed6eOutput) // [N, 768, 17, 17] -> [N, 1000]
 */
export class InceptionAux extends Module {
  conv0: BasicConv2d;
  conv1: BasicConv2d;
  fc: Linear;

  constructor(inC: number, numClasses: number) {
    super();
    this.conv0 = new BasicConv2d(inC, 128, 1);
    this.conv1 = new BasicConv2d(128, 768, 5);
    this.conv1.stddev = 0.01;
    this.fc = new Linear(768, numClasses);
  }

  forward(x: Tensor): Tensor {
    const pooled = this.conv1.call(this.conv0.call(avgPool2d(x, 5, { stride: 3 })));
    return this.fc.call(adaptiveAvgPool2d(pooled, [1, 1]).flatten(1));
  }
}

/**
 * Inception v3, as torchvision.models.Inception3. In training mode with auxLogits it
 * returns {@link InceptionOutputs} (logits and the auxiliary logits, which need Mixed_6e at
 * 17×17: 299×299 inputs); otherwise the logits `[N, numClasses]` (eval accepts inputs from
 * 75×75). Initialised as torchvision: truncated normal with std 0.1 (0.01 for the auxiliary
 * 5×5 conv, 0.001 for its Linear).
 *
 * @example
 * const net = new models.Inception3({ numClasses: 10 });
 */
export class Inception3 extends Module<[Tensor], Tensor | InceptionOutputs> {
  readonly transformInput: boolean;
  // torchvision's attribute names, which are the checkpoints' key prefixes.
  Conv2d_1a_3x3: BasicConv2d;
  Conv2d_2a_3x3: BasicConv2d;
  Conv2d_2b_3x3: BasicConv2d;
  maxpool1: MaxPool2d;
  Conv2d_3b_1x1: BasicConv2d;
  Conv2d_4a_3x3: BasicConv2d;
  maxpool2: MaxPool2d;
  Mixed_5b: InceptionA;
  Mixed_5c: InceptionA;
  Mixed_5d: InceptionA;
  Mixed_6a: InceptionB;
  Mixed_6b: InceptionC;
  Mixed_6c: InceptionC;
  Mixed_6d: InceptionC;
  Mixed_6e: InceptionC;
  AuxLogits: InceptionAux | null;
  Mixed_7a: InceptionD;
  Mixed_7b: InceptionE;
  Mixed_7c: InceptionE;
  avgpool: AdaptiveAvgPool2d;
  dropout: Dropout;
  fc: Linear;

  constructor(opts: InceptionOptions = {}) {
    super();
    checkInceptionOptions('Inception3', opts);
    const numClasses = opts.numClasses ?? 1000;
    this.transformInput = opts.transformInput ?? false;
    // Assigned in torchvision's order: children register as they are assigned.
    this.Conv2d_1a_3x3 = new BasicConv2d(opts.inChannels ?? 3, 32, 3, { stride: 2 });
    this.Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
    this.Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { padding: 1 });
    this.maxpool1 = new MaxPool2d(3, { stride: 2 });
    this.Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
    this.Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
    this.maxpool2 = new MaxPool2d(3, { stride: 2 });
    this.Mixed_5b = new InceptionA(192, 32);
    this.Mixed_5c = new InceptionA(256, 64);
    this.Mixed_5d = new InceptionA(288, 64);
    this.Mixed_6a = new InceptionB(288);
    this.Mixed_6b = new InceptionC(768, 128);
    this.Mixed_6c = new InceptionC(768, 160);
    this.Mixed_6d = new InceptionC(768, 160);
    this.Mixed_6e = new InceptionC(768, 192);
    this.AuxLogits = opts.auxLogits ?? true ? new InceptionAux(768, numClasses) : null;
    this.Mixed_7a = new InceptionD(768);
    this.Mixed_7b = new InceptionE(1280);
    this.Mixed_7c = new InceptionE(2048);
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.dropout = new Dropout(opts.dropout ?? 0.5);
    this.fc = new Linear(2048, numClasses);
    initInception(this, 0.1);
    if (this.AuxLogits) truncNormal_(this.AuxLogits.fc.weight, { std: 0.001 });
  }

  forward(x: Tensor): Tensor | InceptionOutputs {
    let out = this.transformInput ? transformImageNetInput(x) : x;
    const stem = [this.Conv2d_1a_3x3, this.Conv2d_2a_3x3, this.Conv2d_2b_3x3, this.maxpool1, this.Conv2d_3b_1x1, this.Conv2d_4a_3x3, this.maxpool2];
    const mixed6 = [this.Mixed_5b, this.Mixed_5c, this.Mixed_5d, this.Mixed_6a, this.Mixed_6b, this.Mixed_6c, this.Mixed_6d, this.Mixed_6e];
    for (const layer of [...stem, ...mixed6]) out = layer.call(out);
    const aux = this.training && this.AuxLogits ? this.AuxLogits.call(out) : null;
    for (const layer of [this.Mixed_7a, this.Mixed_7b, this.Mixed_7c, this.avgpool, this.dropout]) out = layer.call(out);
    const logits = this.fc.call(out.flatten(1));
    return aux ? { logits, aux } : logits;
  }
}

/**
 * (Shared with googlenet.ts; not public.) torchvision's Inception initialisation: every Conv2d and Linear weight truncated normal at
 * its BasicConv2d's `stddev` or `std` (within ±2), BatchNorm at weight 1, bias 0 (their
 * construction values). Linear biases keep PyTorch's default, as in torchvision.
 */
export function initInception(model: Module<[Tensor], unknown>, std: number): void {
  for (const m of model.modules()) {
    if (m instanceof BasicConv2d) truncNormal_(m.conv.weight, { std: m.stddev ?? std });
    else if (m instanceof Linear) truncNormal_(m.weight, { std });
  }
}

/**
 * Inception v3 (27,161,264 parameters with 1000 classes and the auxiliary classifier;
 * 23,834,568 without), as torchvision's `inception_v3(weights=None)`; its ImageNet
 * checkpoint (with transformInput true, as torchvision sets it for those weights) loads with
 * `loadStateDict`.
 *
 * @example
 * const model = models.inceptionV3().eval();
 * const logits = noGrad(() => model.call(images)) as Tensor; // [N, 1000] from [N, 3, 299, 299]
 * const { logits: main, aux } = models.inceptionV3().train().call(images) as models.InceptionOutputs;
 */
export const inceptionV3 = (opts: InceptionOptions = {}) => new Inception3(opts);
