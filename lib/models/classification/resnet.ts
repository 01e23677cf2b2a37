/**
 * ResNet (He et al. 2016) in torchvision's layout and parameter names (`conv1`, `bn1`,
 * `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`), so torchvision weights converted to
 * safetensors load unchanged: resnet18/34 (BasicBlock), resnet50/101/152 (Bottleneck), and the
 * grouped / widened Bottleneck variants resnext50x32x4d and wideResnet50x2. Children
 * are registered in torchvision's order, which is also the order forward runs them in
 * (IntermediateLayerGetter relies on it), and the normalisation layer is pluggable
 * (torchvision's `norm_layer`; detection backbones use FrozenBatchNorm2d).
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { add } from '../../ops/elementwise.js';
import { relu } from '../../ops/unary.js';
import { checkInt } from '../../ops/validate.js';
import { Flatten, Linear, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { convNormActivation } from '../../nn/layers/fused_conv.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions, NormLayerFactory } from './options.js';

/**
 * Options of the ResNet constructors.
 *
 * @example
 * models.resnet50({ normLayer: (c) => new nn.FrozenBatchNorm2d(c) }) // torchvision's detection trunk
 */
export interface ResNetOptions extends ClassifierOptions {
  /** The normalisation layer after each convolution (default BatchNorm2d; detection backbones use FrozenBatchNorm2d). */
  normLayer?: NormLayerFactory;
  /**
   * For layer2..4, whether to keep the resolution and dilate the 3×3 convs instead of
   * striding (torchvision's `replace_stride_with_dilation`; segmentation models use
   * `[false, true, true]`: output stride 8). Bottleneck models only (resnet50).
   */
  replaceStrideWithDilation?: readonly [boolean, boolean, boolean];
  /** Groups of each Bottleneck's 3×3 convolution (torchvision's `groups`; default 1, 32 for resnext50x32x4d). Bottleneck models only. */
  groups?: number;
  /**
   * Width of each group of a Bottleneck's 3×3 convolution at the first stage (torchvision's
   * `width_per_group`; default 64, 4 for resnext50x32x4d, 128 for wideResnet50x2). Bottleneck models only.
   */
  widthPerGroup?: number;
}

const batchNorm2d: NormLayerFactory = (channels) => new BatchNorm2d(channels);
const conv3x3 = (inC: number, outC: number, stride = 1, dilation = 1, groups = 1) => new Conv2d(inC, outC, 3, { stride, padding: dilation, dilation, groups, bias: false });
const conv1x1 = (inC: number, outC: number, stride = 1) => new Conv2d(inC, outC, 1, { stride, bias: false });

/**
 * Two 3x3 convolutions with a residual connection (ResNet-18/34). It takes Bottleneck's
 * constructor arguments so that ResNet builds either; dilation, groups and width are
 * Bottleneck's only (ResNet refuses them here, as torchvision).
 */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: Module;
  relu: ReLU;
  conv2: Conv2d;
  bn2: Module;
  downsample: Sequential | null;

  constructor(inC: number, planes: number, stride = 1, downsample: Sequential | null = null, normLayer: NormLayerFactory = batchNorm2d, _dilation = 1, _groups = 1, _baseWidth = 64) {
    super();
    this.conv1 = conv3x3(inC, planes, stride);
    this.bn1 = normLayer(planes);
    this.relu = new ReLU();
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = normLayer(planes);
    this.downsample = downsample;
  }

  forward(x: Tensor): Tensor {
    const out = convNormActivation(this.conv2, this.bn2, convNormActivation(this.conv1, this.bn1, x, 'relu'), null);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return relu(add(out, identity));
  }
}

/**
 * 1x1 reduce, 3x3, 1x1 expand (x4) with a residual connection (ResNet-50), stride on the 3x3
 * as torchvision. The inner width is `planes * baseWidth / 64 * groups` and the 3x3 is grouped
 * (ResNeXt; Wide ResNet doubles `baseWidth`), as torchvision's `Bottleneck`.
 */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  conv1: Conv2d;
  bn1: Module;
  conv2: Conv2d;
  bn2: Module;
  conv3: Conv2d;
  bn3: Module;
  relu: ReLU;
  downsample: Sequential | null;

  constructor(inC: number, planes: number, stride = 1, downsample: Sequential | null = null, normLayer: NormLayerFactory = batchNorm2d, dilation = 1, groups = 1, baseWidth = 64) {
    super();
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = conv1x1(inC, width);
    this.bn1 = normLayer(width);
    this.conv2 = conv3x3(width, width, stride, dilation, groups);
    this.bn2 = normLayer(width);
    this.conv3 = conv1x1(width, planes * 4);
    this.bn3 = normLayer(planes * 4);
    this.relu = new ReLU();
    this.downsample = downsample;
  }

  forward(x: Tensor): Tensor {
    const a = convNormActivation(this.conv1, this.bn1, x, 'relu');
    const b = convNormActivation(this.conv2, this.bn2, a, 'relu');
    const out = convNormActivation(this.conv3, this.bn3, b, null);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return relu(add(out, identity));
  }
}

type Block = typeof BasicBlock | typeof Bottleneck;

/**
 * The torchvision ResNet trunk: stem, four stages, global pooling, fc. Children in
 * torchvision's order: conv1, bn1, relu, maxpool, layer1..4, avgpool (then flatten, which
 * torchvision calls as a function), fc.
 */
export class ResNet extends Module {
  conv1: Conv2d;
  bn1: Module;
  relu: ReLU;
  maxpool: MaxPool2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool: AdaptiveAvgPool2d;
  flatten: Flatten;
  fc: Linear;
  /** Channels layer4 puts out (torchvision's `inplanes` after construction): 512 x the block's expansion. */
  readonly outChannels: number;

  constructor(block: Block, layers: readonly [number, number, number, number], opts: ResNetOptions = {}) {
    super();
    const normLayer = opts.normLayer ?? batchNorm2d;
    // Assigned in torchvision's order: children register as they are assigned.
    this.conv1 = new Conv2d(opts.inChannels ?? 3, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = normLayer(64);
    this.relu = new ReLU();
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    const dilate = opts.replaceStrideWithDilation ?? [false, false, false];
    if (dilate.length !== 3 || dilate.some((d) => typeof d !== 'boolean')) {
      throw new ArgumentError(`ResNet: expected replaceStrideWithDilation to be 3 booleans, got ${describe(dilate)}`);
    }
    if (block === BasicBlock && dilate.some(Boolean)) throw new ArgumentError('ResNet: replaceStrideWithDilation needs Bottleneck blocks (resnet50); BasicBlock has no dilation, as in torchvision');
    const groups = checkInt('ResNet', 'groups', opts.groups ?? 1, 1);
    const baseWidth = checkInt('ResNet', 'widthPerGroup', opts.widthPerGroup ?? 64, 1);
    if (block === BasicBlock && (groups !== 1 || baseWidth !== 64)) throw new ArgumentError(`ResNet: BasicBlock supports only groups 1 and widthPerGroup 64, as in torchvision, got ${groups} and ${baseWidth}`);
    let inC = 64;
    let dilation = 1;
    // torchvision's _make_layer: a dilated stage's first block keeps the previous dilation.
    const stage = (planes: number, blocks: number, stride: number, dilated = false) => {
      const previousDilation = dilation;
      if (dilated) {
        dilation *= stride;
        stride = 1;
      }
      const out = planes * block.expansion;
      const downsample = stride !== 1 || inC !== out ? new Sequential(conv1x1(inC, out, stride), normLayer(out)) : null;
      const list: Module[] = [new block(inC, planes, stride, downsample, normLayer, previousDilation, groups, baseWidth)];
      inC = out;
      for (let i = 1; i < blocks; ++i) list.push(new block(inC, planes, 1, null, normLayer, dilation, groups, baseWidth));
      return new Sequential(...list);
    };
    this.layer1 = stage(64, layers[0], 1);
    this.layer2 = stage(128, layers[1], 2, dilate[0]);
    this.layer3 = stage(256, layers[2], 2, dilate[1]);
    this.layer4 = stage(512, layers[3], 2, dilate[2]);
    this.outChannels = inC;
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.flatten = new Flatten();
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
    let out = this.maxpool.call(convNormActivation(this.conv1, this.bn1, x, 'relu'));
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) out = layer.call(out);
    return this.fc.call(this.flatten.call(this.avgpool.call(out)));
  }
}

/** ResNet-18 (11,689,512 parameters with 1000 classes). */
export const resnet18 = (opts?: ResNetOptions) => new ResNet(BasicBlock, [2, 2, 2, 2], opts);
/** ResNet-34. */
export const resnet34 = (opts?: ResNetOptions) => new ResNet(BasicBlock, [3, 4, 6, 3], opts);
/** ResNet-50 (25,557,032 parameters with 1000 classes). */
export const resnet50 = (opts?: ResNetOptions) => new ResNet(Bottleneck, [3, 4, 6, 3], opts);
/**
 * ResNet-101 (44,549,160 parameters with 1000 classes), as torchvision's `resnet101`.
 *
 * @example
 * const model = models.resnet101().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000]
 */
export const resnet101 = (opts?: ResNetOptions) => new ResNet(Bottleneck, [3, 4, 23, 3], opts);
/**
 * ResNet-152 (60,192,808 parameters with 1000 classes), as torchvision's `resnet152`.
 *
 * @example
 * const model = models.resnet152({ numClasses: 10 });
 */
export const resnet152 = (opts?: ResNetOptions) => new ResNet(Bottleneck, [3, 8, 36, 3], opts);
/**
 * ResNeXt-50 32×4d (Xie et al. 2017; 25,028,904 parameters with 1000 classes), as
 * torchvision's `resnext50_32x4d`: ResNet-50 whose 3×3 convolutions have 32 groups of width 4
 * at the first stage. Names drop torchvision's underscore between digits for an `x`, as
 * {@link wideResnet50x2}. `groups` and `widthPerGroup` in `opts` override 32 and 4.
 *
 * @example
 * const model = models.resnext50x32x4d().eval();
 * model.loadStateDict(io.loadStateDictSync('resnext50_32x4d.safetensors'));
 */
export const resnext50x32x4d = (opts?: ResNetOptions) => new ResNet(Bottleneck, [3, 4, 6, 3], { ...opts, groups: opts?.groups ?? 32, widthPerGroup: opts?.widthPerGroup ?? 4 });
/**
 * Wide ResNet-50-2 (Zagoruyko & Komodakis 2016; 68,883,240 parameters with 1000 classes), as
 * torchvision's `wide_resnet50_2`: ResNet-50 with the Bottlenecks' inner width doubled
 * (`widthPerGroup` 128); the widths between blocks, and so each stage's output, are ResNet-50's.
 *
 * @example
 * const model = models.wideResnet50x2({ numClasses: 100 });
 */
export const wideResnet50x2 = (opts?: ResNetOptions) => new ResNet(Bottleneck, [3, 4, 6, 3], { ...opts, widthPerGroup: opts?.widthPerGroup ?? 128 });
