/**
 * DefaultBoxGenerator, as torchvision.models.detection.anchor_utils.DefaultBoxGenerator
 * (0.14): SSD's default boxes (Liu et al. 2016, page 6) for each feature level, in
 * torchvision's order and float32 values.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { Module } from '../nn/module.js';
import { checkSameDevice, checkTensor } from '../ops/validate.js';
import { tensor } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ImageList } from './image_list.js';

/** Options of {@link DefaultBoxGenerator}: torchvision's keyword arguments in camelCase, with its defaults. */
export interface DefaultBoxGeneratorOptions {
  /** The smallest scale s_min, used only without `scales` (default 0.15). */
  minRatio?: number;
  /** The largest scale s_max, used only without `scales` (default 0.9). */
  maxRatio?: number;
  /** The scales of the default boxes, one per level and one more (default spread evenly from minRatio to maxRatio, then 1). */
  scales?: readonly number[];
  /** Per level, the pixels between cells (default: the image divided evenly by the feature map's cells). */
  steps?: readonly number[] | null;
  /** Whether each box's width and height (as fractions of the image) are clipped to [0, 1] (default true). */
  clip?: boolean;
}

function checkNumberList(op: string, name: string, value: unknown, length: number | null): number[] {
  const ok = Array.isArray(value) && (length === null || value.length === length) && value.every((v) => typeof v === 'number' && v > 0 && Number.isFinite(v));
  if (!ok) throw new ArgumentError(`${op}: expected ${name} to be ${length === null ? 'an array of' : `an array of ${length}`} positive finite numbers, got ${describe(value)}`);
  return [...(value as number[])];
}

/**
 * Generates SSD's default boxes for a batch of images from its feature maps, as
 * torchvision's `DefaultBoxGenerator(aspect_ratios, min_ratio, max_ratio, scales, steps,
 * clip)` (an `nn.Module` without parameters there and here). Level k has
 * `2 + 2 * aspectRatios[k].length` boxes per cell: the squares of side `s_k` and
 * `sqrt(s_k s_{k+1})`, then for each ratio r the boxes `s_k sqrt(r)` by `s_k / sqrt(r)` and
 * their transpose, all as fractions of the image (clipped to [0, 1] with `clip`). Cell centres
 * are `(j + 0.5) / (W / step)` of the image (or `(j + 0.5) / w` without steps).
 *
 * `forward(imageList, featureMaps)` returns one float32 tensor `[sum_k(h_k w_k A_k), 4]` (xyxy
 * pixels of the padded batch) per image, on the feature maps' device: level by level,
 * row-major over the cells, a cell's A_k boxes consecutive, as torchvision's. The values are
 * computed on the host in torchvision's float32 arithmetic (a few thousand boxes, cached per
 * grid and image size).
 *
 * @example
 * const generator = new vision.DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], {
 *   scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps: [8, 16, 32, 64, 100, 300] });
 * generator.numAnchorsPerLocation(); // [4, 6, 6, 6, 4, 4]
 */
export class DefaultBoxGenerator extends Module<[imageList: ImageList, featureMaps: readonly Tensor[]], Array<Tensor<'float32'>>> {
  /** The aspect ratios (width / height, each also transposed) of each level. */
  readonly aspectRatios: number[][];
  /** The scales s_0 .. s_m (one more than the levels). */
  readonly scales: number[];
  /** The pixels between cells of each level, or null to divide the image evenly. */
  readonly steps: number[] | null;
  /** Whether the boxes' widths and heights are clipped to [0, 1] of the image. */
  readonly clip: boolean;
  /** Per level, the `[w, h]` pairs (fractions of the image, float32, clipped with `clip`). */
  readonly #whPairs: Float32Array[];
  /** The last boxes made, under their grid and image size (one model sees one size). */
  #cache: { key: string; values: Float32Array } | null = null;

  /**
   * @param aspectRatios - per level, the aspect ratios (positive numbers; may be empty)
   * @param opts - see {@link DefaultBoxGeneratorOptions} (ArgumentError when malformed)
   */
  constructor(aspectRatios: readonly (readonly number[])[], opts: DefaultBoxGeneratorOptions = {}) {
    super();
    const op = 'DefaultBoxGenerator';
    if (!Array.isArray(aspectRatios) || aspectRatios.length === 0) throw new ArgumentError(`${op}: expected aspectRatios to be a non-empty array of per-level arrays, got ${describe(aspectRatios)}`);
    this.aspectRatios = aspectRatios.map((r, k) => checkNumberList(op, `aspectRatios[${k}]`, r, null));
    const levels = this.aspectRatios.length;
    if (opts.steps !== undefined && opts.steps !== null) this.steps = checkNumberList(op, 'steps', opts.steps, levels);
    else this.steps = null;
    if (opts.clip !== undefined && typeof opts.clip !== 'boolean') throw new ArgumentError(`${op}: expected clip to be a boolean, got ${describe(opts.clip)}`);
    this.clip = opts.clip ?? true;
    if (opts.scales !== undefined) {
      this.scales = checkNumberList(op, 'scales', opts.scales, levels + 1);
    } else {
      const [minRatio, maxRatio] = checkNumberList(op, 'minRatio and maxRatio', [opts.minRatio ?? 0.15, opts.maxRatio ?? 0.9], 2) as [number, number];
      // torchvision: evenly spread, then 1 (a single level takes [min, max]).
      this.scales = levels > 1 ? [...Array.from({ length: levels }, (_, k) => minRatio + ((maxRatio - minRatio) * k) / (levels - 1)), 1] : [minRatio, maxRatio];
    }
    this.#whPairs = this.aspectRatios.map((ratios, k) => {
      // In double, as torchvision's Python floats, then float32 (torch.as_tensor).
      const s = this.scales[k]!;
      const sPrime = Math.sqrt(s * this.scales[k + 1]!);
      const pairs = [s, s, sPrime, sPrime];
      for (const r of ratios) {
        const sq = Math.sqrt(r);
        pairs.push(s * sq, s / sq, s / sq, s * sq);
      }
      const f32 = Float32Array.from(pairs);
      return this.clip ? f32.map((v) => Math.min(Math.max(v, 0), 1)) : f32;
    });
  }

  /** Default boxes per feature-map cell of each level, as torchvision's `num_anchors_per_location()`. */
  numAnchorsPerLocation(): number[] {
    return this.aspectRatios.map((r) => 2 + 2 * r.length);
  }

  /**
   * The default boxes `[sum_k(h_k w_k A_k), 4]` (xyxy pixels) of feature maps of
   * `gridSizes[k]` = `[h, w]` cells on an image (padded batch) of `imageSize` = `[H, W]`, as
   * float32 values: torchvision's `_grid_default_boxes` then the conversion in its forward.
   */
  gridDefaultBoxes(gridSizes: readonly (readonly [number, number])[], imageSize: readonly [number, number]): Float32Array {
    const key = JSON.stringify([gridSizes, imageSize]);
    if (this.#cache?.key === key) return this.#cache.values;
    const f = Math.fround;
    const out: number[] = [];
    const [imageH, imageW] = imageSize;
    gridSizes.forEach(([h, w], k) => {
      const step = this.steps?.[k];
      // torchvision: Python floats (double), then (arange + 0.5) / x_f_k in float32.
      const xF = f(step === undefined ? w : imageW / step);
      const yF = f(step === undefined ? h : imageH / step);
      const pairs = this.#whPairs[k]!;
      for (let y = 0; y < h; y++) {
        const cy = f(f(y + 0.5) / yF);
        for (let x = 0; x < w; x++) {
          const cx = f(f(x + 0.5) / xF);
          for (let p = 0; p < pairs.length; p += 2) {
            const halfW = f(0.5 * pairs[p]!);
            const halfH = f(0.5 * pairs[p + 1]!);
            // (cxcy -+ 0.5 wh) * [W, H], each step a float32 operation.
            out.push(f(f(cx - halfW) * imageW), f(f(cy - halfH) * imageH), f(f(cx + halfW) * imageW), f(f(cy + halfH) * imageH));
          }
        }
      }
    });
    const values = Float32Array.from(out);
    this.#cache = { key, values };
    return values;
  }

  /**
   * One default-boxes tensor `[sum_k(h_k w_k A_k), 4]` per image of `imageList`, for
   * `featureMaps` `[N, C_k, h_k, w_k]` (one per level, on one device), as torchvision's
   * forward: pixels of the padded batch's size. Each is a tensor of its own.
   */
  forward(imageList: ImageList, featureMaps: readonly Tensor[]): Array<Tensor<'float32'>> {
    const op = 'DefaultBoxGenerator.forward';
    if (!(imageList instanceof ImageList)) throw new ArgumentError(`${op}: expected imageList to be an ImageList, got ${describe(imageList)}`);
    const levels = this.aspectRatios.length;
    if (!Array.isArray(featureMaps) || featureMaps.length !== levels) {
      throw new ArgumentError(`${op}: expected one feature map per level of aspectRatios (${levels}), got ${Array.isArray(featureMaps) ? featureMaps.length : describe(featureMaps)}`);
    }
    featureMaps.forEach((fm, i) => {
      checkTensor(op, `featureMaps[${i}]`, fm);
      if (fm.ndim !== 4 || fm.shape[2] === 0 || fm.shape[3] === 0) throw new ShapeError(`${op}: expected featureMaps[${i}] of shape [N, C, h, w] with h, w > 0, got [${fm.shape.join(', ')}]`);
    });
    checkSameDevice(op, Object.fromEntries(featureMaps.map((fm, i) => [`featureMaps[${i}]`, fm])));
    const imageSize = imageList.tensors.shape.slice(-2) as [number, number];
    const values = this.gridDefaultBoxes(
      featureMaps.map((fm) => [fm.shape[2]!, fm.shape[3]!] as const),
      imageSize,
    );
    const device = featureMaps[0]!.device;
    return imageList.imageSizes.map(() => tensor(values, { device }).reshape(-1, 4) as Tensor<'float32'>);
  }

  override extraRepr(): string {
    return `aspectRatios=${JSON.stringify(this.aspectRatios)}, clip=${this.clip}, scales=${JSON.stringify(this.scales)}, steps=${JSON.stringify(this.steps)}`;
  }
}
