/**
 * RegNet (Radosavovic et al. 2020), RegNetY-400MF, in torchvision 0.14's layout and names
 * (`stem.0`, `trunk_output.block1.block1-0.f.a.0`, `...f.se.fc1`, `...proj.0`, `fc`): a
 * 3×3 stem, four stages of residual bottlenecks with grouped 3×3 convolutions and
 * squeeze-and-excitation, whose widths and depths come from the quantised linear rule of
 * torchvision's `BlockParams.from_init_params`, ported step by step in float32.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { add } from '../../ops/elementwise.js';
import { checkInt } from '../../ops/validate.js';
import { Flatten, Linear, ReLU } from '../../nn/layers/basic.js';
import { Conv2dNormActivation, SqueezeExcitation } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d } from '../../nn/layers/pooling_norm.js';
import { constant_, normal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { makeDivisible } from './mobilenet_v3.js';
import type { ClassifierOptions, NormLayerFactory } from './options.js';

/**
 * Options of {@link regnetY400mf} (torchvision's `RegNet` keyword arguments).
 *
 * @example
 * models.regnetY400mf({ numClasses: 10, normLayer: (c) => new nn.FrozenBatchNorm2d(c) })
 */
export interface RegNetOptions extends ClassifierOptions {
  /** The normalisation layer after each convolution (default BatchNorm2d, eps 1e-5, momentum 0.1). */
  normLayer?: NormLayerFactory;
}

/**
 * Per-stage settings, as torchvision's `BlockParams` (one entry per stage in each list).
 *
 * @example
 * const params = models.regnetBlockParams({ depth: 16, w0: 48, wa: 27.89, wm: 2.09, groupWidth: 8, seRatio: 0.25 });
 * const net = new models.RegNet(params, { numClasses: 10 });
 */
export interface RegNetBlockParams {
  depths: number[];
  widths: number[];
  groupWidths: number[];
  bottleneckMultipliers: number[];
  strides: number[];
  /** Squeeze-and-excitation width as a fraction of each block's input width; null for RegNetX. */
  seRatio: number | null;
}

/**
 * The arguments of {@link regnetBlockParams}, as torchvision's `from_init_params`.
 *
 * @example
 * const regnetX400mf: models.RegNetInitParams = { depth: 22, w0: 24, wa: 24.48, wm: 2.54, groupWidth: 16 };
 */
export interface RegNetInitParams {
  /** Blocks in all. */
  depth: number;
  /** Initial width, a multiple of 8 (`w_0`). */
  w0: number;
  /** Slope of the linear width ramp (`w_a`). */
  wa: number;
  /** Ratio between quantised widths, > 1 (`w_m`). */
  wm: number;
  /** Channels per group of the 3×3 convolutions (capped at the stage's bottleneck width). */
  groupWidth: number;
  /** Bottleneck width over block width (default 1). */
  bottleneckMultiplier?: number;
  /** Squeeze-and-excitation width over each block's input width (RegNetY: 0.25); null or absent for none (RegNetX). */
  seRatio?: number | null;
}

/** Python's round(): halves to the even neighbour, as torch.round and round() both do. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision's `BlockParams.from_init_params`: block widths on the line `w0 + wa * i`,
 * snapped in log space to `w0 * wm^k` and to multiples of 8; consecutive equal widths form a
 * stage; stage widths then made divisible by their group width. Computed in float32 as
 * torch does (arange times a Python float is a float32 tensor), so widths on the edge round
 * the same way.
 *
 * @example
 * models.regnetBlockParams({ depth: 16, w0: 48, wa: 27.89, wm: 2.09, groupWidth: 8, seRatio: 0.25 })
 * // { depths: [1, 3, 6, 6], widths: [48, 104, 208, 440], ... } (RegNetY-400MF)
 */
export function regnetBlockParams(p: RegNetInitParams): RegNetBlockParams {
  const { depth, w0, wa, wm, groupWidth } = p;
  const bottleneck = p.bottleneckMultiplier ?? 1;
  checkInt('regnetBlockParams', 'depth', depth, 1);
  if (!(wa >= 0) || !(w0 > 0) || !(wm > 1) || w0 % 8 !== 0) {
    throw new ArgumentError(`regnetBlockParams: expected wa >= 0, w0 > 0 a multiple of 8 and wm > 1, got wa ${wa}, w0 ${w0}, wm ${wm}`);
  }
  const f = Math.fround;
  const logWm = f(Math.log(wm));
  const widths: number[] = [];
  for (let i = 0; i < depth; ++i) {
    const cont = f(f(i * f(wa)) + w0);
    const capacity = roundHalfEven(f(f(Math.log(f(cont / w0))) / logWm));
    widths.push(roundHalfEven(f(f(w0 * f(Math.pow(f(wm), capacity))) / 8)) * 8);
  }
  // A stage starts wherever the width changes; its depth is the distance to the next start.
  const starts = widths.flatMap((w, i) => (i === 0 || w !== widths[i - 1] ? [i] : []));
  const stageWidths = starts.map((i) => widths[i]!);
  const depths = starts.map((s, k) => (starts[k + 1] ?? depth) - s);
  // _adjust_widths_groups_compatibilty: the bottleneck width a multiple of its group width.
  const bottleneckWidths = stageWidths.map((w) => Math.trunc(w * bottleneck));
  const groupWidths = bottleneckWidths.map((w) => Math.min(groupWidth, w));
  const adjusted = bottleneckWidths.map((w, k) => Math.trunc(makeDivisible(w, groupWidths[k]) / bottleneck));
  return {
    depths,
    widths: adjusted,
    groupWidths,
    bottleneckMultipliers: stageWidths.map(() => bottleneck),
    strides: stageWidths.map(() => 2),
    seRatio: p.seRatio ?? null,
  };
}

const relu = () => new ReLU();

/**
 * RegNet's residual bottleneck, as torchvision's `regnet.ResBottleneckBlock`: `proj` (1×1
 * strided conv + norm, where the shape changes, else null), `f` (a Sequential named `a`:
 * 1×1, `b`: grouped 3×3 with the stride, `se`: squeeze-and-excitation to
 * round(seRatio × widthIn), `c`: 1×1 without activation) and a ReLU after the sum.
 *
 * @example
 * new models.ResBottleneckBlock(48, 104, 2, (c) => new nn.BatchNorm2d(c), 8, 1, 0.25)
 */
export class ResBottleneckBlock extends Module {
  proj: Conv2dNormActivation | null = null;
  f: Sequential;
  activation = new ReLU();

  constructor(widthIn: number, widthOut: number, stride: number, normLayer: NormLayerFactory, groupWidth: number, bottleneckMultiplier: number, seRatio: number | null) {
    super();
    if (widthIn !== widthOut || stride !== 1) this.proj = new Conv2dNormActivation(widthIn, widthOut, 1, { stride, normLayer, activationLayer: null });
    const wb = roundHalfEven(widthOut * bottleneckMultiplier);
    const groups = Math.floor(wb / groupWidth);
    const layers: Record<string, Module> = {
      a: new Conv2dNormActivation(widthIn, wb, 1, { normLayer, activationLayer: relu }),
      b: new Conv2dNormActivation(wb, wb, 3, { stride, groups, normLayer, activationLayer: relu }),
    };
    if (seRatio) layers.se = new SqueezeExcitation(wb, roundHalfEven(seRatio * widthIn), { activation: relu });
    layers.c = new Conv2dNormActivation(wb, widthOut, 1, { normLayer, activationLayer: null });
    this.f = new Sequential(layers);
  }

  forward(x: Tensor): Tensor {
    const shortcut = this.proj ? this.proj.call(x) : x;
    return this.activation.call(add(shortcut, this.f.call(x)));
  }
}

/**
 * RegNet, as torchvision.models.RegNet: `stem` (3×3 stride-2 conv, norm, ReLU to 32
 * channels), `trunk_output` (stages `block1`.. of blocks `block1-0`..), `avgpool`, `fc`,
 * with torchvision's ResNet-style initialisation. Built by {@link regnetY400mf}.
 *
 * @example
 * const net = new models.RegNet(models.regnetBlockParams({ depth: 22, w0: 24, wa: 24.48, wm: 2.54, groupWidth: 16 })); // RegNetX-400MF
 * net.trunkOutput.call(net.stem.call(images)) // [N, 400, H / 32, W / 32]
 */
export class RegNet extends Module {
  stem: Conv2dNormActivation;
  avgpool = new AdaptiveAvgPool2d([1, 1]);
  flatten = new Flatten();
  fc: Linear;

  constructor(params: RegNetBlockParams, opts: RegNetOptions = {}) {
    super();
    const normLayer = opts.normLayer ?? ((c: number) => new BatchNorm2d(c));
    const stemWidth = 32;
    this.stem = new Conv2dNormActivation(opts.inChannels ?? 3, stemWidth, 3, { stride: 2, normLayer, activationLayer: relu });
    let width = stemWidth;
    const stages: Record<string, Module> = {};
    params.widths.forEach((widthOut, i) => {
      const blocks: Record<string, Module> = {};
      for (let j = 0; j < params.depths[i]!; ++j) {
        blocks[`block${i + 1}-${j}`] = new ResBottleneckBlock(
          j === 0 ? width : widthOut,
          widthOut,
          j === 0 ? params.strides[i]! : 1,
          normLayer,
          params.groupWidths[i]!,
          params.bottleneckMultipliers[i]!,
          params.seRatio,
        );
      }
      stages[`block${i + 1}`] = new Sequential(blocks);
      width = widthOut;
    });
    // torchvision's name, so checkpoints load (assigning the field registers it); read it as trunkOutput.
    (this as unknown as { trunk_output: Sequential }).trunk_output = new Sequential(stages);
    this.fc = new Linear(width, opts.numClasses ?? 1000);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        // torchvision's fan_out here ignores groups: kernel area times output channels.
        const [out, , kh, kw] = m.weight.shape as [number, number, number, number];
        normal_(m.weight, 0, Math.sqrt(2 / (kh * kw * out)));
      } else if (m instanceof BatchNorm2d && m.weight && m.bias) {
        constant_(m.weight, 1);
        constant_(m.bias, 0);
      } else if (m instanceof Linear) {
        normal_(m.weight, 0, 0.01);
        if (m.bias) constant_(m.bias, 0);
      }
    }
  }

  /** The stages `block1`.. (torchvision's `trunk_output`). */
  get trunkOutput(): Sequential {
    return (this as unknown as { trunk_output: Sequential }).trunk_output;
  }

  forward(x: Tensor): Tensor {
    return this.fc.call(this.flatten.call(this.avgpool.call(this.trunkOutput.call(this.stem.call(x)))));
  }
}

/**
 * RegNetY-400MF (4,344,144 parameters with 1000 classes), as torchvision's
 * `regnet_y_400mf`: 16 blocks from `w0` 48, `wa` 27.89, `wm` 2.09, group width 8, SE ratio
 * 0.25, giving stages of 1, 3, 6, 6 blocks at 48, 104, 208, 440 channels.
 *
 * @example
 * const model = models.regnetY400mf().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000]
 */
export function regnetY400mf(opts: RegNetOptions = {}): RegNet {
  if (opts.numClasses !== undefined) checkInt('regnetY400mf', 'numClasses', opts.numClasses, 1);
  return new RegNet(regnetBlockParams({ depth: 16, w0: 48, wa: 27.89, wm: 2.09, groupWidth: 8, seRatio: 0.25 }), opts);
}
