/**
 * Reductions over dims, as torch.sum / mean / amax / amin: `dim` is a dim, a list of
 * dims or omitted (all); `keepdim` keeps reduced dims with size 1.
 * @module
 */
import { inFloat32 } from '../amp/autocast.js';
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { DTypeError } from '../errors.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import { isHalf, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkTensor, uniqueDims } from './validate.js';

/** Binding codes (native/include/neocog/backend.h ReduceOp). */
const REDUCE_CODES = { sum: 0, mean: 1, amax: 2, amin: 3 } as const;
type ReduceName = keyof typeof REDUCE_CODES;

/** Options of the reductions. */
export interface ReduceOptions {
  /** Keep reduced dims as size 1 (default false). */
  keepdim?: boolean;
}

/**
 * The dtype of a sum: integer and bool inputs sum to int32 (PyTorch: int64), so counting
 * the trues of a mask or summing uint8 pixels does not wrap; floats keep their dtype.
 */
export type SumDType<D extends DType> = D extends 'bool' | 'uint8' | 'int32' ? 'int32' : D;

function reducedDims(op: string, x: Tensor, dim: number | readonly number[] | undefined): Set<number> {
  if (dim === undefined) return new Set(x.shape.keys());
  return new Set(uniqueDims(op, typeof dim === 'number' ? [dim] : dim, x.ndim));
}

/** Native reduction into the keepdim shape. */
function reduceRaw<D extends DType>(op: ReduceName, x: Tensor<D>, dims: Set<number>): Tensor<D> {
  const keptShape = x.shape.map((s, d) => (dims.has(d) ? 1 : s));
  const out = empty(op, keptShape, x.dtype, x.device);
  native.reduce(op, REDUCE_CODES[op], out._native(op, 'out'), x._native(op));
  return out;
}

function finish<D extends DType>(op: string, kept: Tensor<D>, x: Tensor, dims: Set<number>, keepdim: boolean): Tensor<D> {
  if (keepdim) return kept;
  const shape = x.shape.filter((_, d) => !dims.has(d));
  try {
    return kept.reshape(shape);
  } finally {
    kept.dispose();
  }
}

function reduction<D extends DType>(
  op: ReduceName,
  x: Tensor<D>,
  dim: number | readonly number[] | undefined,
  opts: ReduceOptions | undefined,
): Tensor<D> {
  checkTensor(op, 'input', x);
  // 16-bit inputs reduce in float32 (as PyTorch accumulates them) and round once.
  if (isHalf(x.dtype)) return inFloat32([x], ([wide]) => reduction(op, wide!, dim, opts)) as Tensor<D>;
  if (op === 'sum' || op === 'mean') checkDTypeIn(op, 'input', x, op === 'mean' ? ['float32'] : ['float32', 'int32']);
  else checkDTypeIn(op, 'input', x, ['float32', 'int32', 'uint8']);
  const dims = reducedDims(op, x, dim);
  const keepdim = opts?.keepdim ?? false;
  const kept = reduceRaw(op, x, dims);
  const inputShape = x.shape;
  const count = [...dims].reduce((n, d) => n * x.shape[d]!, 1);
  let out: Tensor<D>;
  if (op === 'sum' || op === 'mean') {
    out = record(op, kept, [x], (g) => {
      const expanded = g.reshape(inputShape.map((s, d) => (dims.has(d) ? 1 : s))).expand(inputShape);
      return [op === 'mean' ? expanded.div(count) : expanded.contiguous()];
    });
  } else {
    // Gradient shared evenly among the elements equal to the extreme, as torch.amax.
    const saved = needsGrad(x) ? [saveForBackward(x), saveForBackward(kept)] : [];
    out = record(
      op,
      kept,
      [x],
      (g) => {
        const [input, extreme] = saved as unknown as [Tensor<'float32'>, Tensor<'float32'>];
        const mask = input.eq(extreme).to('float32');
        const ties = reduceRaw('sum', mask, dims);
        const keptShape = inputShape.map((s, d) => (dims.has(d) ? 1 : s));
        return [mask.mul(g.reshape(keptShape).div(ties))];
      },
      saved,
    );
  }
  return finish(op, out, x, dims, keepdim);
}

/**
 * Sum over `dim` (all dims when omitted), as `torch.sum`. float32 sums to float32; int32,
 * uint8 and bool sum to int32 (PyTorch: int64), so `mask.sum()` counts the trues.
 */
export function sum<D extends DType>(x: Tensor<D>, dim?: number | readonly number[], opts?: ReduceOptions): Tensor<SumDType<D>> {
  checkTensor('sum', 'input', x);
  if (x.dtype !== 'bool' && x.dtype !== 'uint8') return reduction('sum', x, dim, opts) as Tensor<DType> as Tensor<SumDType<D>>;
  const widened = x.to('int32');
  try {
    return reduction('sum', widened, dim, opts) as Tensor<DType> as Tensor<SumDType<D>>;
  } finally {
    widened.dispose();
  }
}

/**
 * Mean over `dim` (all dims when omitted), as `torch.mean`. float32 only: like PyTorch, the
 * mean of an integer or bool tensor is refused (DTypeError) rather than guessing a dtype.
 */
export function mean<D extends DType>(x: Tensor<D>, dim?: number | readonly number[], opts?: ReduceOptions): Tensor<D> {
  checkTensor('mean', 'input', x);
  if (x.dtype === 'int32' || x.dtype === 'uint8' || x.dtype === 'bool') {
    throw new DTypeError(
      `mean: could not infer output dtype; expected input to have a floating point dtype, got ${x.dtype} (convert with .to('float32'), as PyTorch asks)`,
    );
  }
  return reduction('mean', x, dim, opts);
}

/** Maximum over `dim` (all dims when omitted), as torch.amax; NaN propagates. */
export function amax<D extends DType>(x: Tensor<D>, dim?: number | readonly number[], opts?: ReduceOptions): Tensor<D> {
  return reduction('amax', x, dim, opts);
}

/** Minimum over `dim` (all dims when omitted), as torch.amin; NaN propagates. */
export function amin<D extends DType>(x: Tensor<D>, dim?: number | readonly number[], opts?: ReduceOptions): Tensor<D> {
  return reduction('amin', x, dim, opts);
}

/**
 * Sums a broadcast gradient back to `shape` (leading dims and dims that were 1).
 * @internal
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join(',') === shape.join(',')) return g.detach();
  const lead = g.ndim - shape.length;
  const dims = new Set<number>();
  g.shape.forEach((size, d) => {
    if (d < lead || (shape[d - lead] === 1 && size !== 1)) dims.add(d);
  });
  const kept = reduceRaw('sum', g, dims);
  try {
    return kept.reshape(shape);
  } finally {
    kept.dispose();
  }
}
