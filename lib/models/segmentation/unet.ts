/**
 * U-Net (Ronneberger et al. 2015) as courses build it, for images and volumes (3-D U-Net,
 * Çiçek et al. 2016).
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { Dropout, Identity } from '../../nn/layers/basic.js';
import { ModuleList } from '../../nn/layers/containers.js';
import { Module } from '../../nn/module.js';
import { checkInRange } from '../../ops/validate.js';
import { cat } from '../../ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  centerCrop,
  checkUNetInput,
  convNd,
  DoubleConv,
  initUNetWeights,
  levelWidths,
  maxPoolNd,
  resolveUNetOptions,
  unetOutputSize,
  upsampler,
  type ResolvedUNetOptions,
  type UNetFamilyOptions,
  type UNetUpsampling,
} from './unet_blocks.js';

/** Options of {@link UNet}: the family's, plus how it upsamples, pads and drops out. */
export interface UNetOptions extends UNetFamilyOptions {
  /** 'transposed' (2×2 stride-2 transposed conv, default, as the original) or 'bilinear' ((bi/tri)linear ×2 then a 1×1 conv). */
  upsampling?: UNetUpsampling;
  /**
   * Padded 3×3 convs (default true: the output has the input's size). false builds the
   * original's unpadded convs, whose skips are centre-cropped to the decoder's size: the
   * output is smaller than the input (572 → 388 at depth 4); see {@link UNet.outputSize}.
   */
  padding?: boolean;
  /** Dropout probability at the end of the contracting path, as the original (default 0: none). */
  dropout?: number;
}

/**
 * U-Net: an encoder of {@link DoubleConv} blocks with max pooling between them (channels
 * `baseChannels · 2^level`), a decoder that upsamples, concatenates the encoder's skip at
 * the same level and applies a block, and a 1×1 conv head to `numClasses` channels.
 * Weights He-initialised. Input `[N, inChannels, H, W]` (or `[N, C, D, H, W]` with
 * `spatialDims: 3`) with sizes the depth handles (a ShapeError names the nearest that do);
 * output logits `[N, numClasses, ...]`, of the input's size when padded.
 *
 * State dict: `encoder.<level>.<k>`, `upsample.<level>`, `decoder.<level>.<k>`, `head`.
 *
 * @example
 * const net = models.segmentation.unet({ inChannels: 1, numClasses: 3, depth: 4, baseChannels: 16 });
 * const logits = net.call(randn([2, 1, 128, 128])); // [2, 3, 128, 128]
 * const classes = logits.argmax(1);                  // [2, 128, 128]
 */
export class UNet extends Module {
  /** The options with their defaults. */
  readonly config: ResolvedUNetOptions & { upsampling: UNetUpsampling; padding: boolean; dropout: number };
  /** The contracting path's blocks, top level first (`depth + 1` of them; the last is the bottleneck). */
  encoder: ModuleList<DoubleConv>;
  /** The up steps, one per level below the top, indexed by the level they produce. */
  upsample: ModuleList;
  /** The expanding path's blocks, indexed by level (applied from `depth - 1` up to 0). */
  decoder: ModuleList<DoubleConv>;
  /** The 1×1 conv to `numClasses` channels. */
  head: Module;
  /** Max pooling by 2 between encoder levels. */
  pool: Module;
  /** Dropout on the bottleneck's output (identity when `dropout` is 0). */
  bottleneckDropout: Module;

  constructor(opts: UNetOptions = {}, op = 'UNet') {
    super();
    const o = resolveUNetOptions(op, opts);
    const upsampling = opts.upsampling ?? 'transposed';
    if (upsampling !== 'transposed' && upsampling !== 'bilinear') throw new ArgumentError(`${op}: expected upsampling 'transposed' or 'bilinear', got ${String(upsampling)}`);
    const dropout = opts.dropout ?? 0;
    checkInRange(op, 'dropout', dropout, 0, 1);
    this.config = { ...o, upsampling, padding: opts.padding ?? true, dropout };
    const widths = levelWidths(o);
    const pad = this.config.padding ? 1 : 0;
    this.encoder = new ModuleList(widths.map((w, i) => new DoubleConv(i === 0 ? o.inChannels : widths[i - 1]!, w, o, pad)));
    this.upsample = new ModuleList(widths.slice(0, -1).map((w, i) => upsampler(o.spatialDims, upsampling, widths[i + 1]!, w)));
    this.decoder = new ModuleList(widths.slice(0, -1).map((w) => new DoubleConv(this.decoderInputChannels(w), w, o, pad)));
    this.head = convNd(o.spatialDims, widths[0]!, o.numClasses, 1, 0);
    this.pool = maxPoolNd(o.spatialDims);
    this.bottleneckDropout = dropout > 0 ? new Dropout(dropout) : new Identity();
    initUNetWeights(this);
  }

  /** Channels a decoder block at width `w` receives: the skip and the upsampled map, concatenated. */
  protected decoderInputChannels(w: number): number {
    return 2 * w;
  }

  /** Joins the (cropped) skip at `level` with the upsampled map: concatenation over channels. */
  protected merge(_level: number, skip: Tensor, up: Tensor): Tensor {
    return cat([skip, up], 1);
  }

  /**
   * The output's spatial size for an input of spatial size `size` (one entry per spatial
   * dim); null where a size does not work with this depth and padding.
   */
  outputSize(size: readonly number[]): number[] | null {
    const out = size.map((s) => unetOutputSize(s, this.config.depth, this.config.padding));
    return out.every((s): s is number => s !== null) ? out : null;
  }

  forward(x: Tensor): Tensor {
    checkUNetInput(this.constructor.name, x, this.config, this.config.padding);
    const skips: Tensor[] = [];
    [...this.encoder].forEach((block, level) => {
      x = block.call(level === 0 ? x : this.pool.call(x));
      skips.push(x);
    });
    x = this.bottleneckDropout.call(skips.pop()!);
    for (let level = this.config.depth - 1; level >= 0; level--) {
      const up = this.upsample.at(level).call(x);
      x = this.decoder.at(level).call(this.merge(level, centerCrop(skips[level]!, up), up));
    }
    return this.head.call(x);
  }
}

/**
 * A U-Net for images (see {@link UNet} for the options and layout).
 *
 * @example
 * const net = models.segmentation.unet({ numClasses: 1, baseChannels: 32 }); // binary: sigmoid(net.call(x)) > 0.5
 * const original = models.segmentation.unet({ padding: false, numClasses: 2 });
 * original.outputSize([572, 572]); // [388, 388]
 */
export function unet(opts: UNetOptions = {}): UNet {
  return new UNet(opts, 'unet');
}

/**
 * A 3-D U-Net for volumes `[N, C, D, H, W]` (Çiçek et al. 2016): {@link UNet} with Conv3d,
 * BatchNorm3d, MaxPool3d and trilinear or transposed 3-D upsampling.
 *
 * @example
 * const net = models.segmentation.unet3d({ numClasses: 2, depth: 3, baseChannels: 8 });
 * net.call(randn([1, 1, 32, 64, 64])).shape; // [1, 2, 32, 64, 64]
 */
export function unet3d(opts: Omit<UNetOptions, 'spatialDims'> = {}): UNet {
  return new UNet({ ...opts, spatialDims: 3 }, 'unet3d');
}
