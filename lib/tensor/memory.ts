/**
 * Deterministic freeing (DESIGN §2): live-tensor bookkeeping, `scope()` (which also works
 * across `await`, through AsyncLocalStorage), `keep()`, `memory()` and the
 * FinalizationRegistry backstop that frees what was forgotten.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import { native } from '../native.js';
import { allocationCode, packLayout } from './layout.js';
import { resolveDevice, type Device, type DeviceLike } from './device.js';

/** What scope() and memory() need to know about a tensor. */
export interface Tracked {
  readonly device: Device;
  readonly isDisposed: boolean;
  /** The autograd node that produced it, if any. */
  readonly gradFn?: TrackedNode | null;
  dispose(): void;
}

/** What scope() needs to know about an autograd node: its inputs and how to free it. */
export interface TrackedNode {
  readonly inputs: ReadonlyArray<{ readonly gradFn: TrackedNode | null } | null>;
  /** Frees the tensors saved for its backward. */
  release(): void;
}

interface Frame {
  /** The tensors the scope owns, with their records. */
  readonly tensors: Map<Tracked, Held>;
  /** Autograd nodes recorded inside the scope: their saved tensors escape `tensors`. */
  readonly nodes: Set<TrackedNode>;
  readonly parent: Frame | undefined;
}

/**
 * One native allocation, by its storage id (native/src/binding/storage_table.h), shared by
 * the tensor that made it and its views (reshape, permute, detach, ...): the last of them
 * to be disposed or collected releases it. Counting views here rather than giving each its
 * own native reference spares every view a native call (issue 11: `matmul` made two views
 * per call).
 *
 * An op's output is allocated by the binding in the op's own call ({@link pending}): the
 * first descriptor handed out for it carries a device code where the id goes
 * (allocationCode), and the binding writes the new id there. Only one descriptor is ever a
 * request, so no two calls can allocate the same memory twice: whatever needs the id while
 * the request is out and unanswered (an upload, a second view's descriptor) allocates at
 * once, into the request.
 * @internal
 */
export class SharedStorage {
  #refs = 1;
  /** The storage id, or -1 while the binding has not been asked to allocate it. */
  #id: number;
  /** A pending allocation's one request: the descriptor whose first entry the binding sets to the id. */
  #request: Float64Array | null = null;
  #device: Device = 'cpu';
  #bytes = 0;
  #released = false;
  /** Whether {@link reportToCollector} told V8 about these bytes. */
  #reported = false;
  /** Memory never reported to V8 (see {@link unreported}), and what to run when it is released. */
  #unreported = false;
  #onRelease: (() => void) | null = null;

  /** Takes over the storage id `id` (from native.empty, native.emptyPinned) of `bytes` bytes. */
  constructor(id: number, bytes = 0) {
    this.#id = id;
    this.#bytes = bytes;
  }

  /**
   * Takes over the storage id `id` of memory V8 need not be told about: a SharedArrayBuffer's
   * (V8 counts that buffer already) or a mapped file's (clean pages the kernel can reclaim;
   * io/mapped_file.ts bounds how many stay unreported). `onRelease` runs once it is released.
   */
  static unreported(id: number, bytes: number, onRelease?: () => void): SharedStorage {
    const storage = new SharedStorage(id, bytes);
    storage.#unreported = true;
    storage.#onRelease = onRelease ?? null;
    return storage;
  }

  /** `bytes` on `device`, allocated by the first op call that receives one of its descriptors. */
  static pending(device: Device, bytes: number): SharedStorage {
    const storage = new SharedStorage(-1);
    storage.#device = device;
    storage.#bytes = bytes;
    return storage;
  }

  /** The storage id, allocating now if no op has yet. */
  get id(): number {
    if (this.#id < 0) this.#id = this.#settle(true);
    return this.#id;
  }

  /** True once the last tensor on this memory let go of it. */
  get released(): boolean {
    return this.#released;
  }

  /**
   * The descriptor of a view of this memory (`NativeTensor`). The first one asked for while
   * the memory is pending, if it spans exactly the allocation (a new output, or it seen with
   * another shape, as matmul's batched view), asks the binding to allocate; any other
   * needs the id now.
   */
  describe(dtype: number, elementSize: number, shape: readonly number[], strides: readonly number[], offset: number): Float64Array {
    if (this.#id < 0 && this.#request === null && offset === 0 && extentOf(shape, strides) * elementSize === this.#bytes) {
      return (this.#request = packLayout(allocationCode(this.#device), dtype, shape, strides, 0));
    }
    return packLayout(this.id, dtype, shape, strides, offset);
  }

  /** One more tensor views this memory. Returns this. */
  acquire(): this {
    this.#refs += 1;
    return this;
  }

  /** One tensor is done with this memory; the last one releases the native storage. */
  release(): void {
    this.#refs -= 1;
    if (this.#refs !== 0) return;
    const id = this.#id >= 0 ? this.#id : this.#settle(false);
    if (id >= 0) native.releaseStorage(id);
    this.#released = true;
    if (this.#reported) native.adjustExternalMemory(-this.#bytes);
    this.#onRelease?.();
  }

  /**
   * The bytes V8 should now count as native memory held by JavaScript (0 if already counted
   * or released): asked at the end of the job in which a tensor on this memory was handed to
   * the backstop. Reporting every allocation as it was made put V8 over its external-memory
   * limit within each training step of a small CNN, and it ran a mark-compact per step
   * (simpleCnn b64: 40 ms a step instead of 16) for tensors that scopes and backward() free
   * deterministically.
   */
  reportToCollector(): number {
    if (this.#reported || this.#released || this.#unreported) return 0;
    this.#reported = true;
    return this.#bytes;
  }

  /**
   * The id the binding wrote into the request, or (when `allocate`) a new allocation,
   * written into the request so that it no longer asks; -1 if neither.
   */
  #settle(allocate: boolean): number {
    const request = this.#request;
    let id = request === null ? -1 : request[0]!;
    if (id < 0) {
      if (!allocate) return -1;
      id = native.empty(this.#device, this.#bytes);
      if (request !== null) request[0] = id;
    }
    this.#request = null;
    return id;
  }
}

/** Elements from a view's first to its last element, inclusive (0 when it has none). */
function extentOf(shape: readonly number[], strides: readonly number[]): number {
  let last = 0;
  for (let d = 0; d < shape.length; ++d) {
    if (shape[d] === 0) return 0;
    last += (shape[d]! - 1) * strides[d]!;
  }
  return last + 1;
}

/**
 * What the backstop needs to free one forgotten tensor, made when the tensor is (track()
 * returns it; the tensor hands it back to untrack()).
 * @internal
 */
export interface Held {
  readonly storage: SharedStorage;
  readonly device: Device;
  readonly creator: string;
  /** Whether the tensor is registered with the backstop yet (see {@link track}). */
  registered: boolean;
  /** Set by untrack(): a disposed tensor still waiting in the young list is never registered. */
  disposed: boolean;
  /**
   * Whether an open scope owns the tensor. Its memory is then not reported to V8: the
   * scope holds it strongly, so collection could not free it, and the scope frees it (or
   * hands it on) at its exit. A sliding window's U-Net activations, held by the scope of
   * their batch across an await, reported at each job's end, made V8 run a mark-compact per
   * batch of windows: ~70 ms of the JavaScript thread's CPU time per 1024² pass.
   */
  scoped: boolean;
}

const frames = new AsyncLocalStorage<Frame>();
const liveCounts = new Map<Device, number>();
const kept = new WeakSet<Tracked>();
const reportLeaks = process.env.NEOCOG_DEBUG_LEAKS === '1';
const leakedCounts = new Map<Device, number>();

const backstop = new FinalizationRegistry<Held>((held) => {
  // The tensor was garbage-collected without dispose(): free its memory now.
  if (held.storage.released) return;
  held.storage.release();
  changeCount(held.device, -1);
  leakedCounts.set(held.device, (leakedCounts.get(held.device) ?? 0) + 1);
  if (reportLeaks) {
    process.emitWarning(`a tensor created by ${held.creator} on ${held.device} was garbage-collected without dispose()`, {
      code: 'NEOCOG_LEAK',
    });
  }
});

/** Live tensors on the cpu: a plain number, as every tensor is counted on creation and dispose. */
let cpuCount = 0;

function changeCount(device: Device, delta: number): void {
  if (device === 'cpu') cpuCount += delta;
  else liveCounts.set(device, (liveCounts.get(device) ?? 0) + delta);
}

function liveCount(device: Device): number {
  return device === 'cpu' ? cpuCount : (liveCounts.get(device) ?? 0);
}

/**
 * Scopes entered and not yet closed, in any async context. Every op output passes through
 * track(): while no scope is open none can own it, and the AsyncLocalStorage lookup is
 * skipped (a measurable share of a small op's cost, issue 11).
 */
let openScopes = 0;

/** The innermost open scope of the current async context, if any. */
function currentFrame(): Frame | undefined {
  return openScopes === 0 ? undefined : frames.getStore();
}

/** Tensors the young list holds before it is flushed. */
export const YOUNG_COUNT = 256;
/** Bytes (of the young tensors' views) the young list holds before it is flushed. */
export const YOUNG_BYTES = 2 ** 24;
/**
 * Tensors created since the backstop last registered any, with their records. Registering
 * with a FinalizationRegistry (and unregistering at dispose()) was a third of a small op's
 * cost (issue 11: a weak cell and an entry in the registry's unregister-token table per
 * tensor), yet most op outputs are disposed within microseconds: by a scope, by an op
 * that made them as temporaries, or by hand. So a new tensor waits here and is registered
 * only if it is still undisposed when the list is flushed: at the end of the current job
 * (a microtask), or sooner when a new tensor finds it holding {@link YOUNG_COUNT} tensors or
 * would take it past {@link YOUNG_BYTES} bytes (a tensor that size alone is registered at
 * once). Until then the list keeps its tensors alive, which bounds what forgotten tensors
 * can hold beyond the collector's reach by those two limits.
 * The arrays are fixed and filled from the front (pushing onto emptied arrays regrew them
 * at every flush).
 */
const youngTensors = new Array<Tracked | undefined>(YOUNG_COUNT).fill(undefined);
const youngHeld = new Array<Held | undefined>(YOUNG_COUNT).fill(undefined);
let youngCount = 0;
let youngBytes = 0;
let flushQueued = false;

/**
 * Memory of tensors handed to the backstop in the current job, to be reported to V8 at its
 * end if still held then (see SharedStorage.reportToCollector): a forward pass hands its
 * activations over mid-step when the young list fills, and a scope frees them before the
 * step's job ends.
 */
const unreported: SharedStorage[] = [];
/** Past this many, the memory handed over so far is reported without waiting for the job's end. */
const UNREPORTED_COUNT = 4096;

/** Tells V8 about the native memory of the tensors handed over and still held. */
function reportToCollector(): void {
  let bytes = 0;
  for (const storage of unreported) bytes += storage.reportToCollector();
  unreported.length = 0;
  if (bytes !== 0) native.adjustExternalMemory(bytes);
}

/** Hands a tensor to the backstop. */
function register(tensor: Tracked, held: Held): void {
  held.registered = true;
  backstop.register(tensor, held, tensor);
  if (!held.scoped) unreported.push(held.storage);
  if (unreported.length >= UNREPORTED_COUNT) reportToCollector();
}

/** Registers the young tensors not disposed meanwhile with the backstop, and empties the list. */
function flushYoung(): void {
  for (let i = 0; i < youngCount; ++i) {
    const held = youngHeld[i]!;
    const tensor = youngTensors[i]!;
    youngHeld[i] = undefined;
    youngTensors[i] = undefined;
    if (!held.disposed) register(tensor, held);
  }
  youngCount = 0;
  youngBytes = 0;
}

function flushYoungAtJobEnd(): void {
  flushQueued = false;
  flushYoung();
  reportToCollector();
}

/**
 * Registers a new tensor: counted, owned by the innermost scope, freed if forgotten (once
 * the young list is flushed). `bytes` is the size of its view, for the young list's bound.
 * Returns the record to hand back to {@link untrack}.
 */
export function track(tensor: Tracked, storage: SharedStorage, creator: string, bytes: number): Held {
  changeCount(tensor.device, 1);
  const frame = currentFrame();
  const held: Held = { storage, device: tensor.device, creator, registered: false, disposed: false, scoped: frame !== undefined };
  frame?.tensors.set(tensor, held);
  if (bytes >= YOUNG_BYTES) {
    // Too large to wait: what the young list holds beyond the collector stays bounded.
    register(tensor, held);
    scheduleFlush();
    return held;
  }
  // Full: the tensors before this one are registered (this one, being made, is not disposed yet).
  if (youngCount === YOUNG_COUNT || youngBytes + bytes > YOUNG_BYTES) flushYoung();
  youngTensors[youngCount] = tensor;
  youngHeld[youngCount] = held;
  youngCount += 1;
  youngBytes += bytes;
  scheduleFlush();
  return held;
}

/** Queues the young list's flush (and the report to V8) for the end of the current job. */
function scheduleFlush(): void {
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(flushYoungAtJobEnd);
}

/** Registers an autograd node with the innermost scope, which frees it if it is dropped. */
export function trackNode(node: TrackedNode): void {
  currentFrame()?.nodes.add(node);
}

/** Bookkeeping for an explicit dispose(); `held` is what track() returned for the tensor. */
export function untrack(tensor: Tracked, held: Held): void {
  changeCount(tensor.device, -1);
  held.disposed = true;
  if (held.registered) backstop.unregister(tensor);
}

/** Tensors, arrays, plain objects, Maps and Sets reachable from a scope's result. */
function collect(value: unknown, into: Set<Tracked>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTracked(value)) {
    into.add(value);
  } else if (Array.isArray(value) || value instanceof Set) {
    for (const item of value) collect(item, into, seen);
  } else if (value instanceof Map) {
    for (const item of value.values()) collect(item, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collect(item, into, seen);
  }
}

function isTracked(value: object): value is Tracked {
  return typeof (value as Partial<Tracked>).dispose === 'function' && 'isDisposed' in value && 'device' in value;
}

function close(frame: Frame, result: unknown): void {
  openScopes -= 1;
  const returned = new Set<Tracked>();
  collect(result, returned);
  const survivors = [...frame.tensors.keys()].filter((tensor) => returned.has(tensor) || kept.has(tensor));
  releaseDroppedGraph(frame, survivors);
  const surviving = new Set(survivors);
  for (const [tensor, held] of frame.tensors) {
    if (!surviving.has(tensor)) {
      tensor.dispose();
    } else if (!tensor.isDisposed) {
      if (frame.parent) {
        frame.parent.tensors.set(tensor, held); // the caller's scope owns it now
      } else {
        // Out of every scope: only the collector can free it now, so V8 hears of its memory.
        held.scoped = false;
        if (held.registered) unreported.push(held.storage);
      }
    }
  }
  frame.tensors.clear();
  reportToCollector();
}

/**
 * Frees the saved tensors of the scope's autograd nodes that no surviving tensor can reach
 * (a forward with grad whose backward never ran, as PyTorch frees a graph nobody holds).
 * Nodes still reachable move to the caller's scope, which decides at its own exit.
 */
function releaseDroppedGraph(frame: Frame, survivors: readonly Tracked[]): void {
  if (frame.nodes.size === 0) return;
  const reachable = new Set<TrackedNode>();
  const stack: TrackedNode[] = [];
  for (const tensor of survivors) if (tensor.gradFn) stack.push(tensor.gradFn);
  while (stack.length > 0) {
    const node = stack.pop()!;
    // Nodes outside this scope are older and cannot lead back into it.
    if (reachable.has(node) || !frame.nodes.has(node)) continue;
    reachable.add(node);
    for (const input of node.inputs) if (input?.gradFn) stack.push(input.gradFn);
  }
  for (const node of frame.nodes) {
    if (reachable.has(node)) frame.parent?.nodes.add(node);
    else node.release();
  }
  frame.nodes.clear();
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the ones it returns
 * (directly, or inside arrays, plain objects, Maps and Sets) and those passed to `keep()`.
 * Works with async functions: tensors created after an `await` still belong to the scope.
 * If `fn` throws, every tensor it created is disposed.
 *
 * @example
 * const y = scope(() => x.mul(x).add(1)); // the temporary x*x is freed
 */
export function scope<T>(fn: () => T): T {
  const frame: Frame = { tensors: new Map(), nodes: new Set(), parent: currentFrame() };
  openScopes += 1;
  let result: T;
  try {
    result = frames.run(frame, fn);
  } catch (error) {
    close(frame, undefined);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        close(frame, value);
        return value;
      },
      (error: unknown) => {
        close(frame, undefined);
        throw error;
      },
    ) as T;
  }
  close(frame, result);
  return result;
}

/** Exempts a tensor from disposal by the enclosing scopes. Returns it. */
export function keep<T extends Tracked>(tensor: T): T {
  kept.add(tensor);
  return tensor;
}

/** Memory held on one device. */
export interface DeviceMemory {
  /** Bytes held by live tensors (and ops still queued on them). */
  bytes: number;
  /** Tensors created and not yet disposed. */
  tensors: number;
  /** Freed bytes the caching allocator keeps for reuse. */
  cachedBytes: number;
  /** Highest `bytes` seen. */
  peakBytes: number;
  /** Tensors that were garbage-collected without dispose() (freed by the backstop). */
  leakedTensors: number;
}

/** Memory of one device. */
export function memory(device: DeviceLike): DeviceMemory;
/** Memory of every device in use, keyed by device name ('cpu', 'cuda:0', ...). */
export function memory(): Record<string, DeviceMemory>;
export function memory(device?: DeviceLike): DeviceMemory | Record<string, DeviceMemory> {
  const of = (d: Device): DeviceMemory => {
    const stats = native.memoryStats(d);
    return {
      bytes: stats.allocatedBytes,
      tensors: liveCount(d),
      cachedBytes: stats.cachedBytes,
      peakBytes: stats.peakBytes,
      leakedTensors: leakedCounts.get(d) ?? 0,
    };
  };
  if (device !== undefined) return of(resolveDevice('memory', device));
  const result: Record<string, DeviceMemory> = { cpu: of('cpu') };
  for (const d of liveCounts.keys()) if (d !== 'cpu') result[d] = of(d);
  return result;
}

/** 'cpu' and every other device that has held a tensor in this thread. */
export function devicesInUse(): Device[] {
  return ['cpu', ...[...liveCounts.keys()].filter((d) => d !== 'cpu')];
}

/** Returns the caching allocator's free blocks on `device` to the system (torch.cuda.empty_cache). */
export function emptyCache(device: DeviceLike = 'cpu'): void {
  native.emptyCache(resolveDevice('emptyCache', device));
}
