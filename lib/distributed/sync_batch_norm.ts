/**
 * Batch normalisation whose statistics span every rank's share of the batch (issue 18), as
 * PyTorch's SyncBatchNorm: the layer (nn.SyncBatchNorm) calls this in training.
 * @module
 */
import { record, saveForBackward } from '../autograd/graph.js';
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { copyInto } from '../ops/copy.js';
import { cat } from '../ops/shape.js';
import { full, zeros } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { allGatherIntoTensor, allReduce } from './collectives.js';
import { currentGroup } from './process_group.js';

/** Options of {@link syncBatchNorm}. */
export interface SyncBatchNormOptions {
  /** Weight of the new statistics in the running ones (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Training-mode batch norm of `input` `[N, C, ...]` with the mean and (biased) variance of
 * all ranks' inputs together, exactly as one process normalising the concatenated batch.
 * Each rank's count, mean and sum of squared deviations are gathered and combined (Chan's
 * parallel formula, stable where sum-of-squares is not); the running statistics get the
 * unbiased variance. Backward all-reduces the two per-channel sums the input's gradient
 * needs; weight and bias get this rank's share (DistributedDataParallel averages them).
 * Every rank must call it in the same order, as any collective.
 * @internal
 */
export function syncBatchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: SyncBatchNormOptions = {},
): Tensor<'float32'> {
  const op = 'syncBatchNorm';
  const { worldSize } = currentGroup(op);
  if (input.ndim < 2) throw new ShapeError(`${op}: expected input of rank >= 2 ([N, C, ...]), got ${input.ndim}`);
  if (input.dtype !== 'float32') throw new ArgumentError(`${op}: expected a float32 input, got ${input.dtype}`);
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  const channels = input.shape[1]!;
  const dims = [0, ...Array.from({ length: input.ndim - 2 }, (_, i) => i + 2)];
  const perChannel = [1, channels, ...new Array<number>(input.ndim - 2).fill(1)];
  const count = input.numel / channels;

  const [mean, invstd, total] = noGrad(() =>
    scope(() => {
      const localMean = input.mean(dims);
      const localM2 = input.sub(localMean.reshape(perChannel)).square().sum(dims);
      const gathered = zeros([worldSize, 2 * channels + 1], { device: input.device });
      allGatherIntoTensor(gathered, cat([localMean, localM2, full([1], count, { device: input.device })]));
      const means = gathered.slice(1, 0, channels);
      const m2s = gathered.slice(1, channels, 2 * channels);
      const counts = gathered.slice(1, 2 * channels, 2 * channels + 1);
      const n = counts.sum();
      const globalMean = means.mul(counts).sum(0).div(n);
      const variance = m2s.add(means.sub(globalMean).square().mul(counts)).sum(0).div(n);
      if (runningMean !== null && runningVar !== null) {
        copyInto(runningMean, runningMean.mul(1 - momentum).add(globalMean.mul(momentum)));
        const unbiased = variance.mul(n).div(n.sub(1));
        copyInto(runningVar, runningVar.mul(1 - momentum).add(unbiased.mul(momentum)));
      }
      return [globalMean, variance.add(eps).sqrt().reciprocal(), n] as const;
    }),
  );
  try {
    const output = noGrad(() =>
      scope(() => {
        let y = input.sub(mean.reshape(perChannel)).mul(invstd.reshape(perChannel));
        if (weight !== null && bias !== null) y = y.mul(weight.reshape(perChannel)).add(bias.reshape(perChannel));
        return y as Tensor<'float32'>;
      }),
    );
    const saved = [saveForBackward(input), saveForBackward(mean), saveForBackward(invstd), saveForBackward(total)];
    const w = weight === null ? null : saveForBackward(weight);
    if (w !== null) saved.push(w);
    const [x, m, s, n] = saved as [Tensor, Tensor, Tensor, Tensor];
    return record(
      op,
      output,
      [input, weight, bias],
      (grad) => {
        const xhat = x.sub(m.reshape(perChannel)).mul(s.reshape(perChannel));
        const sumDy = grad.sum(dims);
        const sumDyXhat = grad.mul(xhat).sum(dims);
        const sums = cat([sumDy, sumDyXhat]);
        allReduce(sums);
        const meanDy = sums.slice(0, 0, channels).div(n);
        const meanDyXhat = sums.slice(0, channels, 2 * channels).div(n);
        let scale = s;
        if (w !== null) scale = scale.mul(w);
        const gradInput = grad
          .sub(meanDy.reshape(perChannel))
          .sub(xhat.mul(meanDyXhat.reshape(perChannel)))
          .mul(scale.reshape(perChannel));
        return [gradInput, w === null ? null : sumDyXhat, w === null ? null : sumDy];
      },
      saved,
    );
  } finally {
    mean.dispose();
    invstd.dispose();
    total.dispose();
  }
}
