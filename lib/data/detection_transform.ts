/**
 * The `transforms` option of the detection datasets ({@link CocoDetection},
 * {@link VOCDetection}), as torchvision's `transforms(image, target)`: a function of the
 * image and its target record, or a {@link ModuleRef} to a function that builds one (the
 * form that can be rebuilt in DataLoader workers).
 * @module
 */
import { ArgumentError } from '../errors.js';
import { arange } from '../tensor/creation.js';
import type { DetectionTarget } from '../tensor/detection_records.js';
import { Tensor } from '../tensor/tensor.js';
import { buildFromRef, isModuleRef, type ModuleRef } from './module_ref.js';
import type { PairedTransform } from './paired_transforms.js';

/**
 * A function of an image `[C, H, W]` and its target, returning both (moved, cropped, ...).
 *
 * @example
 * const flip: DetectionTransformFn<CocoTarget> = (image, target) => [image.flip([2]), { ...target, boxes: flipBoxes(target.boxes) }];
 */
export type DetectionTransformFn<T> = (image: Tensor, target: T) => [Tensor, T] | Promise<[Tensor, T]>;

/**
 * A function of `(image, target)`, or a {@link ModuleRef} whose export, called with `args`,
 * returns that function (works with `numWorkers > 0`).
 *
 * @example
 * const transforms: DetectionTransform<CocoTarget> = { module: new URL('./augment.js', import.meta.url).href, exportName: 'trainTransforms' };
 */
export type DetectionTransform<T> = DetectionTransformFn<T> | ModuleRef;

/**
 * A paired transform (data.pairedTransforms) as the `transforms` of a detection dataset:
 * the target's boxes, labels and `masks` move with the image, and its other per-box
 * tensors (those `[K, ...]` with one row per box, e.g. COCO's `area` and `iscrowd`, VOC's
 * `difficult`) keep the rows of the boxes the transform keeps (randomIoUCrop and
 * sanitizeBoxes drop some). The transform sees box indices as `labels`; it must not read
 * them as classes.
 *
 * @example
 * const P = data.pairedTransforms;
 * export const trainTransforms = () => pairedDetectionTransform(P.compose([P.randomZoomOut(), P.randomIoUCrop(), P.randomHorizontalFlip(), P.sanitizeBoxes()]));
 */
export function pairedDetectionTransform<T extends DetectionTarget>(transform: PairedTransform): DetectionTransformFn<T> {
  if (typeof transform !== 'function') throw new ArgumentError(`pairedDetectionTransform: expected a paired transform (a function of { image, boxes, labels, mask }), got ${typeof transform}`);
  return (image, target) => {
    const k = target.boxes.shape[0]!;
    const index = arange(0, k, 1, { dtype: 'int32', device: target.boxes.device });
    const out = transform({ image, boxes: target.boxes, labels: index, ...(target.masks ? { mask: target.masks } : {}) });
    const kept = out.labels;
    const moved: Record<string, unknown> = { ...(target as object), boxes: out.boxes };
    for (const [key, value] of Object.entries(target)) {
      if (key === 'boxes' || key === 'masks' || !(value instanceof Tensor) || value.ndim === 0 || value.shape[0] !== k) continue;
      moved[key] = kept === index ? value : value.indexSelect(0, kept);
    }
    if (out.mask) moved.masks = out.mask;
    if (kept !== index) index.dispose();
    return [out.image, moved as T];
  };
}

/**
 * Applies a {@link DetectionTransform}, importing a referenced one on first use. The
 * transform owns what it is given: tensors it replaces are its to dispose.
 *
 * @example
 * const runner = new DetectionTransformRunner(options.transforms, 'CocoDetection');
 * const [image, target] = await runner.apply(decoded, record);
 */
export class DetectionTransformRunner<T> {
  #resolved: Promise<DetectionTransformFn<T>> | undefined;

  constructor(
    readonly option: DetectionTransform<T> | undefined,
    readonly caller: string,
  ) {
    if (option !== undefined && typeof option !== 'function' && !isModuleRef(option)) {
      throw new ArgumentError(`${caller}: expected transforms to be a function (image, target) => [image, target] or { module, exportName, args }`);
    }
  }

  /** `[image, target]` after the transform (as given when there is none). */
  async apply(image: Tensor, target: T): Promise<[Tensor, T]> {
    if (this.option === undefined) return [image, target];
    const transform = await (this.#resolved ??= this.#resolve(this.option));
    const out = await transform(image, target);
    if (!Array.isArray(out) || out.length !== 2) {
      throw new ArgumentError(`${this.caller}: expected transforms to return [image, target], got ${Object.prototype.toString.call(out)}`);
    }
    return out;
  }

  /** The transforms as a worker can rebuild them; a closure cannot travel, so it throws. */
  toRef(): ModuleRef | undefined {
    if (this.option === undefined || isModuleRef(this.option)) return this.option;
    throw new ArgumentError(
      `${this.caller}: transforms given as a function cannot run in DataLoader workers; ` +
        'pass them as { module, exportName, args } (a module exporting a function that returns the transforms) or use numWorkers: 0',
    );
  }

  async #resolve(option: DetectionTransform<T>): Promise<DetectionTransformFn<T>> {
    if (typeof option === 'function') return option;
    const transform = await buildFromRef(option, this.caller);
    if (typeof transform !== 'function') {
      throw new ArgumentError(`${this.caller}: ${option.module}#${option.exportName} should return a transforms function, got ${typeof transform}`);
    }
    return transform as DetectionTransformFn<T>;
  }
}
