/**
 * The `transform` option of the image datasets: a function, or a {@link ModuleRef} to a
 * function that builds one. Only the second form can be rebuilt in a DataLoader worker.
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { buildFromRef, isModuleRef, type ModuleRef } from './module_ref.js';
import type { Transform } from './transforms.js';

/**
 * A transform of a float image `[C, H, W]`: either a function (in-process loading only),
 * or a {@link ModuleRef} whose export, called with `args`, returns the function (works
 * with `numWorkers > 0` too, since each worker imports the module itself).
 */
export type ImageTransform = Transform | ModuleRef;

/** Applies an {@link ImageTransform}, importing a referenced one on first use. */
export class TransformRunner {
  #resolved: Promise<Transform> | undefined;

  constructor(
    readonly option: ImageTransform | undefined,
    readonly caller: string,
  ) {
    if (option !== undefined && typeof option !== 'function' && !isModuleRef(option)) {
      throw new ArgumentError(`${caller}: expected transform to be a function or { module, exportName, args }`);
    }
  }

  /** The transformed image; the input is disposed when the transform replaced it. */
  async apply(image: Tensor): Promise<Tensor> {
    if (this.option === undefined) return image;
    const transform = await (this.#resolved ??= this.#resolve(this.option));
    const out = transform(image);
    if (out !== image) image.dispose();
    return out;
  }

  /** The transform as a worker can rebuild it; a closure cannot travel, so it throws. */
  toRef(): ModuleRef | undefined {
    if (this.option === undefined || isModuleRef(this.option)) return this.option;
    throw new ArgumentError(
      `${this.caller}: a transform given as a function cannot run in DataLoader workers; ` +
        'pass it as { module, exportName, args } (a module exporting a function that returns the transform) or use numWorkers: 0',
    );
  }

  async #resolve(option: ImageTransform): Promise<Transform> {
    if (typeof option === 'function') return option;
    const transform = await buildFromRef(option, this.caller);
    if (typeof transform !== 'function') {
      throw new ArgumentError(`${this.caller}: ${option.module}#${option.exportName} should return a transform function, got ${typeof transform}`);
    }
    return transform as Transform;
  }
}
