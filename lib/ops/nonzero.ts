/**
 * Compaction, as `torch.nonzero`, `torch.masked_select` and boolean-mask indexing (`x[mask]`):
 * results whose length depends on the data. The positions are found on the device in O(n)
 * (a cumulative sum ranks each selected element, a scatter writes its position at its
 * rank); only their count is read back, because the result's shape needs it. So the plain
 * forms wait for the stream (as PyTorch's do on CUDA); the `...Async` forms wait without
 * blocking the event loop.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ShapeError } from '../errors.js';
import { arange, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { scope } from '../tensor/memory.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ne, where } from './compare.js';
import { cumsum } from './cumulative.js';
import { indexSelect } from './indexing.js';
import { scatterAdd } from './resample.js';
import { stack } from './shape.js';
import { checkSameDevice, checkTensor } from './validate.js';

/** The flat positions of the nonzero elements of `mask` (in order) and their count, as queued. */
interface Compaction {
  /** int32 `[n + 1]`: the positions, then unspecified values (the last slot collects the unselected). */
  positions: Tensor<'int32'>;
  /** int32 `[1]`: how many positions there are. */
  count: Tensor<'int32'>;
}

function compact(mask: Tensor): Compaction {
  return noGrad(() =>
    scope(() => {
      const selected = (mask.dtype === 'bool' ? mask : ne(mask, 0)).reshape([-1]);
      const n = selected.shape[0]!;
      const device = mask.device;
      if (n === 0) return { positions: zeros([1], { dtype: 'int32', device }), count: zeros([1], { dtype: 'int32', device }) };
      const ranks = cumsum(selected.to('int32'), 0); // 1-based rank of each selected element
      const slot = where(selected, ranks.sub(1), n);
      const index = arange(n, { dtype: 'int32', device });
      const positions = scatterAdd(zeros([n + 1], { dtype: 'int32', device }), 0, slot, where(selected, index, 0));
      return { positions, count: ranks.slice(0, n - 1, n).contiguous() };
    }),
  );
}

/** What a compaction op selects over (`mask`), and how it builds its result from the positions. */
interface Plan<T> {
  mask: Tensor;
  finish: (positions: Tensor<'int32'>) => T;
}

/** The plan's result from the first `count` positions; frees the compaction. */
function finish<T>({ positions, count }: Compaction, n: number, plan: Plan<T>): T {
  const kept = positions.slice(0, 0, n).contiguous();
  positions.dispose();
  count.dispose();
  try {
    return plan.finish(kept);
  } finally {
    kept.dispose();
  }
}

function runSync<T>(plan: Plan<T>): T {
  const c = compact(plan.mask);
  return finish(c, c.count.dataSync()[0]!, plan);
}

async function runAsync<T>(plan: Plan<T>): Promise<T> {
  const c = compact(plan.mask);
  return finish(c, (await c.count.data())[0]!, plan);
}

/** `[count, ndim]` coordinates of the nonzero elements of `input`, row-major. */
function nonzeroPlan(op: string, input: Tensor): Plan<Tensor<'int32'>> {
  const x = checkTensor(op, 'input', input);
  const shape = x.shape;
  return {
    mask: x,
    finish: (positions) =>
      scope(() => {
        const device = positions.device;
        if (shape.length === 0) return zeros([positions.shape[0]!, 0], { dtype: 'int32', device });
        // Each dim's coordinate of every element, as a flat grid, picked at the positions.
        const columns = shape.map((size, d) => {
          const along = shape.map((_, i) => (i === d ? size : 1));
          const grid = arange(size, { dtype: 'int32', device }).reshape(along).expand(shape).contiguous().reshape([-1]);
          return indexSelect(grid, 0, positions);
        });
        return stack(columns, 1);
      }),
  };
}

/** Rows of `input` flattened as torch.masked_select broadcasts it with `mask`. */
function maskedSelectPlan<D extends DType>(op: string, input: Tensor<D>, mask: Tensor): Plan<Tensor<D>> {
  checkTensor(op, 'input', input);
  checkTensor(op, 'mask', mask);
  checkSameDevice(op, { input, mask });
  const shape = broadcastShapes(op, input.shape, mask.shape);
  const flat = input.expand(shape).reshape([-1]);
  return { mask: mask.expand(shape), finish: (positions) => indexSelect(flat, 0, positions) };
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
  return { mask, finish: (positions) => indexSelect(rows, 0, positions) };
}

/**
 * Coordinates `[count, ndim]` (int32) of the nonzero elements of `input`, in row-major
 * order, as `torch.nonzero`. Waits for the stream: see {@link nonzeroAsync}.
 * @example nonzero(tensor([[0, 1], [2, 0]])).tolist() // [[0, 1], [1, 0]]
 */
export function nonzero(input: Tensor): Tensor<'int32'> {
  return runSync(nonzeroPlan('nonzero', input));
}

/** {@link nonzero} without blocking the event loop. @example const where = await nonzeroAsync(scores.gt(0.5)); */
export async function nonzeroAsync(input: Tensor): Promise<Tensor<'int32'>> {
  return runAsync(nonzeroPlan('nonzeroAsync', input));
}

/**
 * The elements of `input` where `mask` (the two broadcast together) is nonzero, as a 1-D
 * tensor, as `torch.masked_select`. Differentiable with respect to `input`. Waits for the
 * stream: see {@link maskedSelectAsync}.
 * @example maskedSelect(scores, scores.gt(0.05)) // the scores above 0.05
 */
export function maskedSelect<D extends DType>(input: Tensor<D>, mask: Tensor): Tensor<D> {
  return runSync(maskedSelectPlan('maskedSelect', input, mask));
}

/** {@link maskedSelect} without blocking the event loop. @example const kept = await maskedSelectAsync(scores, keep); */
export async function maskedSelectAsync<D extends DType>(input: Tensor<D>, mask: Tensor): Promise<Tensor<D>> {
  return runAsync(maskedSelectPlan('maskedSelectAsync', input, mask));
}

/**
 * Boolean-mask indexing, PyTorch's `input[mask]`: `mask` has the shape of `input`'s leading
 * dims; the result stacks the sub-tensors where it is nonzero, `[count, ...rest]`.
 * Differentiable with respect to `input`. Waits for the stream: see {@link booleanMaskAsync}.
 * @example booleanMask(boxes, scores.gt(0.05)) // [K, 4]: the boxes scoring above 0.05
 */
export function booleanMask<D extends DType>(input: Tensor<D>, mask: Tensor): Tensor<D> {
  return runSync(booleanMaskPlan('booleanMask', input, mask));
}

/** {@link booleanMask} without blocking the event loop. @example const kept = await booleanMaskAsync(boxes, keep); */
export async function booleanMaskAsync<D extends DType>(input: Tensor<D>, mask: Tensor): Promise<Tensor<D>> {
  return runAsync(booleanMaskPlan('booleanMaskAsync', input, mask));
}
