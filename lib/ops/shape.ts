/**
 * Shape ops, as torch: cat, stack, split, chunk, meshgrid, flip, roll, rot90, pad (constant, reflect,
 * replicate, circular), pixelShuffle / pixelUnshuffle, oneHot, maskedFill. Composed from
 * copies, slices and indexSelect, so every one is differentiable.
 * @module
 */
import { record } from '../autograd/graph.js';
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, IndexError, ShapeError } from '../errors.js';
import { arange, empty, full, tensor, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { checkNumel, contiguousStrides, describe, normalizeDim, stridesLike } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './compare.js';
import { copyInto } from './copy.js';
import { indexSelect } from './indexing.js';
import { scatterAdd } from './resample.js';
import { checkDTypeIn, checkSameDevice, checkSameDType, checkTensor, uniqueDims } from './validate.js';

/**
 * Concatenates tensors along `dim`; all other sizes must match, as `torch.cat`. The result
 * keeps the inputs' memory format when they share one (channels-last in, channels-last out),
 * else it is contiguous, as PyTorch's.
 * @example cat([a, b], 1)
 */
export function cat<D extends DType>(tensors: ReadonlyArray<Tensor<D>>, dim = 0): Tensor<D> {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentError('cat: expected a non-empty array of tensors');
  tensors.forEach((t, i) => checkTensor('cat', `tensors[${i}]`, t));
  const first = tensors[0]!;
  const named = Object.fromEntries(tensors.map((t, i) => [`tensors[${i}]`, t]));
  checkSameDevice('cat', named);
  checkSameDType('cat', named);
  const d = normalizeDim('cat', dim, first.ndim);
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((s: number, k: number) => k !== d && s !== first.shape[k])) {
      throw new ShapeError(`cat: tensors[${i}] has shape [${t.shape.join(', ')}], which differs from tensors[0] [${first.shape.join(', ')}] outside dim ${d}`);
    }
  });
  const shape = [...first.shape];
  shape[d] = tensors.reduce((n, t) => n + t.shape[d]!, 0);
  const out = empty('cat', shape, first.dtype, first.device, catStrides(tensors, shape));
  const offsets: number[] = [];
  let offset = 0;
  noGrad(() => {
    for (const t of tensors) {
      offsets.push(offset);
      const window = out.slice(d, offset, offset + t.shape[d]!);
      copyInto(window, t);
      window.dispose();
      offset += t.shape[d]!;
    }
  });
  // A copy of the caller's list: backward runs later, and a DenseNet block appends to the list it concatenated.
  const inputs = [...tensors];
  return record('cat', out, inputs, (g) => inputs.map((t, i) => g.slice(d, offsets[i]!, offsets[i]! + t.shape[d]!)));
}

/**
 * The strides of cat's result: the inputs' common dim order, else row-major. A U-Net's skip
 * concatenation of two channels-last maps once came out NCHW, and the convolution after it
 * paid a layout reorder forward and again in backward weights (0.55 ms of a 1x128x128 U-Net
 * step's 21 ms of oneDNN time, 4x that at batch 4).
 */
function catStrides(tensors: ReadonlyArray<Tensor>, shape: readonly number[]): readonly number[] {
  const strides = stridesLike(tensors[0]!, shape);
  const same = tensors.every((t) => stridesLike(t, shape).every((s, i) => s === strides[i]));
  return same ? strides : contiguousStrides(shape);
}

/** Stacks same-shaped tensors along a new dim `dim`, as `torch.stack`. */
export function stack<D extends DType>(tensors: ReadonlyArray<Tensor<D>>, dim = 0): Tensor<D> {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentError('stack: expected a non-empty array of tensors');
  tensors.forEach((t, i) => {
    checkTensor('stack', `tensors[${i}]`, t);
    if (t.shape.join(',') !== tensors[0]!.shape.join(',')) {
      throw new ShapeError(`stack: tensors[${i}] has shape [${t.shape.join(', ')}], tensors[0] has [${tensors[0]!.shape.join(', ')}]`);
    }
  });
  const d = normalizeDim('stack', dim, tensors[0]!.ndim + 1);
  const expanded = tensors.map((t) => t.unsqueeze(d));
  try {
    return cat(expanded, d);
  } finally {
    for (const t of expanded) t.dispose();
  }
}

/**
 * Splits along `dim` into pieces of `splitSize` (the last may be smaller) or of the
 * given sizes, as `torch.split`. The pieces are views.
 */
export function split<D extends DType>(input: Tensor<D>, splitSize: number | readonly number[], dim = 0): Array<Tensor<D>> {
  checkTensor('split', 'input', input);
  const d = normalizeDim('split', dim, input.ndim);
  const size = input.shape[d]!;
  let sizes: number[];
  if (typeof splitSize === 'number') {
    if (!Number.isInteger(splitSize) || splitSize < 1) throw new ArgumentError(`split: expected splitSize to be a positive integer, got ${describe(splitSize)}`);
    sizes = Array.from({ length: Math.max(1, Math.ceil(size / splitSize)) }, (_, i) => Math.min(splitSize, size - i * splitSize));
  } else {
    sizes = [...splitSize];
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== size) {
      throw new ShapeError(`split: sizes [${sizes.join(', ')}] must be non-negative integers summing to ${size}`);
    }
  }
  let offset = 0;
  return sizes.map((s) => {
    const piece = input.slice(d, offset, offset + s);
    offset += s;
    return piece;
  });
}

/** Splits into `chunks` near-equal views along `dim`, as `torch.chunk`. */
export function chunk<D extends DType>(input: Tensor<D>, chunks: number, dim = 0): Array<Tensor<D>> {
  checkTensor('chunk', 'input', input);
  if (!Number.isInteger(chunks) || chunks < 1) throw new ArgumentError(`chunk: expected chunks to be a positive integer, got ${describe(chunks)}`);
  const d = normalizeDim('chunk', dim, input.ndim);
  return split(input, Math.max(1, Math.ceil(input.shape[d]! / chunks)), d);
}

/** Options of {@link meshgrid}. */
export interface MeshgridOptions {
  /**
   * 'ij' (default, matrix indexing): output k varies along dim k. 'xy' (Cartesian, as
   * numpy): the first two dims swap, so a grid of xs and ys has shape `[ys, xs]`.
   */
  indexing?: 'ij' | 'xy';
}

/**
 * Coordinate grids from 1-d tensors, as `torch.meshgrid`: for inputs of sizes
 * `[n0], [n1], ...` every output has shape `[n0, n1, ...]` ('ij'; 'xy' swaps the first two)
 * and output k repeats input k along its dim. 0-d inputs count as size 1. The outputs are
 * broadcast views of the inputs (no copy); gradients sum back into the inputs.
 *
 * @example
 * const [ys, xs] = meshgrid([arange(3), arange(4)]); // both [3, 4]: ys[i][j] = i, xs[i][j] = j
 * const [gx, gy] = meshgrid([arange(4), arange(3)], { indexing: 'xy' }); // both [3, 4]
 */
export function meshgrid<D extends DType>(tensors: ReadonlyArray<Tensor<D>>, opts: MeshgridOptions = {}): Array<Tensor<D>> {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentError(`meshgrid: expected tensors to be a non-empty array of tensors, got ${describe(tensors)}`);
  const indexing = opts.indexing ?? 'ij';
  if (indexing !== 'ij' && indexing !== 'xy') throw new ArgumentError(`meshgrid: expected indexing 'ij' or 'xy', got ${describe(indexing)}`);
  tensors.forEach((t, i) => {
    checkTensor('meshgrid', `tensors[${i}]`, t);
    if (t.ndim > 1) throw new ShapeError(`meshgrid: expected tensors[${i}] to be 0-d or 1-d, got shape [${t.shape.join(', ')}]`);
  });
  const named = Object.fromEntries(tensors.map((t, i) => [`tensors[${i}]`, t]));
  checkSameDevice('meshgrid', named);
  checkSameDType('meshgrid', named);
  // Where input k lies in the output: 'xy' swaps the first two dims.
  const position = (k: number) => (indexing === 'xy' && tensors.length > 1 && k < 2 ? 1 - k : k);
  const shape = new Array<number>(tensors.length);
  tensors.forEach((t, k) => (shape[position(k)] = t.ndim === 0 ? 1 : t.shape[0]!));
  return tensors.map((t, k) => {
    const line = t.reshape(shape.map((size, d) => (d === position(k) ? size : 1)));
    try {
      return line.expand(shape);
    } finally {
      line.dispose();
    }
  });
}

/** Reverses the order of elements along `dims`, as `torch.flip`. */
export function flip<D extends DType>(input: Tensor<D>, dims: readonly number[]): Tensor<D> {
  checkTensor('flip', 'input', input);
  let out: Tensor<D> = input;
  for (const d of uniqueDims('flip', dims, input.ndim)) {
    const n = input.shape[d]!;
    const next = indexSelect(out, d, arange(n - 1, -1, -1, { device: input.device, dtype: 'int32' }));
    if (out !== input) out.dispose();
    out = next;
  }
  return out === input ? input.reshape(input.shape) : out;
}

/** Rolls elements along `dims` by `shifts` (wrapping around), as `torch.roll`. */
export function roll<D extends DType>(input: Tensor<D>, shifts: number | readonly number[], dims: number | readonly number[]): Tensor<D> {
  checkTensor('roll', 'input', input);
  const shiftList = typeof shifts === 'number' ? [shifts] : [...shifts];
  const dimList = typeof dims === 'number' ? [dims] : [...dims];
  if (shiftList.length !== dimList.length) throw new ArgumentError(`roll: expected one shift per dim, got ${shiftList.length} shifts and ${dimList.length} dims`);
  let out: Tensor<D> = input;
  shiftList.forEach((shift, i) => {
    const d = normalizeDim('roll', dimList[i], input.ndim);
    const n = input.shape[d]!;
    if (!Number.isInteger(shift)) throw new ArgumentError(`roll: expected integer shifts, got ${describe(shift)}`);
    const s = ((shift % n) + n) % n;
    if (n === 0 || s === 0) return;
    const next = cat([out.slice(d, n - s), out.slice(d, 0, n - s)], d);
    if (out !== input) out.dispose();
    out = next;
  });
  return out === input ? input.reshape(input.shape) : out;
}

/** Rotates by 90 degrees `k` times in the plane of `dims` (from the first towards the second), as `torch.rot90`. */
export function rot90<D extends DType>(input: Tensor<D>, k = 1, dims: readonly [number, number] = [0, 1]): Tensor<D> {
  checkTensor('rot90', 'input', input);
  const [a, b] = [normalizeDim('rot90', dims[0], input.ndim), normalizeDim('rot90', dims[1], input.ndim)];
  if (a === b) throw new ArgumentError('rot90: the two dims must differ');
  const turns = ((Math.trunc(k) % 4) + 4) % 4;
  if (turns === 0) return input.reshape(input.shape);
  if (turns === 2) return flip(input, [a, b]);
  const flipped = flip(input, [turns === 1 ? b : a]);
  try {
    return flipped.transpose(a, b);
  } finally {
    flipped.dispose();
  }
}

/** Padding modes of {@link pad}, as `F.pad`. */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Source index of each output position along one dim for the non-constant modes. */
function padIndex(mode: Exclude<PadMode, 'constant'>, n: number, before: number, after: number): number[] {
  return Array.from({ length: n + before + after }, (_, j) => {
    const i = j - before;
    if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
    if (mode === 'circular') return ((i % n) + n) % n;
    const period = 2 * (n - 1); // reflect about the edge elements, excluding them
    const m = ((i % period) + period) % period;
    return m < n ? m : period - m;
  });
}

/**
 * Pads the last `pad.length / 2` dims, as `F.pad`: `pad` lists (before, after) pairs
 * starting from the last dim. Negative amounts crop (constant mode).
 *
 * @example pad(x, [1, 1, 2, 2], 'reflect') // W by 1 and H by 2 on each side
 */
export function pad<D extends DType>(input: Tensor<D>, padding: readonly number[], mode: PadMode = 'constant', value = 0): Tensor<D> {
  checkTensor('pad', 'input', input);
  if (padding.length % 2 !== 0 || padding.length / 2 > input.ndim || padding.some((p) => !Number.isInteger(p))) {
    throw new ArgumentError(`pad: expected an even number of integers, at most 2 per dim of the ${input.ndim}-d input, got ${describe(padding)}`);
  }
  const pairs = Array.from({ length: padding.length / 2 }, (_, i) => ({ dim: input.ndim - 1 - i, before: padding[2 * i]!, after: padding[2 * i + 1]! }));
  const outShape = [...input.shape];
  for (const { dim, before, after } of pairs) outShape[dim] = input.shape[dim]! + before + after;
  if (outShape.some((s) => s < 0)) throw new ShapeError(`pad: padding ${describe(padding)} makes a negative size for input [${input.shape.join(', ')}]`);
  // Before the index lists of the other modes are built in JavaScript: pad [1e9, 1e9] is refused, not an abort.
  checkNumel('pad', 'output shape', outShape);
  if (mode === 'constant') {
    const out = full(outShape, value, { dtype: input.dtype, device: input.device }) as Tensor<D>;
    // The window of the output that receives the (possibly cropped) input.
    let target: Tensor = out;
    let source: Tensor = input;
    for (const { dim, before, after } of pairs) {
      const n = input.shape[dim]!;
      const nextTarget = target.slice(dim, Math.max(before, 0), Math.max(before, 0) + n + Math.min(before, 0) + Math.min(after, 0));
      const nextSource = source.slice(dim, Math.max(-before, 0), n - Math.max(-after, 0));
      if (target !== out) target.dispose();
      if (source !== input) source.dispose();
      target = nextTarget;
      source = nextSource;
    }
    noGrad(() => copyInto(target, source));
    if (target !== out) target.dispose();
    const src = source;
    const result = record('pad', out, [input], (g) => {
      let window: Tensor = g;
      for (const { dim, before, after } of pairs) {
        const n = input.shape[dim]!;
        window = window.slice(dim, Math.max(before, 0), Math.max(before, 0) + n + Math.min(before, 0) + Math.min(after, 0));
      }
      if (src === input) return [window];
      // Cropped input: its gradient is the window padded back with zeros.
      return [pad(window, pairs.flatMap(({ before, after }) => [Math.max(-before, 0), Math.max(-after, 0)]), 'constant', 0)];
    });
    if (source !== input) source.dispose();
    return result;
  }
  if (!['reflect', 'replicate', 'circular'].includes(mode)) {
    throw new ArgumentError(`pad: expected mode 'constant', 'reflect', 'replicate' or 'circular', got ${describe(mode)}`);
  }
  let out: Tensor<D> = input;
  for (const { dim, before, after } of pairs) {
    const n = input.shape[dim]!;
    if (before < 0 || after < 0) throw new ArgumentError(`pad: ${mode} padding cannot be negative, got ${describe(padding)}`);
    if (mode === 'reflect' && (before >= n || after >= n)) {
      throw new ShapeError(`pad: reflect padding (${before}, ${after}) must be smaller than the size ${n} of dim ${dim}`);
    }
    if (mode === 'circular' && (before > n || after > n)) {
      throw new ShapeError(`pad: circular padding (${before}, ${after}) must be at most the size ${n} of dim ${dim}`);
    }
    if (n === 0) throw new ShapeError(`pad: cannot ${mode}-pad the empty dim ${dim}`);
    const idx = tensor(padIndex(mode, n, before, after), { dtype: 'int32', device: input.device });
    const next = indexSelect(out, dim, idx);
    idx.dispose();
    if (out !== input) out.dispose();
    out = next;
  }
  return out;
}

/** Rearranges `[N, C * r^2, H, W]` into `[N, C, H * r, W * r]`, as `F.pixel_shuffle`. */
export function pixelShuffle<D extends DType>(input: Tensor<D>, upscaleFactor: number): Tensor<D> {
  checkTensor('pixelShuffle', 'input', input);
  const r = upscaleFactor;
  if (!Number.isInteger(r) || r < 1) throw new ArgumentError(`pixelShuffle: expected upscaleFactor to be a positive integer, got ${describe(r)}`);
  if (input.ndim !== 4 || input.shape[1]! % (r * r) !== 0) {
    throw new ShapeError(`pixelShuffle: expected input [N, C * ${r * r}, H, W], got [${input.shape.join(', ')}]`);
  }
  const [n, c, h, w] = input.shape as [number, number, number, number];
  const grouped = input.reshape(n, c / (r * r), r, r, h, w);
  const moved = grouped.permute(0, 1, 4, 2, 5, 3);
  try {
    return moved.reshape(n, c / (r * r), h * r, w * r);
  } finally {
    grouped.dispose();
    moved.dispose();
  }
}

/** Inverse of {@link pixelShuffle}: `[N, C, H * r, W * r]` -> `[N, C * r^2, H, W]`. */
export function pixelUnshuffle<D extends DType>(input: Tensor<D>, downscaleFactor: number): Tensor<D> {
  checkTensor('pixelUnshuffle', 'input', input);
  const r = downscaleFactor;
  if (!Number.isInteger(r) || r < 1) throw new ArgumentError(`pixelUnshuffle: expected downscaleFactor to be a positive integer, got ${describe(r)}`);
  if (input.ndim !== 4 || input.shape[2]! % r !== 0 || input.shape[3]! % r !== 0) {
    throw new ShapeError(`pixelUnshuffle: expected input [N, C, H, W] with H and W divisible by ${r}, got [${input.shape.join(', ')}]`);
  }
  const [n, c, h, w] = input.shape as [number, number, number, number];
  const grouped = input.reshape(n, c, h / r, r, w / r, r);
  const moved = grouped.permute(0, 1, 3, 5, 2, 4);
  try {
    return moved.reshape(n, c * r * r, h / r, w / r);
  } finally {
    grouped.dispose();
    moved.dispose();
  }
}

/**
 * One-hot encoding of int32 class indices: shape `[..., numClasses]`, int32 (PyTorch
 * returns int64). `numClasses` defaults to max + 1 (a blocking read). A class outside
 * `[0, numClasses)` is an error, as in PyTorch: with `numClasses` given it is found when the
 * kernel runs and rejects `data()` of the result with an IndexError naming the scatterAdd
 * inside (see indexSelect); a negative class with the default is refused at the call.
 */
export function oneHot(input: Tensor, numClasses = -1): Tensor<'int32'> {
  checkTensor('oneHot', 'input', input);
  checkDTypeIn('oneHot', 'input', input, ['int32']);
  let classes = numClasses;
  if (classes === -1 && input.numel > 0) {
    const values = Array.from(input.dataSync() as Int32Array);
    const lowest = values.reduce((a, b) => Math.min(a, b));
    if (lowest < 0) throw new IndexError(`oneHot: class values must be non-negative, got ${lowest}`);
    classes = values.reduce((a, b) => Math.max(a, b)) + 1;
  } else if (classes === -1) {
    classes = 0;
  }
  if (!Number.isInteger(classes) || classes < 0) throw new ArgumentError(`oneHot: expected numClasses to be a non-negative integer or -1, got ${describe(numClasses)}`);
  // A scatter of ones, not a comparison with arange: the scatter checks each class against
  // numClasses, where a comparison would give an all-zero row for class 5 of 3.
  const planes = zeros([...input.shape, classes], { dtype: 'int32', device: input.device });
  const index = input.unsqueeze(-1);
  const ones = full(index.shape, 1, { dtype: 'int32', device: input.device });
  try {
    return scatterAdd(planes, -1, index, ones);
  } finally {
    planes.dispose();
    index.dispose();
    ones.dispose();
  }
}

/** `value` where `mask` is true, else `input`, as `Tensor.masked_fill`. */
export function maskedFill<D extends DType>(input: Tensor<D>, mask: Tensor, value: number): Tensor<D> {
  checkTensor('maskedFill', 'input', input);
  checkTensor('maskedFill', 'mask', mask);
  checkDTypeIn('maskedFill', 'mask', mask, ['bool']);
  return where(mask, value, input);
}
