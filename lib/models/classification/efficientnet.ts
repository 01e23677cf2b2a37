/**
 * EfficientNet (Tan & Le 2019), B0, in torchvision 0.14's layout and names
 * (`features.N.M.block.K...`, `classifier.1`): MBConv blocks with SiLU,
 * squeeze-and-excitation and stochastic depth whose probability grows linearly with the
 * block's index, as torchvision's. The conv-norm-activation and squeeze-and-excitation
 * blocks come from lib/nn/layers/blocks, StochasticDepth from lib/nn/layers/basic.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { add } from '../../ops/elementwise.js';
import { checkInRange, checkInt } from '../../ops/validate.js';
import { Dropout, Flatten, Linear, SiLU, StochasticDepth } from '../../nn/layers/basic.js';
import { Conv2dNormActivation, SqueezeExcitation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d, GroupNorm } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_, uniform_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { makeDivisible } from './mobilenet_v3.js';
import type { ClassifierOptions, NormLayerFactory } from './options.js';

/**
 * Options of {@link efficientnetB0} (torchvision's `EfficientNet` keyword arguments).
 *
 * @example
 * models.efficientnetB0({ numClasses: 10, dropout: 0.3, stochasticDepthProb: 0.1 })
 */
export interface EfficientNetOptions extends ClassifierOptions {
  /** The normalisation layer after each convolution (default BatchNorm2d, torchvision's for B0-B7). */
  normLayer?: NormLayerFactory;
  /** Dropout probability before the classifier's linear layer (default 0.2 for B0). */
  dropout?: number;
  /**
   * Stochastic depth probability of the last block (default 0.2); block i of n drops its
   * residual branch with probability `stochasticDepthProb * i / n`.
   */
  stochasticDepthProb?: number;
}

/**
 * One stage of the network, as torchvision's `MBConvConfig` (channels already adjusted to
 * the width multiplier): `numLayers` MBConv blocks, the first with `stride`.
 *
 * @example
 * const stage: models.MBConvConfig = { expandRatio: 6, kernel: 5, stride: 2, inputChannels: 24, outChannels: 40, numLayers: 2 };
 */
export interface MBConvConfig {
  expandRatio: number;
  kernel: number;
  stride: number;
  inputChannels: number;
  outChannels: number;
  numLayers: number;
}

const silu = () => new SiLU();
const batchNorm2d: NormLayerFactory = (channels) => new BatchNorm2d(channels);

/**
 * EfficientNet's mobile inverted bottleneck, as torchvision's `efficientnet.MBConv`: 1×1
 * expansion with SiLU (left out at expansion 1), k×k depthwise with SiLU,
 * squeeze-and-excitation to `max(1, inputChannels / 4)` channels with a SiLU inside, 1×1
 * projection without activation; where shapes agree the branch passes stochastic depth
 * ('row' mode, identity in eval) and is added to the input. Children `block.0`.. and
 * `stochasticDepth` (no parameters).
 *
 * @example
 * const block = new models.MBConv({ expandRatio: 6, kernel: 3, stride: 1, inputChannels: 24, outChannels: 24, numLayers: 1 }, 0.05);
 */
export class MBConv extends Module {
  block: Sequential;
  stochasticDepth: StochasticDepth;
  readonly useResidual: boolean;
  /** Channels it puts out (torchvision's `out_channels`). */
  readonly outChannels: number;

  constructor(cnf: MBConvConfig, stochasticDepthProb: number, normLayer: NormLayerFactory = batchNorm2d) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new ArgumentError(`MBConv: expected stride 1 or 2, got ${cnf.stride}`);
    this.useResidual = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    this.outChannels = cnf.outChannels;
    const expanded = makeDivisible(cnf.inputChannels * cnf.expandRatio);
    const layers: Module[] = [];
    if (expanded !== cnf.inputChannels) layers.push(new Conv2dNormActivation(cnf.inputChannels, expanded, 1, { normLayer, activationLayer: silu }));
    layers.push(new Conv2dNormActivation(expanded, expanded, cnf.kernel, { stride: cnf.stride, groups: expanded, normLayer, activationLayer: silu }));
    layers.push(new SqueezeExcitation(expanded, Math.max(1, Math.floor(cnf.inputChannels / 4)), { activation: silu }));
    layers.push(new Conv2dNormActivation(expanded, cnf.outChannels, 1, { normLayer, activationLayer: null }));
    this.block = new Sequential(...layers);
    this.stochasticDepth = new StochasticDepth(stochasticDepthProb, 'row');
  }

  forward(x: Tensor): Tensor {
    const out = this.block.call(x);
    return this.useResidual ? add(this.stochasticDepth.call(out), x) : out;
  }
}

/**
 * EfficientNet, as torchvision.models.EfficientNet: `features` (a stride-2 3×3 stem with
 * SiLU, one Sequential of MBConv blocks per stage, a 1×1 conv to 4× the last width),
 * `avgpool` and `classifier` (Dropout, Linear), with torchvision's initialisation. Built by
 * {@link efficientnetB0}.
 *
 * @example
 * const net = new models.EfficientNet([{ expandRatio: 1, kernel: 3, stride: 1, inputChannels: 32, outChannels: 16, numLayers: 1 }], { numClasses: 10 });
 * net.features.call(images) // [N, 64, H / 2, W / 2]: the last conv widens 4x
 */
export class EfficientNet extends Module {
  features: Sequential;
  avgpool = new AdaptiveAvgPool2d(1);
  flatten = new Flatten();
  classifier: Sequential;

  constructor(settings: readonly MBConvConfig[], opts: EfficientNetOptions = {}) {
    super();
    const first = settings[0];
    const last = settings[settings.length - 1];
    if (first === undefined || last === undefined) throw new ArgumentError('EfficientNet: expected settings to list at least one stage, got none');
    const normLayer = opts.normLayer ?? batchNorm2d;
    const sdProb = opts.stochasticDepthProb ?? 0.2;
    const layers: Module[] = [new Conv2dNormActivation(opts.inChannels ?? 3, first.inputChannels, 3, { stride: 2, normLayer, activationLayer: silu })];
    const totalBlocks = settings.reduce((n, cnf) => n + cnf.numLayers, 0);
    let blockId = 0;
    for (const cnf of settings) {
      const stage: Module[] = [];
      for (let i = 0; i < cnf.numLayers; ++i) {
        // Later blocks of a stage take the stage's output width at stride 1.
        const blockCnf = i === 0 ? cnf : { ...cnf, inputChannels: cnf.outChannels, stride: 1 };
        stage.push(new MBConv(blockCnf, (sdProb * blockId) / totalBlocks, normLayer));
        blockId += 1;
      }
      layers.push(new Sequential(...stage));
    }
    const lastConv = 4 * last.outChannels;
    layers.push(new Conv2dNormActivation(last.outChannels, lastConv, 1, { normLayer, activationLayer: silu }));
    this.features = new Sequential(...layers);
    this.classifier = new Sequential(new Dropout(opts.dropout ?? 0.2), new Linear(lastConv, opts.numClasses ?? 1000));
    // torchvision's initialisation.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal_(m.weight, { mode: 'fanOut' });
        if (m.bias) constant_(m.bias, 0);
      } else if ((m instanceof BatchNorm2d || m instanceof GroupNorm) && m.weight && m.bias) {
        constant_(m.weight, 1);
        constant_(m.bias, 0);
      } else if (m instanceof Linear) {
        const range = 1 / Math.sqrt(m.outFeatures);
        uniform_(m.weight, -range, range);
        if (m.bias) constant_(m.bias, 0);
      }
    }
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.flatten.call(this.avgpool.call(this.features.call(x))));
  }
}

// torchvision 0.14's _efficientnet_conf for efficientnet_b*: expand ratio, kernel, stride,
// input and output channels, layers, before the width and depth multipliers.
const B_STAGES: readonly (readonly [number, number, number, number, number, number])[] = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];

/**
 * EfficientNet-B0 (5,288,548 parameters with 1000 classes), as torchvision's
 * `efficientnet_b0` (width and depth multipliers 1, dropout 0.2, stochastic depth up to
 * 0.2); its ImageNet checkpoint, converted to safetensors, loads with `loadStateDict`.
 *
 * @example
 * const model = models.efficientnetB0().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000] from [N, 3, 224, 224]
 */
export function efficientnetB0(opts: EfficientNetOptions = {}): EfficientNet {
  const arch = 'efficientnetB0';
  if (opts.numClasses !== undefined) checkInt(arch, 'numClasses', opts.numClasses, 1);
  if (opts.dropout !== undefined) checkInRange(arch, 'dropout', opts.dropout, 0, 1);
  if (opts.stochasticDepthProb !== undefined) checkInRange(arch, 'stochasticDepthProb', opts.stochasticDepthProb, 0, 1);
  // B0's multipliers are 1, which leave every row as it is (its widths are multiples of 8).
  const settings = B_STAGES.map(([expandRatio, kernel, stride, inputChannels, outChannels, numLayers]): MBConvConfig => ({ expandRatio, kernel, stride, inputChannels, outChannels, numLayers }));
  return new EfficientNet(settings, opts);
}
