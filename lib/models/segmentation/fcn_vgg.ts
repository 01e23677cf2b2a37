/**
 * FCN-32s, FCN-16s and FCN-8s on VGG-16, as the course builds them after Long, Shelhamer &
 * Darrell (2015): VGG-16's convolutional body, its fully connected layers recast as
 * convolutions (fc6, fc7), 1×1 score layers, learnable transposed-convolution upsampling
 * initialised to bilinear interpolation and, for 16s and 8s, skip connections from pool4
 * and pool3. Layer names are those of the paper's Caffe nets (`score_fr`, `upscore2`,
 * `score_pool4`, ...); the body is a VGG's `features`, so the ImageNet VGG-16 checkpoint's
 * `features.*` load into it.
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { Dropout, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d, ConvTranspose2d } from '../../nn/layers/conv.js';
import { MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { bilinearUpsampling_, zeros_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { convTranspose2d } from '../../ops/conv_transpose.js';
import { add } from '../../ops/elementwise.js';
import { checkInt } from '../../ops/validate.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { VGG_CONFIGS, vggFeatures } from '../classification/vgg.js';
import type { SegmentationOutput } from './simple_segmentation_model.js';

/**
 * The weight `[channels, channels, k, k]` of a transposed convolution that upsamples each
 * channel on its own by bilinear interpolation: channel `c` to channel `c` holds
 * `(1 - |i - center| / f) * (1 - |j - center| / f)` with `f = ceil(k / 2)` and `center =
 * f - 1` for odd `k`, `f - 0.5` for even `k` (FCN's `upsample_filt`, as
 * `nn.init.bilinearUpsampling_` fills a weight); other pairs are 0.
 * With `k = 2s`, stride `s` and padding `s / 2` (s even, or s = 1), the transposed
 * convolution reproduces `interpolate(x, { scaleFactor: s, mode: 'bilinear',
 * alignCorners: false })` away from the borders.
 *
 * @example
 * bilinearKernel(1, 4).reshape([4, 4]) // outer([0.25, 0.75, 0.75, 0.25], same)
 */
export function bilinearKernel(channels: number, k: number): Tensor<'float32'> {
  checkInt('bilinearKernel', 'channels', channels, 1);
  checkInt('bilinearKernel', 'k', k, 1);
  // The filter itself is written once, in nn.init.
  return bilinearUpsampling_(zeros([channels, channels, k, k])) as Tensor<'float32'>;
}

/**
 * A ConvTranspose2d upsampling by `factor` (kernel 2·factor, stride factor, padding
 * factor / 2, no bias, as FCN's `upscore` layers), its weight set to {@link bilinearKernel}.
 * {@link FCNVGG16} runs it to an exact size, which crops the full upsampling.
 */
function bilinearUpsampling(channels: number, factor: number): ConvTranspose2d {
  const up = new ConvTranspose2d(channels, channels, 2 * factor, { stride: factor, padding: factor / 2, bias: false });
  bilinearUpsampling_(up.weight);
  return up;
}

/** A 1×1 score layer with zero weight and bias, as the paper initialises them (the output starts at 0). */
function scoreLayer(inChannels: number, numClasses: number): Conv2d {
  const conv = new Conv2d(inChannels, numClasses, 1);
  zeros_(conv.weight);
  zeros_(conv.bias!);
  return conv;
}

/** Which FCN: the stride of its last upsampling (32s: none of the skips, 16s: pool4, 8s: pool4 and pool3). */
export type FCNVariant = '32s' | '16s' | '8s';

/** Options of {@link fcn8sVgg16}, {@link fcn16sVgg16}, {@link fcn32sVgg16} and {@link FCNVGG16}. */
export interface FCNVGG16Options {
  /** Classes, background included (default 21, Pascal VOC's). */
  numClasses?: number;
  /** Channels of fc6 and fc7 (default 4096, VGG-16's fully connected widths). */
  fcChannels?: number;
  /**
   * Divides every channel count of the VGG-16 body (default 1, VGG-16 itself, whose ImageNet
   * `features.*` load); 16 gives a small net of the same shape, for tests and quick trials.
   */
  widthDivisor?: number;
  /** Dropout probability after fc6 and fc7 (default 0.5). */
  dropout?: number;
}

/**
 * FCN on VGG-16 (Long et al. 2015), as the course builds it, for any input size from 32×32
 * up, odd sizes included:
 *
 * - `features`: VGG-16's 13 convolutions (padding 1) and 5 max pools, pool3 at stride 8,
 *   pool4 at 16, pool5 at 32 (sizes rounded down).
 * - `fc6`, `fc7`: VGG-16's fully connected layers as a 7×7 convolution with padding 3 (not
 *   the paper's padding 100 on conv1_1 and a final crop: with padding 3 the map keeps its
 *   size, so inputs smaller than 224 work and no crop offsets are needed) and a 1×1
 *   convolution, each with ReLU and dropout.
 * - `score_fr`, `score_pool4`, `score_pool3`: 1×1 class scores, zero-initialised, so the
 *   untrained net outputs 0 and each skip starts by adding nothing.
 * - `upscore2`, `upscore_pool4` (×2) and `upscore8` / `upscore16` / `upscore` (×8 / ×16 /
 *   ×32): transposed convolutions without bias, initialised to bilinear interpolation
 *   ({@link bilinearKernel}) and learnable.
 *
 * Each upsampling is run to the exact size of the map it is fused with (pool4's, pool3's,
 * the input's) through its output padding: this is the full transposed convolution cropped
 * to that size, which always exists because pooling rounds down, so odd inputs give
 * outputs of the input's size. FCN-16s adds score_pool4 to the ×2 upsampled score_fr;
 * FCN-8s also adds score_pool3 to the ×2 upsampled sum. Input `[N, C, H, W]`; returns
 * `{ out }`, the logits `[N, numClasses, H, W]`.
 */
export class FCNVGG16 extends Module<[x: Tensor], SegmentationOutput> {
  readonly variant: FCNVariant;
  features: Sequential;
  fc6: Conv2d;
  relu6: ReLU;
  drop6: Dropout;
  fc7: Conv2d;
  relu7: ReLU;
  drop7: Dropout;
  // The paper's Caffe names, snake_case as in its nets; a variant's unused layers stay null.
  score_fr: Conv2d;
  /** FCN-16s and 8s: ×2 upsampling of score_fr to pool4's size. */
  upscore2: ConvTranspose2d | null = null;
  score_pool4: Conv2d | null = null;
  /** FCN-8s: ×2 upsampling of the pool4 fusion to pool3's size. */
  upscore_pool4: ConvTranspose2d | null = null;
  score_pool3: Conv2d | null = null;
  /** The last upsampling: ×32 (FCN-32s), ×16 (FCN-16s) or ×8 (FCN-8s). */
  upscore: ConvTranspose2d | null = null;
  upscore16: ConvTranspose2d | null = null;
  upscore8: ConvTranspose2d | null = null;
  /** Indices of pool3 and pool4 among the children of `features`. */
  private readonly poolIndices: readonly [number, number];

  constructor(variant: FCNVariant, opts: FCNVGG16Options = {}) {
    super();
    const op = `fcn${variant}Vgg16`;
    if (variant !== '32s' && variant !== '16s' && variant !== '8s') throw new ArgumentError(`FCNVGG16: expected variant '32s', '16s' or '8s', got ${String(variant)}`);
    const numClasses = checkInt(op, 'numClasses', opts.numClasses ?? 21, 1);
    const fc = checkInt(op, 'fcChannels', opts.fcChannels ?? 4096, 1);
    const divisor = checkInt(op, 'widthDivisor', opts.widthDivisor ?? 1, 1);
    if (64 % divisor !== 0) throw new ArgumentError(`${op}: expected widthDivisor to divide 64 (VGG-16's narrowest layer), got ${divisor}`);
    const dropout = opts.dropout ?? 0.5;
    if (!(dropout >= 0 && dropout <= 1)) throw new ArgumentError(`${op}: expected dropout in [0, 1], got ${dropout}`);
    this.variant = variant;
    const config = VGG_CONFIGS.vgg16.map((v) => (v === 'M' ? v : v / divisor));
    this.features = vggFeatures(config);
    const pools = [...this.features.children()].flatMap((m, i) => (m instanceof MaxPool2d ? [i] : []));
    this.poolIndices = [pools[2]!, pools[3]!];
    const pool3Channels = 256 / divisor;
    const pool5Channels = 512 / divisor;
    this.fc6 = new Conv2d(pool5Channels, fc, 7, { padding: 3 });
    this.relu6 = new ReLU();
    this.drop6 = new Dropout(dropout);
    this.fc7 = new Conv2d(fc, fc, 1);
    this.relu7 = new ReLU();
    this.drop7 = new Dropout(dropout);
    this.score_fr = scoreLayer(fc, numClasses);
    if (variant === '32s') {
      this.upscore = bilinearUpsampling(numClasses, 32);
      return;
    }
    this.upscore2 = bilinearUpsampling(numClasses, 2);
    this.score_pool4 = scoreLayer(pool5Channels, numClasses);
    if (variant === '16s') {
      this.upscore16 = bilinearUpsampling(numClasses, 16);
      return;
    }
    this.upscore_pool4 = bilinearUpsampling(numClasses, 2);
    this.score_pool3 = scoreLayer(pool3Channels, numClasses);
    this.upscore8 = bilinearUpsampling(numClasses, 8);
  }

  forward(x: Tensor): SegmentationOutput {
    const op = `fcn${this.variant}Vgg16`;
    if (x.ndim !== 4) throw new ShapeError(`${op}: expected input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
    const size = x.shape.slice(2);
    if (size.some((s) => s < 32)) throw new ShapeError(`${op}: expected input height and width of at least 32 (five 2x2 pools), got [${x.shape.join(', ')}]`);
    let h = x;
    let pool3: Tensor | null = null;
    let pool4: Tensor | null = null;
    for (const [i, layer] of [...this.features.children()].entries()) {
      h = layer.call(h) as Tensor;
      if (i === this.poolIndices[0]) pool3 = h;
      if (i === this.poolIndices[1]) pool4 = h;
    }
    h = this.drop6.call(this.relu6.call(this.fc6.call(h)));
    h = this.drop7.call(this.relu7.call(this.fc7.call(h)));
    let score = this.score_fr.call(h);
    if (this.upscore2 && this.score_pool4 && pool4) {
      const skip4 = this.score_pool4.call(pool4);
      score = add(upsampleTo(this.upscore2, score, skip4.shape.slice(2)), skip4);
      if (this.upscore_pool4 && this.score_pool3 && pool3) {
        const skip3 = this.score_pool3.call(pool3);
        score = add(upsampleTo(this.upscore_pool4, score, skip3.shape.slice(2)), skip3);
      }
    }
    // The constructor set exactly one of the three.
    return { out: upsampleTo((this.upscore ?? this.upscore16 ?? this.upscore8)!, score, size) };
  }
}

/**
 * Runs a bilinear upsampling layer to exactly `size`: its output padding (below the stride,
 * since every target is at most one stride beyond `stride * input`) adds the last rows and
 * columns, the same as cropping an unpadded transposed convolution to that size.
 */
function upsampleTo(layer: ConvTranspose2d, x: Tensor, size: readonly number[]): Tensor {
  const stride = layer.kernelSize[0]! / 2;
  const outputPadding = size.map((s, i) => s - x.shape[2 + i]! * stride);
  return convTranspose2d(x, layer.weight, null, { stride, padding: stride / 2, outputPadding });
}

/**
 * A VGG-16 classification state dict (torchvision's names) recast for {@link FCNVGG16}, as
 * the paper "convolutionalizes" the classifier: `features.*` unchanged, the first fully
 * connected layer `classifier.0` (`[fc, 512·7·7]`) reshaped into the 7×7 convolution `fc6`
 * (`[fc, 512, 7, 7]`), `classifier.3` into the 1×1 `fc7`; the 1000-class `classifier.6` is
 * left out (the score layers start at zero). On a 7×7 pool5 map fc6's centre pixel is the
 * fully connected layer's output. Load the result with `{ strict: false }`: the score and
 * upsampling layers keep their initialisation.
 *
 * @example
 * const fcn = models.segmentation.fcn8sVgg16({ numClasses: 21 });
 * fcn.loadStateDict(models.segmentation.convolutionalizeVgg16(io.loadStateDictSync('vgg16.safetensors')), { strict: false });
 */
export function convolutionalizeVgg16(state: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const op = 'convolutionalizeVgg16';
  const out = new Map<string, Tensor>();
  for (const [name, t] of state) if (name.startsWith('features.')) out.set(name, t);
  const recast = (from: string, to: string, spatial: number) => {
    const weight = state.get(`${from}.weight`);
    const bias = state.get(`${from}.bias`);
    if (weight === undefined || bias === undefined) throw new ArgumentError(`${op}: expected state to hold ${from}.weight and ${from}.bias (a torchvision VGG's classifier), got neither or one`);
    const inFeatures = weight.shape[1] ?? 0;
    if (weight.ndim !== 2 || inFeatures % (spatial * spatial) !== 0) {
      throw new ShapeError(`${op}: expected ${from}.weight [out, in] with in divisible by ${spatial * spatial}, got [${weight.shape.join(', ')}]`);
    }
    out.set(`${to}.weight`, weight.reshape([weight.shape[0]!, inFeatures / (spatial * spatial), spatial, spatial]));
    out.set(`${to}.bias`, bias);
  };
  recast('classifier.0', 'fc6', 7);
  recast('classifier.3', 'fc7', 1);
  return out;
}

/**
 * FCN-8s on VGG-16 ({@link FCNVGG16}): skips from pool4 and pool3, the finest of the
 * three. Start from ImageNet VGG-16 with {@link convolutionalizeVgg16} and
 * `loadStateDict(state, { strict: false })`.
 *
 * @example
 * const model = models.segmentation.fcn8sVgg16({ numClasses: 21 });
 * const { out } = model.call(randn([1, 3, 97, 131])); // [1, 21, 97, 131]
 */
export const fcn8sVgg16 = (opts?: FCNVGG16Options) => new FCNVGG16('8s', opts);
/** FCN-16s on VGG-16 ({@link FCNVGG16}): one skip, from pool4. */
export const fcn16sVgg16 = (opts?: FCNVGG16Options) => new FCNVGG16('16s', opts);
/** FCN-32s on VGG-16 ({@link FCNVGG16}): no skips, one ×32 upsampling. */
export const fcn32sVgg16 = (opts?: FCNVGG16Options) => new FCNVGG16('32s', opts);
