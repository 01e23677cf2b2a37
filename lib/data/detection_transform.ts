/**
 * The `transforms` option of the detection datasets ({@link CocoDetection},
 * {@link VOCDetection}), as torchvision's `transforms(image, target)`: a function of the
 * image and its target record, or a {@link ModuleRef} to a function that builds one (the
 * form that can be rebuilt in DataLoader workers).
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { buildFromRef, isModuleRef, type ModuleRef } from './module_ref.js';

/** What every detection target record holds: float32 xyxy boxes `[K, 4]` in pixels and int32 labels `[K]`. */
export interface DetectionTarget {
  boxes: Tensor<'float32'>;
  labels: Tensor<'int32'>;
}

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
