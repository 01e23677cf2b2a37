/**
 * ConvNeXt (Liu et al. 2022), Tiny, in torchvision 0.14's layout and names
 * (`features.N.M.block.K...`, `features.N.M.layer_scale`, `classifier.0`, `classifier.2`):
 * a 4×4 patchify stem, stages of 7×7 depthwise blocks with a channels-last LayerNorm and MLP,
 * layer scale and stochastic depth, LayerNorm2d + 2×2 convolutions between stages.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { add, mul } from '../../ops/elementwise.js';
import { checkInRange, checkInt } from '../../ops/validate.js';
import { Flatten, GELU, Linear, Permute, StochasticDepth } from '../../nn/layers/basic.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, LayerNorm, LayerNorm2d } from '../../nn/layers/pooling_norm.js';
import { constant_, truncNormal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { ones } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions } from './options.js';

/**
 * Options of {@link convnextTiny} (torchvision's `ConvNeXt` keyword arguments).
 *
 * @example
 * models.convnextTiny({ numClasses: 10, stochasticDepthProb: 0.2 })
 */
export interface ConvNeXtOptions extends ClassifierOptions {
  /**
   * Stochastic depth probability of the last block (default 0.1 for Tiny); block i of n
   * drops its residual branch with probability `stochasticDepthProb * i / (n - 1)`.
   */
  stochasticDepthProb?: number;
  /** Initial value of every block's per-channel layer scale (default 1e-6). */
  layerScale?: number;
}

/**
 * One stage, as torchvision's `CNBlockConfig`: `numLayers` blocks at `inputChannels`, then a
 * downsampling to `outChannels` (none after the last stage: null).
 *
 * @example
 * const last: models.CNBlockConfig = { inputChannels: 768, outChannels: null, numLayers: 3 };
 */
export interface CNBlockConfig {
  inputChannels: number;
  outChannels: number | null;
  numLayers: number;
}

// ConvNeXt's norm layers all use eps 1e-6 (torchvision: partial(LayerNorm2d, eps=1e-6)).
const layerNorm2d = (channels: number) => new LayerNorm2d(channels, { eps: 1e-6 });

/**
 * ConvNeXt's block, as torchvision's `convnext.CNBlock`: `block` = 7×7 depthwise conv,
 * Permute to NHWC, LayerNorm (eps 1e-6), Linear to 4×, GELU, Linear back, Permute to NCHW;
 * the result is scaled per channel by the parameter `layer_scale` `[dim, 1, 1]`, passed
 * through stochastic depth ('row' mode, identity in eval) and added to the input.
 *
 * @example
 * const block = new models.CNBlock(96, 1e-6, 0.05);
 * block.call(randn([2, 96, 56, 56])) // [2, 96, 56, 56]
 */
export class CNBlock extends Module {
  block: Sequential;
  stochasticDepth: StochasticDepth;

  constructor(readonly dim: number, layerScale: number, stochasticDepthProb: number) {
    super();
    this.block = new Sequential(
      new Conv2d(dim, dim, 7, { padding: 3, groups: dim }),
      new Permute([0, 2, 3, 1]),
      new LayerNorm(dim, { eps: 1e-6 }),
      new Linear(dim, 4 * dim),
      new GELU(),
      new Linear(4 * dim, dim),
      new Permute([0, 3, 1, 2]),
    );
    // torchvision's parameter name, so checkpoints load; read it as layerScale.
    this.registerParameter('layer_scale', ones([dim, 1, 1]).mul(layerScale));
    this.stochasticDepth = new StochasticDepth(stochasticDepthProb, 'row');
  }

  /** The per-channel scale of the block's output `[dim, 1, 1]` (parameter `layer_scale`). */
  get layerScale(): Tensor {
    return (this as unknown as { layer_scale: Tensor }).layer_scale;
  }

  forward(x: Tensor): Tensor {
    return add(this.stochasticDepth.call(mul(this.layerScale, this.block.call(x))), x);
  }
}

/**
 * ConvNeXt, as torchvision.models.ConvNeXt: `features` (the stem: a 4×4 stride-4 conv with
 * bias and LayerNorm2d; then per stage a Sequential of {@link CNBlock}s and, between stages,
 * LayerNorm2d + 2×2 stride-2 conv), `avgpool` and `classifier` (LayerNorm2d, Flatten,
 * Linear), with torchvision's initialisation (truncated normal, std 0.02). Built by
 * {@link convnextTiny}.
 *
 * @example
 * const net = new models.ConvNeXt([{ inputChannels: 32, outChannels: 64, numLayers: 1 }, { inputChannels: 64, outChannels: null, numLayers: 1 }], { numClasses: 10 });
 * net.features.call(images) // [N, 64, H / 8, W / 8]
 */
export class ConvNeXt extends Module {
  features: Sequential;
  avgpool = new AdaptiveAvgPool2d(1);
  classifier: Sequential;

  constructor(settings: readonly CNBlockConfig[], opts: ConvNeXtOptions = {}) {
    super();
    const first = settings[0];
    const last = settings[settings.length - 1];
    if (first === undefined || last === undefined) throw new ArgumentError('ConvNeXt: expected settings to list at least one stage, got none');
    const sdProb = opts.stochasticDepthProb ?? 0;
    const layerScale = opts.layerScale ?? 1e-6;
    const layers: Module[] = [
      new Conv2dNormActivation(opts.inChannels ?? 3, first.inputChannels, 4, { stride: 4, padding: 0, normLayer: layerNorm2d, activationLayer: null, bias: true }),
    ];
    const totalBlocks = settings.reduce((n, cnf) => n + cnf.numLayers, 0);
    let blockId = 0;
    for (const cnf of settings) {
      const stage: Module[] = [];
      for (let i = 0; i < cnf.numLayers; ++i) {
        // torchvision divides by n - 1, so the last block gets the full probability.
        stage.push(new CNBlock(cnf.inputChannels, layerScale, (sdProb * blockId) / (totalBlocks - 1)));
        blockId += 1;
      }
      layers.push(new Sequential(...stage));
      if (cnf.outChannels !== null) layers.push(new Sequential(layerNorm2d(cnf.inputChannels), new Conv2d(cnf.inputChannels, cnf.outChannels, 2, { stride: 2 })));
    }
    this.features = new Sequential(...layers);
    const lastChannels = last.outChannels ?? last.inputChannels;
    this.classifier = new Sequential(layerNorm2d(lastChannels), new Flatten(1), new Linear(lastChannels, opts.numClasses ?? 1000));
    for (const m of this.modules()) {
      if (m instanceof Conv2d || m instanceof Linear) {
        truncNormal_(m.weight, { std: 0.02 });
        if (m.bias) constant_(m.bias, 0);
      }
    }
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.avgpool.call(this.features.call(x)));
  }
}

/**
 * ConvNeXt-Tiny (28,589,128 parameters with 1000 classes), as torchvision's
 * `convnext_tiny`: stages of 3, 3, 9, 3 blocks at 96, 192, 384, 768 channels, stochastic
 * depth up to 0.1. Inputs need sides of at least 32 (the stem and three downsamplings
 * divide them by 32).
 *
 * @example
 * const model = models.convnextTiny().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000] from [N, 3, 224, 224]
 */
export function convnextTiny(opts: ConvNeXtOptions = {}): ConvNeXt {
  const arch = 'convnextTiny';
  if (opts.numClasses !== undefined) checkInt(arch, 'numClasses', opts.numClasses, 1);
  if (opts.stochasticDepthProb !== undefined) checkInRange(arch, 'stochasticDepthProb', opts.stochasticDepthProb, 0, 1);
  if (opts.layerScale !== undefined && !Number.isFinite(opts.layerScale)) throw new ArgumentError(`${arch}: expected layerScale to be a finite number, got ${opts.layerScale}`);
  const settings: CNBlockConfig[] = [
    { inputChannels: 96, outChannels: 192, numLayers: 3 },
    { inputChannels: 192, outChannels: 384, numLayers: 3 },
    { inputChannels: 384, outChannels: 768, numLayers: 9 },
    { inputChannels: 768, outChannels: null, numLayers: 3 },
  ];
  return new ConvNeXt(settings, { ...opts, stochasticDepthProb: opts.stochasticDepthProb ?? 0.1 });
}
