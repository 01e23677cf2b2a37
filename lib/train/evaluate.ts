/**
 * `evaluate`: one pass over a loader in eval mode without gradients, averaging the loss,
 * the accuracy and any metrics over the samples (Keras' `evaluate`, the loop of
 * torchvision's reference `evaluate()`).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError } from '../errors.js';
import { crossEntropy } from '../losses/classification.js';
import { accuracy } from '../metrics/classification.js';
import type { Module } from '../nn/module.js';
import { argmax } from '../ops/statistics.js';
import { stack } from '../ops/shape.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BatchSource } from './fit.js';

/** A metric of one batch: a scalar tensor, the batch's mean (as {@link accuracy}). */
export type BatchMetric = (output: Tensor, target: Tensor) => Tensor;

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** The loss, a batch mean (default crossEntropy(output, target)). */
  loss?: (output: Tensor, target: Tensor) => Tensor;
  /** More metrics by name, each a batch mean; averaged over samples like the loss. */
  metrics?: Record<string, BatchMetric>;
}

/** What {@link evaluate} returns: sample-weighted means of the loss, accuracy and each metric. */
export interface EvaluateResult {
  loss: number;
  accuracy: number;
  /** The number of samples seen. */
  count: number;
  metrics: Record<string, number>;
}

/**
 * Runs `model` over every batch `[input, target]` of `source` in eval mode under noGrad and
 * returns the loss, top-1 accuracy and `metrics`, each averaged over samples (a batch of n
 * samples weighs n). Probability targets `[N, C]` count their most likely class for the
 * accuracy. Each module's training flag is restored afterwards, also when a batch throws.
 * The batches are disposed, as {@link fit} does.
 *
 * @example
 * const { loss, accuracy, metrics } = await train.evaluate(model, testLoader, {
 *   metrics: { top5: (out, y) => neocog.metrics.accuracy(out, y, { topk: 5 }) },
 * });
 */
export async function evaluate(model: Module, source: BatchSource, opts: EvaluateOptions = {}): Promise<EvaluateResult> {
  if (opts.loss !== undefined && typeof opts.loss !== 'function') throw new ArgumentError(`evaluate: expected loss to be a function, got ${describe(opts.loss)}`);
  const named = Object.entries(opts.metrics ?? {});
  for (const [name, fn] of named) {
    if (typeof fn !== 'function') throw new ArgumentError(`evaluate: expected metrics.${name} to be a function, got ${describe(fn)}`);
  }
  const lossFn = opts.loss ?? ((o: Tensor, t: Tensor) => crossEntropy(o, t));
  // Restored module by module: a model may keep a frozen part in eval mode on purpose.
  const modes = [...model.modules()].map((m) => [m, m.training] as const);
  const sums = new Array<number>(2 + named.length).fill(0);
  let count = 0;
  model.eval();
  try {
    for await (const batch of source) {
      const [x, y] = batch as [Tensor, Tensor];
      const n = y.shape[0] ?? 1;
      const stats = scope(() =>
        noGrad(() => {
          const output = model.call(x);
          const labels = y.dtype !== 'int32' && y.shape.join(',') === output.shape.join(',') ? argmax(y, 1) : y;
          const values = [lossFn(output, y), accuracy(output, labels), ...named.map(([, fn]) => fn(output, y))];
          return stack(values.map((v) => v.float().reshape([])));
        }),
      );
      x.dispose();
      y.dispose();
      const values = await stats.data();
      stats.dispose();
      values.forEach((v, i) => (sums[i]! += v * n));
      count += n;
    }
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
  const mean = (i: number) => sums[i]! / count;
  return { loss: mean(0), accuracy: mean(1), count, metrics: Object.fromEntries(named.map(([name], i) => [name, mean(2 + i)])) };
}
