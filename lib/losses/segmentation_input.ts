/**
 * The preamble the overlap losses (Dice, Tversky, focal) share, as MONAI's: check logits
 * `[N, C, ...spatial]` against class-index or one-hot targets, apply the sigmoid or softmax,
 * one-hot the indices and drop the background channel. Composed from differentiable ops.
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { oneHot } from '../ops/shape.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import type { Tensor } from '../tensor/tensor.js';

/** The activation and channel options the segmentation losses share. */
export interface SegmentationLossInputOptions {
  /** Apply a sigmoid to `input` first (binary or multi-label logits; default false). */
  sigmoid?: boolean;
  /** Apply a softmax over the channels of `input` first (multi-class logits; default false). */
  softmax?: boolean;
  /** Keep channel 0 (the background); false drops it from input and target (default true). */
  includeBackground?: boolean;
}

/** Checked, activated and one-hot input/target pair, both float32 `[N, C', ...spatial]`. */
export interface SegmentationLossPair {
  /** The input after the activation, background dropped when asked. */
  probs: Tensor<'float32'>;
  /** The target as float32 one-hot (or the given masks), background dropped when asked. */
  truth: Tensor<'float32'>;
}

/**
 * Checks `input` (float32 `[N, C, ...spatial]`) and `target` (int32 class indices
 * `[N, ...spatial]`, or one-hot / masks of the input's shape in any dtype); true when the
 * target holds class indices.
 */
function checkSegmentationTarget(op: string, input: Tensor, target: Tensor): boolean {
  checkTensor(op, 'input', input);
  checkTensor(op, 'target', target);
  checkDTypeIn(op, 'input', input, ['float32']);
  checkSameDevice(op, { input, target });
  if (input.ndim < 3) {
    throw new ShapeError(`${op}: expected input of rank >= 3 ([N, C, ...spatial] logits), got [${input.shape.join(', ')}]`);
  }
  if (target.shape.join(',') === input.shape.join(',')) return false;
  const indexShape = [input.shape[0]!, ...input.shape.slice(2)];
  if (target.shape.join(',') !== indexShape.join(',')) {
    throw new ShapeError(
      `${op}: expected target of shape [${indexShape.join(', ')}] (int32 class indices) or [${input.shape.join(', ')}] (one-hot) for input [${input.shape.join(', ')}], got [${target.shape.join(', ')}]`,
    );
  }
  if (target.dtype !== 'int32') throw new DTypeError(`${op}: expected class-index target [${indexShape.join(', ')}] to have dtype int32, got ${target.dtype}`);
  return true;
}

/**
 * Refuses sigmoid with softmax, a softmax over one channel (always 1) and dropping the only
 * channel, for input `[N, C, ...]` already checked.
 */
export function checkActivation(op: string, input: Tensor, opts: SegmentationLossInputOptions): void {
  const classes = input.shape[1]!;
  if (opts.sigmoid && opts.softmax) throw new ArgumentError(`${op}: expected at most one of sigmoid and softmax, got both true`);
  if (opts.softmax && classes === 1) {
    throw new ArgumentError(`${op}: softmax over a single channel is always 1; expected input with C >= 2 channels or sigmoid, got [${input.shape.join(', ')}]`);
  }
  if (opts.includeBackground === false && classes === 1) {
    throw new ArgumentError(`${op}: includeBackground false would drop the only channel of input [${input.shape.join(', ')}]; expected C >= 2`);
  }
}

/**
 * Checks `input` and `target` as {@link segmentationLossPair} and `opts` as
 * {@link checkActivation}, then returns the target as float32 `[N, C, ...spatial]`. Class
 * indices outside [0, C) are found by the one-hot kernel: they reject `data()` of the loss
 * with an IndexError (no blocking read here).
 * @internal
 */
export function targetAsOneHot(op: string, input: Tensor, target: Tensor, opts: SegmentationLossInputOptions = {}): Tensor<'float32'> {
  const indices = checkSegmentationTarget(op, input, target);
  checkActivation(op, input, opts);
  if (!indices) return target.float();
  const r = target.ndim;
  // oneHot puts the classes last; the losses want them at dim 1.
  const perm = [0, r, ...Array.from({ length: r - 1 }, (_, i) => i + 1)];
  return oneHot(target, input.shape[1]!).permute(perm).float();
}

/**
 * Checks `input` (float32 `[N, C, ...spatial]`), `target` (int32 class indices
 * `[N, ...spatial]`, or one-hot / masks of the input's shape in any dtype) and `opts`, then
 * applies the activation, one-hots the target and drops the background.
 * @internal
 */
export function segmentationLossPair(op: string, input: Tensor, target: Tensor, opts: SegmentationLossInputOptions): SegmentationLossPair {
  const truth = targetAsOneHot(op, input, target, opts);
  let probs = input as Tensor<'float32'>;
  if (opts.sigmoid) probs = input.sigmoid() as Tensor<'float32'>;
  if (opts.softmax) probs = input.softmax(1);
  if (opts.includeBackground === false) return { probs: probs.slice(1, 1), truth: truth.slice(1, 1) };
  return { probs, truth };
}

/** The dims a per-(sample, class) sum runs over: the spatial ones, and the batch with `batch`. */
export function overlapAxes(ndim: number, batch: boolean): number[] {
  const spatial = Array.from({ length: ndim - 2 }, (_, i) => i + 2);
  return batch ? [0, ...spatial] : spatial;
}

/** ArgumentError unless `value` is a finite number >= `min`. */
export function checkNumber(op: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new ArgumentError(`${op}: expected ${name} to be a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}
