/**
 * The fused class-index cross-entropy primitive (native/src/kernels/loss.h): one native pass
 * per position computes the loss and its class weight, instead of the log-softmax, gather
 * and weighting ops `nllLoss(logSoftmax(x))` composes. Differentiable with respect to the
 * logits. The loss functions (lib/losses) reduce its per-position results.
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty, emptyLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from './validate.js';

/** Settings of {@link crossEntropyPerPosition} and {@link crossEntropyBackward}. @internal */
export interface CrossEntropyPrimitiveOptions {
  /** Per-class weight `[C]`, or null for all ones. */
  weight: Tensor | null;
  /** Target value whose position gets loss 0 and weight 0. */
  ignoreIndex: number;
  /** Mix the target with the uniform distribution by this much, in [0, 1]. */
  labelSmoothing: number;
}

/** What {@link crossEntropyPerPosition} returns. @internal */
export interface CrossEntropyPerPosition {
  /** The loss at each position `[N, ...]`, recorded for backward when the logits need a gradient. */
  losses: Tensor<'float32'>;
  /** The class weight of each position's target `[N, ...]` (0 where ignored): the divisor of a weighted mean. */
  weights: Tensor<'float32'>;
}

/**
 * Cross entropy of logits `[N, C, ...]` against int32 class indices `[N, ...]` at every
 * position, with per-class weights, an ignored index and label smoothing, as the
 * unreduced `F.cross_entropy`. A target outside [0, C) that is not `ignoreIndex` is only
 * seen by the kernel: it rejects `data()` of the result with an IndexError.
 * @internal
 */
export function crossEntropyPerPosition(logits: Tensor, target: Tensor, opts: CrossEntropyPrimitiveOptions): CrossEntropyPerPosition {
  const op = 'crossEntropy';
  checkTensor(op, 'input', logits);
  checkTensor(op, 'target', target);
  checkDTypeIn(op, 'input', logits, ['float32']);
  checkDTypeIn(op, 'target', target, ['int32']);
  const { weight, ignoreIndex, labelSmoothing } = opts;
  checkSameDevice(op, weight ? { input: logits, target, weight } : { input: logits, target });
  if (logits.ndim < 2) throw new ShapeError(`${op}: expected input of shape [N, C, ...], got [${logits.shape.join(', ')}]`);
  const expected = [logits.shape[0]!, ...logits.shape.slice(2)];
  if (target.shape.join(',') !== expected.join(',')) {
    throw new ShapeError(`${op}: expected target of shape [${expected.join(', ')}] for input [${logits.shape.join(', ')}], got [${target.shape.join(', ')}]`);
  }
  if (weight) {
    checkTensor(op, 'weight', weight);
    checkDTypeIn(op, 'weight', weight, ['float32']);
    if (weight.ndim !== 1 || weight.shape[0] !== logits.shape[1]) {
      throw new ShapeError(`${op}: expected weight of shape [${logits.shape[1]}], got [${weight.shape.join(', ')}]`);
    }
  }
  if (!Number.isInteger(ignoreIndex)) throw new ArgumentError(`${op}: expected ignoreIndex to be an integer, got ${ignoreIndex}`);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new ArgumentError(`${op}: expected labelSmoothing in [0, 1], got ${labelSmoothing}`);

  const losses = empty(op, expected, 'float32', logits.device);
  const weights = empty(op, expected, 'float32', logits.device);
  native.crossEntropyForward(
    op,
    losses._native(op, 'losses'),
    weights._native(op, 'weights'),
    logits._native(op, 'input'),
    target._native(op, 'target'),
    weight ? weight._native(op, 'weight') : null,
    ignoreIndex,
    labelSmoothing,
  );
  if (!needsGrad(logits)) return { losses, weights };
  // Only what backward reads: the logits, the targets and the class weights.
  const saved = [saveForBackward(logits), saveForBackward(target), ...(weight ? [saveForBackward(weight)] : [])];
  const recorded = record(
    op,
    losses,
    [logits],
    (g) => {
      const [z, y, w] = saved as [Tensor, Tensor, Tensor | undefined];
      return [crossEntropyBackward(g, z, y, { weight: w ?? null, ignoreIndex, labelSmoothing })];
    },
    saved,
  );
  return { losses: recorded, weights };
}

/**
 * The gradient of {@link crossEntropyPerPosition}'s losses with respect to the logits:
 * `gradLosses` `[N, ...]` times (softmax minus the smoothed one-hot target), weighted,
 * zero at ignored positions. Shaped and laid out like `logits`.
 * @internal
 */
export function crossEntropyBackward(gradLosses: Tensor, logits: Tensor, target: Tensor, opts: CrossEntropyPrimitiveOptions): Tensor<'float32'> {
  const op = 'crossEntropyBackward';
  const grad = emptyLike(op, logits, logits.shape, 'float32');
  native.crossEntropyBackward(
    op,
    grad._native(op, 'grad'),
    gradLosses._native(op, 'gradLosses'),
    logits._native(op, 'input'),
    target._native(op, 'target'),
    opts.weight ? opts.weight._native(op, 'weight') : null,
    opts.ignoreIndex,
    opts.labelSmoothing,
  );
  return grad;
}
