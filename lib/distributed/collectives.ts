/**
 * Collectives over the process group, as `torch.distributed`'s (issue 18). Each is queued
 * after the work already queued on the tensor's device and never blocks the event loop:
 * ops queued after a collective see its result (or, with `asyncOp`, after `work.wait()`),
 * and `await work.getFuture()` resolves once it ran. Tensors must be contiguous and on the
 * group's device (CPU for `'mpi'`, the group's GPU for `'nccl'`).
 * @module
 */
import { ArgumentError, DeviceError, DTypeError, fromNativeError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { copyInto } from '../ops/copy.js';
import { cat } from '../ops/shape.js';
import { empty } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { currentGroup } from './process_group.js';

/** `torch.distributed.ReduceOp`, by name. `'avg'` divides the sum by the world size (integers truncate). */
export type ReduceOp = 'sum' | 'product' | 'min' | 'max' | 'avg';

const reduceOpCodes: Record<ReduceOp, number> = { sum: 0, product: 1, min: 2, max: 3, avg: 4 };

/** Options every collective takes. */
export interface CollectiveOptions {
  /**
   * Return at once with the work in flight, as PyTorch's `async_op=True`: ops queued later
   * on the device see the result only after `work.wait()`, so computation can overlap the
   * communication. Default false: later ops see the result.
   */
  asyncOp?: boolean;
}

/** Options of {@link allReduce} and {@link reduceScatterTensor}. */
export interface ReduceOptions extends CollectiveOptions {
  /** How values combine (default `'sum'`). */
  op?: ReduceOp;
}

/** A collective in flight, as PyTorch's `Work`. */
export class Work {
  #waited = false;
  #completed = false;
  readonly #native: { wait(): void; done: Promise<void> };
  readonly #done: Promise<void>;
  readonly #afterWait: (() => void) | undefined;

  /** @internal `afterWait` queues what must follow the collective on the device (copies out of a staging buffer). */
  constructor(handle: { wait(): void; done: Promise<void> }, afterWait?: () => void) {
    this.#native = handle;
    this.#afterWait = afterWait;
    // Settled once; a failure nobody asked about poisons the tensor (its next read throws)
    // rather than becoming an unhandled rejection.
    this.#done = handle.done.then(
      () => {
        this.#completed = true;
      },
      (error: unknown) => {
        this.#completed = true;
        throw fromNativeError(error);
      },
    );
    this.#done.catch(() => undefined);
  }

  /** Makes ops queued on the device from now on wait for this collective. Returns at once. */
  wait(): void {
    if (this.#waited) return;
    this.#waited = true;
    this.#native.wait();
    this.#afterWait?.();
  }

  /** Whether the collective has run. */
  isCompleted(): boolean {
    return this.#completed;
  }

  /** Resolves once the collective ran; rejects with its DistributedError. */
  getFuture(): Promise<void> {
    return this.#done;
  }
}

function checkTensor(op: string, name: string, t: Tensor): void {
  if (t.isDisposed) throw new ArgumentError(`${op}: ${name} has been disposed`);
  const { device } = currentGroup(op);
  if (t.device !== device) throw new DeviceError(`${op}: ${name} is on ${t.device}, but the process group works on ${device}`);
  if (!t.isContiguous()) throw new ArgumentError(`${op}: ${name} must be contiguous (call .contiguous() first)`);
}

function reduceCode(op: string, reduce: ReduceOp | undefined, t: Tensor): number {
  const name = reduce ?? 'sum';
  const code = reduceOpCodes[name];
  if (code === undefined) throw new ArgumentError(`${op}: op must be one of ${Object.keys(reduceOpCodes).join(', ')}, got '${String(name)}'`);
  if (name === 'avg' && t.dtype === 'bool') throw new DTypeError(`${op}: op 'avg' is not defined on bool tensors`);
  return code;
}

function launch(
  kind: 'allReduce' | 'broadcast' | 'allGather' | 'reduceScatter' | 'barrier',
  output: Tensor | null,
  input: Tensor | null,
  reduce: number,
  root: number,
  options: CollectiveOptions,
  afterWait?: () => void,
): Work {
  let handle: { wait(): void; done: Promise<void> };
  try {
    handle = native.distCollective(kind, output?._native(kind, 'output') ?? null, input?._native(kind, 'input') ?? null, reduce, root);
  } catch (error) {
    throw fromNativeError(error);
  }
  const work = new Work(handle, afterWait);
  if (!options.asyncOp) work.wait();
  return work;
}

/** Reduces `tensor` across ranks in place: every rank ends with the result (`dist.all_reduce`). */
export function allReduce(tensor: Tensor, options: ReduceOptions = {}): Work {
  checkTensor('allReduce', 'tensor', tensor);
  return launch('allReduce', tensor, null, reduceCode('allReduce', options.op, tensor), 0, options);
}

/** Copies rank `src`'s `tensor` into every rank's `tensor` (`dist.broadcast`). */
export function broadcast(tensor: Tensor, src: number, options: CollectiveOptions = {}): Work {
  checkTensor('broadcast', 'tensor', tensor);
  const { worldSize } = currentGroup('broadcast');
  if (!Number.isInteger(src) || src < 0 || src >= worldSize) throw new ArgumentError(`broadcast: src must be a rank in [0, ${worldSize}), got ${src}`);
  return launch('broadcast', tensor, null, 0, src, options);
}

function checkPair(op: string, output: Tensor, input: Tensor, outputIsLarger: boolean): void {
  checkTensor(op, 'output', output);
  checkTensor(op, 'input', input);
  if (output.dtype !== input.dtype) throw new DTypeError(`${op}: output is ${output.dtype} but input is ${input.dtype}`);
  const { worldSize } = currentGroup(op);
  const [large, small] = outputIsLarger ? [output, input] : [input, output];
  if (large.numel !== small.numel * worldSize) {
    throw new ShapeError(
      `${op}: ${outputIsLarger ? 'output' : 'input'} must hold worldSize (${worldSize}) x ${small.numel} elements, ` +
        `got shape [${large.shape.join(', ')}]`,
    );
  }
}

/**
 * Gathers every rank's `input` into `output`, rank r's at the r-th block of its first
 * dimension (`dist.all_gather_into_tensor`): `output` holds worldSize × input's elements.
 */
export function allGatherIntoTensor(output: Tensor, input: Tensor, options: CollectiveOptions = {}): Work {
  checkPair('allGatherIntoTensor', output, input, true);
  return launch('allGather', output, input, 0, 0, options);
}

/**
 * Reduces `input` (worldSize blocks along its first dimension) across ranks and leaves
 * block `rank` of the result in `output` (`dist.reduce_scatter_tensor`).
 */
export function reduceScatterTensor(output: Tensor, input: Tensor, options: ReduceOptions = {}): Work {
  checkPair('reduceScatterTensor', output, input, false);
  return launch('reduceScatter', output, input, reduceCode('reduceScatterTensor', options.op, input), 0, options);
}

function checkList(op: string, name: string, list: readonly Tensor[], like: Tensor): void {
  const { worldSize } = currentGroup(op);
  if (list.length !== worldSize) throw new ArgumentError(`${op}: ${name} must hold worldSize (${worldSize}) tensors, got ${list.length}`);
  list.forEach((t, i) => {
    if (t.isDisposed) throw new ArgumentError(`${op}: ${name}[${i}] has been disposed`);
    if (t.device !== like.device || t.dtype !== like.dtype || t.shape.join() !== like.shape.join()) {
      throw new ShapeError(`${op}: ${name}[${i}] must be a ${like.dtype} tensor of shape [${like.shape.join(', ')}] on ${like.device}, got ${t.dtype} [${t.shape.join(', ')}] on ${t.device}`);
    }
  });
}

/**
 * Gathers every rank's `input` into `outputs[rank]` on every rank (`dist.all_gather`);
 * `outputs` holds worldSize tensors shaped as `input` (any layout).
 */
export function allGather(outputs: readonly Tensor[], input: Tensor, options: CollectiveOptions = {}): Work {
  checkTensor('allGather', 'input', input);
  checkList('allGather', 'outputs', outputs, input);
  const staging = empty('allGather', [outputs.length * input.numel], input.dtype, input.device);
  const n = input.numel;
  return launch('allGather', staging, input, 0, 0, options, () => {
    scope(() => outputs.forEach((out, i) => copyInto(out, staging.slice(0, i * n, (i + 1) * n).view(out.shape))));
    staging.dispose();
  });
}

/**
 * Reduces `inputs[b]` across ranks and leaves the result for block `rank` in `output`
 * (`dist.reduce_scatter`); `inputs` holds worldSize tensors shaped as `output`.
 */
export function reduceScatter(output: Tensor, inputs: readonly Tensor[], options: ReduceOptions = {}): Work {
  checkTensor('reduceScatter', 'output', output);
  checkList('reduceScatter', 'inputs', inputs, output);
  const code = reduceCode('reduceScatter', options.op, output);
  const staging = cat(inputs.map((t) => t.reshape([-1])));
  try {
    return launch('reduceScatter', output, staging, code, 0, options);
  } finally {
    staging.dispose();  // the queued collective holds its memory until it ran
  }
}

/**
 * Resolves once every rank has reached its barrier (`dist.barrier`), without blocking the
 * event loop meanwhile; also after the work this rank queued before it.
 */
export async function barrier(): Promise<void> {
  currentGroup('barrier');
  await launch('barrier', null, null, 0, 0, { asyncOp: true }).getFuture();
}
