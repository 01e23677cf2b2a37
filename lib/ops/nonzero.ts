/**
 * Compaction, as `torch.nonzero`, `torch.masked_select` and boolean-mask indexing (`x[mask]`):
 * results whose length depends on the data. The positions are found on the device by the
 * native `nonzero` primitive (a two-pass parallel scan on the CPU, CUB's DeviceSelect on
 * CUDA); only their count is read back, because the result's shape needs it. So the plain
 * forms wait for the stream (as PyTorch's do on CUDA); the `...Async` forms wait without
 * blocking the event loop.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ShapeError } from '../errors.js';
import { native } from '../native.js';
import { arange, empty, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { scope } from '../tensor/memory.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { indexSelect } from './indexing.js';
import { stack } from './shape.js';
import { checkSameDevice, checkTensor } from './validate.js';

/** The positions of the nonzero elements of `mask` (row-major, in order) and their count, as queued. */
interface Compaction {
  /** int32 `[n]`: the positions, then unspecified values. */
  positions: Tensor<'int32'>;
  /** int32 `[1]`: how many positions there are. */
  count: Tensor<'int32'>;
}

function compact(op: string, mask: Tensor): Compaction {
  return noGrad(() => {
    // The kernel reads a dense mask of any dtype but the 16-bit floats (widened here).
    const half = mask.dtype === 'float16' || mask.dtype === 'bfloat16';
    const dense = half ? mask.to('float32') : mask.contiguous();
    const positions = empty(op, [dense.numel], 'int32', mask.device);
    const count = empty(op, [1], 'int32', mask.device);
    native.nonzero(op, positions._native(op, 'positions'), count._native(op, 'count'), dense._native(op, 'mask'));
    return { positions, count };
  });
}

/** What a compaction op selects over (`mask`), and how it builds its result from the positions. */
interface Plan<T> {
  op: string;
  mask: Tensor;
  finish: (positions: Tensor<'int32'>) => T;
}

// Each runs inside a scope, which frees every temporary (the compaction, views the plan made)
// and keeps the result.
function runSync<T>(plan: () => Plan<T>): T {
  return scope(() => {
    const p = plan();
    const { positions, count } = compact(p.op, p.mask);
    return p.finish(positions.slice(0, 0, count.dataSync()[0]!));
  });
}

function runAsync<T>(plan: () => Plan<T>): Promise<T> {
  return scope(async () => {
    const p = plan();
    const { positions, count } = compact(p.op, p.mask);
    return p.finish(positions.slice(0, 0, (await count.data())[0]!));
  });
}

/** `[count, ndim]` coordinates of the nonzero elements of `input`, row-major. */
function nonzeroPlan(op: string, input: Tensor): Plan<Tensor<'int32'>> {
  const shape = checkTensor(op, 'input', input).shape;
  return {
    op,
    mask: input,
    finish: (positions) => {
      const device = positions.device;
      if (shape.length === 0) return zeros([positions.shape[0]!, 0], { dtype: 'int32', device });
      // Each dim's coordinate of every element, as a flat grid, picked at the positions.
      const columns = shape.map((size, d) => {
        const along = shape.map((_, i) => (i === d ? size : 1));
        const grid = arange(size, { dtype: 'int32', device }).reshape(along).expand(shape).contiguous().reshape([-1]);
        return indexSelect(grid, 0, positions);
      });
      return stack(columns, 1);
    },
  };
}

/** Rows of `input` flattened as torch.masked_select broadcasts it with `mask`. */
function maskedSelectPlan<D extends DType>(op: string, input: Tensor<D>, mask: Tensor): Plan<Tensor<D>> {
  checkTensor(op, 'input', input);
  checkTensor(op, 'mask', mask);
  checkSameDevice(op, { input, mask });
  const shape = broadcastShapes(op, input.shape, mask.shape);
  const flat = input.expand(shape).reshape([-1]);
  return { op, mask: mask.expand(shape), finish: (positions) => indexSelect(flat, 0, positions) };
}

/** `input` with the mask's (leading) dims flattened into one. */
function booleanMaskPlan<D extends DType>(op: string, input: Tensor<D>, mask: Tensor): Plan<Tensor<D>> {
  checkTensor(op, 'input', input);
  checkTensor(op, 'mask', mask);
  checkSameDevice(op, { input, mask });
  const k = mask.ndim;
  if (k === 0 || k > input.ndim || mask.shape.some((s, i) => s !== input.shape[i])) {
    throw new ShapeError(`${op}: expected a mask of the leading dims of input [${input.shape.join(', ')}], got [${mask.shape.join(', ')}]`);
  }
  const rows = input.reshape([mask.numel, ...input.shape.slice(k)]);
  return { op, mask, finish: (positions) => indexSelect(rows, 0, positions) };
}

/**
 * Coordinates `[count, ndim]` (int32) of the nonzero elements of `input`, in row-major
 * order, as `torch.nonzero`. Waits for the stream: see {@link nonzeroAsync}.
 * @example nonzero(tensor([[0, 1], [2, 0]])).tolist() // [[0, 1], [1, 0]]
 */
export function nonzero(input: Tensor): Tensor<'int32'> {
  return runSync(() => nonzeroPlan('nonzero', input));
}

/** {@link nonzero} without blocking the event loop. @example const where = await nonzeroAsync(scores.gt(0.5)); */
export function nonzeroAsync(input: Tensor): Promise<Tensor<'int32'>> {
  return runAsync(() => nonzeroPlan('nonzeroAsync', input));
}

/**
 * The elements of `input` where `mask` (the two broadcast together) is nonzero, as a 1-D
 * tensor, as `torch.masked_select`. Differentiable with respect to `input`. Waits for the
 * stream: see {@link maskedSelectAsync}.
 * @example maskedSelect(scores, scores.gt(0.05)) // the scores above 0.05
 */
export function maskedSelect<D extends DType>(input: Tensor<D>, mask: Tensor): Tensor<D> {
  return runSync(() => maskedSelectPlan('maskedSelect', input, mask));
}

/** {@link maskedSelect} without blocking the event loop. @example const kept = await maskedSelectAsync(scores, keep); */
export function maskedSelectAsync<D extends DType>(input: Tensor<D>, mask: Tensor): Promise<Tensor<D>> {
  return runAsync(() => maskedSelectPlan('maskedSelectAsync', input, mask));
}

/**
 * Boolean-mask indexing, PyTorch's `input[mask]`: `mask` has the shape of `input`'s leading
 * dims; the result stacks the sub-tensors where it is nonzero, `[count, ...rest]`.
 * Differentiable with respect to `input`. Waits for the stream: see {@link booleanMaskAsync}.
 * @example booleanMask(boxes, scores.gt(0.05)) // [K, 4]: the boxes scoring above 0.05
 */
export function booleanMask<D extends DType>(input: Tensor<D>, mask: Tensor): Tensor<D> {
  return runSync(() => booleanMaskPlan('booleanMask', input, mask));
}

/** {@link booleanMask} without blocking the event loop. @example const kept = await booleanMaskAsync(boxes, keep); */
export function booleanMaskAsync<D extends DType>(input: Tensor<D>, mask: Tensor): Promise<Tensor<D>> {
  return runAsync(() => booleanMaskPlan('booleanMaskAsync', input, mask));
}

/** The flat (row-major) positions `[count]` of the nonzero elements of `mask`, e.g. the kept rows of a 1-D mask. @internal */
export function flatNonzero(op: string, mask: Tensor): Tensor<'int32'> {
  return runSync(() => ({ op, mask, finish: (positions) => positions }));
}

/** {@link flatNonzero} without blocking the event loop. @internal */
export function flatNonzeroAsync(op: string, mask: Tensor): Promise<Tensor<'int32'>> {
  return runAsync(() => ({ op, mask, finish: (positions) => positions }));
}
