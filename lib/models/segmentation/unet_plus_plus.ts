/**
 * U-Net++ (Zhou et al. 2018): a U-Net whose skips are dense nested decoders, with optional
 * deep supervision.
 * @module
 */
import { Upsample } from '../../nn/layers/basic.js';
import { ModuleDict, ModuleList } from '../../nn/layers/containers.js';
import { Module } from '../../nn/module.js';
import { cat } from '../../ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  checkUNetInput,
  convNd,
  DoubleConv,
  initUNetWeights,
  levelWidths,
  maxPoolNd,
  resolveUNetOptions,
  type ResolvedUNetOptions,
  type UNetFamilyOptions,
} from './unet_blocks.js';

/** Options of {@link UNetPlusPlus}. */
export interface UNetPlusPlusOptions<DeepSupervision extends boolean = false> extends UNetFamilyOptions {
  /**
   * Return one output per nested decoder depth (`depth` of them, shallowest first) instead of
   * the deepest only (default false). Train on the mean of their losses; at inference, any
   * one of them (a shallower one is cheaper: prune the rest).
   */
  deepSupervision?: DeepSupervision;
}

/** What a {@link UNetPlusPlus} returns: one tensor, or a list with deep supervision. */
export type UNetPlusPlusOutput<DeepSupervision extends boolean> = DeepSupervision extends true ? Tensor[] : Tensor;

/**
 * U-Net++: nodes `X[i][j]` at level `i` (`baseChannels · 2^i` channels) and nesting depth
 * `j`; `X[i][0]` is the encoder, and `X[i][j]` is a {@link DoubleConv} of the concatenation of
 * `X[i][0..j-1]` with `X[i+1][j-1]` upsampled (bi/trilinear, alignCorners, as the
 * reference). 1×1 conv heads on `X[0][1..depth]` with deep supervision, on `X[0][depth]`
 * without. Padded convs: input sizes a multiple of 2^depth.
 *
 * State dict: `blocks.x<i>_<j>.<k>`, `heads.<k>`.
 *
 * @example
 * const net = models.segmentation.unetPlusPlus({ numClasses: 2, depth: 3, baseChannels: 16, deepSupervision: true });
 * const outputs = net.call(randn([1, 1, 64, 64])); // Tensor[]: 3 maps [1, 2, 64, 64]
 */
export class UNetPlusPlus<DeepSupervision extends boolean = false> extends Module<[Tensor], UNetPlusPlusOutput<DeepSupervision>> {
  /** The options with their defaults. */
  readonly config: ResolvedUNetOptions & { deepSupervision: boolean };
  /** The nodes `x<i>_<j>`. */
  blocks: ModuleDict<DoubleConv>;
  /** The 1×1 conv heads: `depth` of them with deep supervision, else one. */
  heads: ModuleList;
  pool: Module;
  up: Upsample;

  constructor(opts: UNetPlusPlusOptions<DeepSupervision> = {}, op = 'UNetPlusPlus') {
    super();
    const o = resolveUNetOptions(op, opts);
    this.config = { ...o, deepSupervision: opts.deepSupervision ?? false };
    const widths = levelWidths(o);
    const blocks: Record<string, DoubleConv> = {};
    for (let i = 0; i <= o.depth; i++) blocks[`x${i}_0`] = new DoubleConv(i === 0 ? o.inChannels : widths[i - 1]!, widths[i]!, o);
    for (let j = 1; j <= o.depth; j++) {
      for (let i = 0; i + j <= o.depth; i++) blocks[`x${i}_${j}`] = new DoubleConv(widths[i]! * j + widths[i + 1]!, widths[i]!, o);
    }
    this.blocks = new ModuleDict(blocks);
    const headCount = this.config.deepSupervision ? o.depth : 1;
    this.heads = new ModuleList(Array.from({ length: headCount }, () => convNd(o.spatialDims, widths[0]!, o.numClasses, 1, 0)));
    this.pool = maxPoolNd(o.spatialDims);
    this.up = new Upsample({ scaleFactor: 2, mode: o.spatialDims === 2 ? 'bilinear' : 'trilinear', alignCorners: true });
    initUNetWeights(this);
  }

  private block(i: number, j: number): DoubleConv {
    return this.blocks.get(`x${i}_${j}`)!;
  }

  forward(x: Tensor): UNetPlusPlusOutput<DeepSupervision> {
    checkUNetInput(this.constructor.name, x, this.config, true);
    const depth = this.config.depth;
    // nodes[i][j] = X[i][j]; each new encoder level completes the diagonal above it.
    const nodes: Tensor[][] = [];
    for (let i = 0; i <= depth; i++) {
      nodes.push([this.block(i, 0).call(i === 0 ? x : this.pool.call(nodes[i - 1]![0]!))]);
      for (let j = 1; j <= i; j++) {
        const level = i - j;
        const row = nodes[level]!;
        row.push(this.block(level, j).call(cat([...row, this.up.call(nodes[level + 1]![j - 1]!)], 1)));
      }
    }
    const top = nodes[0]!;
    const heads = [...this.heads];
    // The conditional return type cannot be narrowed from the runtime flag.
    if (this.config.deepSupervision) return heads.map((head, k) => head.call(top[k + 1]!)) as UNetPlusPlusOutput<DeepSupervision>;
    return heads[0]!.call(top[depth]!) as UNetPlusPlusOutput<DeepSupervision>;
  }
}

/**
 * A U-Net++ for images or, with `spatialDims: 3`, volumes; `deepSupervision: true` makes its
 * call return a `Tensor[]` (typed).
 *
 * @example
 * const net = models.segmentation.unetPlusPlus({ numClasses: 1, baseChannels: 32 });
 * const logits = net.call(randn([2, 1, 128, 128])); // Tensor [2, 1, 128, 128]
 */
export function unetPlusPlus<DeepSupervision extends boolean = false>(opts: UNetPlusPlusOptions<DeepSupervision> = {}): UNetPlusPlus<DeepSupervision> {
  return new UNetPlusPlus(opts, 'unetPlusPlus');
}
