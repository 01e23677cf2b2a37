/**
 * Comparisons (bool results, no gradient) and `where`, with broadcasting.
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { native } from '../native.js';
import { emptyLike, full } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { broadcastShapes, broadcastStrides } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { sumTo } from './reduce.js';
import { checkDTypeIn, checkSameDevice, checkSameDType, scalarOperand, checkTensor } from './validate.js';

/** Binding codes (native/include/neocog/backend.h CompareOp). */
const COMPARE_CODES = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 } as const;
type CompareName = keyof typeof COMPARE_CODES;

/** A descriptor of `t` broadcast to `shape`. @internal */
export function broadcastTo(op: string, t: Tensor, shape: readonly number[], arg: string) {
  return t._nativeAs(op, arg, shape, broadcastStrides(t.shape, t.strides, shape));
}

function compare(op: CompareName, input: Tensor, other: Tensor | number): Tensor<'bool'> {
  checkTensor(op, 'input', input);
  const scalar = typeof other === 'number';
  const b = scalar
    ? full([], scalarOperand(op, 'other', checkTensor(op, 'input', input).dtype, other), { dtype: input.dtype, device: input.device })
    : checkTensor(op, 'other', other);
  try {
    checkSameDevice(op, { input, other: b });
    checkSameDType(op, { input, other: b });
    const shape = broadcastShapes(op, input.shape, b.shape);
    const out = emptyLike(op, input, shape, 'bool');
    native.compare(op, COMPARE_CODES[op], out._native(op, 'out'), broadcastTo(op, input, shape, 'input'), broadcastTo(op, b, shape, 'other'));
    return out;
  } finally {
    if (scalar) b.dispose();
  }
}

/** `input == other` elementwise. */
export function eq(input: Tensor, other: Tensor | number): Tensor<'bool'> {
  return compare('eq', input, other);
}
/** `input != other` elementwise. */
export function ne(input: Tensor, other: Tensor | number): Tensor<'bool'> {
  return compare('ne', input, other);
}
/** `input < other` elementwise. */
export function lt(input: Tensor, other: Tensor | number): Tensor<'bool'> {
  return compare('lt', input, other);
}
/** `input <= other` elementwise. */
export function le(input: Tensor, other: Tensor | number): Tensor<'bool'> {
  return compare('le', input, other);
}
/** `input > other` elementwise. */
export function gt(input: Tensor, other: Tensor | number): Tensor<'bool'> {
  return compare('gt', input, other);
}
/** `input >= other` elementwise. */
export function ge(input: Tensor, other: Tensor | number): Tensor<'bool'> {
  return compare('ge', input, other);
}

/**
 * `condition ? input : other` elementwise, broadcasting all three, as torch.where. A number
 * takes the dtype of the tensor operand. Differentiable in `input` and `other`.
 */
export function where<D extends DType>(condition: Tensor, input: Tensor<D> | number, other: Tensor<D> | number): Tensor<D> {
  checkTensor('where', 'condition', condition);
  checkDTypeIn('where', 'condition', condition, ['bool']);
  const like = typeof input === 'number' ? (typeof other === 'number' ? null : other) : input;
  const dtype = (like?.dtype ?? 'float32') as D;
  const made: Tensor[] = [];
  const asTensor = (v: Tensor<D> | number, name: string): Tensor<D> => {
    if (typeof v !== 'number') return checkTensor('where', name, v) as Tensor<D>;
    const t = full([], scalarOperand('where', name, dtype, v), { dtype, device: condition.device }) as Tensor<D>;
    made.push(t);
    return t;
  };
  const a = asTensor(input, 'input');
  const b = asTensor(other, 'other');
  try {
    checkSameDevice('where', { condition, input: a, other: b });
    checkSameDType('where', { input: a, other: b });
    const shape = broadcastShapes('where', broadcastShapes('where', condition.shape, a.shape), b.shape);
    const out = emptyLike('where', a.shape.length === shape.length ? a : condition, shape, dtype);
    native.where('where', out._native('where', 'out'), broadcastTo('where', condition, shape, 'condition'), broadcastTo('where', a, shape, 'input'), broadcastTo('where', b, shape, 'other'));
    const inputs = [typeof input === 'number' ? null : a, typeof other === 'number' ? null : b];
    if (!needsGrad(...inputs)) return out;
    const cond = saveForBackward(condition);
    const aShape = a.shape;
    const bShape = b.shape;
    return record('where', out, inputs, (g) => [sumTo(where(cond, g, 0), aShape), sumTo(where(cond, 0, g), bShape)], [cond]);
  } finally {
    for (const t of made) t.dispose();
  }
}
