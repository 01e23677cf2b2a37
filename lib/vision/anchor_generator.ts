/**
 * AnchorGenerator, as torchvision.models.detection.anchor_utils.AnchorGenerator: the
 * anchor boxes of an RPN or RetinaNet head for each feature level, in torchvision's
 * order, with torchvision's rounded cell anchors.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { Module } from '../nn/module.js';
import { cat, stack } from '../ops/shape.js';
import { checkSameDevice, checkTensor } from '../ops/validate.js';
import { arange, tensor } from '../tensor/creation.js';
import { resolveDevice, type Device, type DeviceLike } from '../tensor/device.js';
import { keep, scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ImageList } from './image_list.js';

/** A feature map's `[height, width]`, or the pixel steps `[y, x]` between its cells. */
export type GridPair = readonly [number, number];

/**
 * Per-level lists (`[[32], [64], [128]]`), or torchvision's flat shorthand: for sizes, one
 * size per level (`[32, 64, 128]`); for aspect ratios, one list used at every level.
 */
export type PerLevel = readonly (readonly number[])[] | readonly number[];

/** Rounds half to even, as torch.round (`2.5` -> 2, `3.5` -> 4). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Zero-centred anchors `[A * S, 4]` (xyxy) for every (aspect ratio, scale) pair, ratio
 * major, as torchvision's `generate_anchors`, computed in float32 arithmetic on the host:
 * `h = sqrt(ratio)`, `w = 1 / h`, `[-w s, -h s, w s, h s] / 2` rounded half to even.
 * Each step is one correctly rounded float32 operation (Math.fround after the exact double
 * one: double rounding is harmless for + - * / and sqrt), so the values are torch's.
 */
function cellAnchorValues(scales: readonly number[], aspectRatios: readonly number[]): Float32Array {
  const f = Math.fround;
  const out: number[] = [];
  for (const ratio of aspectRatios) {
    const hRatio = f(Math.sqrt(f(ratio)));
    const wRatio = f(1 / hRatio);
    for (const scale of scales) {
      const w = f(wRatio * f(scale));
      const h = f(hRatio * f(scale));
      out.push(...[-w, -h, w, h].map((v) => roundHalfEven(f(v / 2))));
    }
  }
  return Float32Array.from(out);
}

/** Throws ArgumentError unless `list` is a non-empty array of positive finite numbers. */
function checkPositiveList(op: string, name: string, list: unknown): number[] {
  const ok = Array.isArray(list) && list.length > 0 && list.every((v) => typeof v === 'number' && v > 0 && Number.isFinite(v));
  if (!ok) throw new ArgumentError(`${op}: expected ${name} to be a non-empty array of positive finite numbers, got ${describe(list)}`);
  return [...(list as number[])];
}

/** The per-level lists of a {@link PerLevel} argument, checked (ArgumentError). */
function perLevel(name: string, value: PerLevel, levels: number | null): number[][] {
  const op = 'AnchorGenerator';
  if (!Array.isArray(value) || value.length === 0) throw new ArgumentError(`${op}: expected ${name} to be a non-empty array (of per-level arrays), got ${describe(value)}`);
  const nested = Array.isArray(value[0]);
  // torchvision: flat sizes are one size per level, flat ratios are repeated for every level.
  const lists: unknown[] = nested ? value : name === 'sizes' ? value.map((s) => [s]) : Array.from({ length: levels ?? 1 }, () => value);
  return lists.map((list, level) => checkPositiveList(op, `${name}[${level}]`, list));
}

/**
 * Generates anchors for a batch of images from its feature maps, as torchvision's
 * `AnchorGenerator(sizes, aspect_ratios)` (an `nn.Module` without parameters there and here).
 * Level `i` has `sizes[i].length * aspectRatios[i].length` anchors per feature-map cell;
 * an aspect ratio is height / width. The base (cell) anchors are zero-centred and rounded
 * to whole pixels, as torchvision's; each level's cells are `floor(H / h)` by
 * `floor(W / w)` pixels apart, for a padded batch `[N, C, H, W]` and a feature map
 * `[N, C', h, w]`.
 *
 * `forward(imageList, featureMaps)` returns one float32 tensor `[sum_i(h_i * w_i * A_i), 4]`
 * (xyxy) per image, on the feature maps' device: level by level, row-major over the cells,
 * the A_i anchors of a cell consecutive (ratio major, then size), as torchvision's. The
 * anchors are float32 whatever the feature maps' dtype (torchvision uses theirs).
 *
 * @example
 * const generator = new vision.AnchorGenerator([[32], [64], [128]], [[0.5, 1, 2]]);
 * const anchors = generator.call(new vision.ImageList(images, sizes), [p3, p4, p5]);
 * generator.numAnchorsPerLocation(); // [3, 3, 3]
 */
export class AnchorGenerator extends Module<[imageList: ImageList, featureMaps: readonly Tensor[]], Array<Tensor<'float32'>>> {
  /** Anchor sizes (square roots of the areas, in pixels) of each level. */
  readonly sizes: number[][];
  /** Aspect ratios (height / width) of each level. */
  readonly aspectRatios: number[][];
  /** Each level's zero-centred, rounded base anchors `[A_i, 4]` (float32, on the CPU), as torchvision's `cell_anchors`. */
  readonly cellAnchors: Array<Tensor<'float32'>>;
  /** The cell anchors copied to other devices, made on first use there. */
  private readonly onDevice = new Map<Device, Array<Tensor<'float32'>>>();

  /**
   * @param sizes - per level, the anchor sizes (default `[[128, 256, 512]]`); a flat list
   *   means one size per level, as in torchvision
   * @param aspectRatios - per level, the aspect ratios (default `[[0.5, 1, 2]]`); a flat
   *   list is used at every level. Its length must equal sizes' (ArgumentError otherwise)
   */
  constructor(sizes: PerLevel = [[128, 256, 512]], aspectRatios: PerLevel = [[0.5, 1, 2]]) {
    super();
    this.sizes = perLevel('sizes', sizes, null);
    this.aspectRatios = perLevel('aspectRatios', aspectRatios, this.sizes.length);
    if (this.sizes.length !== this.aspectRatios.length) {
      throw new ArgumentError(`AnchorGenerator: expected as many aspectRatios lists as sizes lists (${this.sizes.length} feature levels), got ${this.aspectRatios.length}`);
    }
    this.cellAnchors = this.sizes.map((s, i) => keep(this.generateAnchors(s, this.aspectRatios[i]!)));
  }

  /**
   * Zero-centred anchors `[A * S, 4]` for every pair of aspect ratio (major) and scale, rounded
   * to whole pixels (half to even), as torchvision's `generate_anchors`. Values are computed on
   * the host in float32 arithmetic (they are a few numbers fixed at construction).
   */
  generateAnchors(scales: readonly number[], aspectRatios: readonly number[], opts: { device?: DeviceLike } = {}): Tensor<'float32'> {
    const op = 'AnchorGenerator.generateAnchors';
    const values = cellAnchorValues(checkPositiveList(op, 'scales', scales), checkPositiveList(op, 'aspectRatios', aspectRatios));
    return tensor(values, { device: opts.device ?? 'cpu' }).reshape(-1, 4) as Tensor<'float32'>;
  }

  /** Anchors per feature-map cell of each level, as torchvision's `num_anchors_per_location()`. */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, i) => s.length * this.aspectRatios[i]!.length);
  }

  /**
   * Each level's anchors `[h * w * A, 4]` for feature maps of `gridSizes[i]` = `[h, w]` cells
   * `strides[i]` = `[y, x]` pixels apart, on `device`, as torchvision's `grid_anchors`.
   */
  gridAnchors(gridSizes: readonly GridPair[], strides: readonly GridPair[], device: DeviceLike = 'cpu'): Array<Tensor<'float32'>> {
    const op = 'AnchorGenerator.gridAnchors';
    const levels = this.cellAnchors.length;
    if (!Array.isArray(gridSizes) || !Array.isArray(strides) || gridSizes.length !== levels || strides.length !== levels) {
      throw new ArgumentError(`${op}: expected one grid size and one stride per feature level (${levels}), got ${describe(gridSizes)} and ${describe(strides)}`);
    }
    const pairs = (name: string, list: readonly GridPair[]) =>
      list.forEach((p, i) => {
        if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= 0)) {
          throw new ArgumentError(`${op}: expected ${name}[${i}] to be a pair of non-negative integers, got ${describe(p)}`);
        }
      });
    pairs('gridSizes', gridSizes);
    pairs('strides', strides);
    const base = this.cellAnchorsOn(resolveDevice(op, device));
    return scope(() =>
      noGrad(() =>
        gridSizes.map(([height, width], level) => {
          const [strideY, strideX] = strides[level]!;
          // Cell corners as torchvision computes them (int32 times the stride), then float32.
          const shiftsX = arange(width, { dtype: 'int32', device }).mul(strideX);
          const shiftsY = arange(height, { dtype: 'int32', device }).mul(strideY);
          const shiftX = shiftsX.unsqueeze(0).expand(height, width).reshape(-1);
          const shiftY = shiftsY.unsqueeze(1).expand(height, width).reshape(-1);
          const shifts = stack([shiftX, shiftY, shiftX, shiftY], 1).to('float32');
          // Every (cell, base anchor) pair: the cell's A anchors are consecutive.
          return shifts.view(-1, 1, 4).add(base[level]!.view(1, -1, 4)).reshape(-1, 4);
        }),
      ),
    );
  }

  /** The cell anchors on `device` (the CPU ones, or copies cached per device). */
  private cellAnchorsOn(device: Device): Array<Tensor<'float32'>> {
    if (device === 'cpu') return this.cellAnchors;
    let copies = this.onDevice.get(device);
    if (!copies) {
      copies = this.cellAnchors.map((a) => keep(a.to(device)));
      this.onDevice.set(device, copies);
    }
    return copies;
  }

  /**
   * One anchors tensor `[sum_i(h_i * w_i * A_i), 4]` per image of `imageList`, for
   * `featureMaps` `[N, C_i, h_i, w_i]` (one per level, on one device), as torchvision's
   * forward. Each is a tensor of its own (they hold the same values).
   */
  forward(imageList: ImageList, featureMaps: readonly Tensor[]): Array<Tensor<'float32'>> {
    const op = 'AnchorGenerator.forward';
    if (!(imageList instanceof ImageList)) throw new ArgumentError(`${op}: expected imageList to be an ImageList, got ${describe(imageList)}`);
    const levels = this.cellAnchors.length;
    if (!Array.isArray(featureMaps) || featureMaps.length !== levels) {
      throw new ArgumentError(
        `${op}: expected one feature map per level of sizes and aspectRatios (${levels}), got ${Array.isArray(featureMaps) ? featureMaps.length : describe(featureMaps)}`,
      );
    }
    featureMaps.forEach((f, i) => {
      checkTensor(op, `featureMaps[${i}]`, f);
      if (f.ndim < 2 || f.shape[f.ndim - 2] === 0 || f.shape[f.ndim - 1] === 0) {
        throw new ShapeError(`${op}: expected featureMaps[${i}] of shape [N, C, h, w] with h, w > 0, got [${f.shape.join(', ')}]`);
      }
    });
    checkSameDevice(op, Object.fromEntries(featureMaps.map((f, i) => [`featureMaps[${i}]`, f])));
    const [imageHeight, imageWidth] = imageList.tensors.shape.slice(-2) as [number, number];
    const gridSizes = featureMaps.map((f) => f.shape.slice(-2) as [number, number]);
    // Integer division, as torchvision's `image_size // grid_size`.
    const strides = gridSizes.map(([h, w]) => [Math.floor(imageHeight / h), Math.floor(imageWidth / w)] as const);
    const device = featureMaps[0]!.device;
    return scope(() => {
      const perLevelAnchors = this.gridAnchors(gridSizes, strides, device);
      return imageList.imageSizes.map(() => cat(perLevelAnchors, 0));
    });
  }

  /** Frees the cell anchors (and their copies on other devices) with the module. */
  override dispose(): void {
    super.dispose();
    for (const a of this.cellAnchors) a.dispose();
    for (const copies of this.onDevice.values()) for (const a of copies) a.dispose();
    this.onDevice.clear();
  }

  override extraRepr(): string {
    return `sizes=${JSON.stringify(this.sizes)}, aspectRatios=${JSON.stringify(this.aspectRatios)}`;
  }
}
