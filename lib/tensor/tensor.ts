/**
 * The Tensor class: an n-d strided view of native memory on a device (DESIGN §2).
 * Views (reshape, permute, slice, ...) share memory and copy nothing; ops are queued on
 * the device's stream and return at once; `await t.data()` reads values.
 * @module
 */
import { backward, record, type BackwardOptions, type GradNode } from '../autograd/graph.js';
import { cudaUnavailableReason } from '../cuda.js';
import { ArgumentError, DeviceError, DisposedError, DTypeError, ShapeError } from '../errors.js';
import { native, type NativeTensor } from '../native.js';
import { emptyPinned } from './creation.js';
import { resolveDevice, type Device, type DeviceLike } from './device.js';
import { allocTypedArray, checkDType, dtypeCode, dtypeSize, isFloatingPoint, isHalf, typedArrayOf, type DType, type TypedArrayFor } from './dtype.js';
import { formatTensor } from './format.js';
import { sameDims } from './layout.js';
import { SharedStorage, track, untrack, type Held } from './memory.js';
import {
  contiguousStrides,
  describe,
  inferShape,
  normalizeDim,
  numelOf,
  viewStrides,
} from './shape.js';
import * as ops from '../ops/index.js';
import { copyInto, copyTo, zerosOn } from '../ops/copy.js';
import { sumTo } from '../ops/reduce.js';

/** Nested arrays of numbers, as `tolist()` returns and `tensor()` accepts. */
export type NestedArray = number | boolean | NestedArray[];

/** Called with each tensor an op reads (or views), the op's name and the argument's; see {@link observeReads}. */
type ReadObserver = (tensor: Tensor, op: string, arg: string) => void;
let readObserver: ReadObserver | null = null;

/**
 * @internal Runs `fn` with `observer` told of every tensor an op hands to the addon or
 * views (through `_storage`), differentiable or not: what lib/infer/fuse.ts traces to
 * know every reader of a convolution's output. Not reentrant.
 */
export function observeReads<T>(observer: ReadObserver, fn: () => T): T {
  readObserver = observer;
  try {
    return fn();
  } finally {
    readObserver = null;
  }
}

/**
 * An n-d array on a device. `D` is the dtype when known statically (creation functions
 * with an explicit or implied dtype give it), which types `data()` as the matching array.
 */
export class Tensor<D extends DType = DType> {
  /**
   * Copies of the shape and strides given. They are frozen when first read through
   * `shape`/`strides`: an op's output that is disposed unread (most temporaries) never
   * pays for Object.freeze (issue 11).
   */
  #shape: readonly number[];
  #strides: readonly number[];
  #frozen: boolean;
  /** Storage offset of the first element, in elements. */
  readonly offset: number;
  readonly dtype: D;
  readonly device: Device;
  /** Accumulated gradient of a leaf after `backward()`; owned (and disposed) by this tensor. */
  grad: Tensor<'float32'> | null = null;
  #storage: SharedStorage | null;
  /** The backstop's record of this tensor (memory.ts track()). */
  readonly #held: Held;
  /** What `_native` hands the binding, made on first use (shape, strides and offset never change). */
  #descriptor: NativeTensor | undefined;
  #requiresGrad = false;
  #gradFn: GradNode | null = null;

  /**
   * @internal Use the creation functions (`tensor`, `zeros`, ...) instead. `storage` is the
   * memory this tensor views, with one reference already counted for it.
   */
  constructor(
    storage: SharedStorage,
    shape: readonly number[],
    strides: readonly number[],
    offset: number,
    dtype: D,
    device: Device,
    creator: string,
  ) {
    this.#storage = storage;
    // Copies: the caller may reuse its arrays (slice() is cheaper than asking Object.isFrozen).
    this.#shape = shape.slice();
    this.#strides = strides.slice();
    this.#frozen = false;
    this.offset = offset;
    this.dtype = dtype;
    this.device = device;
    this.#held = track(this, this.#storage, creator, numelOf(shape) * dtypeSize(dtype));
  }

  /** Size of each dimension (NCHW for images). Frozen. */
  get shape(): readonly number[] {
    if (!this.#frozen) this.#freeze();
    return this.#shape;
  }

  /** Elements to step in storage per index step of each dimension. Frozen. */
  get strides(): readonly number[] {
    if (!this.#frozen) this.#freeze();
    return this.#strides;
  }

  #freeze(): void {
    Object.freeze(this.#shape);
    Object.freeze(this.#strides);
    this.#frozen = true;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    return numelOf(this.shape);
  }

  /** Whether gradients flow to this tensor (set on leaves with `requiresGrad_()`). */
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }

  /** The op that produced this tensor in the autograd graph, or null for a leaf. */
  get gradFn(): GradNode | null {
    return this.#gradFn;
  }

  /** True for tensors not produced by a recorded op (user-created tensors, parameters). */
  get isLeaf(): boolean {
    return this.#gradFn === null;
  }

  /**
   * Marks a leaf as requiring grad (float32 only), as `tensor.requires_grad_()`. Returns it.
   * @example const w = randn([3, 3]).requiresGrad_();
   */
  requiresGrad_(requiresGrad = true): this {
    if (!this.isLeaf) {
      throw new ArgumentError('requiresGrad_: only leaf tensors can change requiresGrad; use detach() for a new leaf');
    }
    if (requiresGrad && this.dtype !== 'float32') {
      throw new DTypeError(`requiresGrad_: only float32 tensors can require gradients, got ${this.dtype}`);
    }
    this.#requiresGrad = requiresGrad;
    return this;
  }

  /** @internal The hooks of registerPostAccumulateGradHook (backward() runs them). */
  _postAccumulateGradHooks: Set<(tensor: Tensor) => void> | null = null;

  /**
   * Registers `hook` to run once per `backward()` after this leaf's `.grad` has received all
   * of that pass's gradient, as PyTorch's `register_post_accumulate_grad_hook` (what
   * DistributedDataParallel starts its gradient all-reduces from). Returns a function that
   * removes the hook.
   * @throws ArgumentError on a non-leaf or a tensor that does not require grad.
   */
  registerPostAccumulateGradHook(hook: (tensor: this) => void): () => void {
    if (!this.isLeaf) throw new ArgumentError('registerPostAccumulateGradHook: only leaf tensors accumulate gradients; this one has a gradFn');
    if (!this.#requiresGrad) throw new ArgumentError("registerPostAccumulateGradHook: the tensor does not require grad (call requiresGrad_() first)");
    const hooks = (this._postAccumulateGradHooks ??= new Set());
    const entry = hook as (tensor: Tensor) => void;
    hooks.add(entry);
    return () => {
      hooks.delete(entry);
    };
  }

  /** @internal Attaches the graph node of the op that produced this tensor. */
  _setGradFn(node: GradNode): void {
    this.#gradFn = node;
    this.#requiresGrad = true;
  }

  /**
   * Computes gradients of this tensor with respect to the graph's leaves and accumulates
   * them into their `.grad`. `grad` may be omitted for a one-element tensor.
   */
  backward(grad?: Tensor, options?: BackwardOptions): void {
    backward(this, grad, options);
  }

  /** A new leaf sharing this tensor's memory, outside the autograd graph. */
  detach(): Tensor<D> {
    return this._view('detach', this.shape, this.strides);
  }

  /** True after `dispose()`; any further use throws DisposedError. */
  get isDisposed(): boolean {
    return this.#storage === null;
  }

  /** Size of one dimension (negative dims count from the end), or the whole shape. */
  size(dim?: number): number | readonly number[] {
    if (dim === undefined) return this.shape;
    return this.shape[normalizeDim('size', dim, this.ndim)]!;
  }

  /** True when the elements are laid out row-major with no gaps. */
  isContiguous(): boolean {
    let expected = 1;
    for (let d = this.ndim - 1; d >= 0; --d) {
      if (this.shape[d] !== 1 && this.strides[d] !== expected) return false;
      expected *= this.shape[d]!;
    }
    return true;
  }

  /**
   * Frees this tensor's reference to its memory now. Views of it keep working (they hold
   * their own reference). Calling it twice is harmless.
   */
  dispose(): void {
    if (this.#storage === null) return;
    this.#storage.release();
    this.#storage = null;
    this.#descriptor = undefined;
    this.grad?.dispose();
    this.grad = null;
    untrack(this, this.#held);
  }

  /** `using t = ...` disposes `t` at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal The descriptor the binding takes; throws DisposedError naming op and argument. */
  _native(op: string, arg = 'input'): NativeTensor {
    // Shape, strides and offset never change: the descriptor is made once per tensor.
    const storage = this._storage(op, arg);
    return (this.#descriptor ??= this.#describe(storage, this.#shape, this.#strides));
  }

  /** @internal A descriptor of this tensor's memory seen with another shape and strides. */
  _nativeAs(op: string, arg: string, shape: readonly number[], strides: readonly number[]): NativeTensor {
    // Seen as itself (an operand already of the broadcast shape): the cached layout serves.
    if (sameDims(shape, this.shape) && sameDims(strides, this.strides)) return this._native(op, arg);
    return this.#describe(this._storage(op, arg), shape, strides);
  }

  #describe(storage: SharedStorage, shape: readonly number[], strides: readonly number[]): NativeTensor {
    return storage.describe(dtypeCode(this.dtype), dtypeSize(this.dtype), shape, strides, this.offset);
  }

  /** @internal The memory this tensor views, for native calls; throws DisposedError naming `op`. */
  _storage(op: string, arg = 'input'): SharedStorage {
    if (readObserver !== null) readObserver(this, op, arg);
    if (this.#storage === null) {
      throw new DisposedError(`${op}: ${arg} has been disposed (shape [${this.shape.join(', ')}], ${this.dtype})`);
    }
    return this.#storage;
  }

  /** @internal A new tensor sharing this one's memory with another layout. */
  _view(op: string, shape: readonly number[], strides: readonly number[], offset = this.offset): Tensor<D> {
    this._storage(op);
    return new Tensor<D>(this.#storage!.acquire(), shape, strides, offset, this.dtype, this.device, op);
  }

  // ---- reading -------------------------------------------------------------------------

  /**
   * The values in logical row-major order, once every op queued before this call has run.
   * Rejects with the error of a failed op that produced this tensor.
   */
  async data(): Promise<TypedArrayFor[D]> {
    const source = this.#readable('data');
    const storage = source._storage('data').id;
    const size = dtypeSize(source.dtype);
    try {
      const buffer = await native.readAsync(storage, source.offset * size, this.numel * size);
      return typedArrayOf(source.dtype, buffer, this.numel) as TypedArrayFor[D];
    } finally {
      if (source !== this) source.dispose();
    }
  }

  /** Blocking form of {@link data}: waits for the stream on the calling thread. */
  dataSync(): TypedArrayFor[D] {
    const source = this.#readable('dataSync');
    try {
      const storage = source._storage('dataSync').id;
      if (this.numel === 0) return allocTypedArray(source.dtype, 0) as TypedArrayFor[D];
      const size = dtypeSize(source.dtype);
      return typedArrayOf(source.dtype, native.readSync(storage, source.offset * size, this.numel * size), this.numel) as TypedArrayFor[D];
    } finally {
      if (source !== this) source.dispose();
    }
  }

  /** @internal The native bytes of the elements in row-major order (16-bit floats unconverted). */
  _bytesSync(): Uint8Array {
    const source = this.isContiguous() ? this : noGradCopy(this);
    try {
      const size = dtypeSize(this.dtype);
      if (this.numel === 0) return new Uint8Array(0);
      return new Uint8Array(native.readSync(source._storage('_bytesSync').id, source.offset * size, this.numel * size));
    } finally {
      if (source !== this) source.dispose();
    }
  }

  /** What data() reads: contiguous, and 16-bit floats widened to float32 (exact). */
  #readable(op: string): Tensor {
    if (isHalf(this.dtype)) return copyTo(this, this.device, 'float32', op);
    return this.isContiguous() ? this : noGradCopy(this);
  }

  /** The single value of a one-element tensor (blocking), as `tensor.item()`. */
  item(): number {
    if (this.numel !== 1) {
      throw new ShapeError(`item: expected a tensor with one element, got shape [${this.shape.join(', ')}]`);
    }
    return this.dataSync()[0]!;
  }

  /** Nested arrays of the values (blocking), as `tensor.tolist()`. bool becomes true/false. */
  tolist(): NestedArray {
    const values = this.dataSync();
    const toValue = (i: number): number | boolean => (this.dtype === 'bool' ? values[i] !== 0 : values[i]!);
    const build = (dim: number, base: number): NestedArray => {
      if (dim === this.ndim) return toValue(base);
      const inner = numelOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, base + i * inner));
    };
    return build(0, 0);
  }

  /** Prints like PyTorch: `tensor([[1., 2.], [3., 4.]])` (blocking). */
  toString(): string {
    if (this.isDisposed) return `tensor(<disposed>, shape=[${this.shape.join(', ')}], dtype=${this.dtype})`;
    return formatTensor(this.dataSync(), this.shape, this.dtype, this.device);
  }

  /** Node's util.inspect / console.log use toString(). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- views (no copy) ----------------------------------------------------------------

  /** A view with a new shape; throws ShapeError when the layout does not allow a view. */
  view(...shape: number[] | [readonly number[]]): Tensor<D> {
    const target = inferShape('view', flattenArgs(shape), this.numel);
    const strides = viewStrides(this.shape, this.strides, target);
    if (strides === null) {
      throw new ShapeError(
        `view: a tensor of shape [${this.shape.join(', ')}] with strides [${this.strides.join(', ')}] cannot be ` +
          `viewed as [${target.join(', ')}] without a copy; use reshape()`,
      );
    }
    return this.#reshaped('view', target, strides);
  }

  /** A view that passes gradients back reshaped to this tensor's shape. */
  #reshaped(op: string, shape: readonly number[], strides: readonly number[], source: Tensor<D> = this): Tensor<D> {
    const inputShape = this.shape;
    return record(op, source._view(op, shape, strides), [this], (g) => [g.reshape(inputShape)]);
  }

  /** A tensor with a new shape: a view when possible, otherwise a copy (`-1` infers a size). */
  reshape(...shape: number[] | [readonly number[]]): Tensor<D> {
    const target = inferShape('reshape', flattenArgs(shape), this.numel);
    const strides = viewStrides(this.shape, this.strides, target);
    if (strides !== null) return this.#reshaped('reshape', target, strides);
    const copy = noGradCopy(this);
    try {
      return this.#reshaped('reshape', target, contiguousStrides(target), copy);
    } finally {
      copy.dispose();
    }
  }

  /** Reorders dimensions: `x.permute(0, 2, 3, 1)` turns NCHW into NHWC. */
  permute(...dims: number[] | [readonly number[]]): Tensor<D> {
    const order = flattenArgs(dims).map((d) => normalizeDim('permute', d, this.ndim));
    if (order.length !== this.ndim || new Set(order).size !== this.ndim) {
      throw new ShapeError(`permute: expected a permutation of ${this.ndim} dims, got [${flattenArgs(dims).join(', ')}]`);
    }
    const inverse = order.map((_, i) => order.indexOf(i));
    const out = this._view('permute', order.map((d) => this.shape[d]!), order.map((d) => this.strides[d]!));
    return record('permute', out, [this], (g) => [g.permute(inverse)]);
  }

  /** Swaps two dimensions. */
  transpose(dim0: number, dim1: number): Tensor<D> {
    const a = normalizeDim('transpose', dim0, this.ndim, 'dim0');
    const b = normalizeDim('transpose', dim1, this.ndim, 'dim1');
    const order = [...this.shape.keys()];
    [order[a], order[b]] = [b, a];
    return this.permute(order);
  }

  /**
   * Elements `start` (inclusive) to `end` (exclusive) of `dim`, every `step`-th, as Python's
   * `x[..., start:end:step]`: negative indices count from the end, bounds are clamped.
   */
  slice(dim: number, start = 0, end = Number.POSITIVE_INFINITY, step = 1): Tensor<D> {
    const d = normalizeDim('slice', dim, this.ndim);
    if (!Number.isInteger(step) || step <= 0) {
      throw new ArgumentError(`slice: expected step to be a positive integer, got ${describe(step)}`);
    }
    for (const [name, value] of [['start', start], ['end', end]] as const) {
      if (!Number.isInteger(value) && value !== Number.POSITIVE_INFINITY) {
        throw new ArgumentError(`slice: expected ${name} to be an integer, got ${describe(value)}`);
      }
    }
    const size = this.shape[d]!;
    const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
    const from = clamp(start);
    const to = Math.max(clamp(end), from);
    const shape = [...this.shape];
    shape[d] = Math.ceil((to - from) / step);
    const strides = [...this.strides];
    strides[d] = this.strides[d]! * step;
    const out = this._view('slice', shape, strides, this.offset + from * this.strides[d]!);
    const inputShape = this.shape;
    return record('slice', out, [this], (g) => {
      const full = zerosFor(inputShape, g);
      copyInto(full.slice(d, from, to, step), g);
      return [full];
    });
  }

  /** Removes dimensions of size 1 (all, or only `dim`). */
  squeeze(dim?: number): Tensor<D> {
    if (dim === undefined) {
      const keep = [...this.shape.keys()].filter((i) => this.shape[i] !== 1);
      return this.#reshaped('squeeze', keep.map((i) => this.shape[i]!), keep.map((i) => this.strides[i]!));
    }
    const d = normalizeDim('squeeze', dim, this.ndim);
    if (this.shape[d] !== 1) return this.#reshaped('squeeze', this.shape, this.strides);
    return this.#reshaped('squeeze', this.shape.filter((_, i) => i !== d), this.strides.filter((_, i) => i !== d));
  }

  /** Inserts a dimension of size 1 at `dim` (in [-ndim-1, ndim]). */
  unsqueeze(dim: number): Tensor<D> {
    const d = normalizeDim('unsqueeze', dim, this.ndim + 1);
    const shape = [...this.shape];
    const strides = [...this.strides];
    const stride = d < this.ndim ? this.shape[d]! * this.strides[d]! : 1;
    shape.splice(d, 0, 1);
    strides.splice(d, 0, stride);
    return this.#reshaped('unsqueeze', shape, strides);
  }

  /** Flattens dims `startDim..endDim` into one (a view when possible). */
  flatten(startDim = 0, endDim = -1): Tensor<D> {
    if (this.ndim === 0) return this.reshape([1]);
    const s = normalizeDim('flatten', startDim, this.ndim, 'startDim');
    const e = normalizeDim('flatten', endDim, this.ndim, 'endDim');
    if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
    const shape = [...this.shape.slice(0, s), numelOf(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)];
    return this.reshape(shape);
  }

  /** A view repeating size-1 dims to `shape` (stride 0), as `expand`; -1 keeps a size. */
  expand(...shape: number[] | [readonly number[]]): Tensor<D> {
    const target = flattenArgs(shape);
    if (target.length < this.ndim) {
      throw new ShapeError(`expand: target [${target.join(', ')}] has fewer dims than the tensor's ${this.ndim}`);
    }
    const lead = target.length - this.ndim;
    const outShape: number[] = [];
    const outStrides: number[] = [];
    target.forEach((size, i) => {
      const own = i >= lead ? this.shape[i - lead]! : 1;
      const resolved = size === -1 && i >= lead ? own : size;
      if (!Number.isInteger(resolved) || resolved < 0 || (own !== 1 && own !== resolved)) {
        throw new ShapeError(`expand: cannot expand [${this.shape.join(', ')}] to [${target.join(', ')}]`);
      }
      outShape.push(resolved);
      outStrides.push(i < lead || (own === 1 && resolved !== 1) ? 0 : this.strides[i - lead]!);
    });
    const inputShape = this.shape;
    return record('expand', this._view('expand', outShape, outStrides), [this], (g) => [sumTo(g, inputShape)]);
  }

  /** This tensor if already contiguous (a new handle on it), else a contiguous copy. */
  contiguous(): Tensor<D> {
    const out = this.isContiguous() ? this._view('contiguous', this.shape, this.strides) : noGradCopy(this);
    return record('contiguous', out, [this], (g) => [g.detach()]);
  }

  /**
   * A copy in page-locked (pinned) host memory, as `tensor.pin_memory()`: `to('cuda')` from
   * it goes by DMA without the driver's staging copy. Needs a usable CUDA device (DeviceError
   * with the reason otherwise); a pinned tensor is returned as a new handle on itself.
   */
  pinMemory(): Tensor<D> {
    if (this.device !== 'cpu') throw new DeviceError(`pinMemory: only CPU tensors can be pinned, got one on ${this.device}`);
    if (this.isPinned()) return this._view('pinMemory', this.shape, this.strides);
    const reason = cudaUnavailableReason();
    if (reason !== null) throw new DeviceError(`pinMemory: CUDA is not available: ${reason}`);
    const out = emptyPinned('pinMemory', this.shape, this.dtype);
    copyInto(out, this);
    return record('pinMemory', out, [this], (g) => [g.detach()]);
  }

  /** Whether this tensor's memory is page-locked (see {@link pinMemory}), as `is_pinned()`. */
  isPinned(): boolean {
    return native.storagePinned(this._storage('isPinned').id);
  }

  /** A contiguous copy with its own memory. */
  clone(): Tensor<D> {
    return record('clone', copyTo(this, this.device, this.dtype, 'clone'), [this], (g) => [g.detach()]);
  }

  /**
   * Moves to a device and/or converts the dtype, as `tensor.to()`. Returns a new tensor
   * (a new handle on the same memory when nothing changes, so disposing either is safe). A
   * dtype conversion keeps the memory format (a channels-last tensor stays channels-last), as
   * PyTorch's `preserve_format`; a move to another device is contiguous.
   */
  to(device: DeviceLike): Tensor<D>;
  to<E extends DType>(dtype: E): Tensor<E>;
  to<E extends DType>(device: DeviceLike, dtype: E): Tensor<E>;
  to(target: DeviceLike | DType, dtype?: DType): Tensor {
    const isDevice = typeof target === 'string' && (target === 'cpu' || target.startsWith('cuda'));
    const device = isDevice ? resolveDevice('to', target) : this.device;
    const type = isDevice ? (dtype === undefined ? this.dtype : checkDType('to', 'dtype', dtype)) : checkDType('to', 'dtype', target);
    const source = this.device;
    const out = device === this.device && type === this.dtype ? this._view('to', this.shape, this.strides) : copyTo(this, device, type, 'to', true);
    // Float -> float conversions and moves are differentiable; the gradient goes back to the
    // source's device and dtype.
    if (!isFloatingPoint(type) || !isFloatingPoint(this.dtype)) return out;
    const sourceType = this.dtype;
    return record('to', out, [this], (g) => [g.to(source, sourceType)]);
  }

  /** Shorthand for `to('float32')`, as `x.float()` (e.g. `pred.eq(y).float().mean()`). */
  float(): Tensor<'float32'> {
    return this.to('float32');
  }

  /** Shorthand for `to('int32')`, as `x.int()` (truncates toward zero). */
  int(): Tensor<'int32'> {
    return this.to('int32');
  }

  /** Shorthand for `to('bool')`, as `x.bool()` (non-zero is true). */
  bool(): Tensor<'bool'> {
    return this.to('bool');
  }

  /** Shorthand for `to('cpu')`. */
  cpu(): Tensor<D> {
    return this.to('cpu');
  }

  /** Shorthand for `to('cuda:N')`. */
  cuda(index = 0): Tensor<D> {
    return this.to(`cuda:${index}`);
  }

  // ---- ops as methods (lib/ops) ------------------------------------------------------

  /** `this + other` with broadcasting. */
  add(other: Tensor | number): Tensor<D> {
    return ops.add(this, other);
  }
  /** `this - other` with broadcasting. */
  sub(other: Tensor | number): Tensor<D> {
    return ops.sub(this, other);
  }
  /** `this * other` with broadcasting. */
  mul(other: Tensor | number): Tensor<D> {
    return ops.mul(this, other);
  }
  /** `this / other` with broadcasting (float32 only). */
  div(other: Tensor | number): Tensor<D> {
    return ops.div(this, other);
  }
  /** Elementwise maximum with broadcasting. */
  maximum(other: Tensor | number): Tensor<D> {
    return ops.maximum(this, other);
  }
  /** Elementwise minimum with broadcasting. */
  minimum(other: Tensor | number): Tensor<D> {
    return ops.minimum(this, other);
  }
  /** `this ** exponent` with broadcasting. */
  pow(exponent: Tensor | number): Tensor<D> {
    return ops.pow(this, exponent);
  }
  /** `-this`. */
  neg(): Tensor<D> {
    return ops.neg(this);
  }
  /** `|this|`. */
  abs(): Tensor<D> {
    return ops.abs(this);
  }
  /** `e^this`. */
  exp(): Tensor<D> {
    return ops.exp(this);
  }
  /** Natural logarithm. */
  log(): Tensor<D> {
    return ops.log(this);
  }
  /** Square root. */
  sqrt(): Tensor<D> {
    return ops.sqrt(this);
  }
  /** `this * this`. */
  square(): Tensor<D> {
    return ops.square(this);
  }
  /** `1 / this`. */
  reciprocal(): Tensor<D> {
    return ops.reciprocal(this);
  }
  /** The largest integer not above each element, as `x.floor()` (integers unchanged; gradient 0). */
  floor(): Tensor<D> {
    return ops.floor(this);
  }
  /** The smallest integer not below each element, as `x.ceil()` (gradient 0). */
  ceil(): Tensor<D> {
    return ops.ceil(this);
  }
  /** The nearest integer, halves to even, as `x.round()` (gradient 0). */
  round(): Tensor<D> {
    return ops.round(this);
  }
  /** `max(this, 0)`. */
  relu(): Tensor<D> {
    return ops.relu(this);
  }
  /** Logistic sigmoid. */
  sigmoid(): Tensor<D> {
    return ops.sigmoid(this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor<D> {
    return ops.tanh(this);
  }
  /** `this == other` (bool). */
  eq(other: Tensor | number): Tensor<'bool'> {
    return ops.eq(this, other);
  }
  /** `this != other` (bool). */
  ne(other: Tensor | number): Tensor<'bool'> {
    return ops.ne(this, other);
  }
  /** `this < other` (bool). */
  lt(other: Tensor | number): Tensor<'bool'> {
    return ops.lt(this, other);
  }
  /** `this <= other` (bool). */
  le(other: Tensor | number): Tensor<'bool'> {
    return ops.le(this, other);
  }
  /** `this > other` (bool). */
  gt(other: Tensor | number): Tensor<'bool'> {
    return ops.gt(this, other);
  }
  /** `this >= other` (bool). */
  ge(other: Tensor | number): Tensor<'bool'> {
    return ops.ge(this, other);
  }
  /**
   * Sum over `dim` (all when omitted), as `x.sum()`: float32 stays float32; int32, uint8
   * and bool sum to int32 (PyTorch: int64), so `mask.sum()` counts the trues.
   */
  sum(dim?: number | readonly number[], opts?: ops.ReduceOptions): Tensor<ops.SumDType<D>> {
    return ops.sum(this, dim, opts);
  }
  /** Mean over `dim` (all when omitted); float32 only (DTypeError for integer and bool, as PyTorch). */
  mean(dim?: number | readonly number[], opts?: ops.ReduceOptions): Tensor<D> {
    return ops.mean(this, dim, opts);
  }
  /** Maximum over `dim` (all when omitted). */
  amax(dim?: number | readonly number[], opts?: ops.ReduceOptions): Tensor<D> {
    return ops.amax(this, dim, opts);
  }
  /** Minimum over `dim` (all when omitted). */
  amin(dim?: number | readonly number[], opts?: ops.ReduceOptions): Tensor<D> {
    return ops.amin(this, dim, opts);
  }
  /**
   * As `x.max()`: without arguments the largest element (a 0-d tensor); with a `dim` the
   * maximum along it and its (first) position, `{ values, indices }`; with a tensor the
   * elementwise maximum (as {@link maximum}).
   * @example const { values, indices } = logits.max(1);
   */
  max(): Tensor<D>;
  max(dim: number, opts?: ops.ReduceOptions): ops.ValuesIndices<D>;
  max(other: Tensor): Tensor<D>;
  max(arg?: number | Tensor, opts?: ops.ReduceOptions): Tensor<D> | ops.ValuesIndices<D> {
    if (arg === undefined) return ops.amax(this);
    if (arg instanceof Tensor) return ops.maximum(this, arg);
    return ops.maxAlong(this, arg, opts);
  }
  /** As `x.min()`: the smallest element, `{ values, indices }` along `dim`, or the elementwise minimum with a tensor. */
  min(): Tensor<D>;
  min(dim: number, opts?: ops.ReduceOptions): ops.ValuesIndices<D>;
  min(other: Tensor): Tensor<D>;
  min(arg?: number | Tensor, opts?: ops.ReduceOptions): Tensor<D> | ops.ValuesIndices<D> {
    if (arg === undefined) return ops.amin(this);
    if (arg instanceof Tensor) return ops.minimum(this, arg);
    return ops.minAlong(this, arg, opts);
  }
  /** Index of the maximum along `dim` (of the flattened tensor when omitted), int32. */
  argmax(dim?: number, opts?: ops.ReduceOptions): Tensor<'int32'> {
    return ops.argmax(this, dim, opts);
  }
  /** Index of the minimum along `dim` (of the flattened tensor when omitted), int32. */
  argmin(dim?: number, opts?: ops.ReduceOptions): Tensor<'int32'> {
    return ops.argmin(this, dim, opts);
  }
  /** Softmax over `dim`, as `x.softmax(dim)`. */
  softmax(dim: number): Tensor<'float32'> {
    return ops.softmax(this, dim);
  }
  /** `log(softmax(x, dim))` computed without overflow, as `x.log_softmax(dim)`. */
  logSoftmax(dim: number): Tensor<'float32'> {
    return ops.logSoftmax(this, dim);
  }
  /** Clamps into [min, max] (either may be null; numbers or broadcast tensors), as `x.clamp(min, max)`. */
  clamp(min?: number | Tensor | null, max?: number | Tensor | null): Tensor<D> {
    return ops.clamp(this, min, max);
  }
  /** The `k` largest (or smallest) entries along `dim` (default last), sorted: `{ values, indices }`. */
  topk(k: number, dim = -1, opts: { largest?: boolean } = {}): ops.ValuesIndices<D> {
    return ops.topk(this, k, dim, opts);
  }
  /** Sorts along `dim` (default last; stable): `{ values, indices }`. */
  sort(dim = -1, opts: { descending?: boolean } = {}): ops.ValuesIndices<D> {
    return ops.sort(this, dim, opts);
  }
  /** Coordinates `[count, ndim]` (int32) of the nonzero elements, as `x.nonzero()`; reads the count back (waits for the stream). */
  nonzero(): Tensor<'int32'> {
    return ops.nonzero(this);
  }
  /** The elements where `mask` (broadcast) is nonzero, 1-D, as `x.masked_select(mask)`; reads the count back. */
  maskedSelect(mask: Tensor): Tensor<D> {
    return ops.maskedSelect(this, mask);
  }
  /** Positions that sort along `dim` (default last; stable), int32. */
  argsort(dim = -1, opts: { descending?: boolean } = {}): Tensor<'int32'> {
    return ops.argsort(this, dim, opts);
  }
  /** Variance over `dim` (all when omitted; unbiased unless `correction` says otherwise), as `x.var()`. */
  variance(dim?: number | readonly number[], opts?: ops.VarianceOptions): Tensor<'float32'> {
    return ops.variance(this, dim, opts);
  }
  /** The PyTorch spelling of {@link variance}. */
  var(dim?: number | readonly number[], opts?: ops.VarianceOptions): Tensor<'float32'> {
    return ops.variance(this, dim, opts);
  }
  /** Standard deviation over `dim` (all when omitted), as `x.std()`. */
  std(dim?: number | readonly number[], opts?: ops.VarianceOptions): Tensor<'float32'> {
    return ops.std(this, dim, opts);
  }
  /** Cumulative sum along `dim`, as `x.cumsum(dim)`. */
  cumsum(dim: number): Tensor<D> {
    return ops.cumsum(this, dim);
  }
  /** Values picked along `dim` at int32 `index` (same rank), as `x.gather(dim, index)`. */
  gather(dim: number, index: Tensor): Tensor<D> {
    return ops.gather(this, dim, index);
  }
  /** Matrix product with batch broadcasting, as `torch.matmul`. */
  matmul(other: Tensor): Tensor<'float32'> {
    return ops.matmul(this, other);
  }
  /** Rows (or slices along `dim`) picked by an int32 index, as `index_select`. */
  indexSelect(dim: number, index: Tensor): Tensor<D> {
    return ops.indexSelect(this, dim, index);
  }
}

/** A contiguous copy made without recording (callers record their own node). */
function noGradCopy<D extends DType>(t: Tensor<D>): Tensor<D> {
  return copyTo(t, t.device, t.dtype, 'contiguous');
}

/** Zeros shaped like the gradient of an input of `shape` (float32, on g's device). */
function zerosFor(shape: readonly number[], g: Tensor): Tensor<'float32'> {
  return zerosOn(shape, g.device);
}

/** Accepts both `f(2, 3)` and `f([2, 3])`. */
function flattenArgs(args: number[] | [readonly number[]]): number[] {
  const first = args[0];
  const list = Array.isArray(first) ? [...first] : (args as number[]);
  return checkShapeLike(list);
}

function checkShapeLike(list: unknown[]): number[] {
  for (const v of list) {
    if (!Number.isInteger(v)) throw new ArgumentError(`expected integer sizes or dims, got ${describe(list)}`);
  }
  return list as number[];
}
