/**
 * The pieces the U-Net family shares: per-dimension layer constructors (2-D images, 3-D
 * volumes), the double-convolution block, the upsampling step, skip cropping, the input
 * size arithmetic that names the sizes that would work, and the initialisation.
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { checkInt } from '../../ops/validate.js';
import { ReLU, Upsample } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d } from '../../nn/layers/conv.js';
import { BatchNorm2d, BatchNorm3d, MaxPool2d, MaxPool3d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_ } from '../../nn/init.js';
import type { AnyModule, Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Spatial dims of a segmentation network: 2 for images `[N, C, H, W]`, 3 for volumes `[N, C, D, H, W]`. */
export type SpatialDims = 2 | 3;

/**
 * Makes the normalisation layer for `channels` channels of a `dims`-d network.
 *
 * @example
 * models.segmentation.unet({ normLayer: (c) => new nn.GroupNorm(8, c) })
 */
export type SegmentationNormFactory = (channels: number, dims: SpatialDims) => Module;

/** Options shared by the U-Net family. */
export interface UNetFamilyOptions {
  /** Input channels (default 1). */
  inChannels?: number;
  /**
   * Output channels (default 1): 1 for a binary mask (apply `sigmoid` to the logits, train
   * with `binaryCrossEntropyWithLogits`), N for N classes (apply `softmax` over dim 1, train
   * with `crossEntropy`).
   */
  numClasses?: number;
  /** Down-samplings between the input and the bottleneck (default 4: five resolutions, as the original). */
  depth?: number;
  /** Channels at the top resolution, doubled at each level down (default 64). */
  baseChannels?: number;
  /** 2 (images, default) or 3 (volumes: Conv3d, MaxPool3d, trilinear upsampling). */
  spatialDims?: SpatialDims;
  /** Normalisation after each conv (default BatchNorm2d/3d); null for none (the convs then have biases). */
  normLayer?: SegmentationNormFactory | null;
  /** Makes the activation after each normalisation (default ReLU). */
  activation?: () => Module;
}

/** {@link UNetFamilyOptions} with every default filled in. */
export interface ResolvedUNetOptions {
  inChannels: number;
  numClasses: number;
  depth: number;
  baseChannels: number;
  spatialDims: SpatialDims;
  normLayer: SegmentationNormFactory | null;
  activation: () => Module;
}

const defaultNorm: SegmentationNormFactory = (c, dims) => (dims === 2 ? new BatchNorm2d(c) : new BatchNorm3d(c));

/** Checks `opts` for the model `op` and fills in the defaults. */
export function resolveUNetOptions(op: string, opts: UNetFamilyOptions): ResolvedUNetOptions {
  const resolved = {
    inChannels: opts.inChannels ?? 1,
    numClasses: opts.numClasses ?? 1,
    depth: opts.depth ?? 4,
    baseChannels: opts.baseChannels ?? 64,
    spatialDims: opts.spatialDims ?? 2,
    normLayer: opts.normLayer === undefined ? defaultNorm : opts.normLayer,
    activation: opts.activation ?? (() => new ReLU()),
  };
  checkInt(op, 'inChannels', resolved.inChannels, 1);
  checkInt(op, 'numClasses', resolved.numClasses, 1);
  checkInt(op, 'depth', resolved.depth, 1);
  checkInt(op, 'baseChannels', resolved.baseChannels, 1);
  if (resolved.spatialDims !== 2 && resolved.spatialDims !== 3) {
    throw new ArgumentError(`${op}: expected spatialDims 2 or 3, got ${String(resolved.spatialDims)}`);
  }
  return resolved;
}

/** Channels at each level: base, 2 base, ..., 2^depth base. */
export function levelWidths(o: ResolvedUNetOptions): number[] {
  return Array.from({ length: o.depth + 1 }, (_, i) => o.baseChannels * 2 ** i);
}

/** A `dims`-d convolution (3×3 padded or unpadded, or 1×1). */
export function convNd(dims: SpatialDims, inC: number, outC: number, kernel: number, padding: number, bias = true): Module {
  const options = { padding, bias };
  return dims === 2 ? new Conv2d(inC, outC, kernel, options) : new Conv3d(inC, outC, kernel, options);
}

/** A `dims`-d 2×2 (×2) max pool with stride 2. */
export function maxPoolNd(dims: SpatialDims): Module {
  return dims === 2 ? new MaxPool2d(2) : new MaxPool3d(2);
}

/**
 * Two 3×3 convolutions, each followed by the normalisation (if any) and the activation:
 * the U-Net's block. Children `0, 1, 2, 3, 4, 5` are conv, norm, act, conv, norm, act
 * (`0, 1, 2, 3` without norm), as the same `nn.Sequential` in PyTorch.
 */
export class DoubleConv extends Sequential {
  constructor(inChannels: number, outChannels: number, o: Pick<ResolvedUNetOptions, 'spatialDims' | 'normLayer' | 'activation'>, padding = 1) {
    const layers: Module[] = [];
    for (const c of [inChannels, outChannels]) {
      layers.push(convNd(o.spatialDims, c, outChannels, 3, padding, o.normLayer === null));
      if (o.normLayer) layers.push(o.normLayer(outChannels, o.spatialDims));
      layers.push(o.activation());
    }
    super(...layers);
  }
}

/** How the decoder doubles the resolution. */
export type UNetUpsampling = 'transposed' | 'bilinear';

/**
 * The decoder's up step from `inC` to `outC` channels: a 2×2 stride-2 transposed conv, or
 * (bi/tri)linear interpolation by 2 followed by a 1×1 conv (no checkerboard artefacts, fewer
 * parameters).
 */
export function upsampler(dims: SpatialDims, mode: UNetUpsampling, inC: number, outC: number): Module {
  if (mode === 'transposed') return dims === 2 ? new ConvTranspose2d(inC, outC, 2, { stride: 2 }) : new ConvTranspose3d(inC, outC, 2, { stride: 2 });
  return new Sequential(new Upsample({ scaleFactor: 2, mode: dims === 2 ? 'bilinear' : 'trilinear' }), convNd(dims, inC, outC, 1, 0));
}

/** `x` cropped about its centre to the spatial size of `like` (the unpadded U-Net's skips); `x` itself when they agree. */
export function centerCrop(x: Tensor, like: Tensor): Tensor {
  let out = x;
  for (let d = 2; d < x.ndim; d++) {
    const excess = x.shape[d]! - like.shape[d]!;
    if (excess > 0) out = out.slice(d, Math.floor(excess / 2), Math.floor(excess / 2) + like.shape[d]!);
  }
  return out;
}

/**
 * The output size of a U-Net for input size `size` along one dim, or null where that size
 * does not work: padded convs keep sizes, so every pooling must see an even size; unpadded
 * 3×3 convs take 2 per conv (4 per block), so sizes shrink and must stay positive and even
 * before each pooling (572 → 388 for the original's depth 4).
 */
export function unetOutputSize(size: number, depth: number, padded: boolean): number | null {
  const loss = padded ? 0 : 4;
  let s = size;
  for (let level = 0; level < depth; level++) {
    s -= loss;
    if (s <= 0 || s % 2 !== 0) return null;
    s /= 2;
  }
  s -= loss;
  if (s <= 0) return null;
  for (let level = 0; level < depth; level++) {
    s = 2 * s - loss;
    if (s <= 0) return null;
  }
  return s;
}

/** The sizes nearest to `size` (one below, one above) that {@link unetOutputSize} accepts. */
function nearestWorkingSizes(size: number, depth: number, padded: boolean): number[] {
  const works = (s: number) => s > 0 && unetOutputSize(s, depth, padded) !== null;
  let below = size - 1;
  while (below > 0 && !works(below)) below--;
  let above = size + 1;
  while (!works(above)) above++;
  return below > 0 ? [below, above] : [above];
}

/**
 * Checks that `input` has rank `dims + 2`, `channels` channels and spatial sizes the
 * network's `depth` handles; a ShapeError names the nearest sizes that work.
 */
export function checkUNetInput(op: string, input: Tensor, o: ResolvedUNetOptions, padded: boolean): void {
  if (input.ndim !== o.spatialDims + 2) {
    const layout = o.spatialDims === 2 ? '[N, C, H, W]' : '[N, C, D, H, W]';
    throw new ShapeError(`${op}: expected input ${layout}, got shape [${input.shape.join(', ')}]`);
  }
  if (input.shape[1] !== o.inChannels) throw new ShapeError(`${op}: expected ${o.inChannels} input channels, got shape [${input.shape.join(', ')}]`);
  input.shape.slice(2).forEach((size, k) => {
    if (unetOutputSize(size, o.depth, padded) !== null) return;
    const rule = padded ? `a multiple of 2^depth = ${2 ** o.depth}` : `even after each block's 4-pixel loss at every level`;
    const nearest = nearestWorkingSizes(size, o.depth, padded).join(' or ');
    throw new ShapeError(`${op}: spatial size ${size} (dim ${k + 2}) does not work with depth ${o.depth}: it must be ${rule}; nearest sizes that work: ${nearest}`);
  });
}

/**
 * The U-Net initialisation: He (Kaiming) normal weights for convs (fan-in, ReLU gain, as
 * Ronneberger et al.'s std sqrt(2/N)), zero biases; norm layers keep weight 1, bias 0.
 */
export function initUNetWeights(model: AnyModule): void {
  for (const m of model.modules()) {
    if (m instanceof Conv2d || m instanceof Conv3d || m instanceof ConvTranspose2d || m instanceof ConvTranspose3d) {
      kaimingNormal_(m.weight, { nonlinearity: 'relu' });
      if (m.bias) constant_(m.bias, 0);
    }
  }
}
