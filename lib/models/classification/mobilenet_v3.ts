/**
 * MobileNetV3 (Howard et al. 2019), Large and Small, in torchvision 0.14's layout and names
 * (`features.N.block.M...`, `classifier.0`, `classifier.3`), with its `dilated` option that
 * LR-ASPP uses. Hardswish and Hardsigmoid come from lib/nn/layers, the conv-norm-activation
 * and squeeze-and-excitation blocks from lib/nn/layers/blocks.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { add } from '../../ops/elementwise.js';
import { checkInt } from '../../ops/validate.js';
import { Dropout, Flatten, Hardsigmoid, Hardswish, Linear, ReLU } from '../../nn/layers/basic.js';
import { Conv2dNormActivation, SqueezeExcitation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d, GroupNorm } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_, normal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions, NormLayerFactory } from './options.js';

/** Options of {@link MobileNetV3} (torchvision's `mobilenet_v3_large` / `_small` keyword arguments). */
export interface MobileNetV3Options extends ClassifierOptions {
  /**
   * The normalisation layer after each convolution (default BatchNorm2d with eps 0.001 and
   * momentum 0.01, torchvision's for MobileNetV3).
   */
  normLayer?: NormLayerFactory;
  /**
   * Dilate the last stage (dilation 2, its first block at stride 1), so the features have
   * output stride 16 rather than 32, as torchvision's `dilated=True` (LR-ASPP; default false).
   */
  dilated?: boolean;
  /** Halve the channels of the last stage, as torchvision's `reduced_tail` (default false). */
  reducedTail?: boolean;
  /** Width multiplier of every layer, rounded to multiples of 8 (default 1). */
  widthMult?: number;
  /** Dropout probability before the last linear layer (default 0.2). */
  dropout?: number;
}

/**
 * One row of the paper's Tables 1 and 2, as torchvision's `InvertedResidualConfig`: channels
 * already multiplied by the width and rounded to multiples of 8.
 */
export interface InvertedResidualConfig {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  /** Squeeze-and-excitation after the depthwise convolution. */
  useSe: boolean;
  /** Hardswish activations (`'HS'`) rather than ReLU (`'RE'`). */
  useHardswish: boolean;
  stride: number;
  dilation: number;
}

/**
 * torchvision's `_make_divisible`: `v` rounded to the nearest multiple of `divisor` (at
 * least `divisor`), rounded up once more where that lost over 10%.
 */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

const defaultNorm: NormLayerFactory = (channels) => new BatchNorm2d(channels, { eps: 0.001, momentum: 0.01 });

/**
 * MobileNetV3's inverted residual, as torchvision's `mobilenetv3.InvertedResidual`: 1×1
 * expansion (left out where it would not change the width), k×k depthwise convolution,
 * optional squeeze-and-excitation with a Hardsigmoid gate, 1×1 projection without
 * activation, and a residual where input and output shapes agree. Children `block.0`..
 * (the V2 block is {@link InvertedResidual} in mobilenet.ts).
 */
export class InvertedResidualV3 extends Module {
  block: Sequential;
  readonly useResidual: boolean;
  /** Channels it puts out (torchvision's `out_channels`). */
  readonly outChannels: number;
  /**
   * Whether its configured stride is 2, so it starts a new stage (torchvision's `_is_cn`);
   * it stays true in a dilated stage, whose first block runs at stride 1.
   */
  readonly startsStage: boolean;

  constructor(cnf: InvertedResidualConfig, normLayer: NormLayerFactory = defaultNorm) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new ArgumentError(`InvertedResidualV3: expected stride 1 or 2, got ${cnf.stride}`);
    this.useResidual = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    this.outChannels = cnf.outChannels;
    this.startsStage = cnf.stride > 1;
    const activationLayer = cnf.useHardswish ? () => new Hardswish() : () => new ReLU();
    const layers: Module[] = [];
    if (cnf.expandedChannels !== cnf.inputChannels) {
      layers.push(new Conv2dNormActivation(cnf.inputChannels, cnf.expandedChannels, 1, { normLayer, activationLayer }));
    }
    layers.push(new Conv2dNormActivation(cnf.expandedChannels, cnf.expandedChannels, cnf.kernel, {
      // A dilated block keeps the resolution: dilation replaces the stride.
      stride: cnf.dilation > 1 ? 1 : cnf.stride,
      dilation: cnf.dilation,
      groups: cnf.expandedChannels,
      normLayer,
      activationLayer,
    }));
    if (cnf.useSe) {
      layers.push(new SqueezeExcitation(cnf.expandedChannels, makeDivisible(Math.floor(cnf.expandedChannels / 4)), { scaleActivation: () => new Hardsigmoid() }));
    }
    layers.push(new Conv2dNormActivation(cnf.expandedChannels, cnf.outChannels, 1, { normLayer, activationLayer: null }));
    this.block = new Sequential(...layers);
  }

  forward(x: Tensor): Tensor {
    const out = this.block.call(x);
    return this.useResidual ? add(out, x) : out;
  }
}

/** A table row: input, kernel, expanded, output channels, SE, activation, stride, dilated-stage flag. */
type Row = readonly [number, number, number, number, boolean, 'RE' | 'HS', number, boolean];

// torchvision 0.14's _mobilenet_v3_conf, with `r` the reduced-tail divisor of the last stage.
const LARGE = (r: number): Row[] => [
  [16, 3, 16, 16, false, 'RE', 1, false],
  [16, 3, 64, 24, false, 'RE', 2, false],
  [24, 3, 72, 24, false, 'RE', 1, false],
  [24, 5, 72, 40, true, 'RE', 2, false],
  [40, 5, 120, 40, true, 'RE', 1, false],
  [40, 5, 120, 40, true, 'RE', 1, false],
  [40, 3, 240, 80, false, 'HS', 2, false],
  [80, 3, 200, 80, false, 'HS', 1, false],
  [80, 3, 184, 80, false, 'HS', 1, false],
  [80, 3, 184, 80, false, 'HS', 1, false],
  [80, 3, 480, 112, true, 'HS', 1, false],
  [112, 3, 672, 112, true, 'HS', 1, false],
  [112, 5, 672, 160 / r, true, 'HS', 2, true],
  [160 / r, 5, 960 / r, 160 / r, true, 'HS', 1, true],
  [160 / r, 5, 960 / r, 160 / r, true, 'HS', 1, true],
];
const SMALL = (r: number): Row[] => [
  [16, 3, 16, 16, true, 'RE', 2, false],
  [16, 3, 72, 24, false, 'RE', 2, false],
  [24, 3, 88, 24, false, 'RE', 1, false],
  [24, 5, 96, 40, true, 'HS', 2, false],
  [40, 5, 240, 40, true, 'HS', 1, false],
  [40, 5, 240, 40, true, 'HS', 1, false],
  [40, 5, 120, 48, true, 'HS', 1, false],
  [48, 5, 144, 48, true, 'HS', 1, false],
  [48, 5, 288, 96 / r, true, 'HS', 2, true],
  [96 / r, 5, 576 / r, 96 / r, true, 'HS', 1, true],
  [96 / r, 5, 576 / r, 96 / r, true, 'HS', 1, true],
];

/**
 * MobileNetV3, as torchvision.models.MobileNetV3: `features` (a stride-2 3×3 stem with
 * Hardswish, the inverted residuals, a 1×1 conv to 6× the last width), `avgpool` and
 * `classifier` (Linear, Hardswish, Dropout, Linear), with torchvision's initialisation.
 * Built by {@link mobilenetV3Large} / {@link mobilenetV3Small}.
 */
export class MobileNetV3 extends Module {
  features: Sequential;
  avgpool = new AdaptiveAvgPool2d([1, 1]);
  flatten = new Flatten();
  classifier: Sequential;

  constructor(settings: readonly InvertedResidualConfig[], lastChannel: number, opts: MobileNetV3Options = {}) {
    super();
    const first = settings[0];
    const last = settings[settings.length - 1];
    if (first === undefined || last === undefined) throw new ArgumentError('MobileNetV3: expected settings to list at least one block, got none');
    const normLayer = opts.normLayer ?? defaultNorm;
    const hardswish = () => new Hardswish();
    const layers: Module[] = [new Conv2dNormActivation(opts.inChannels ?? 3, first.inputChannels, 3, { stride: 2, normLayer, activationLayer: hardswish })];
    for (const cnf of settings) layers.push(new InvertedResidualV3(cnf, normLayer));
    const lastConv = 6 * last.outChannels;
    layers.push(new Conv2dNormActivation(last.outChannels, lastConv, 1, { normLayer, activationLayer: hardswish }));
    this.features = new Sequential(...layers);
    this.classifier = new Sequential(new Linear(lastConv, lastChannel), new Hardswish(), new Dropout(opts.dropout ?? 0.2), new Linear(lastChannel, opts.numClasses ?? 1000));
    // torchvision's initialisation.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal_(m.weight, { mode: 'fanOut' });
        if (m.bias) constant_(m.bias, 0);
      } else if ((m instanceof BatchNorm2d || m instanceof GroupNorm) && m.weight && m.bias) {
        constant_(m.weight, 1);
        constant_(m.bias, 0);
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

/** The block configurations and last channel count of one architecture, as torchvision's `_mobilenet_v3_conf`. */
function build(arch: 'mobilenetV3Large' | 'mobilenetV3Small', opts: MobileNetV3Options): MobileNetV3 {
  const widthMult = opts.widthMult ?? 1;
  if (!(widthMult > 0) || !Number.isFinite(widthMult)) throw new ArgumentError(`${arch}: expected widthMult to be a positive number, got ${widthMult}`);
  if (opts.dropout !== undefined && !(opts.dropout >= 0 && opts.dropout <= 1)) throw new ArgumentError(`${arch}: expected dropout in [0, 1], got ${opts.dropout}`);
  if (opts.numClasses !== undefined) checkInt(arch, 'numClasses', opts.numClasses, 1);
  const reduce = opts.reducedTail ? 2 : 1;
  const adjust = (c: number) => makeDivisible(c * widthMult);
  const rows = arch === 'mobilenetV3Large' ? LARGE(reduce) : SMALL(reduce);
  const settings = rows.map(([inC, kernel, expC, outC, useSe, act, stride, lastStage]): InvertedResidualConfig => ({
    inputChannels: adjust(inC),
    kernel,
    expandedChannels: adjust(expC),
    outChannels: adjust(outC),
    useSe,
    useHardswish: act === 'HS',
    stride,
    dilation: lastStage && opts.dilated ? 2 : 1,
  }));
  const lastChannel = adjust((arch === 'mobilenetV3Large' ? 1280 : 1024) / reduce);
  return new MobileNetV3(settings, lastChannel, opts);
}

/**
 * MobileNetV3-Large (5,483,032 parameters with 1000 classes), as torchvision's
 * `mobilenet_v3_large`; its ImageNet checkpoint, converted to safetensors, loads with
 * `loadStateDict`.
 *
 * @example
 * const model = models.mobilenetV3Large().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000]
 */
export const mobilenetV3Large = (opts: MobileNetV3Options = {}) => build('mobilenetV3Large', opts);
/**
 * MobileNetV3-Small (2,542,856 parameters with 1000 classes), as torchvision's
 * `mobilenet_v3_small`.
 *
 * @example
 * const model = models.mobilenetV3Small({ numClasses: 10 });
 */
export const mobilenetV3Small = (opts: MobileNetV3Options = {}) => build('mobilenetV3Small', opts);
