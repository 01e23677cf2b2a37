/**
 * Creating tensors: from values (`tensor`, `fromTypedArray`), constants (`zeros`, `ones`,
 * `full`), ranges (`arange`) and the seeded generator (`rand`, `randn`).
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { resolveDevice, type DeviceLike } from './device.js';
import { checkDType, dtypeOfTypedArray, dtypeSize, isHalf, type DType, type TensorData } from './dtype.js';
import { SharedStorage } from './memory.js';
import { nextRandomState } from './random.js';
import { checkNumel, checkShape, contiguousStrides, describe, numelOf, stridesLike } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';

/** Where and as what a new tensor is created. */
export interface TensorOptions<D extends DType = DType> {
  /** Element type; float32 unless the function says otherwise. */
  dtype?: D;
  /** `'cpu'` (default), `'cuda'` or `'cuda:N'`. */
  device?: DeviceLike;
  /** Make the new tensor a leaf that requires grad (float32 only), as `requires_grad=True`. */
  requiresGrad?: boolean;
}

/** Applies `requiresGrad` from the options to a new tensor. */
function finish<T extends Tensor>(t: T, opts: TensorOptions | undefined): T {
  if (opts?.requiresGrad) {
    try {
      t.requiresGrad_(true);
    } catch (error) {
      t.dispose();
      throw error;
    }
  }
  return t;
}

/** The dtype of the tensor `fromTypedArray` makes from an array type. */
export type DTypeOfArray<A extends TensorData> = A extends Float32Array ? 'float32' : A extends Int32Array ? 'int32' : 'uint8';

/** @internal An uninitialised tensor, contiguous unless `strides` (dense) are given. */
export function empty<D extends DType>(
  op: string,
  shape: readonly number[],
  dtype: D,
  device: DeviceLike,
  strides: readonly number[] = contiguousStrides(shape),
): Tensor<D> {
  // Every op's output passes here: sizes computed from user numbers get one backstop.
  checkNumel(op, 'output shape', shape);
  const resolved = resolveDevice(op, device);
  // Allocated by the binding in the first op call that receives its descriptor (SharedStorage).
  const storage = SharedStorage.pending(resolved, numelOf(shape) * dtypeSize(dtype));
  return new Tensor<D>(storage, shape, strides, 0, dtype, resolved, op);
}

/** @internal An uninitialised contiguous CPU tensor in page-locked memory (needs a CUDA device). */
export function emptyPinned<D extends DType>(op: string, shape: readonly number[], dtype: D): Tensor<D> {
  const bytes = numelOf(shape) * dtypeSize(dtype);
  const storage = new SharedStorage(native.emptyPinned(bytes), bytes);
  return new Tensor<D>(storage, shape, contiguousStrides(shape), 0, dtype, 'cpu', op);
}

/** @internal An uninitialised tensor of `shape` in the memory format of `like`. */
export function emptyLike<D extends DType>(op: string, like: Tensor, shape: readonly number[], dtype: D): Tensor<D> {
  return empty(op, shape, dtype, like.device, stridesLike(like, shape));
}

/** The values each integer dtype holds (bool takes any number, as "!= 0"). */
const INTEGER_RANGE: Partial<Record<DType, readonly [number, number]>> = { int32: [-(2 ** 31), 2 ** 31 - 1], uint8: [0, 255] };

/**
 * Throws ArgumentError when a value cannot be stored in the integer `dtype`: outside its
 * range (PyTorch raises "value cannot be converted to type ... without overflow" for these
 * rather than wrap), NaN or infinite. Fractions are truncated toward zero, as PyTorch.
 * `at` names the offending value's place for the message.
 */
function checkFits(op: string, dtype: DType, values: ArrayLike<number>, at: (i: number) => string): void {
  const range = INTEGER_RANGE[dtype];
  if (range === undefined) return;
  const [low, high] = range;
  for (let i = 0; i < values.length; ++i) {
    const v = values[i]!;
    // Compared after truncation, as stored: -0.5 fits uint8 as 0.
    if (!(Math.trunc(v) >= low && Math.trunc(v) <= high)) {
      throw new ArgumentError(`${op}: ${at(i)} ${v} does not fit dtype ${dtype} (range ${low} to ${high}); use dtype 'float32' or bring the value into range`);
    }
  }
}

function options(op: string, opts: TensorOptions | undefined, defaultDType: DType): { dtype: DType; device: DeviceLike } {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
    throw new ArgumentError(`${op}: expected options to be an object, got ${describe(opts)}`);
  }
  const dtype = opts?.dtype === undefined ? defaultDType : checkDType(op, 'dtype', opts.dtype);
  return { dtype, device: opts?.device ?? 'cpu' };
}

/**
 * Creates a tensor filled with the boolean `value`, bool unless `dtype` is given, as
 * `torch.full`. For an integer dtype the value must fit it (ArgumentError otherwise, as
 * PyTorch raises). At most 2^31 - 1 elements.
 */
export function full<D extends DType = 'bool'>(shape: readonly number[], value: boolean, opts?: TensorOptions<D>): Tensor<D>;
/**
 * Creates a tensor filled with the number `value`, float32 unless `dtype` is given, as
 * `torch.full` (which infers int64 from an integer `value`; pass `dtype: 'int32'` here).
 *
 * @example
 * full([2, 3], 0.5)                      // float32
 * full([4], 7, { dtype: 'int32', device: 'cuda' })
 */
export function full<D extends DType = 'float32'>(shape: readonly number[], value: number, opts?: TensorOptions<D>): Tensor<D>;
export function full(shape: readonly number[], value: number | boolean, opts?: TensorOptions): Tensor {
  if (typeof value !== 'number' && typeof value !== 'boolean') {
    throw new ArgumentError(`full: expected fillValue to be a number or boolean, got ${describe(value)}`);
  }
  const { dtype, device } = options('full', opts, typeof value === 'boolean' ? 'bool' : 'float32');
  checkFits('full', dtype, [Number(value)], () => 'fillValue');
  const out = empty('full', checkShape('full', 'size', shape), dtype, device);
  native.fill('full', out._native('full', 'out'), Number(value));
  return finish(out, opts);
}

/** A tensor of zeros. @example zeros([2, 3]) */
export function zeros<D extends DType = 'float32'>(shape: readonly number[], opts?: TensorOptions<D>): Tensor<D> {
  return full(shape, 0, opts) as Tensor<D>;
}

/** A tensor of ones. */
export function ones<D extends DType = 'float32'>(shape: readonly number[], opts?: TensorOptions<D>): Tensor<D> {
  return full(shape, 1, opts) as Tensor<D>;
}

/** Zeros with the shape, dtype and device of `like` (options override). */
export function zerosLike<D extends DType, E extends DType = D>(like: Tensor<D>, opts?: TensorOptions<E>): Tensor<E> {
  return full(like.shape, 0, { dtype: like.dtype, device: like.device, ...opts }) as Tensor<DType> as Tensor<E>;
}

/** Ones with the shape, dtype and device of `like` (options override). */
export function onesLike<D extends DType, E extends DType = D>(like: Tensor<D>, opts?: TensorOptions<E>): Tensor<E> {
  return full(like.shape, 1, { dtype: like.dtype, device: like.device, ...opts }) as Tensor<DType> as Tensor<E>;
}

/**
 * Values `start, start + step, ...` below `end` (above it for a negative step), as
 * `torch.arange`: `arange(5)` or `arange(start, end, step?)`. The dtype is int32 when all
 * arguments are integers, else float32. Every value must fit the dtype (ArgumentError
 * otherwise: PyTorch wraps int32 ranges past 2^31 - 1, neocog refuses them).
 */
export function arange<D extends DType = DType>(end: number, opts?: TensorOptions<D>): Tensor<D>;
/**
 * Values `start, start + step, ...` below `end` (above it for a negative step; default step
 * 1), as `torch.arange(start, end, step)`. The dtype is int32 when all arguments are
 * integers, else float32, unless `dtype` is given.
 *
 * @example
 * arange(2, 10, 3)  // int32 [2, 5, 8]
 * arange(0, 1, 0.25) // float32 [0, 0.25, 0.5, 0.75]
 */
export function arange<D extends DType = DType>(start: number, end: number, step?: number, opts?: TensorOptions<D>): Tensor<D>;
export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  const twoArgs = typeof b === 'number';
  const start = twoArgs ? a : 0;
  const end = twoArgs ? b : a;
  const step = twoArgs && typeof c === 'number' ? c : 1;
  const opts = (twoArgs ? (typeof c === 'number' ? d : c) : b) as TensorOptions | undefined;
  for (const [name, v] of [['start', start], ['end', end], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`arange: expected ${name} to be a finite number, got ${describe(v)}`);
  }
  if (step === 0) throw new ArgumentError('arange: step must be non-zero');
  if ((end - start) / step < 0) throw new ArgumentError(`arange: the sign of step ${step} does not lead from ${start} to ${end}`);
  const integral = [start, end, step].every(Number.isInteger);
  const { dtype, device } = options('arange', opts, integral ? 'int32' : 'float32');
  const length = Math.max(0, Math.ceil((end - start) / step));
  // The last value, not only end: arange(0, 5e9, 2e9) ends at 4e9.
  checkFits('arange', dtype, [start, start + Math.max(length - 1, 0) * step], (i) => (i === 0 ? 'start' : 'the last value'));
  const out = empty('arange', checkShape('arange', 'size', [length]), dtype, device);
  native.arange('arange', out._native('arange', 'out'), start, step);
  return out;
}

function randomTensor(op: 'rand' | 'randn', shape: readonly number[], opts: TensorOptions | undefined, a: number, b: number): Tensor<'float32'> {
  const { dtype, device } = options(op, opts, 'float32');
  if (dtype !== 'float32') throw new DTypeError(`${op}: expected dtype float32, got ${dtype}`);
  const out = empty(op, checkShape(op, 'size', shape), 'float32', device);
  const { seed, offset } = nextRandomState(out.numel);
  if (op === 'rand') native.uniform(op, out._native(op, 'out'), { seed, offset }, a, b);
  else native.normal(op, out._native(op, 'out'), { seed, offset }, a, b);
  return finish(out, opts);
}

/**
 * @internal Draws a contiguous float32 tensor's values in place from the seeded generator
 * (uniform in [a, b), or normal with mean a and standard deviation b), in one pass: nn.init
 * fills parameters with it.
 */
export function drawInPlace(t: Tensor, kind: 'uniform' | 'normal', a: number, b: number): void {
  const op = `${kind}_`;
  native[kind](op, t._native(op, 'out'), nextRandomState(t.numel), a, b);
}

/** @internal Sets every element of `t` (any layout) to `value`, in place. */
export function fillInPlace(t: Tensor, value: number): void {
  native.fill('fill_', t._native('fill_', 'out'), value);
}

/** Uniform samples in [0, 1) from the seeded generator (see `manualSeed`). */
export function rand(shape: readonly number[], opts?: TensorOptions<'float32'>): Tensor<'float32'> {
  return randomTensor('rand', shape, opts, 0, 1);
}

/** Standard normal samples from the seeded generator (see `manualSeed`). */
export function randn(shape: readonly number[], opts?: TensorOptions<'float32'>): Tensor<'float32'> {
  return randomTensor('randn', shape, opts, 0, 1);
}

/** Uniform integers in [low, high) from the seeded generator, int32, as `torch.randint`. */
export function randint(low: number, high: number, shape: readonly number[], opts?: { device?: DeviceLike }): Tensor<'int32'> {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low || high - low > 2 ** 24) {
    throw new ArgumentError(`randint: expected integers low < high with high - low <= 2^24, got ${describe(low)} and ${describe(high)}`);
  }
  const u = rand(shape, { device: opts?.device });
  try {
    // u * range is in [0, range): truncation is floor; float rounding can reach range, hence the min.
    const scaled = u.mul(high - low).to('int32');
    const capped = scaled.minimum(high - low - 1);
    scaled.dispose();
    const out = capped.add(low);
    capped.dispose();
    return out;
  } finally {
    u.dispose();
  }
}

/** Uploads a typed array into a new tensor of the same length. */
function upload<D extends DType>(op: string, values: TensorData, shape: number[], dtype: D, device: DeviceLike): Tensor<D> {
  const out = empty(op, shape, dtype, device);
  native.upload(out._storage(op, 'out').id, values);
  return out;
}

/** @internal A tensor of `dtype` over a copy of its native bytes (row-major, little-endian). */
export function fromBytes<D extends DType>(op: string, bytes: Uint8Array, shape: number[], dtype: D): Tensor<D> {
  if (bytes.byteLength !== numelOf(shape) * dtypeSize(dtype)) {
    throw new ShapeError(`${op}: shape [${shape.join(', ')}] of ${dtype} needs ${numelOf(shape) * dtypeSize(dtype)} bytes, got ${bytes.byteLength}`);
  }
  return upload(op, bytes, shape, dtype, 'cpu');
}

/**
 * A tensor over a copy of `array` (Float32Array -> float32, Int32Array -> int32,
 * Uint8Array -> uint8), reshaped to `shape` (default: 1-d).
 */
export function fromTypedArray<A extends TensorData>(
  array: A,
  shape?: readonly number[],
  opts?: { device?: DeviceLike; requiresGrad?: boolean },
): Tensor<DTypeOfArray<A>> {
  if (!(array instanceof Float32Array || array instanceof Int32Array || array instanceof Uint8Array)) {
    throw new ArgumentError(`fromTypedArray: expected a Float32Array, Int32Array or Uint8Array, got ${describe(array)}`);
  }
  const size = checkShape('fromTypedArray', 'shape', shape ?? [array.length]);
  if (numelOf(size) !== array.length) {
    throw new ShapeError(`fromTypedArray: shape [${size.join(', ')}] needs ${numelOf(size)} values, got ${array.length}`);
  }
  return finish(upload('fromTypedArray', array, size, dtypeOfTypedArray(array) as DTypeOfArray<A>, opts?.device ?? 'cpu'), opts);
}

/** `data[i][j]...` for the `flat`-th value of a nested array of `shape`. */
function describeFlatIndex(shape: readonly number[], flat: number): string {
  const coords: number[] = [];
  for (let d = shape.length - 1; d >= 0; --d) {
    coords.unshift(flat % shape[d]!);
    flat = Math.floor(flat / shape[d]!);
  }
  return `data${coords.map((c) => `[${c}]`).join('')}`;
}

/** Shape of a nested array, checking that it is rectangular. */
function nestedShape(data: NestedArray, path = 'data'): number[] {
  if (!Array.isArray(data)) return [];
  if (data.length === 0) return [0];
  const inner = nestedShape(data[0]!, `${path}[0]`);
  data.forEach((item, i) => {
    const shape = nestedShape(item, `${path}[${i}]`);
    if (shape.join(',') !== inner.join(',')) {
      throw new ShapeError(`tensor: ${path} is ragged: item ${i} has shape [${shape.join(', ')}], item 0 has [${inner.join(', ')}]`);
    }
  });
  return [data.length, ...inner];
}

/** Options of {@link tensor} for typed-array data: the shape to give the values. */
export interface TypedArrayTensorOptions<D extends DType = DType> extends TensorOptions<D> {
  /** Shape of the new tensor (default: 1-d); its element count must equal the array's length. */
  shape?: readonly number[];
}

/**
 * A tensor from nested arrays of numbers or booleans, or from a typed array, as
 * `torch.tensor`. The dtype is inferred (bool for booleans, int32 for integers, else
 * float32; for a typed array its own type: Float32Array -> float32, Int32Array -> int32,
 * Uint8Array -> uint8) unless given; an integer beyond int32 then needs `dtype: 'float32'`.
 * A typed array may be given a `shape` (ShapeError when its element count differs from the
 * array's length).
 *
 * Values for an integer dtype must fit it: a value outside int32's or uint8's range, NaN or
 * an infinity throws ArgumentError (PyTorch raises for out-of-range values too, except that
 * it wraps negative values into uint8; neocog refuses those as well). Fractions are
 * truncated toward zero, as PyTorch does (`tensor([2.7], { dtype: 'int32' })` holds 2).
 * Float values beyond float32's range become infinities, as in PyTorch.
 *
 * @example
 * const x = tensor([[1, 2], [3, 4]], { dtype: 'float32' });
 * const image = tensor(new Float32Array(784), { shape: [1, 28, 28] });
 */
export function tensor<A extends TensorData>(data: A, opts?: TypedArrayTensorOptions<never>): Tensor<DTypeOfArray<A>>;
/** A tensor holding a typed array's values, converted to `opts.dtype` (see the first overload). */
export function tensor<D extends DType = DType>(data: TensorData, opts?: TypedArrayTensorOptions<D>): Tensor<D>;
/** A tensor from nested arrays of numbers or booleans, its shape theirs (see the first overload). */
export function tensor<D extends DType = DType>(data: NestedArray, opts?: TensorOptions<D>): Tensor<D>;
export function tensor<D extends DType = DType>(data: NestedArray | TensorData, opts?: TypedArrayTensorOptions<D>): Tensor<D> {
  if (ArrayBuffer.isView(data)) {
    const shape = opts?.shape;
    if (shape !== undefined) {
      const size = checkShape('tensor', 'shape', shape);
      if (numelOf(size) !== (data as TensorData).length) {
        throw new ShapeError(`tensor: expected shape [${size.join(', ')}] to hold the array's ${(data as TensorData).length} values, but it holds ${numelOf(size)}`);
      }
    }
    if (opts?.dtype !== undefined && !(data instanceof Int32Array && opts.dtype === 'int32')) {
      checkFits('tensor', checkDType('tensor', 'dtype', opts.dtype), data as TensorData, (i) => `data[${i}]`);
    }
    const t = fromTypedArray(data as TensorData, shape, { device: opts?.device }) as Tensor<DType> as Tensor<D>;
    if (opts?.dtype === undefined || opts.dtype === t.dtype) return finish(t, opts);
    try {
      return finish(t.to(opts.dtype), opts);
    } finally {
      t.dispose();
    }
  }
  if (opts?.shape !== undefined) {
    throw new ArgumentError('tensor: the shape option is for typed arrays; nested arrays carry their own shape (use reshape() to change it)');
  }
  const shape = checkShape('tensor', 'data shape', nestedShape(data));
  const flat = (Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data]) as unknown[];
  for (const v of flat) {
    if (typeof v !== 'number' && typeof v !== 'boolean') throw new ArgumentError(`tensor: expected numbers or booleans, got ${describe(v)}`);
  }
  const inferred: DType = flat.length > 0 && flat.every((v) => typeof v === 'boolean')
    ? 'bool'
    : flat.every((v) => Number.isInteger(v) || typeof v === 'boolean') && flat.length > 0
      ? 'int32'
      : 'float32';
  const { dtype, device } = options('tensor', opts, inferred);
  const numbers = flat.map(Number);
  checkFits('tensor', dtype, numbers, (i) => `value ${describeFlatIndex(shape, i)}`);
  if (isHalf(dtype)) {
    // Rounded once, float32 -> 16 bits, by the native cast: the same rounding as to(dtype).
    const staged = upload('tensor', Float32Array.from(numbers), shape, 'float32', device);
    try {
      return finish(staged.to(dtype) as Tensor<DType> as Tensor<D>, opts);
    } finally {
      staged.dispose();
    }
  }
  const values: TensorData =
    dtype === 'float32'
      ? Float32Array.from(numbers)
      : dtype === 'int32'
        ? Int32Array.from(numbers, Math.trunc)
        : Uint8Array.from(numbers, (v) => (dtype === 'bool' ? Number(v !== 0) : Math.trunc(v) & 0xff));
  return finish(upload('tensor', values, shape, dtype, device) as Tensor<DType> as Tensor<D>, opts);
}
