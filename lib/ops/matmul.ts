/**
 * Matrix products, as `torch.matmul`: 1-d operands are promoted (and the added dim
 * removed), batch dims broadcast. CPU: oneDNN matmul; CUDA: cuBLAS.
 * @module
 */
import { autocastTarget, inFloat32, inHalf } from '../amp/autocast.js';
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { matmulMathOptions } from '../backends.js';
import { ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import { broadcastShapes, broadcastStrides, numelOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { sumTo } from './reduce.js';
import { checkDTypeIn, checkSameDevice, checkSameDType, checkTensor, FLOAT_DTYPES } from './validate.js';

/** True when the last two dims are row- or column-contiguous (what cuBLAS can read). */
function isMatrixLayout(t: Tensor): boolean {
  const [rows, cols] = t.shape.slice(-2) as [number, number];
  const [rowStride, colStride] = t.strides.slice(-2) as [number, number];
  return colStride === 1 || cols === 1 || rowStride === 1 || rows === 1;
}

/** A new handle on `t`, copied to contiguous only when cuBLAS could not read its layout. */
function asMatrix(t: Tensor): Tensor {
  return isMatrixLayout(t) ? t._view('matmul', t.shape, t.strides) : t.contiguous();
}

/**
 * Matrix product of `input` `[..., M, K]` and `other` `[..., K, N]` -> `[..., M, N]`.
 * 1-d operands are treated as a row (`input`) or column (`other`) vector.
 *
 * @example
 * matmul(randn([8, 3, 4]), randn([4, 5])).shape // [8, 3, 5]
 */
export function matmul(input: Tensor, other: Tensor): Tensor<'float32'> {
  checkTensor('matmul', 'input', input);
  checkTensor('matmul', 'other', other);
  const half = autocastTarget(input.device, input.dtype);
  if (half && other.dtype === 'float32') return inHalf(half, [input, other], ([a, b]) => matmul(a!, b!));
  const out = matmulForward(input, other);
  if (!needsGrad(input, other)) return out;
  const a = saveForBackward(input);
  const b = saveForBackward(other);
  return record(
    'matmul',
    out,
    [input, other],
    (g) => {
      // In the promoted (>= 2-d) forms: dA = dC B^T and dB = A^T dC, summed over broadcast batch dims.
      const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
      const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
      const c2Shape = [...g.shape.slice(0, g.ndim - (a.ndim === 1 ? 0 : 1) - (b.ndim === 1 ? 0 : 1)), a2.shape[a2.ndim - 2]!, b2.shape[b2.ndim - 1]!];
      const g2 = g.reshape(c2Shape);
      const ga = reduceTo(matmulForward(g2, b2.transpose(-1, -2)), a2.shape).reshape(a.shape);
      const gb = reduceTo(matmulForward(a2.transpose(-1, -2), g2), b2.shape).reshape(b.shape);
      return [ga, gb];
    },
    [a, b],
  );
}

/** sumTo over broadcast batch dims; 16-bit gradients are summed in float32. */
function reduceTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join(',') === shape.join(',')) return sumTo(g, shape);
  return inFloat32([g], ([wide]) => sumTo(wide!, shape));
}

function matmulForward(input: Tensor, other: Tensor): Tensor<'float32'> {
  checkTensor('matmul', 'input', input);
  checkTensor('matmul', 'other', other);
  checkSameDevice('matmul', { input, other });
  checkDTypeIn('matmul', 'input', input, FLOAT_DTYPES);
  checkSameDType('matmul', { input, other });
  if (input.ndim === 0 || other.ndim === 0) {
    throw new ShapeError(`matmul: both arguments need at least 1 dimension, got ${input.ndim}-d and ${other.ndim}-d`);
  }
  const a = input.ndim === 1 ? input.unsqueeze(0) : asMatrix(input);
  const b = other.ndim === 1 ? other.unsqueeze(1) : asMatrix(other);
  try {
    const [m, k] = a.shape.slice(-2) as [number, number];
    const [k2, n] = b.shape.slice(-2) as [number, number];
    if (k !== k2) {
      throw new ShapeError(
        `matmul: input [${input.shape.join(', ')}] and other [${other.shape.join(', ')}] cannot be multiplied (${k} vs ${k2})`,
      );
    }
    const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
    const out = empty('matmul', [...batch, m, n], input.dtype, input.device) as Tensor<'float32'>;
    // The binding takes [B, M, K] x [B, K, N]: fold the batch dims into one.
    const fold = (t: Tensor, rows: number, cols: number) => {
      const full = broadcastStrides(t.shape, t.strides, [...batch, rows, cols]);
      const batchStrides = full.slice(0, -2);
      const foldable = batchStrides.every((s, i) => i === batchStrides.length - 1 || s === batchStrides[i + 1]! * batch[i + 1]!);
      const allBroadcast = batchStrides.every((s) => s === 0);
      if (!foldable && !allBroadcast) return null;
      return t._nativeAs('matmul', 'input', [numelOf(batch), rows, cols], [
        allBroadcast ? 0 : (batchStrides[batchStrides.length - 1] ?? 0),
        full[full.length - 2]!,
        full[full.length - 1]!,
      ]);
    };
    const target = out._nativeAs('matmul', 'out', [numelOf(batch), m, n], [m * n, n, 1]);
    const math = matmulMathOptions();
    const x = fold(a, m, k);
    const y = fold(b, k, n);
    if (x === null || y === null) {
      // Batch dims that cannot be folded into one stride: materialise the broadcast operand.
      const ea = a.expand([...batch, m, k]).contiguous();
      const eb = b.expand([...batch, k, n]).contiguous();
      try {
        native.matmul('matmul', target, fold(ea, m, k)!, fold(eb, k, n)!, math);
      } finally {
        ea.dispose();
        eb.dispose();
      }
    } else {
      native.matmul('matmul', target, x, y, math);
    }
    if (input.ndim === 1 || other.ndim === 1) {
      const shape = [...batch, ...(input.ndim === 1 ? [] : [m]), ...(other.ndim === 1 ? [] : [n])];
      try {
        return out.reshape(shape);
      } finally {
        out.dispose();
      }
    }
    return out;
  } finally {
    a.dispose();
    b.dispose();
  }
}
