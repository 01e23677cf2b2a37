/**
 * `nn.parallel.DistributedDataParallel`, PyTorch's DDP (issue 18): every rank holds a
 * replica of the model, trains on its own share of the batch, and the gradients are
 * averaged across ranks during backward so every replica takes the same optimizer step.
 * @module
 */
import { isGradEnabled } from '../../autograd/grad_mode.js';
import { allReduce, broadcast, type Work } from '../../distributed/collectives.js';
import { currentGroup } from '../../distributed/process_group.js';
import { ArgumentError, DistributedError } from '../../errors.js';
import { copyInto } from '../../ops/copy.js';
import { zeros } from '../../tensor/creation.js';
import { keep, scope } from '../../tensor/memory.js';
import { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** Options of {@link DistributedDataParallel}, as PyTorch's constructor arguments. */
export interface DistributedDataParallelOptions {
  /** Gradients are all-reduced in buckets of about this many MiB (default 25, as PyTorch). */
  bucketCapMb?: number;
  /** Copy rank 0's buffers (batch-norm statistics) to every rank before each training forward (default true). */
  broadcastBuffers?: boolean;
  /**
   * Find the parameters a forward did not use and count them as ready (their gradient is
   * zero on this rank), so that a model whose forward skips some of them still reduces.
   * Walks the graph after each forward; off by default, as in PyTorch.
   */
  findUnusedParameters?: boolean;
}

/** Gradients of several parameters that are all-reduced together. */
interface Bucket {
  readonly params: ReadonlyArray<Tensor<'float32'>>;
  readonly offsets: readonly number[];
  /** Flat float32 storage of the bucket's gradients, reused every step. */
  readonly buffer: Tensor<'float32'>;
  waiting: Set<Tensor<'float32'>>;
  work: Work | null;
}

/**
 * Wraps `module` for data-parallel training over the process group
 * (`distributed.initProcessGroup` first). On construction rank 0's parameters and buffers
 * are copied to every rank. In each training step, a backward averages the gradients
 * across ranks: parameters are grouped into ~25 MiB buckets in reverse registration order
 * (roughly the order backward produces their gradients), and each bucket's all-reduce is
 * launched as soon as its last gradient is in, while backward goes on with the rest; the
 * optimizer's step then sees the averaged gradients. State-dict names gain the `module.`
 * prefix, as PyTorch's.
 *
 * @example
 * await distributed.initProcessGroup();
 * const ddp = new nn.parallel.DistributedDataParallel(model);
 * crossEntropy(ddp.call(x), y).backward(); // gradients averaged over ranks
 * optimizer.step();
 */
export class DistributedDataParallel<In extends unknown[] = [Tensor], Out = Tensor> extends Module<In, Out> {
  /** The wrapped model. */
  readonly module: Module<In, Out>;
  readonly #buckets: Bucket[];
  readonly #bucketOf = new Map<Tensor, Bucket>();
  readonly #names = new Map<Tensor, string>();
  readonly #options: Required<DistributedDataParallelOptions>;
  readonly #removeHooks: Array<() => void> = [];
  /** Whether the current iteration's backward reduces (a training forward outside noSync prepared it). */
  #prepared = false;
  #nextBucket = 0;
  #syncEnabled = true;

  constructor(module: Module<In, Out>, options: DistributedDataParallelOptions = {}) {
    super();
    const group = currentGroup('DistributedDataParallel');
    const bucketCapMb = options.bucketCapMb ?? 25;
    if (!(bucketCapMb > 0)) throw new ArgumentError(`DistributedDataParallel: bucketCapMb must be positive, got ${bucketCapMb}`);
    this.#options = {
      bucketCapMb,
      broadcastBuffers: options.broadcastBuffers ?? true,
      findUnusedParameters: options.findUnusedParameters ?? false,
    };
    const params: Array<Tensor<'float32'>> = [];
    for (const [name, p] of module.namedParameters()) {
      if (p.device !== group.device) {
        throw new ArgumentError(`DistributedDataParallel: parameter ${name} is on ${p.device}, but the process group works on ${group.device}`);
      }
      if (!p.requiresGrad || this.#names.has(p)) continue;  // frozen, or shared with an earlier name
      this.#names.set(p, name);
      params.push(p);
    }
    this.module = module;
    // Every replica starts from rank 0's weights (queued: forward reads them after).
    for (const p of params) broadcastInPlace(p);
    for (const [, b] of module.namedBuffers()) broadcastInPlace(b);
    this.#buckets = makeBuckets(params.reverse(), bucketCapMb * 2 ** 20);
    for (const bucket of this.#buckets) {
      for (const p of bucket.params) {
        this.#bucketOf.set(p, bucket);
        this.#removeHooks.push(p.registerPostAccumulateGradHook(() => this.#markReady(p)));
      }
    }
  }

  /**
   * Runs `fn` with gradient synchronisation off, for gradient accumulation (PyTorch's
   * `no_sync()`): backward passes of forwards run inside only accumulate locally, and the
   * first synchronised backward after reduces the accumulated gradients. `fn` may be async.
   */
  noSync<T>(fn: () => T): T {
    const previous = this.#syncEnabled;
    this.#syncEnabled = false;
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.#syncEnabled = previous;
      throw error;
    }
    if (result instanceof Promise) {
      return result.finally(() => {
        this.#syncEnabled = previous;
      }) as T;
    }
    this.#syncEnabled = previous;
    return result;
  }

  /** The wrapped module's forward; in training with grad enabled, also prepares the gradient reduction. */
  forward(...inputs: In): Out {
    this.#checkPreviousReduction();
    const training = this.training && isGradEnabled();
    if (training && this.#options.broadcastBuffers) {
      for (const [, b] of this.module.namedBuffers()) broadcastInPlace(b);
    }
    this.#prepared = training && this.#syncEnabled;
    if (this.#prepared) {
      this.#nextBucket = 0;
      for (const bucket of this.#buckets) {
        bucket.waiting = new Set(bucket.params);
        bucket.work = null;
      }
    }
    const output = this.module.call(...inputs);
    if (this.#prepared && this.#options.findUnusedParameters) {
      const used = reachableLeaves(output);
      for (const p of this.#names.keys()) if (!used.has(p)) this.#markReady(p as Tensor<'float32'>);
    }
    return output;
  }

  /** Removes the gradient hooks and frees the buckets (the wrapped module's too, as Module.dispose). */
  override dispose(): void {
    for (const remove of this.#removeHooks) remove();
    for (const bucket of this.#buckets) bucket.buffer.dispose();
    super.dispose();
  }

  /** A backward that started reducing but left buckets waiting means some parameters got no gradient. */
  #checkPreviousReduction(): void {
    if (!this.#prepared) return;
    const started = this.#buckets.some((b) => b.waiting.size < b.params.length);
    const unfinished = this.#nextBucket < this.#buckets.length;
    if (!started || !unfinished) return;
    const missing: string[] = [];
    for (const b of this.#buckets) for (const p of b.waiting) missing.push(this.#names.get(p)!);
    this.#prepared = false;
    throw new DistributedError(
      `DistributedDataParallel: the previous backward did not produce gradients for ${missing.length} parameter(s) ` +
        `(${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}), so their reduction never finished. ` +
        'Pass { findUnusedParameters: true } when the forward does not use every parameter, or freeze them (requiresGrad_(false)).',
    );
  }

  #markReady(p: Tensor<'float32'>): void {
    if (!this.#prepared) return;
    const bucket = this.#bucketOf.get(p);
    if (bucket === undefined || !bucket.waiting.delete(p)) return;
    // Buckets launch in index order on every rank, as MPI and NCCL need the same order of
    // collectives everywhere; a bucket that fills early waits for those before it.
    while (this.#nextBucket < this.#buckets.length && this.#buckets[this.#nextBucket]!.waiting.size === 0) {
      launch(this.#buckets[this.#nextBucket]!);
      this.#nextBucket += 1;
    }
    if (this.#nextBucket === this.#buckets.length) {
      this.#prepared = false;
      for (const bucket of this.#buckets) finish(bucket);
    }
  }
}

/** Copies rank 0's values into `t` on every rank. */
function broadcastInPlace(t: Tensor): void {
  if (t.isContiguous()) {
    broadcast(t, 0);
    return;
  }
  scope(() => {
    const flat = t.contiguous();
    broadcast(flat, 0);
    copyInto(t, flat);
  });
}

/** Consecutive parameters in buckets of at most `capBytes` (a larger parameter gets its own). */
function makeBuckets(params: ReadonlyArray<Tensor<'float32'>>, capBytes: number): Bucket[] {
  const buckets: Bucket[] = [];
  let current: Array<Tensor<'float32'>> = [];
  let bytes = 0;
  const close = (): void => {
    if (current.length === 0) return;
    const offsets: number[] = [];
    let numel = 0;
    for (const p of current) {
      offsets.push(numel);
      numel += p.numel;
    }
    const buffer = keep(zeros([numel], { device: current[0]!.device }));
    buckets.push({ params: current, offsets, buffer, waiting: new Set(), work: null });
    current = [];
    bytes = 0;
  };
  for (const p of params) {
    if (bytes > 0 && bytes + 4 * p.numel > capBytes) close();
    current.push(p);
    bytes += 4 * p.numel;
  }
  close();
  return buckets;
}

/** Copies the bucket's gradients (zeros for those without one) into its buffer and starts averaging it. */
function launch(bucket: Bucket): void {
  scope(() => {
    bucket.params.forEach((p, i) => {
      const slot = bucket.buffer.slice(0, bucket.offsets[i]!, bucket.offsets[i]! + p.numel).view(p.shape);
      if (p.grad === null) copyInto(slot, zeros(p.shape, { device: p.device }));
      else copyInto(slot, p.grad);
    });
  });
  bucket.work = allReduce(bucket.buffer, { op: 'avg', asyncOp: true });
}

/** After the bucket's all-reduce, copies the averaged gradients back into each `.grad`. */
function finish(bucket: Bucket): void {
  bucket.work?.wait();
  scope(() => {
    bucket.params.forEach((p, i) => {
      const slot = bucket.buffer.slice(0, bucket.offsets[i]!, bucket.offsets[i]! + p.numel).view(p.shape);
      if (p.grad === null) p.grad = keep(slot.clone());
      else copyInto(p.grad, slot);
    });
  });
}

/** The leaves of the autograd graph behind every tensor in `output` (arrays and records searched). */
function reachableLeaves(output: unknown): Set<Tensor> {
  const leaves = new Set<Tensor>();
  const seen = new Set<unknown>();
  const stack: unknown[] = [output];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === null || typeof item !== 'object' || seen.has(item)) continue;
    seen.add(item);
    if (item instanceof Tensor) {
      if (item.gradFn === null) leaves.add(item);
      else for (const input of item.gradFn.inputs) if (input !== null) stack.push(input);
    } else if (Array.isArray(item)) {
      stack.push(...item);
    } else if (item instanceof Map) {
      stack.push(...item.values());
    } else {
      stack.push(...Object.values(item));
    }
  }
  return leaves;
}
