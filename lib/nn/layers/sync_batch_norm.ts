/**
 * `nn.SyncBatchNorm` (issue 18): batch norm whose training statistics span every rank of the
 * process group, so that data-parallel training with small per-rank batches normalises as
 * one process would over the whole batch.
 * @module
 */
import { getWorldSize, isInitialized } from '../../distributed/process_group.js';
import { syncBatchNorm } from '../../distributed/sync_batch_norm.js';
import { addInPlace } from '../../ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module, type AnyModule } from '../module.js';
import { BatchNorm1d, BatchNorm2d, BatchNorm3d, BatchNormNd, type BatchNormLayerOptions } from './pooling_norm.js';

/**
 * Batch norm over `[N, C, ...]` (any rank) with PyTorch's parameters and buffers (`weight`,
 * `bias`, `running_mean`, `running_var`, `num_batches_tracked`). In training, with a process
 * group of more than one rank, the mean and variance are those of all ranks' batches
 * together; otherwise (eval, or one process) it is an ordinary batch norm. Every rank must
 * run the same forwards and backwards, as with any collective.
 *
 * @example
 * const model = nn.SyncBatchNorm.convertSyncBatchnorm(models.resnet18());
 * const ddp = new nn.parallel.DistributedDataParallel(model);
 */
export class SyncBatchNorm extends BatchNormNd {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(numFeatures, options);
  }

  override forward(x: Tensor): Tensor {
    const runningMean = this.runningMean;
    const batchStatistics = this.training || runningMean === null;
    if (!batchStatistics || !isInitialized() || getWorldSize() === 1) return super.forward(x);
    const out = syncBatchNorm(x, this.training ? runningMean : null, this.training ? this.runningVar : null, this.weight, this.bias, {
      momentum: this.options.momentum ?? 0.1,
      eps: this.options.eps ?? 1e-5,
    });
    // Counted once the batch passed the op's checks, as BatchNormNd.
    const tracked = this.numBatchesTracked;
    if (this.training && tracked) addInPlace(tracked, 1);
    return out;
  }

  /**
   * Replaces every BatchNorm1d/2d/3d inside `module` (or `module` itself) by a SyncBatchNorm
   * holding the same parameters and buffers, as `torch.nn.SyncBatchNorm.convert_sync_batchnorm`.
   * Returns the converted module (the same object unless `module` itself was a batch norm).
   */
  static convertSyncBatchnorm<M extends AnyModule>(module: M): M | SyncBatchNorm {
    if (module instanceof BatchNorm1d || module instanceof BatchNorm2d || module instanceof BatchNorm3d) {
      const sync = new SyncBatchNorm(module.numFeatures, module.options);
      sync.loadStateDict(module.stateDict());
      sync.requiresGrad_(module.weight?.requiresGrad ?? true);
      sync.train(module.training);
      return sync;
    }
    for (const [name, child] of [...module.namedChildren()]) {
      const converted = SyncBatchNorm.convertSyncBatchnorm(child);
      // Assigning through the module's proxy re-registers the child under the same name (and
      // keeps the field that forward reads in step).
      if (converted !== child) (module as unknown as Record<string, Module<unknown[], unknown>>)[name] = converted as Module<unknown[], unknown>;
    }
    return module;
  }
}
