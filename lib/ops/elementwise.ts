/**
 * Binary elementwise ops with NumPy broadcasting: add, sub, mul, div, maximum, minimum.
 * Operands must share device and dtype (no implicit promotion: convert with `.to()`);
 * a number operand takes the tensor's dtype.
 * @module
 */
import { native } from '../native.js';
import { empty, full } from '../tensor/creation.js';
import { broadcastShapes, broadcastStrides } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkSameDevice, checkSameDType, checkTensor } from './validate.js';

/** Binding codes (native/include/neocog/backend.h BinaryOp). */
const BINARY_CODES = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 } as const;
type BinaryName = keyof typeof BINARY_CODES;

function binary<D extends DType>(op: BinaryName, input: Tensor<D>, other: Tensor | number): Tensor<D> {
  checkTensor(op, 'input', input);
  const scalar = typeof other === 'number';
  const b = scalar ? full([], other, { dtype: input.dtype, device: input.device }) : checkTensor(op, 'other', other);
  try {
    checkSameDevice(op, { input, other: b });
    checkSameDType(op, { input, other: b });
    if (op === 'div') checkDTypeIn(op, 'input', input, ['float32']);
    else checkDTypeIn(op, 'input', input, ['float32', 'int32', 'uint8']);
    const shape = broadcastShapes(op, input.shape, b.shape);
    const x = input._native(op, 'input');
    const y = b._native(op, 'other');
    const out = empty(op, shape, input.dtype, input.device);
    native.binary(
      op,
      BINARY_CODES[op],
      out._native(op, 'out'),
      { ...x, shape, strides: broadcastStrides(input.shape, input.strides, shape) },
      { ...y, shape, strides: broadcastStrides(b.shape, b.strides, shape) },
    );
    return out;
  } finally {
    if (scalar) b.dispose();
  }
}

/** `input + other`, broadcasting. @example add(x, 1) */
export function add<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  return binary('add', input, other);
}

/** `input - other`, broadcasting. */
export function sub<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  return binary('sub', input, other);
}

/** `input * other`, broadcasting. */
export function mul<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  return binary('mul', input, other);
}

/** `input / other`, broadcasting; float32 only (convert integers with `.to('float32')`). */
export function div<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  return binary('div', input, other);
}

/** Elementwise maximum, broadcasting; NaN wins as in `torch.maximum`. */
export function maximum<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  return binary('maximum', input, other);
}

/** Elementwise minimum, broadcasting; NaN wins as in `torch.minimum`. */
export function minimum<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  return binary('minimum', input, other);
}
