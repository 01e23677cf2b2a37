/**
 * `fit`: the training loop most classification runs need (Keras' fit, Lightning's
 * Trainer): epochs of zeroGrad / forward / loss / backward / step, validation, metrics
 * (loss, accuracy, top-k), callbacks (early stopping, best checkpoint, LR scheduling), a
 * history written to JSON or CSV, and its chart as PNG or SVG. Writing the loop by hand
 * stays possible (see README). In a data-parallel job (a DistributedDataParallel model) the
 * figures are the whole job's, a DistributedSampler is told each epoch, gradients are
 * averaged once per optimizer step, and rank 0 alone shows progress and writes files.
 * @module
 */
import { writeFileSync } from 'node:fs';

import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError } from '../errors.js';
import { yieldToEventLoop } from '../event_loop.js';
import { writeFileAtomic } from '../io/atomic_write.js';
import { saveCheckpoint } from '../io/checkpoint.js';
import { crossEntropy } from '../losses/classification.js';
import { allReduce } from '../distributed/collectives.js';
import { getRank, getWorldSize, isInitialized } from '../distributed/process_group.js';
import type { Module } from '../nn/module.js';
import { DistributedDataParallel } from '../nn/parallel/distributed_data_parallel.js';
import { LRScheduler, ReduceLROnPlateau } from '../optim/lr_scheduler.js';
import type { Optimizer } from '../optim/optimizer.js';
import { argmax } from '../ops/statistics.js';
import { topkHits } from '../metrics/classification.js';
import { stack } from '../ops/shape.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { trainingCurves } from '../viz/training_curves.js';
import { ProgressBar } from './progress.js';

type AnyOptimizer = Optimizer<{ lr: number }>;

/** Batches of `[input, target]` with a known count (a DataLoader). */
export interface BatchSource {
  readonly length: number;
  [Symbol.asyncIterator](): AsyncIterator<Tensor[]>;
}

/** One epoch's record. Validation keys are present when a validation set is given. */
export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  topk?: number;
  valLoss?: number;
  valAccuracy?: number;
  valTopk?: number;
  lr: number;
  seconds: number;
}

/** Hooks into {@link fit}; `stop()` ends training after the current epoch. */
export interface Callback {
  onEpochEnd?(log: EpochLog, control: { stop(): void; model: Module; optimizer: AnyOptimizer }): void | Promise<void>;
}

/** Options of {@link fit}: what to train with, for how long, and what to report. */
export interface FitOptions {
  /** Number of passes over `train` (an integer >= 1). */
  epochs: number;
  /** Steps the model's parameters after each training batch. */
  optimizer: AnyOptimizer;
  /** Training batches `[input, target]`, e.g. a DataLoader; iterated once per epoch. */
  train: BatchSource;
  /** Batches evaluated (without gradients) after each epoch; adds valLoss/valAccuracy to the log. */
  validation?: BatchSource;
  /** Default: crossEntropy(output, target). */
  loss?: (output: Tensor, target: Tensor) => Tensor;
  /** Also report top-k accuracy (e.g. 5). */
  topk?: number;
  /** Stepped after each epoch (ReduceLROnPlateau with the validation loss, or the training loss). */
  scheduler?: LRScheduler | ReduceLROnPlateau;
  /** Called after each epoch, in order (earlyStopping, bestCheckpoint, your own). */
  callbacks?: Callback[];
  /** Show progress (default true). */
  progress?: boolean;
  /** Write the history here after every epoch: `.json` or `.csv`. */
  historyPath?: string;
  /**
   * Chart the history here after every epoch ({@link trainingCurves}): a `.png` or `.svg`
   * path, written atomically so a viewer never sees half a file.
   */
  curvesPath?: string;
  /**
   * Gradient accumulation (an integer >= 1, default 1): the optimizer steps once every
   * `accumulateSteps` batches, each batch's loss scaled by 1/accumulateSteps so a group of k
   * batches of size b steps as one batch of k·b would (for a model without BatchNorm). The
   * last group of an epoch may be shorter: it is stepped too, its losses scaled by 1/its size.
   */
  accumulateSteps?: number;
}

interface Totals {
  loss: number;
  correct: number;
  topk: number;
  count: number;
}

/**
 * A batch's loss sum, top-1 and top-k hit counts (lib/metrics) as one float32 [3] tensor on
 * the device, read back asynchronously (a blocking item() per batch would stall the event loop).
 */
function batchStats(loss: Tensor, output: Tensor, target: Tensor, k: number | undefined): Tensor {
  return noGrad(() => {
    const kk = Math.min(k ?? 1, output.shape[1]!);
    // Probability targets (soft labels, mixup) count their most likely class.
    const labels = target.dtype !== 'int32' && target.shape.join(',') === output.shape.join(',') ? argmax(target, 1) : target;
    const hits = topkHits('fit', output, labels, kk);
    const top1 = hits.slice(1, 0, 1).sum();
    const n = target.shape[0] ?? 1;
    return stack([loss.detach().reshape([]).mul(n), top1, k ? hits.sum() : top1]);
  });
}

async function runEpoch(model: Module, source: BatchSource, opts: FitOptions, train: boolean, label: string): Promise<Totals> {
  const lossFn = opts.loss ?? ((o: Tensor, t: Tensor) => crossEntropy(o, t));
  const totals: Totals = { loss: 0, correct: 0, topk: 0, count: 0 };
  // A DataLoader knows its batch size: the bar then shows images per second.
  const batchSize = (source as { readonly batchSize?: unknown }).batchSize;
  const bar = !showsProgress(opts) ? null : new ProgressBar(label, source.length, typeof batchSize === 'number' ? batchSize : 1);
  const forward = (x: Tensor) => model.call(x);
  model.train(train);
  let step = 0;
  // The statistics of batch k are read while batch k+1 runs: the device never idles for a
  // read, and awaiting them turns the event loop once per batch.
  let pending: Promise<void> | null = null;
  const add = async (stats: Tensor, n: number): Promise<void> => {
    const [loss, top1, k] = await stats.data();
    stats.dispose();
    totals.loss += loss!;
    totals.correct += top1!;
    totals.topk += k!;
    totals.count += n;
    bar?.update(++step, `loss ${(totals.loss / Math.max(totals.count, 1)).toFixed(4)}`);
  };
  const k = train ? opts.accumulateSteps ?? 1 : 1;
  let index = 0;
  // Gradients summed since the last step (a source longer than its length leaves some).
  let unstepped = false;
  for await (const batch of source) {
    const [x, y] = batch as [Tensor, Tensor];
    const first = index - (index % k);
    // The epoch's last group may be short: scaled by its own size, it is still a mean.
    const size = Number.isFinite(source.length) ? Math.max(1, Math.min(k, source.length - first)) : k;
    const step = (): Tensor =>
      scope(() => {
        const output = train ? forward(x) : noGrad(() => forward(x));
        const loss = train ? lossFn(output, y) : noGrad(() => lossFn(output, y));
        if (train) {
          if (index === first) opts.optimizer.zeroGrad();
          (size > 1 ? loss.div(size) : loss).backward();
          unstepped = index - first + 1 < size;
          if (!unstepped) opts.optimizer.step();
          ++index;
        }
        return batchStats(loss, output, y, opts.topk);
      });
    // A data-parallel model averages gradients only at the step's last micro-batch.
    const stats = train && model instanceof DistributedDataParallel && index - first + 1 < size ? model.noSync(step) : step();
    const n = y.shape[0] ?? 1;
    x.dispose();
    y.dispose();
    const previous = pending;
    pending = add(stats, n);
    await (previous ?? yieldToEventLoop());
  }
  if (unstepped) opts.optimizer.step();
  await pending;
  return isInitialized() && getWorldSize() > 1 ? await acrossRanks(totals) : totals;
}

/** Sums every rank's totals, so that every rank logs (and its callbacks decide on) the whole job's figures. */
async function acrossRanks(totals: Totals): Promise<Totals> {
  const sums = tensor([totals.loss, totals.correct, totals.topk, totals.count], { dtype: 'float32' });
  try {
    allReduce(sums);
    const [loss, correct, topk, count] = await sums.data();
    return { loss: loss!, correct: correct!, topk: topk!, count: count! };
  } finally {
    sums.dispose();
  }
}

/** Progress is shown by one process of a data-parallel job (rank 0), unless turned off. */
function showsProgress(opts: FitOptions): boolean {
  return opts.progress !== false && (!isInitialized() || getRank() === 0);
}

function writeHistory(path: string, history: EpochLog[]): void {
  if (path.endsWith('.csv')) {
    const keys = [...new Set(history.flatMap((h) => Object.keys(h)))];
    writeFileSync(path, [keys.join(','), ...history.map((h) => keys.map((k) => (h as unknown as Record<string, unknown>)[k] ?? '').join(','))].join('\n') + '\n');
  } else {
    writeFileSync(path, `${JSON.stringify(history, null, 2)}\n`);
  }
}

async function writeCurves(path: string, history: EpochLog[]): Promise<void> {
  const { svg, png } = await trainingCurves(history);
  await writeFileAtomic(path, [/\.svg$/i.test(path) ? Buffer.from(svg) : png]);
}

/**
 * Trains `model` for `epochs` and returns the per-epoch history.
 *
 * @example
 * const history = await fit(model, { epochs: 10, optimizer, train: trainLoader, validation: testLoader, accumulateSteps: 4,
 *   callbacks: [earlyStopping({ patience: 3 }), bestCheckpoint('best.safetensors')], curvesPath: 'curves.png' });
 */
export async function fit(model: Module, opts: FitOptions): Promise<EpochLog[]> {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new ArgumentError(`fit: expected epochs >= 1, got ${opts.epochs}`);
  // Checked before the first step: a typo must not cost an epoch of training.
  if (opts.curvesPath !== undefined && !(typeof opts.curvesPath === 'string' && /\.(png|svg)$/i.test(opts.curvesPath))) {
    throw new ArgumentError(`fit: expected curvesPath to be a path ending in .png or .svg, got ${describe(opts.curvesPath)}`);
  }
  if (opts.accumulateSteps !== undefined && !(Number.isInteger(opts.accumulateSteps) && opts.accumulateSteps >= 1)) {
    throw new ArgumentError(`fit: expected accumulateSteps to be an integer >= 1, got ${describe(opts.accumulateSteps)}`);
  }
  const history: EpochLog[] = [];
  const started = performance.now();
  let stopped = false;
  const primary = !isInitialized() || getRank() === 0;
  for (let epoch = 1; epoch <= opts.epochs && !stopped; ++epoch) {
    // A DistributedSampler reshuffles per epoch only when told the epoch (PyTorch users call it by hand).
    (opts.train as { readonly options?: { readonly sampler?: { setEpoch?(epoch: number): void } } }).options?.sampler?.setEpoch?.(epoch - 1);
    const lr = opts.optimizer.paramGroups[0]!.options.lr;
    const train = await runEpoch(model, opts.train, opts, true, `epoch ${epoch}/${opts.epochs}`);
    const log: EpochLog = { epoch, loss: train.loss / train.count, accuracy: train.correct / train.count, lr, seconds: 0 };
    if (opts.topk) log.topk = train.topk / train.count;
    if (opts.validation) {
      const val = await runEpoch(model, opts.validation, opts, false, 'validation');
      log.valLoss = val.loss / val.count;
      log.valAccuracy = val.correct / val.count;
      if (opts.topk) log.valTopk = val.topk / val.count;
    }
    model.train();
    log.seconds = (performance.now() - started) / 1000;
    history.push(log);
    if (opts.scheduler instanceof ReduceLROnPlateau) opts.scheduler.step(log.valLoss ?? log.loss);
    else opts.scheduler?.step();
    if (showsProgress(opts)) {
      const val = log.valAccuracy !== undefined ? `, val loss ${log.valLoss!.toFixed(4)}, val accuracy ${(100 * log.valAccuracy).toFixed(2)}%` : '';
      console.log(`epoch ${epoch}: loss ${log.loss.toFixed(4)}, accuracy ${(100 * log.accuracy).toFixed(2)}%${val}`);
    }
    for (const callback of opts.callbacks ?? []) {
      await callback.onEpochEnd?.(log, { stop: () => (stopped = true), model, optimizer: opts.optimizer });
    }
    if (opts.historyPath && primary) writeHistory(opts.historyPath, history);
    if (opts.curvesPath && primary) await writeCurves(opts.curvesPath, history);
  }
  return history;
}

type Monitor = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';

function improvement(monitor: Monitor, mode: 'min' | 'max' | undefined): (value: number, best: number) => boolean {
  const m = mode ?? (monitor.toLowerCase().includes('loss') ? 'min' : 'max');
  return m === 'min' ? (v, best) => v < best : (v, best) => v > best;
}

/** Stops when `monitor` (default valLoss) has not improved for `patience` epochs. */
export function earlyStopping(opts: { monitor?: Monitor; patience?: number; mode?: 'min' | 'max' } = {}): Callback {
  const monitor = opts.monitor ?? 'valLoss';
  const better = improvement(monitor, opts.mode);
  let best: number | undefined;
  let waited = 0;
  return {
    onEpochEnd(log, control) {
      const value = log[monitor];
      if (value === undefined) throw new ArgumentError(`earlyStopping: the log has no ${monitor} (give fit a validation set)`);
      if (best === undefined || better(value, best)) {
        best = value;
        waited = 0;
      } else if (++waited >= (opts.patience ?? 3)) {
        control.stop();
      }
    },
  };
}

/** Saves a full checkpoint (model + optimizer) whenever `monitor` (default valAccuracy) improves. */
export function bestCheckpoint(path: string, opts: { monitor?: Monitor; mode?: 'min' | 'max' } = {}): Callback {
  const monitor = opts.monitor ?? 'valAccuracy';
  const better = improvement(monitor, opts.mode);
  let best: number | undefined;
  return {
    async onEpochEnd(log, control) {
      const value = log[monitor];
      if (value === undefined) throw new ArgumentError(`bestCheckpoint: the log has no ${monitor}`);
      if (best === undefined || better(value, best)) {
        best = value;
        await saveCheckpoint(path, { model: control.model, optimizer: control.optimizer, extra: { epoch: log.epoch, [monitor]: value } });
      }
    },
  };
}
