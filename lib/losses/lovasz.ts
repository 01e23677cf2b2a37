/**
 * The Lovász-hinge and Lovász-softmax losses (Berman, Rannen Triki & Blaschko, CVPR 2018),
 * as their reference code (github.com/bermanmaxim/LovaszSoftmax, pytorch/lovasz_losses.py):
 * convex surrogates of the Jaccard loss, from sort, cumsum and gather, so differentiable
 * through autograd. Every image and class is computed at once, without reading any value
 * back to the host: ignored pixels get error 0 and label 0 instead of being removed, which
 * sorts them behind every pixel that contributes and so leaves the loss unchanged.
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { gather } from '../ops/indexing.js';
import { cat, oneHot } from '../ops/shape.js';
import { sort } from '../ops/sort.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of {@link lovaszHingeLoss}. */
export interface LovaszHingeLossOptions {
  /** One loss per image, averaged (default true, as the reference), or one over all pixels of the batch. */
  perImage?: boolean;
  /** Label value whose pixels are left out (default: none). */
  ignoreIndex?: number | null;
}

/** Options of {@link lovaszSoftmaxLoss}. */
export interface LovaszSoftmaxLossOptions {
  /** Average over the classes present in the labels (default 'present', as the reference) or over all classes. */
  classes?: 'present' | 'all';
  /** One loss per image, averaged, or one over all pixels of the batch (default false, as the reference). */
  perImage?: boolean;
  /** Label value whose pixels are left out (default: none), e.g. 255 for VOC. */
  ignoreIndex?: number | null;
}

/**
 * The Lovász extension of the Jaccard loss along the last dim: `errors` `[..., P]` (>= 0,
 * 0 where ignored) and binary `labels` of its shape; the dot product of the sorted errors
 * with the Jaccard increments, `[...]`.
 */
function lovaszExtension(errors: Tensor, labels: Tensor): Tensor<'float32'> {
  const last = errors.ndim - 1;
  const { values, indices } = sort(errors, last, { descending: true });
  const sortedLabels = gather(labels, last, indices);
  const positives = sortedLabels.sum(last, { keepdim: true });
  const intersection = positives.sub(sortedLabels.cumsum(last));
  // union >= 1 everywhere: it counts every positive, or the first pixel when there are none.
  const union = positives.add(sortedLabels.neg().add(1).cumsum(last));
  const jaccard = intersection.div(union).neg().add(1);
  const size = jaccard.shape[last]!;
  const increments = size > 1 ? cat([jaccard.slice(last, 0, 1), jaccard.slice(last, 1).sub(jaccard.slice(last, 0, size - 1))], last) : jaccard;
  return values.mul(increments).sum(last) as Tensor<'float32'>;
}

/** The ignore mask (true = kept), or null without an ignore index. */
function keptPixels(op: string, labels: Tensor, ignoreIndex: number | null | undefined): Tensor | null {
  if (ignoreIndex === null || ignoreIndex === undefined) return null;
  if (typeof ignoreIndex !== 'number' || !Number.isFinite(ignoreIndex)) throw new ArgumentError(`${op}: expected ignoreIndex to be a finite number or null, got ${String(ignoreIndex)}`);
  return labels.ne(ignoreIndex);
}

/**
 * Binary Lovász-hinge loss of logits `logits` `[N, ...spatial]` against binary `labels`
 * (int32 or float32, 0 or 1) of the same shape, as the reference `lovasz_hinge`: the
 * Lovász extension of the Jaccard loss applied to the hinge errors `relu(1 - x s)` with
 * `s = ±1`. Per image and averaged (an image whose pixels are all ignored counts 0), or
 * over the whole batch with `perImage: false`. Differentiable in `logits`.
 *
 * @example
 * const loss = lovaszHingeLoss(logits.squeeze(1), masks, { ignoreIndex: 255 }); // logits [N, 1, H, W], masks int32 [N, H, W]
 */
export function lovaszHingeLoss(logits: Tensor, labels: Tensor, opts: LovaszHingeLossOptions = {}): Tensor<'float32'> {
  const op = 'lovaszHingeLoss';
  checkTensor(op, 'logits', logits);
  checkTensor(op, 'labels', labels);
  checkDTypeIn(op, 'logits', logits, ['float32']);
  checkDTypeIn(op, 'labels', labels, ['int32', 'float32']);
  checkSameDevice(op, { logits, labels });
  if (logits.ndim < 1 || labels.shape.join(',') !== logits.shape.join(',')) {
    throw new ShapeError(`${op}: expected labels of the shape of logits [${logits.shape.join(', ')}] ([N, ...spatial]), got [${labels.shape.join(', ')}]`);
  }
  return scope(() => {
    const keep = keptPixels(op, labels, opts.ignoreIndex);
    let truth: Tensor = labels.float();
    if (keep) truth = where(keep, truth, 0);
    const rows = opts.perImage === false ? [1, logits.numel] : [logits.shape[0]!, logits.numel / logits.shape[0]!];
    let errors: Tensor = logits.mul(truth.mul(2).sub(1)).neg().add(1).relu();
    if (keep) errors = where(keep, errors, 0);
    return lovaszExtension(errors.reshape(rows), truth.reshape(rows)).mean() as Tensor<'float32'>;
  });
}

/**
 * Multi-class Lovász-softmax loss of logits `logits` `[N, C, ...spatial]` against int32
 * class indices `labels` `[N, ...spatial]`, as the reference `lovasz_softmax` on
 * `softmax(logits, 1)`: per class, the Lovász extension of the Jaccard loss applied to
 * `|[label = c] - p_c|`, averaged over the classes present (or all), over the whole batch
 * (or per image, then averaged). No pixel left or no class present gives 0. A class index
 * outside [0, C) that is not `ignoreIndex` rejects `data()` with an IndexError.
 * Differentiable in `logits`.
 *
 * @example
 * const loss = lovaszSoftmaxLoss(logits, masks, { ignoreIndex: 255 }); // logits [N, 21, H, W], masks int32 [N, H, W]
 */
export function lovaszSoftmaxLoss(logits: Tensor, labels: Tensor, opts: LovaszSoftmaxLossOptions = {}): Tensor<'float32'> {
  const op = 'lovaszSoftmaxLoss';
  checkTensor(op, 'logits', logits);
  checkTensor(op, 'labels', labels);
  checkDTypeIn(op, 'logits', logits, ['float32']);
  checkSameDevice(op, { logits, labels });
  if (logits.ndim < 2) throw new ShapeError(`${op}: expected logits of rank >= 2 ([N, C, ...spatial]), got [${logits.shape.join(', ')}]`);
  const expected = [logits.shape[0]!, ...logits.shape.slice(2)];
  if (labels.shape.join(',') !== expected.join(',')) {
    throw new ShapeError(`${op}: expected labels of shape [${expected.join(', ')}] for logits [${logits.shape.join(', ')}], got [${labels.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'int32') throw new DTypeError(`${op}: expected labels to have dtype int32 (class indices), got ${labels.dtype}`);
  const classes = opts.classes ?? 'present';
  if (classes !== 'present' && classes !== 'all') throw new ArgumentError(`${op}: expected classes 'present' or 'all', got '${String(classes)}'`);
  return scope(() => {
    const n = logits.shape[0]!;
    const c = logits.shape[1]!;
    const pixels = labels.numel / Math.max(n, 1);
    const keep = keptPixels(op, labels, opts.ignoreIndex);
    const safe = keep ? where(keep, labels, 0) : labels;
    // [N, C, P] planes: foreground of each class, and the softmax probabilities.
    let fg: Tensor = oneHot(safe.reshape([n, pixels]), c).permute([0, 2, 1]).float();
    const probs = logits.softmax(1).reshape([n, c, pixels]);
    let errors: Tensor = fg.sub(probs).abs();
    if (keep) {
      const kept = keep.reshape([n, 1, pixels]);
      fg = where(kept, fg, 0);
      errors = where(kept, errors, 0);
    }
    if (opts.perImage !== true) {
      // One row per class over the whole batch: [1, C, N P].
      fg = fg.permute([1, 0, 2]).reshape([1, c, n * pixels]);
      errors = errors.permute([1, 0, 2]).reshape([1, c, n * pixels]);
    }
    const perClass = lovaszExtension(errors, fg);
    if (classes === 'all') return perClass.mean() as Tensor<'float32'>;
    const present = fg.sum(2).gt(0).float();
    // The mean over present classes; 0 where none is present (max(count, 1) keeps 0 / 0 away).
    return perClass.mul(present).sum(1).div(present.sum(1).maximum(1)).mean() as Tensor<'float32'>;
  });
}
