/**
 * Cumulative sums and products along a dim, as `torch.cumsum` / `torch.cumprod`, on one
 * native O(n) scan primitive (native/src/kernels/scan.h). The gradient of cumsum is the
 * same scan run from the end; cumprod's follows PyTorch's `cumprod_backward`, zeros
 * included.
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { normalizeDim } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './compare.js';
import { sum } from './reduce.js';
import { checkDTypeIn, checkTensor } from './validate.js';

/** Binding codes (native/include/neocog/backend.h ScanOp). */
const SCAN_CODES = { cumsum: 0, cumprod: 1 } as const;
type ScanName = keyof typeof SCAN_CODES;

/** The native scan of `x` along `dim` into a new contiguous tensor; `reverse` scans from the end. */
function scanRaw<D extends DType>(op: ScanName, x: Tensor<D>, dim: number, reverse: boolean): Tensor<D> {
  const out = empty(op, x.shape, x.dtype, x.device);
  native.scan(op, SCAN_CODES[op], out._native(op, 'out'), x._native(op, 'input'), dim, reverse);
  return out;
}

/** Validates, resolves `dim`, and runs `body` on a tensor of rank >= 1 (a 0-d input scans as [1]). */
function cumulative<D extends DType>(op: ScanName, input: Tensor<D>, dim: number, body: (x: Tensor<D>, d: number) => Tensor<D>): Tensor<D> {
  checkTensor(op, 'input', input);
  checkDTypeIn(op, 'input', input, ['float32', 'int32']);
  const d = normalizeDim(op, dim, input.ndim);
  if (input.ndim > 0) return body(input, d);
  const line = input.reshape([1]);
  try {
    const scanned = body(line, 0);
    try {
      return scanned.reshape([]);
    } finally {
      scanned.dispose();
    }
  } finally {
    line.dispose();
  }
}

/**
 * Cumulative sum along `dim`, as `torch.cumsum`: `out[..., i, ...] = input[..., 0, ...] +
 * ... + input[..., i, ...]`. float32 (accumulated in float64 on the CPU, in float32 on
 * CUDA, as PyTorch does) or int32: the int32 result wraps where PyTorch's int64 would not.
 * Differentiable in float32 inputs.
 *
 * @example cumsum(tensor([[1, 2, 3], [4, 5, 6]]), 1) // [[1, 3, 6], [4, 9, 15]]
 */
export function cumsum<D extends DType>(input: Tensor<D>, dim: number): Tensor<D> {
  return cumulative('cumsum', input, dim, (x, d) => {
    const out = scanRaw('cumsum', x, d, false);
    if (!needsGrad(x)) return out;
    return record('cumsum', out, [x], (g) => [scanRaw('cumsum', g, d, true)]);
  });
}

/**
 * Cumulative product along `dim`, as `torch.cumprod`: `out[..., i, ...] = input[..., 0, ...]
 * * ... * input[..., i, ...]`. float32 (accumulated as in {@link cumsum}) or int32 (wraps).
 * Differentiable in float32 inputs, zeros included (PyTorch's gradient: positions after a
 * line's first zero get 0, the first zero gets the product of the others).
 *
 * @example cumprod(tensor([1, 2, 3, 4]), 0) // [1, 2, 6, 24]
 */
export function cumprod<D extends DType>(input: Tensor<D>, dim: number): Tensor<D> {
  return cumulative('cumprod', input, dim, (x, d) => {
    const out = scanRaw('cumprod', x, d, false);
    if (!needsGrad(x)) return out;
    const saved = [saveForBackward(x), saveForBackward(out)];
    return record('cumprod', out, [x], (g) => [cumprodBackward(saved[0]!, saved[1]!, g, d)], saved);
  });
}

/**
 * d(sum(g * cumprod(x)))/dx along `d`, as PyTorch's cumprod_backward. With z the index of a
 * line's first zero: before z, reversedCumsum(g * y) / x; at z, prod(x[<z]) times
 * sum over k >= z of g[k] * prod(x[z+1..k]); after z, 0. Lines without a zero take the first
 * case throughout. Computed for every line alike, so no host read decides the path.
 */
function cumprodBackward(x: Tensor, y: Tensor, g: Tensor, d: number): Tensor {
  const n = x.shape[d]!;
  if (n <= 1) return g.detach();
  const isZero = x.eq(0);
  const zerosSoFar = scanRaw('cumsum', isZero.to('int32'), d, false);
  const before = zerosSoFar.eq(0);
  // Positions up to and including the first zero: no zero strictly before them.
  const upToFirst = zerosSoFar.sub(isZero.to('int32')).eq(0);
  const first = where(isZero, upToFirst.to('int32'), 0).eq(1);
  // Before the first zero (every position of a line without one).
  const tail = scanRaw('cumsum', where(before, g.mul(y), 0), d, true);
  const gradBefore = tail.div(x);
  // At the first zero: the product before it, times the products after it (up to the
  // next zero, where they become 0) weighted by g.
  const after = scanRaw('cumprod', where(upToFirst, 1, x), d, false);
  const weighted = sum(where(zerosSoFar.eq(1), g.mul(after), 0), d, { keepdim: true });
  const prefix = scanRaw('cumprod', where(before, x, 1), d, false).slice(d, n - 1, n);
  return where(before, gradBefore, where(first, prefix.mul(weighted), 0));
}
