/**
 * The contract between a dataset and the DataLoader's worker threads. A dataset object
 * (with its closures and tensors) cannot be sent to another thread, so a dataset that
 * supports `numWorkers > 0` describes how to build an equal copy of itself instead: a
 * {@link ModuleRef} to a {@link WorkerDatasetFactory}, called once in each worker.
 * @module
 */
import type { Dataset } from './dataloader.js';
import { buildFromRef, isModuleRef, type ModuleRef } from './module_ref.js';

/**
 * What a worker factory returns: the dataset (it must hold the same items, in the same
 * order, as the dataset in the main thread) and the collate that turns its items into a
 * batch. The default collate is `stackCollate`. Batches may be tensors, numbers, strings,
 * or arrays and plain objects of them; tensors travel as typed arrays and come back as
 * CPU tensors of the same dtype and shape.
 */
export interface WorkerDatasetParts<T = unknown, B = unknown> {
  dataset: Dataset<T>;
  collate?: (items: T[]) => B | Promise<B>;
}

/** A function a module exports to build a dataset in a worker from `args`. */
export type WorkerDatasetFactory<A = unknown, T = unknown, B = unknown> = (
  args: A,
) => WorkerDatasetParts<T, B> | Promise<WorkerDatasetParts<T, B>>;

/**
 * A dataset the DataLoader can rebuild in worker threads. `workerSpec()` runs in the main
 * thread when an epoch starts; its `args` are structured-cloned to each worker (typed
 * arrays over a SharedArrayBuffer are shared, not copied).
 */
export interface WorkerDataset {
  workerSpec(): ModuleRef | Promise<ModuleRef>;
}

/**
 * A collate that can also run in DataLoader workers: a function (used in-process) that
 * carries a {@link ModuleRef} to a factory building the same function in a worker. With
 * `numWorkers > 0` the DataLoader accepts a `collate` option only in this form, and it
 * replaces the one the dataset's worker factory returns.
 */
export type WorkerCollate<T, B> = ((items: T[]) => B) & { readonly workerRef: ModuleRef };

/** True for a collate that carries a `workerRef` (see {@link WorkerCollate}). */
export function isWorkerCollate(collate: unknown): collate is WorkerCollate<unknown, unknown> {
  return typeof collate === 'function' && isModuleRef((collate as Partial<WorkerCollate<unknown, unknown>>).workerRef);
}

/** True when `dataset` can describe itself to worker threads. */
export function isWorkerDataset(dataset: unknown): dataset is WorkerDataset {
  return typeof (dataset as Partial<WorkerDataset> | null)?.workerSpec === 'function';
}

/**
 * Builds, in a worker, the parts another dataset's spec describes: how a dataset that wraps
 * others (Subset, ConcatDataset) rebuilds its sources. Throws TypeError when the factory
 * returns something else.
 */
export async function buildWorkerParts(spec: ModuleRef, caller: string): Promise<WorkerDatasetParts> {
  const parts = (await buildFromRef(spec, caller)) as Partial<WorkerDatasetParts> | null;
  if (typeof parts?.dataset?.get !== 'function' || typeof parts.dataset.length !== 'number') {
    throw new TypeError(`${caller}: ${spec.module}#${spec.exportName} should return { dataset, collate? }`);
  }
  return parts as WorkerDatasetParts;
}

/** The spec of `source` with its worker collate replaced by the one `collate` builds. */
export function withWorkerCollate(source: ModuleRef, collate: ModuleRef): ModuleRef {
  return { module: import.meta.url, exportName: 'collatedWorkerDataset', args: { source, collate } satisfies CollatedWorkerArgs };
}

interface CollatedWorkerArgs {
  source: ModuleRef;
  collate: ModuleRef;
}

/** Worker factory behind {@link withWorkerCollate}: the source's dataset, the given collate. */
export async function collatedWorkerDataset(args: CollatedWorkerArgs): Promise<WorkerDatasetParts> {
  const parts = await buildWorkerParts(args.source, 'DataLoader worker');
  const collate = await buildFromRef(args.collate, 'DataLoader worker');
  if (typeof collate !== 'function') {
    throw new TypeError(`DataLoader worker: ${args.collate.module}#${args.collate.exportName} should return a collate function, got ${typeof collate}`);
  }
  return { dataset: parts.dataset, collate: collate as WorkerDatasetParts['collate'] };
}
