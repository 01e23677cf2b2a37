/**
 * ConcatDataset, as torch.utils.data: several datasets one after the other.
 * @module
 */
import { ArgumentError, IndexError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import type { Dataset } from './dataloader.js';
import type { ModuleRef } from './module_ref.js';
import { buildWorkerParts, isWorkerDataset, type WorkerDatasetParts } from './worker_dataset.js';

/**
 * The items of each dataset in turn, as torch's `ConcatDataset` (e.g. a training set and
 * extra data). Negative indices count from the end, as in PyTorch. Works with DataLoader
 * workers when every part does; the batches are then collated by the first part's worker
 * collate.
 */
export class ConcatDataset<T> implements Dataset<T> {
  readonly length: number;
  readonly datasets: ReadonlyArray<Dataset<T>>;
  /** Where each part ends in the concatenation (torch's `cumulative_sizes`). */
  readonly cumulativeSizes: readonly number[];
  /** Present when every part is a WorkerDataset. */
  declare readonly workerSpec?: () => Promise<ModuleRef>;

  constructor(datasets: ReadonlyArray<Dataset<T>>) {
    if (!Array.isArray(datasets) || datasets.length === 0) {
      throw new ArgumentError(`ConcatDataset: expected datasets to be a non-empty array of datasets, got ${describe(datasets)}`);
    }
    datasets.forEach((dataset, i) => {
      if (typeof dataset?.get !== 'function' || typeof dataset.length !== 'number') {
        throw new ArgumentError(`ConcatDataset: expected datasets[${i}] to be a map-style dataset (get and length), got ${describe(dataset)}`);
      }
    });
    this.datasets = Object.freeze([...datasets]);
    let end = 0;
    this.cumulativeSizes = Object.freeze(datasets.map((d) => (end += d.length)));
    this.length = end;
    const parts = datasets.filter(isWorkerDataset);
    if (parts.length === datasets.length) {
      this.workerSpec = async () => ({
        module: import.meta.url,
        exportName: 'concatWorkerDataset',
        args: { parts: await Promise.all(parts.map((d) => d.workerSpec())) } satisfies ConcatWorkerArgs,
      });
    }
  }

  /** Item `index` of the concatenation (negative counts from the end); IndexError outside it. */
  get(index: number): T | Promise<T> {
    if (!Number.isInteger(index) || index < -this.length || index >= this.length) {
      throw new IndexError(`ConcatDataset: index ${index} is out of range for ${this.length} items`);
    }
    const i = index < 0 ? index + this.length : index;
    const part = this.cumulativeSizes.findIndex((end) => i < end);
    const start = part === 0 ? 0 : this.cumulativeSizes[part - 1]!;
    return this.datasets[part]!.get(i - start);
  }
}

interface ConcatWorkerArgs {
  parts: ModuleRef[];
}

/** Worker factory of {@link ConcatDataset}: every part rebuilt, joined; the first part's collate. */
export async function concatWorkerDataset(args: ConcatWorkerArgs): Promise<WorkerDatasetParts> {
  const parts = await Promise.all(args.parts.map((spec) => buildWorkerParts(spec, 'ConcatDataset worker')));
  return { dataset: new ConcatDataset(parts.map((p) => p.dataset)), collate: parts[0]!.collate };
}
