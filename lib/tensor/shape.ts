/**
 * Shape and stride arithmetic shared by views and ops.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { sameDims } from './layout.js';

/** Row-major (contiguous) strides of a shape, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape[d]!;
  }
  return strides;
}

/**
 * Channels-last strides of an [N, C, *spatial] shape: C varies fastest (PyTorch's
 * channels_last / channels_last_3d). Both oneDNN and cuDNN run convolutions fastest so.
 */
export function channelsLastStrides(shape: readonly number[]): number[] {
  if (shape.length < 3) return contiguousStrides(shape);
  const order = [...shape.keys()].filter((d) => d !== 1);
  order.push(1); // dims from outermost to innermost: N, spatial..., C
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = order.length - 1; i >= 0; --i) {
    strides[order[i]!] = stride;
    stride *= shape[order[i]!]!;
  }
  return strides;
}

/**
 * Strides for a new tensor of `shape` in the memory format of `like` (same rank, dims in
 * the same order from outermost to innermost), else contiguous. A `like` with gaps (a
 * slice, such as a U-Net skip connection's channel slice of a channels-last gradient) gives
 * its dims' order too, as PyTorch's TensorIterator does; one that repeats elements (a stride
 * of 0 on a dim of size > 1: broadcast) gives contiguous strides. Elementwise ops and
 * pooling use it so channels-last activations stay channels-last: an add of a channels-last
 * map and a channels-last slice once came out NCHW, and every op after it mixed layouts
 * (a U-Net's relu backward ran ~4x slower on those: 21.3 against 5.6 ms of CPU over 5 steps).
 */
export function stridesLike(like: { shape: readonly number[]; strides: readonly number[] }, shape: readonly number[]): readonly number[] {
  if (like.shape.length !== shape.length) return contiguousStrides(shape);
  // A row-major `like` (most are) orders its dims as they are: no sort needed. Of the same
  // shape (an elementwise op's output), its own strides are the answer: a tensor's are
  // frozen, and a new tensor shares them rather than copy (issue 11).
  if (hasContiguousStrides(like.shape, like.strides)) return sameDims(shape, like.shape) ? like.strides : contiguousStrides(shape);
  // Outermost first; among equal strides (size-1 dims) keep the logical order.
  const order = [...shape.keys()].sort((a, b) => like.strides[b]! - like.strides[a]! || a - b);
  let expected = 1;
  let dense = true;
  for (let i = order.length - 1; i >= 0; --i) {
    const d = order[i]!;
    if (like.shape[d] !== 1 && like.strides[d]! <= 0) return contiguousStrides(shape);
    if (like.shape[d] !== 1 && like.strides[d] !== expected) dense = false;
    expected *= like.shape[d]!;
  }
  // Same shape: a dense `like`'s own strides, even those of size-1 dims (which a kernel may
  // compare with its input's: [1, 1, H, W] channels-last is [HW, 1, W, 1], not [HW, W, W, 1]).
  if (dense && sameDims(shape, like.shape)) return like.strides;
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = order.length - 1; i >= 0; --i) {
    strides[order[i]!] = stride;
    stride *= shape[order[i]!]!;
  }
  return strides;
}

/** True when `strides` are exactly the row-major strides of `shape` (size-1 dims included). */
function hasContiguousStrides(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    if (strides[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

/** Number of elements of a shape. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (let d = 0; d < shape.length; ++d) n *= shape[d]!;
  return n;
}

/**
 * The most elements one tensor may have: 2^31 - 1, so int32 indices (argmax, pooling
 * indices) reach every element, and a size computed from a stray user number (a scale
 * factor of 1e9) is refused with a ShapeError instead of exhausting memory.
 */
export const MAX_NUMEL = 2 ** 31 - 1;

/** Throws ShapeError naming `op` when a tensor of `shape` would have more than {@link MAX_NUMEL} elements. */
export function checkNumel(op: string, name: string, shape: readonly number[]): void {
  const n = numelOf(shape);
  if (!(n <= MAX_NUMEL)) {
    throw new ShapeError(`${op}: ${name} [${shape.join(', ')}] has ${n} elements, more than the ${MAX_NUMEL} (2^31 - 1) a tensor may hold`);
  }
}

/** Checks a user-supplied shape: an array of non-negative integers. */
export function checkShape(op: string, name: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new ArgumentError(`${op}: expected ${name} to be an array of sizes, got ${describe(shape)}`);
  for (const size of shape) {
    if (!Number.isInteger(size) || (size as number) < 0) {
      throw new ShapeError(`${op}: expected ${name} to hold non-negative integers, got [${shape.join(', ')}]`);
    }
  }
  if (shape.length > 8) throw new ShapeError(`${op}: at most 8 dimensions are supported, got ${shape.length}`);
  checkNumel(op, name, shape as number[]);
  return [...(shape as number[])];
}

/** Wraps a possibly negative dim into [0, ndim). */
export function normalizeDim(op: string, dim: unknown, ndim: number, name = 'dim'): number {
  const rank = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || (dim as number) < -rank || (dim as number) >= rank) {
    throw new ShapeError(`${op}: expected ${name} in [${-rank}, ${rank - 1}] for a ${ndim}-d tensor, got ${describe(dim)}`);
  }
  const d = dim as number;
  return d < 0 ? d + rank : d;
}

/** Broadcast result of two shapes (NumPy rules), or a ShapeError naming the op. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const ndim = Math.max(a.length, b.length);
  const out = new Array<number>(ndim);
  for (let i = 0; i < ndim; ++i) {
    const x = a[a.length - ndim + i] ?? 1;
    const y = b[b.length - ndim + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new ShapeError(`${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (dim ${i}: ${x} vs ${y})`);
    }
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Strides that view a tensor of `shape`/`strides` as the broadcast `target` shape. */
export function broadcastStrides(shape: readonly number[], strides: readonly number[], target: readonly number[]): number[] {
  const lead = target.length - shape.length;
  return target.map((size, i) => {
    if (i < lead) return 0;
    return shape[i - lead] === 1 && size !== 1 ? 0 : strides[i - lead]!;
  });
}

/**
 * Strides for viewing (shape, strides) as newShape without copying, or null when the
 * memory layout does not allow it (PyTorch's computeStride).
 */
export function viewStrides(
  shape: readonly number[],
  strides: readonly number[],
  newShape: readonly number[],
): number[] | null {
  if (numelOf(shape) === 0) return contiguousStrides(newShape);
  if (shape.length === 0) return viewStrides([1], [1], newShape);
  const newStrides = new Array<number>(newShape.length).fill(0);
  let viewD = newShape.length - 1;
  let chunkBaseStride = strides[strides.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    tensorNumel *= shape[d]!;
    // A chunk of dims ends where the next-outer dim is not laid out right after this one.
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = strides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

/** Resolves a single -1 in a reshape target. */
export function inferShape(op: string, target: readonly number[], numel: number): number[] {
  const shape = [...target];
  const unknown = shape.indexOf(-1);
  if (unknown !== shape.lastIndexOf(-1)) throw new ShapeError(`${op}: only one dimension can be -1, got [${target.join(', ')}]`);
  for (const size of shape) {
    if (!Number.isInteger(size) || size < -1) {
      throw new ShapeError(`${op}: expected sizes to be non-negative integers or -1, got [${target.join(', ')}]`);
    }
  }
  if (unknown >= 0) {
    const known = shape.reduce((n, s, i) => (i === unknown ? n : n * s), 1);
    if (known === 0 || numel % known !== 0) {
      throw new ShapeError(`${op}: shape [${target.join(', ')}] is invalid for input of size ${numel}`);
    }
    shape[unknown] = numel / known;
  }
  if (numelOf(shape) !== numel) throw new ShapeError(`${op}: shape [${target.join(', ')}] is invalid for input of size ${numel}`);
  return shape;
}

/** A short description of an unexpected value for error messages. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'string') return `'${value}'`;
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `${value.constructor?.name ?? 'object'}`;
  return `${String(value)} (${typeof value})`;
}
