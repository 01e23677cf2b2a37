/**
 * The collate of detection datasets, as the torchvision detection references'
 * `collate_fn = lambda batch: tuple(zip(*batch))`: images differ in size, so nothing is
 * stacked; a batch is the list of images and the list of their target records.
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ModuleRef } from './module_ref.js';

/** A batch of {@link detectionCollate}: images `[C, H_i, W_i]` and their targets, in item order. */
export type DetectionBatch<T> = [images: Tensor[], targets: T[]];

/**
 * Builds the function behind {@link detectionCollate}; DataLoader workers call it to get
 * the same collate.
 *
 * @example
 * const collate = detectionCollateFactory();
 * const [images, targets] = collate([[image, target]]);
 */
export function detectionCollateFactory(): <T>(items: ReadonlyArray<readonly [Tensor, T]>) => DetectionBatch<T> {
  return <T>(items: ReadonlyArray<readonly [Tensor, T]>): DetectionBatch<T> => {
    if (items.length === 0) throw new ArgumentError('detectionCollate: expected at least one item, got 0');
    items.forEach((item, i) => {
      if (!Array.isArray(item) || item.length !== 2) {
        throw new ArgumentError(`detectionCollate: expected item ${i} to be [image, target], got ${Object.prototype.toString.call(item)}`);
      }
    });
    return [items.map(([image]) => image), items.map(([, target]) => target)];
  };
}

/** The type of {@link detectionCollate}: generic over the target record, carrying its worker ref. */
export interface DetectionCollate {
  <T>(items: ReadonlyArray<readonly [Tensor, T]>): DetectionBatch<T>;
  readonly workerRef: ModuleRef;
}

/**
 * Collates `[image, target]` items into `[images, targets]` (two lists, nothing stacked),
 * as torchvision's detection references. It is a `WorkerCollate` (it carries a `workerRef`), so it works with
 * `numWorkers > 0` too: tensors inside the target records travel back from the workers.
 *
 * @example
 * const loader = new DataLoader(new CocoDetection(root, annFile), { batchSize: 4, collate: detectionCollate, numWorkers: 2 });
 * for await (const [images, targets] of loader) model.forward(images, targets);
 */
export const detectionCollate: DetectionCollate =
  Object.assign(detectionCollateFactory(), { workerRef: { module: import.meta.url, exportName: 'detectionCollateFactory' } });
