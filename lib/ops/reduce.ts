/**
 * Reductions over dims, as torch.sum / mean / amax / amin: `dim` is a dim, a list of
 * dims or omitted (all); `keepdim` keeps reduced dims with size 1.
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
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

/** Sum over `dim` (all dims when omitted). float32 or int32. */
export function sum<D extends DType>(x: Tensor<D>, dim?: number | readonly number[], opts?: ReduceOptions): Tensor<D> {
  return reduction('sum', x, dim, opts);
}

/** Mean over `dim` (all dims when omitted). float32. */
export function mean<D extends DType>(x: Tensor<D>, dim?: number | readonly number[], opts?: ReduceOptions): Tensor<D> {
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
