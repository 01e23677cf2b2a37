/**
 * Dropout, as `F.dropout` / `F.dropout2d`, and torchvision's `ops.stochastic_depth`: in
 * training, zeroes elements (or whole channels, or whole samples) with probability `p` from
 * the seeded generator and scales the rest by 1 / (1 - p); otherwise returns the input
 * unchanged (a new handle on it).
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { rand } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkTensor } from './validate.js';

/** Options of the dropout functions. */
export interface DropoutOptions {
  /** Probability of zeroing (default 0.5). */
  p?: number;
  /** Apply dropout (default true, as F.dropout); modules pass their own mode. */
  training?: boolean;
}

function dropoutWithMask(op: string, input: Tensor, maskShape: readonly number[], opts: DropoutOptions): Tensor<'float32'> {
  checkTensor(op, 'input', input);
  checkDTypeIn(op, 'input', input, ['float32', 'bfloat16', 'float16']);
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`${op}: expected p in [0, 1], got ${p}`);
  if (!(opts.training ?? true) || p === 0) return input.reshape(input.shape) as Tensor<'float32'>; // a view, gradients pass
  if (p === 1) return input.mul(0) as Tensor<'float32'>;
  const keep = rand(maskShape, { device: input.device }).ge(p).to(input.dtype);
  return input.mul(keep.mul(1 / (1 - p))) as Tensor<'float32'>;
}

/** Zeroes each element with probability `p` in training. */
export function dropout(input: Tensor, opts: DropoutOptions = {}): Tensor<'float32'> {
  return dropoutWithMask('dropout', input, input.shape, opts);
}

/** Zeroes whole channels of `[N, C, H, W]` with probability `p` in training. */
export function dropout2d(input: Tensor, opts: DropoutOptions = {}): Tensor<'float32'> {
  if (input.ndim !== 4 && input.ndim !== 3) {
    throw new ShapeError(`dropout2d: expected input of rank 4 ([N, C, H, W]) or 3 ([C, H, W]), got ${input.ndim}`);
  }
  const maskShape = input.shape.map((s, i) => (i < input.ndim - 2 ? s : 1));
  return dropoutWithMask('dropout2d', input, maskShape, opts);
}

/**
 * Options of {@link stochasticDepth}.
 *
 * @example
 * stochasticDepth(branch, { p: 0.2, mode: 'batch', training: true })
 */
export interface StochasticDepthOptions extends DropoutOptions {
  /**
   * `'row'` drops each sample of the batch on its own (mask `[N, 1, ...]`, as EfficientNet
   * and ConvNeXt use it); `'batch'` drops the whole input at once (mask `[1, ...]`). Default 'row'.
   */
  mode?: 'row' | 'batch';
}

/** Checks a stochastic depth mode for `op` (the op, or the layer at construction); returns it. */
export function checkStochasticDepthMode(op: string, mode: unknown): 'row' | 'batch' {
  if (mode !== 'row' && mode !== 'batch') throw new ArgumentError(`${op}: expected mode 'row' or 'batch', got ${describe(mode)}`);
  return mode;
}

/**
 * Stochastic depth (Huang et al. 2016), as torchvision's `ops.stochastic_depth`: in
 * training, zeroes a residual branch's output `[N, ...]` with probability `p` per sample
 * (`'row'`) or for the whole batch (`'batch'`) and scales what survives by 1 / (1 - p);
 * outside training, or with p 0, the input passes unchanged. Composed of differentiable ops
 * (a random mask times the input), so it needs no backward of its own.
 *
 * @example
 * const branch = stochasticDepth(block.call(x), { p: 0.1, training: model.training });
 * const out = add(branch, x);
 */
export function stochasticDepth(input: Tensor, opts: StochasticDepthOptions = {}): Tensor<'float32'> {
  const op = 'stochasticDepth';
  const mode = checkStochasticDepthMode(op, opts.mode ?? 'row');
  checkTensor(op, 'input', input);
  if (input.ndim < 1) throw new ShapeError(`${op}: expected input with a batch dim ([N, ...]), got a scalar`);
  const maskShape = input.shape.map((s, i) => (i === 0 && mode === 'row' ? s : 1));
  // torchvision draws bernoulli(1 - p) and divides by 1 - p: dropout's mask on these dims.
  return dropoutWithMask(op, input, maskShape, opts);
}
