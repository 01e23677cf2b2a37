/**
 * Binary elementwise ops with NumPy broadcasting: add, sub, mul, div, pow, maximum,
 * minimum, all differentiable. Operands must share device and dtype (no implicit
 * promotion: convert with `.to()`); a number operand takes the tensor's dtype, so with an
 * integer tensor it must be an integer (DTypeError otherwise; uint8 wraps as in PyTorch).
 * @module
 */
import { inFloat32 } from '../amp/autocast.js';
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { ArgumentError, DTypeError } from '../errors.js';
import { native, type NativeTensor } from '../native.js';
import { emptyLike, full } from '../tensor/creation.js';
import { isHalf, type DType } from '../tensor/dtype.js';
import { sameDims } from '../tensor/layout.js';
import { isAt, placementOf, type Placement } from '../tensor/placement.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { broadcastTo, eq, gt, where } from './compare.js';
import { sumTo } from './reduce.js';
import { log } from './unary.js';
import { checkDTypeIn, checkSameDevice, checkSameDType, scalarOperand, checkTensor } from './validate.js';

/** Binding codes (native/include/neocog/backend.h BinaryOp). */
const BINARY_CODES = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, pow: 6 } as const;
type BinaryName = keyof typeof BINARY_CODES;

/** Which operands need a gradient: the other one's is not computed (a broadcast buffer's, say). */
type Needs = readonly [boolean, boolean];
type Grads = (g: Tensor, a: Tensor, b: Tensor, out: Tensor, needs: Needs) => [Tensor | null, Tensor | null];

/**
 * Gradients with respect to the operands that need one, before summing back over broadcast
 * dims. Skipping the other matters: `x * scale` with a per-channel buffer `scale` (a frozen
 * BatchNorm) would otherwise multiply and reduce a full activation per call for nothing.
 */
const GRADIENTS: Record<BinaryName, { saves: boolean; grads: Grads }> = {
  add: { saves: false, grads: (g) => [g, g] },
  sub: { saves: false, grads: (g, _a, _b, _out, [, nb]) => [g, nb ? g.neg() : null] },
  mul: { saves: true, grads: (g, a, b, _out, [na, nb]) => [na ? g.mul(b) : null, nb ? g.mul(a) : null] },
  div: { saves: true, grads: (g, a, b, _out, [na, nb]) => [na ? g.div(b) : null, nb ? g.mul(a).div(b.mul(b)).neg() : null] },
  pow: {
    saves: true,
    grads: (g, a, b, out, [na, nb]) => [na ? g.mul(b).mul(a.pow(b.sub(1))) : null, nb ? g.mul(out).mul(log(a)) : null],
  },
  // Ties split the gradient in half, as torch.maximum / torch.minimum.
  maximum: { saves: true, grads: (g, a, b) => splitGrad(g, gt(a, b), eq(a, b)) },
  minimum: { saves: true, grads: (g, a, b) => splitGrad(g, gt(b, a), eq(a, b)) },
};

function splitGrad(g: Tensor, first: Tensor, tie: Tensor): [Tensor, Tensor] {
  const half = g.mul(0.5);
  return [where(first, g, where(tie, half, 0)), where(first, 0, where(tie, half, g))];
}

/** An operand's descriptor at the broadcast `shape`: its own cached one when it already has that shape. */
function operand(op: BinaryName, t: Tensor, shape: readonly number[], arg: string): NativeTensor {
  return sameDims(t.shape, shape) ? t._native(op, arg) : broadcastTo(op, t, shape, arg);
}

function binary<D extends DType>(op: BinaryName, input: Tensor<D>, other: Tensor | number): Tensor<D> {
  checkTensor(op, 'input', input);
  const scalar = typeof other === 'number';
  if (scalar && op === 'pow' && other < 0 && Number.isInteger(other) && (input.dtype === 'int32' || input.dtype === 'uint8')) {
    // Every result but 1 and -1 would truncate to 0; PyTorch raises the same.
    throw new ArgumentError(`pow: integers to negative integer powers are not allowed (${input.dtype} input, exponent ${other}); convert with .to('float32')`);
  }
  const b = scalar
    ? full([], scalarOperand(op, op === 'pow' ? 'exponent' : 'other', input.dtype, other), { dtype: input.dtype, device: input.device })
    : checkTensor(op, 'other', other);
  try {
    // Compared directly first: the named checks build what their messages need (a small op's hot path).
    if (input.device !== b.device) checkSameDevice(op, { input, other: b });
    if (input.dtype !== b.dtype) checkSameDType(op, { input, other: b });
    if (op === 'div') checkDTypeIn(op, 'input', input, ['float32', 'bfloat16', 'float16']);
    else checkDTypeIn(op, 'input', input, ['float32', 'int32', 'uint8', 'bfloat16', 'float16']);
    // 16-bit operands run 16-bit kernels (computing in float32) where no gradient is wanted;
    // with autograd they go through float32 copies, so the gradients' ops need no 16-bit forms.
    if (isHalf(input.dtype) && needsGrad(input, scalar ? null : b)) return inFloat32([input, b], ([x, y]) => binary(op, x!, y!)) as Tensor<D>;
    // Operands of one shape (the usual case) need no broadcast: the output shares the input's frozen shape.
    const shape = sameDims(input.shape, b.shape) ? input.shape : broadcastShapes(op, input.shape, b.shape);
    const out = emptyLike(op, input.shape.length === shape.length ? input : b, shape, input.dtype);
    native.binary(op, BINARY_CODES[op], out._native(op, 'out'), operand(op, input, shape, 'input'), operand(op, b, shape, 'other'));
    if (!needsGrad(input, scalar ? null : b)) return out;
    const inputs = [input, scalar ? null : b];
    const { saves, grads } = GRADIENTS[op];
    const saved = saves ? [saveForBackward(input), saveForBackward(b)] : [];
    if (op === 'pow') saved.push(saveForBackward(out));
    const aShape = input.shape;
    const bShape = b.shape;
    const needs: Needs = [input.requiresGrad, !scalar && b.requiresGrad];
    return record(
      op,
      out,
      inputs,
      (g) => {
        const [ga, gb] = grads(g, saved[0] ?? g, saved[1] ?? g, saved[2] ?? g, needs);
        return [needs[0] && ga ? sumTo(ga, aShape) : null, needs[1] && gb ? sumTo(gb, bShape) : null];
      },
      saved,
    );
  } finally {
    if (scalar) b.dispose();
  }
}

/**
 * `t += value` in place, outside any graph: one queued add that writes `t` itself (which may
 * be a strided view), where `copyInto(t, t.add(value))` queues an add and a copy back. For the
 * counters layers keep (BatchNorm's numBatchesTracked, bumped once per layer per training
 * step) and accumulations into windows of a tensor (infer.slidingWindowInference). `value`
 * broadcasts to `t`'s shape, has its dtype, and must not overlap `t`. @internal
 */
export function addInPlace(t: Tensor, value: Tensor | number): void {
  const op = 'add';
  checkTensor(op, 'input', t);
  checkDTypeIn(op, 'input', t, ['float32', 'int32', 'uint8']);
  if (typeof value !== 'number') {
    checkTensor(op, 'other', value);
    if (value.dtype !== t.dtype) throw new DTypeError(`${op}: expected other of dtype ${t.dtype} to add in place, got ${value.dtype}`);
  }
  const b = typeof value === 'number' ? full([], scalarOperand(op, 'other', t.dtype, value), { dtype: t.dtype, device: t.device }) : value;
  try {
    // Each element is read and written at one offset, so the output may alias the input.
    native.binary(op, BINARY_CODES.add, t._native(op, 'out'), t._native(op, 'input'), operand(op, b, t.shape, 'other'));
  } finally {
    if (typeof value === 'number') b.dispose();
  }
}

/** `input + other`, broadcasting. @example add(x, 1) */
export function add<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  if (typeof other !== 'number') {
    const sum = computedSum(input, other) ?? computedSum(other, input);
    if (sum) return sum as Tensor<D>;
  }
  return binary('add', input, other);
}

/**
 * Where sums `residual + x` a fused kernel computed in place of x are (lib/infer/fuse.ts:
 * a depthwise block adds its input to its projection), by the residual tensor.
 */
const residualSums = new WeakMap<Tensor, Placement[]>();

/**
 * Records that `sum` holds `residual + x`, where x is what the kernel that wrote `sum` would
 * otherwise have written, so that the one `add(residual, that result)` (either order) is a
 * view of it. Only for a sum that exactly one later add reads, as traced.
 * @internal
 */
export function markResidualAdded(residual: Tensor, sum: Tensor): void {
  residualSums.set(residual, [...(residualSums.get(residual) ?? []), placementOf(sum)]);
}

/** A view of the marked sum `residual + x`, the mark consumed; undefined if none matches. */
function computedSum(residual: Tensor, x: Tensor): Tensor | undefined {
  const sums = residualSums.get(residual);
  const at = sums?.findIndex((p) => isAt(x, p)) ?? -1;
  if (at < 0 || needsGrad(residual, x)) return undefined;
  sums!.splice(at, 1);
  if (sums!.length === 0) residualSums.delete(residual);
  return x._view('add', x.shape, x.strides);
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

/**
 * `input ** exponent` elementwise, broadcasting, as torch.pow. The result has the input's
 * dtype. On int32/uint8 the power is exact and wraps on overflow as PyTorch's int32 does
 * (`2 ** 40` is 0); a non-integer number exponent throws DTypeError (PyTorch would return
 * float32; neocog does not promote: use `x.to('float32').pow(0.5)`), and a negative number
 * exponent throws ArgumentError, as PyTorch. An integer exponent tensor with negative
 * values gives 0 there (except for bases 1 and -1), as PyTorch.
 */
export function pow<D extends DType>(input: Tensor<D>, exponent: Tensor | number): Tensor<D> {
  return binary('pow', input, exponent);
}

/** Elementwise maximum, broadcasting; NaN wins as in `torch.maximum`. */
export function maximum<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  return binary('maximum', input, other);
}

/** Elementwise minimum, broadcasting; NaN wins as in `torch.minimum`. */
export function minimum<D extends DType>(input: Tensor<D>, other: Tensor | number): Tensor<D> {
  return binary('minimum', input, other);
}
