/**
 * GeneralizedRCNNTransform, as torchvision.models.detection.transform (0.14): what a
 * detector does to its inputs before the backbone (normalise, resize keeping the aspect
 * ratio, batch with padding) and to its detections after (boxes back to each original image
 * size). Sizes follow torchvision's float32 arithmetic exactly, so a detector fed through it
 * sees torchvision's tensors.
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../../errors.js';
import { interpolate } from '../../ops/resample.js';
import { pad, stack } from '../../ops/shape.js';
import { checkInt, checkSameDevice } from '../../ops/validate.js';
import { Module } from '../../nn/module.js';
import { rand, tensor, zeros } from '../../tensor/creation.js';
import { describe } from '../../tensor/shape.js';
import type { DetectionTarget } from '../../tensor/detection_records.js';
import { Tensor } from '../../tensor/tensor.js';
import { ImageList } from '../../vision/image_list.js';
import { pasteMasksInImage } from './paste_masks.js';

/** Options of {@link GeneralizedRCNNTransform}. */
export interface GeneralizedRCNNTransformOptions {
  /** The batch's height and width are padded up to multiples of this (default 32). */
  sizeDivisible?: number;
  /** Resize every image to this `[width, height]` instead (torchvision's `fixed_size`, in its (w, h) order). */
  fixedSize?: readonly [number, number];
}

const OP = 'GeneralizedRCNNTransform';

/**
 * The input and output transform of torchvision's R-CNN family (Faster/Mask/Keypoint R-CNN,
 * RetinaNet, FCOS, SSD), as `GeneralizedRCNNTransform(min_size, max_size, image_mean,
 * image_std, size_divisible, fixed_size)`. `call(images, targets?)` takes float32 `[C, H, W]`
 * images (sizes may differ) and optional targets, and returns `[imageList, targets]`:
 * - each image is normalised per channel, `(x - mean) / std`;
 * - then resized (bilinear, alignCorners false) by
 *   `scale = min(minSize / min(h, w), maxSize / max(h, w))` to `floor(h * scale)` x
 *   `floor(w * scale)` (in training `minSize` is drawn from the list given, in eval the last
 *   is used), or to `fixedSize`;
 * - targets' boxes and keypoints are scaled to match and masks resized (nearest); the
 *   records returned are new, the ones given are left as they were;
 * - the images are zero-padded at the bottom and right to the batch's largest height and
 *   width rounded up to a multiple of `sizeDivisible`, and stacked.
 * {@link GeneralizedRCNNTransform.postprocess} maps detections back to the original sizes.
 *
 * @example
 * const transform = new GeneralizedRCNNTransform(800, 1333, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
 * const [images, targets] = transform.call([imageA, imageB], [targetA, targetB]);
 * images.tensors.shape; // [2, 3, 1216, 1088] for a 480x640 and a 600x400 image
 * images.imageSizes;    // [[800, 1066], [1200, 800]]
 * const detections = transform.postprocess(rawDetections, images.imageSizes, [[480, 640], [600, 400]]);
 */
export class GeneralizedRCNNTransform extends Module<[images: readonly Tensor[], targets?: readonly DetectionTarget[]], [ImageList, DetectionTarget[] | undefined]> {
  /** The shorter side's target sizes (training draws one per image; eval uses the last). */
  readonly minSize: readonly number[];
  /** The per-channel means subtracted. */
  readonly imageMean: readonly number[];
  /** The per-channel standard deviations divided by. */
  readonly imageStd: readonly number[];
  /** Height and width of the batch are padded to multiples of this. */
  readonly sizeDivisible: number;
  /** `[width, height]` every image is resized to, or null to resize by minSize / maxSize. */
  readonly fixedSize: readonly [number, number] | null;

  constructor(minSize: number | readonly number[], readonly maxSize: number, imageMean: readonly number[], imageStd: readonly number[], opts: GeneralizedRCNNTransformOptions = {}) {
    super();
    const sizes = typeof minSize === 'number' ? [minSize] : minSize;
    if (!Array.isArray(sizes) || sizes.length === 0 || sizes.some((s) => !(typeof s === 'number' && s > 0 && Number.isFinite(s)))) {
      throw new ArgumentError(`${OP}: expected minSize to be a positive number or a non-empty list of them, got ${describe(minSize)}`);
    }
    if (!(typeof maxSize === 'number' && maxSize > 0 && Number.isFinite(maxSize))) throw new ArgumentError(`${OP}: expected maxSize to be a positive number, got ${describe(maxSize)}`);
    const channelList = (name: string, list: readonly number[], positive: boolean) => {
      if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'number' || !Number.isFinite(v) || (positive && !(v > 0)))) {
        throw new ArgumentError(`${OP}: expected ${name} to be a non-empty list of ${positive ? 'positive ' : ''}numbers, one per channel, got ${describe(list)}`);
      }
    };
    channelList('imageMean', imageMean, false);
    channelList('imageStd', imageStd, true);
    if (imageMean.length !== imageStd.length) {
      throw new ArgumentError(`${OP}: expected imageMean and imageStd of the same length, got ${imageMean.length} and ${imageStd.length}`);
    }
    this.sizeDivisible = checkInt(OP, 'sizeDivisible', opts.sizeDivisible ?? 32, 1);
    if (opts.fixedSize !== undefined) {
      const fixed = opts.fixedSize;
      if (!Array.isArray(fixed) || fixed.length !== 2 || fixed.some((v) => !Number.isInteger(v) || v < 1)) {
        throw new ArgumentError(`${OP}: expected fixedSize to be [width, height], positive integers, got ${describe(fixed)}`);
      }
    }
    this.minSize = [...sizes];
    this.imageMean = [...imageMean];
    this.imageStd = [...imageStd];
    this.fixedSize = opts.fixedSize ? [opts.fixedSize[0], opts.fixedSize[1]] : null;
  }

  forward(images: readonly Tensor[], targets?: readonly DetectionTarget[]): [ImageList, DetectionTarget[] | undefined] {
    this.checkImages(images);
    if (targets !== undefined) this.checkTargets(images, targets);
    const resized: Tensor[] = [];
    const outTargets: DetectionTarget[] = [];
    images.forEach((image, i) => {
      const normalized = this.normalize(image);
      const [scaled, target] = this.resize(normalized, targets?.[i]);
      normalized.dispose();
      resized.push(scaled);
      if (target) outTargets.push(target);
    });
    const imageSizes = resized.map((t): [number, number] => [t.shape[1]!, t.shape[2]!]);
    const batch = this.batchImages(resized);
    for (const t of resized) t.dispose();
    return [new ImageList(batch, imageSizes), targets === undefined ? undefined : outTargets];
  }

  /**
   * Maps detections (a Detection, or any record with boxes) on the resized images back to
   * the original images, as torchvision's `postprocess`: `boxes` (and `keypoints`) of
   * `result[i]` are scaled from
   * `imageShapes[i]` to `originalImageSizes[i]` (each `[height, width]`). Returns new records
   * with the other entries passed through; in training mode returns `result` as it is.
   * `masks` `[K, 1, M, M]` (Mask R-CNN's per-box probabilities) are pasted at the scaled
   * boxes into `[K, 1, height, width]` of the original size by {@link pasteMasksInImage}.
   *
   * @example
   * const detections = transform.postprocess(raw, images.imageSizes, images.map((im) => [im.shape[1], im.shape[2]]));
   */
  postprocess<T extends Pick<DetectionTarget, 'boxes' | 'masks' | 'keypoints'>>(result: readonly T[], imageShapes: readonly (readonly [number, number])[], originalImageSizes: readonly (readonly [number, number])[]): T[] {
    const op = `${OP}.postprocess`;
    if (!Array.isArray(result)) throw new ArgumentError(`${op}: expected result to be a list of detection records, got ${describe(result)}`);
    if (this.training) return [...result];
    if (imageShapes.length !== result.length || originalImageSizes.length !== result.length) {
      throw new ArgumentError(`${op}: expected one image shape and one original size per result (${result.length}), got ${imageShapes.length} and ${originalImageSizes.length}`);
    }
    return result.map((pred, i) => {
      const from = checkSize(op, `imageShapes[${i}]`, imageShapes[i]);
      const to = checkSize(op, `originalImageSizes[${i}]`, originalImageSizes[i]);
      checkBoxes(op, `result[${i}].boxes`, pred.boxes);
      const out: T = { ...pred, boxes: resizeBoxes(pred.boxes, from, to) };
      if (pred.masks !== undefined) out.masks = pasteMasksInImage(pred.masks, out.boxes, to);
      if (pred.keypoints !== undefined) out.keypoints = resizeKeypoints(op, `result[${i}].keypoints`, pred.keypoints, from, to);
      return out;
    });
  }

  override extraRepr(): string {
    const resize = this.fixedSize ? `fixedSize=[${this.fixedSize.join(', ')}]` : `minSize=[${this.minSize.join(', ')}], maxSize=${this.maxSize}`;
    return `mean=[${this.imageMean.join(', ')}], std=[${this.imageStd.join(', ')}], ${resize}, mode='bilinear', sizeDivisible=${this.sizeDivisible}`;
  }

  private checkImages(images: readonly Tensor[]): void {
    if (!Array.isArray(images) || images.length === 0) {
      throw new ArgumentError(`${OP}: expected images to be a non-empty list of [C, H, W] tensors, got ${describe(images)}`);
    }
    const channels = this.imageMean.length;
    images.forEach((image, i) => {
      if (!(image instanceof Tensor)) throw new ArgumentError(`${OP}: expected images[${i}] to be a Tensor, got ${describe(image)}`);
      if (image.ndim !== 3 || image.shape[0] !== channels) {
        throw new ShapeError(`${OP}: expected images[${i}] of shape [${channels}, H, W] (one channel per imageMean entry), got [${image.shape.join(', ')}]`);
      }
      if (image.dtype !== 'float32') throw new DTypeError(`${OP}: expected images[${i}] to have dtype float32, got ${image.dtype}`);
    });
    checkSameDevice(OP, Object.fromEntries(images.map((image, i) => [`images[${i}]`, image])));
  }

  private checkTargets(images: readonly Tensor[], targets: readonly DetectionTarget[]): void {
    if (!Array.isArray(targets) || targets.length !== images.length) {
      throw new ArgumentError(`${OP}: expected one target per image (${images.length}), got ${Array.isArray(targets) ? targets.length : describe(targets)}`);
    }
    targets.forEach((target, i) => {
      if (typeof target !== 'object' || target === null) throw new ArgumentError(`${OP}: expected targets[${i}] to be a record with boxes, got ${describe(target)}`);
      checkBoxes(OP, `targets[${i}].boxes`, target.boxes);
      const [h, w] = [images[i]!.shape[1]!, images[i]!.shape[2]!];
      const masks = target.masks;
      if (masks !== undefined && (!(masks instanceof Tensor) || masks.ndim !== 3 || masks.shape[1] !== h || masks.shape[2] !== w)) {
        throw new ShapeError(`${OP}: expected targets[${i}].masks of shape [K, ${h}, ${w}] (the image's size), got ${masks instanceof Tensor ? `[${masks.shape.join(', ')}]` : describe(masks)}`);
      }
    });
  }

  /** `(image - mean) / std` per channel, in float32 as torchvision. */
  private normalize(image: Tensor): Tensor {
    const perChannel = (values: readonly number[]) => tensor(values.map((v) => [[v]]), { dtype: 'float32', device: image.device });
    const mean = perChannel(this.imageMean);
    const std = perChannel(this.imageStd);
    const centered = image.sub(mean);
    const out = centered.div(std);
    for (const t of [mean, std, centered]) t.dispose();
    return out;
  }

  /** The output `[height, width]` for an `[h, w]` image, as torchvision 0.14's `_resize_image_and_masks`. */
  private outputSize(h: number, w: number): [number, number] {
    if (this.fixedSize) return [this.fixedSize[1], this.fixedSize[0]];
    const minSize = this.training ? this.minSize[this.drawIndex()]! : this.minSize.at(-1)!;
    // torchvision: scale = min(min_size / min(h, w), max_size / max(h, w)) on float32 tensors,
    // where `number / tensor` is reciprocal(tensor) * number: two float32 roundings. Then
    // F.interpolate(recompute_scale_factor=True) takes floor(size * float(scale)) in double.
    const f = Math.fround;
    const scale = Math.min(f(f(1 / Math.min(h, w)) * f(minSize)), f(f(1 / Math.max(h, w)) * f(this.maxSize)));
    const size: [number, number] = [Math.floor(h * scale), Math.floor(w * scale)];
    if (size[0] < 1 || size[1] < 1) {
      throw new ShapeError(`${OP}: an image of [${h}, ${w}] resizes to [${size.join(', ')}] (scale ${scale}); its aspect ratio is too extreme for minSize ${minSize} and maxSize ${this.maxSize}`);
    }
    return size;
  }

  /** A uniform index into minSize from the seeded generator (torchvision's torch_choice). */
  private drawIndex(): number {
    const draw = rand([1]);
    const u = draw.item();
    draw.dispose();
    return Math.min(Math.floor(u * this.minSize.length), this.minSize.length - 1);
  }

  private resize(image: Tensor, target: DetectionTarget | undefined): [Tensor, DetectionTarget | undefined] {
    const h = image.shape[1]!;
    const w = image.shape[2]!;
    const size = this.outputSize(h, w);
    const batched = image.unsqueeze(0);
    const resizedBatch = interpolate(batched, { size, mode: 'bilinear', alignCorners: false });
    const resized = resizedBatch.squeeze(0);
    batched.dispose();
    resizedBatch.dispose();
    if (!target) return [resized, undefined];
    const out: DetectionTarget = { ...target, boxes: resizeBoxes(target.boxes, [h, w], size) };
    if (target.masks !== undefined) out.masks = resizeMasks(target.masks, size);
    if (target.keypoints !== undefined) out.keypoints = resizeKeypoints(OP, 'keypoints', target.keypoints, [h, w], size);
    return [resized, out];
  }

  /** Pads every image to the largest height and width, rounded up to sizeDivisible, and stacks them (torchvision's batch_images). */
  private batchImages(images: readonly Tensor[]): Tensor {
    const stride = this.sizeDivisible;
    const height = Math.ceil(Math.max(...images.map((t) => t.shape[1]!)) / stride) * stride;
    const width = Math.ceil(Math.max(...images.map((t) => t.shape[2]!)) / stride) * stride;
    const padded = images.map((t) => pad(t, [0, width - t.shape[2]!, 0, height - t.shape[1]!]));
    const batch = stack(padded, 0);
    for (const t of padded) t.dispose();
    return batch;
  }
}

function checkSize(op: string, name: string, size: readonly [number, number] | undefined): [number, number] {
  if (!Array.isArray(size) || size.length !== 2 || size.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new ArgumentError(`${op}: expected ${name} to be [height, width], positive integers, got ${describe(size)}`);
  }
  return [size[0]!, size[1]!];
}

function checkBoxes(op: string, name: string, boxes: unknown): void {
  if (!(boxes instanceof Tensor)) throw new ArgumentError(`${op}: expected ${name} to be a Tensor [K, 4], got ${describe(boxes)}`);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected ${name} of shape [K, 4], got [${boxes.shape.join(', ')}]`);
  if (boxes.dtype !== 'float32') throw new DTypeError(`${op}: expected ${name} to have dtype float32, got ${boxes.dtype}`);
}

/** The float32 ratios `to / from` per dim, as torchvision's resize_boxes and resize_keypoints. */
function ratios(from: readonly [number, number], to: readonly [number, number]): { height: number; width: number } {
  return { height: Math.fround(Math.fround(to[0]) / Math.fround(from[0])), width: Math.fround(Math.fround(to[1]) / Math.fround(from[1])) };
}

/** xyxy boxes `[K, 4]` scaled from an image of size `from` to one of size `to` (torchvision's resize_boxes). */
function resizeBoxes(boxes: Tensor, from: readonly [number, number], to: readonly [number, number]): Tensor {
  const r = ratios(from, to);
  const factors = tensor(Float32Array.from([r.width, r.height, r.width, r.height]), { device: boxes.device });
  const out = boxes.mul(factors);
  factors.dispose();
  return out;
}

/** Keypoints `[K, P, 3]` (x, y, visibility) scaled in x and y (torchvision's resize_keypoints). */
function resizeKeypoints(op: string, name: string, keypoints: Tensor, from: readonly [number, number], to: readonly [number, number]): Tensor {
  if (!(keypoints instanceof Tensor) || keypoints.ndim !== 3 || keypoints.shape[2] !== 3) {
    throw new ShapeError(`${op}: expected ${name} of shape [K, P, 3], got ${keypoints instanceof Tensor ? `[${keypoints.shape.join(', ')}]` : describe(keypoints)}`);
  }
  const r = ratios(from, to);
  const factors = tensor(Float32Array.from([r.width, r.height, 1]), { device: keypoints.device });
  const out = keypoints.mul(factors);
  factors.dispose();
  return out;
}

/** Masks `[K, H, W]` resized (nearest) to `size`, in their own dtype, as torchvision's `_resize_image_and_masks`. */
function resizeMasks(masks: Tensor, size: [number, number]): Tensor {
  if (masks.shape[0] === 0) return zeros([0, ...size], { dtype: masks.dtype, device: masks.device });
  const asFloat = masks.to('float32');
  const batched = asFloat.unsqueeze(1);
  const resized = interpolate(batched, { size, mode: 'nearest' });
  const channel = resized.squeeze(1);
  const out = channel.to(masks.dtype);
  for (const t of [asFloat, batched, resized, channel]) t.dispose();
  return out;
}
