/**
 * RoI pooling over a feature pyramid, as `torchvision.ops.MultiScaleRoIAlign`: each box is
 * pooled from the one FPN level its size maps to (FPN paper, eq. 1), by RoI Align.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, KeyError, ShapeError } from '../errors.js';
import { boxArea } from '../ops/boxes.js';
import { indexSelect } from '../ops/indexing.js';
import { roiAlign, roisOf } from '../ops/roi_align.js';
import { cat } from '../ops/shape.js';
import { clamp } from '../ops/statistics.js';
import { floor, log, sqrt } from '../ops/unary.js';
import { Module } from '../nn/module.js';
import { fromTypedArray } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ImageSize } from './image_list.js';

/** Options of {@link MultiScaleRoIAlign}: the FPN paper's canonical box size and its level. */
export interface MultiScaleRoIAlignOptions {
  /** A box of this side (pixels) maps to `canonicalLevel` (default 224, ImageNet's size). */
  canonicalScale?: number;
  /** The level a canonical box maps to (default 4). */
  canonicalLevel?: number;
}

/** A feature map's scale relative to the images: a power of two, from its height (torchvision's `_infer_scale`). */
function inferScale(feature: Tensor, originalHeight: number): number {
  return 2 ** Math.round(Math.log2(Math.fround(feature.shape[2]! / originalHeight)));
}

/**
 * Pools `[K, C, outputSize]` features for the boxes of every image (`[Ki, 4]` xyxy, in image
 * pixels) from the maps named `featmapNames` (finest first) of a feature pyramid. A box of
 * side `s = sqrt(area)` is pooled from level `floor(canonicalLevel + log2(s / canonicalScale) + 1e-6)`,
 * clamped to the levels present; each map's scale is inferred from its size against the
 * largest image. Differentiable with respect to the features.
 *
 * The level of each box is read back to pick its map (the host waits for the boxes; so does
 * torchvision's, whose `torch.where` synchronises on CUDA). torchvision caches the scales of
 * the first call; they are recomputed on every call here, so image sizes may change.
 *
 * @example
 * const pooler = new vision.MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2);
 * const pooled = pooler.call(fpnFeatures, proposals, imageSizes); // [sum Ki, 256, 7, 7]
 */
export class MultiScaleRoIAlign extends Module<[features: ReadonlyMap<string, Tensor>, boxes: readonly Tensor[], imageShapes: readonly ImageSize[]], Tensor<'float32'>> {
  readonly featmapNames: readonly string[];
  readonly outputSize: readonly [number, number];
  readonly samplingRatio: number;
  readonly canonicalScale: number;
  readonly canonicalLevel: number;

  constructor(featmapNames: readonly string[], outputSize: number | readonly [number, number], samplingRatio: number, opts: MultiScaleRoIAlignOptions = {}) {
    super();
    if (!Array.isArray(featmapNames) || featmapNames.length === 0 || featmapNames.some((n) => typeof n !== 'string')) {
      throw new ArgumentError(`MultiScaleRoIAlign: expected featmapNames to be a non-empty list of names, got ${String(featmapNames)}`);
    }
    const size = typeof outputSize === 'number' ? ([outputSize, outputSize] as const) : outputSize;
    if (size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new ArgumentError(`MultiScaleRoIAlign: expected outputSize to be an integer >= 1 or two of them, got ${String(outputSize)}`);
    }
    if (!Number.isInteger(samplingRatio)) throw new ArgumentError(`MultiScaleRoIAlign: expected an integer samplingRatio, got ${samplingRatio}`);
    this.canonicalScale = opts.canonicalScale ?? 224;
    this.canonicalLevel = opts.canonicalLevel ?? 4;
    if (!(this.canonicalScale > 0) || !Number.isInteger(this.canonicalLevel)) {
      throw new ArgumentError(`MultiScaleRoIAlign: expected canonicalScale > 0 and an integer canonicalLevel, got ${this.canonicalScale} and ${this.canonicalLevel}`);
    }
    this.featmapNames = [...featmapNames];
    this.outputSize = [size[0], size[1]];
    this.samplingRatio = samplingRatio;
  }

  forward(features: ReadonlyMap<string, Tensor>, boxes: readonly Tensor[], imageShapes: readonly ImageSize[]): Tensor<'float32'> {
    const maps = this.featmapNames.map((name) => {
      const map = features.get(name);
      if (map === undefined) throw new KeyError(`MultiScaleRoIAlign: no feature map '${name}' among [${[...features.keys()].join(', ')}]`);
      return map;
    });
    if (imageShapes.length === 0) throw new ArgumentError('MultiScaleRoIAlign: expected at least one image shape, got none');
    const originalHeight = Math.max(...imageShapes.map((s) => s[0]));
    const scales = maps.map((map) => {
      if (map.ndim !== 4) throw new ShapeError(`MultiScaleRoIAlign: expected feature maps [N, C, H, W], got [${map.shape.join(', ')}]`);
      return inferScale(map, originalHeight);
    });
    const options = (level: number) => ({ spatialScale: scales[level]!, samplingRatio: this.samplingRatio });
    return scope(() => {
      const rois = roisOf('MultiScaleRoIAlign', boxes, maps[0]!);
      if (maps.length === 1) return roiAlign(maps[0]!, rois, this.outputSize, options(0));
      const levels = this.levelsOf(boxes, -Math.log2(scales[0]!), -Math.log2(scales.at(-1)!));
      // Pool each level's boxes from its map, then put the rows back in the boxes' order.
      const members: number[][] = maps.map(() => []);
      levels.forEach((level, k) => members[level]!.push(k));
      const order = Int32Array.from(members.flat());
      const inverse = new Int32Array(order.length);
      order.forEach((k, position) => (inverse[k] = position));
      const device = maps[0]!.device;
      const pooled = members.map((ks, level) => {
        const picked = indexSelect(rois, 0, fromTypedArray(Int32Array.from(ks), [ks.length], { device }));
        return roiAlign(maps[level]!, picked, this.outputSize, options(level));
      });
      return indexSelect(cat(pooled, 0), 0, fromTypedArray(inverse, [inverse.length], { device })) as Tensor<'float32'>;
    });
  }

  /** Each box's level index (0 = the first map), as torchvision's `LevelMapper`, read back to the host. */
  private levelsOf(boxes: readonly Tensor[], kMin: number, kMax: number): Int32Array {
    return noGrad(() => {
      const sides = sqrt(cat(boxes.map((b) => boxArea(b)), 0));
      const raw = floor(log(sides.div(this.canonicalScale)).div(Math.LN2).add(this.canonicalLevel + 1e-6));
      return clamp(raw, kMin, kMax).sub(kMin).to('int32').dataSync() as Int32Array;
    });
  }
}
