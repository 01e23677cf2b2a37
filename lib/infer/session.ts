/**
 * InferenceSession: a trained model served for throughput, as onnxruntime-node's session
 * is used from Node. Batches run one at a time on the model's device (so queued work, and
 * the memory it holds, stays bounded), in eval mode without autograd, with BatchNorm folded
 * into the convolutions that feed it and ReLU/ReLU6/SiLU fused into them (fuse.ts). Single requests go through
 * `submit`, which groups them into batches (dynamic batching) in a bounded queue.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, BusyError, DisposedError, DTypeError, ShapeError } from '../errors.js';
import { loadStateDict } from '../io/state_dict.js';
import type { Module } from '../nn/module.js';
import { stack } from '../ops/shape.js';
import { dtypeSize, isHalf, type HalfDType } from '../tensor/dtype.js';
import { resolveDevice, synchronize, synchronizeSync, type Device, type DeviceLike } from '../tensor/device.js';
import { scope } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';
import { fuseForInference, type FusedModel } from './fuse.js';
import { halfPrecision, type HalfPrecisionModel } from './half_precision.js';

/** Options of {@link InferenceSession.create}. */
export interface InferenceSessionOptions {
  /**
   * A batch shaped like the ones the session will run (its values do not matter). It is
   * run once at creation: to find which BatchNorms to fold, and to warm up the kernels.
   * Without it nothing is folded.
   */
  example?: Tensor;
  /**
   * Fold eval-mode BatchNorms into the convolutions that alone feed them, and fuse ReLUs (and
   * ReLU6s) into the convolutions that alone feed them (default true; needs `example`).
   */
  fuse?: boolean;
  /** Device the inputs are moved to (default: the device of the model's first parameter, else 'cpu'). */
  device?: DeviceLike;
  /**
   * The precision convolutions and linear layers run in: 'float32' (default), 'bfloat16'
   * (CPUs with AVX512-BF16 or AMX run it natively) or 'float16' (CUDA). 16-bit weights are
   * copies made once, activations stay 16-bit between those layers (half_precision.ts), and
   * outputs come back as float32.
   */
  dtype?: 'float32' | 'bfloat16' | 'float16';
  /** `submit`: the most requests grouped into one batch (default 32). */
  maxBatch?: number;
  /** `submit`: how long the first request of a batch waits for others while the device is idle, in ms (default 2). */
  maxDelayMs?: number;
  /** `submit`: the most requests queued or running before `submit` refuses with BusyError (default 1024). */
  maxQueue?: number;
  /** `submit`: the most input bytes queued or running before `submit` refuses with BusyError (default 256 MiB). */
  maxQueueBytes?: number;
  /** Called after each batch with its size and its time from start to computed output (metrics). */
  onBatch?: (size: number, milliseconds: number) => void;
}

/** Options of one call of {@link InferenceSession.run} or {@link InferenceSession.submit}. */
export interface RunOptions {
  /** Cancels the call while it waits for its turn (its promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Counters of a session, for logs and metrics. */
export interface InferenceSessionStats {
  /** Batches run (by `run` and by `submit`'s batching). */
  batches: number;
  /** Requests given to `submit` and accepted. */
  submitted: number;
  /** Requests `submit` refused with BusyError. */
  rejected: number;
  /** Requests (and runs) waiting or running now. */
  queued: number;
}

/** What `submit` gives one sample of a model whose batch output is `Out`: its row, or its element of an array output. */
export type SampleResult<Out> = Out extends ReadonlyArray<infer Element> ? Element : Out;

interface Request<Out> {
  sample: Tensor;
  bytes: number;
  resolve: (row: SampleResult<Out>) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** 16-bit tensors of an output (a tensor, or a record of them) as float32 ones. */
function inFloat32Outputs(output: unknown): unknown {
  const widen = (t: unknown): unknown => (t instanceof Tensor && isHalf(t.dtype) ? t.to('float32') : t);
  if (output instanceof Tensor || output === null || typeof output !== 'object') return widen(output);
  return Array.isArray(output) ? output.map(widen) : Object.fromEntries(Object.entries(output).map(([k, v]) => [k, widen(v)]));
}

/** Frees an output (a tensor, or a record of them). */
export function disposeOutput(output: unknown): void {
  if (output instanceof Tensor) output.dispose();
  else if (output !== null && typeof output === 'object') for (const value of Object.values(output)) if (value instanceof Tensor) value.dispose();
}

const positiveInteger = (v: number): boolean => Number.isInteger(v) && v > 0;

/**
 * A model prepared for inference. `run(batch)` for batches, `submit(sample)` for single
 * requests that the session groups into batches; both return promises, and the event
 * loop keeps turning while the device works.
 *
 * @example
 * const session = await InferenceSession.create(resnet18({ numClasses: 10 }), { example: zeros([8, 3, 224, 224]) });
 * const logits = await session.run(images);               // [8, 10]
 * const one = await session.submit(image);                 // [10], batched with concurrent requests
 * await session.close();
 */
export class InferenceSession<Out = Tensor> {
  /** The device batches run on. */
  readonly device: Device;
  /** What was fused (BatchNorms folded, activations fused, depthwise blocks and their residuals), by module names; null when nothing was traced. */
  readonly fused: Pick<FusedModel, 'folded' | 'activations' | 'depthwiseBlocks' | 'residuals'> | null;
  /** The precision of the convolutions and linear layers. */
  readonly dtype: 'float32' | HalfDType;
  readonly #model: Module<[Tensor], Out>;
  readonly #fusion: FusedModel | null;
  readonly #half: HalfPrecisionModel | null;
  readonly #maxBatch: number;
  readonly #maxDelayMs: number;
  readonly #maxQueue: number;
  readonly #maxQueueBytes: number;
  readonly #onBatch: ((size: number, milliseconds: number) => void) | undefined;
  #turn: Promise<void> = Promise.resolve();
  #pending: Request<Out>[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #flushQueued = false; // a batch waits for its turn and will take the waiting requests
  #sampleShape: readonly number[] | null = null;
  #queuedBytes = 0;
  #runs = 0; // run() calls waiting or running
  #batched = 0; // submitted requests taken into a batch, not yet settled
  #running = new Set<Promise<unknown>>();
  #closed = false;
  #stats = { batches: 0, submitted: 0, rejected: 0 };

  private constructor(model: Module<[Tensor], Out>, opts: InferenceSessionOptions) {
    const maxBatch = opts.maxBatch ?? 32;
    const maxDelayMs = opts.maxDelayMs ?? 2;
    const maxQueue = opts.maxQueue ?? 1024;
    const maxQueueBytes = opts.maxQueueBytes ?? 256 * 2 ** 20;
    for (const [name, value] of Object.entries({ maxBatch, maxQueue, maxQueueBytes })) {
      if (!positiveInteger(value)) throw new ArgumentError(`InferenceSession.create: ${name} must be a positive integer, got ${String(value)}`);
    }
    if (!(maxDelayMs >= 0 && Number.isFinite(maxDelayMs))) {
      throw new ArgumentError(`InferenceSession.create: maxDelayMs must be a finite number >= 0, got ${String(maxDelayMs)}`);
    }
    if (opts.example !== undefined && !(opts.example instanceof Tensor)) {
      throw new ArgumentError('InferenceSession.create: example must be a Tensor');
    }
    const first = model.parameters().next();
    this.device = opts.device !== undefined ? resolveDevice('InferenceSession.create', opts.device) : first.done ? 'cpu' : first.value.device;
    const dtype = opts.dtype ?? 'float32';
    if (dtype !== 'float32' && !isHalf(dtype)) throw new ArgumentError(`InferenceSession.create: dtype must be 'float32', 'bfloat16' or 'float16', got ${String(dtype)}`);
    if (dtype === 'float16' && this.device === 'cpu') {
      // As autocast: Debian's oneDNN 2.6 has no float16 convolution on x86 CPUs.
      throw new ArgumentError("InferenceSession.create: dtype 'float16' is for CUDA devices; the CPU runs 16-bit inference in 'bfloat16'");
    }
    this.dtype = dtype;
    const half = isHalf(dtype) ? dtype : undefined;
    this.#model = model;
    this.#maxBatch = maxBatch;
    this.#maxDelayMs = maxDelayMs;
    this.#maxQueue = maxQueue;
    this.#maxQueueBytes = maxQueueBytes;
    this.#onBatch = opts.onBatch;
    model.eval();
    const example = opts.example === undefined ? undefined : opts.example.to(this.device);
    try {
      this.#fusion = example && (opts.fuse ?? true) ? fuseForInference(model as Module<[Tensor], unknown>, example, half ? { dtype: half } : {}) : null;
      this.fused = this.#fusion && {
        folded: this.#fusion.folded,
        activations: this.#fusion.activations,
        depthwiseBlocks: this.#fusion.depthwiseBlocks,
        residuals: this.#fusion.residuals,
      };
      this.#half = half ? halfPrecision(model as Module<[Tensor], unknown>, half) : null;
      if (example) this.#sampleShape = example.shape.slice(1);
    } finally {
      if (example !== opts.example) example?.dispose();
    }
  }

  /**
   * Prepares `model` for inference: eval mode, BatchNorms folded and activations fused where a
   * traced run of `opts.example` shows it safe (fuse.ts). While the session is open the
   * model's fused layers run fused in eval mode without autograd (results within float
   * rounding of the unfused model) and as before otherwise; `close()` restores them.
   */
  static async create<Out>(model: Module<[Tensor], Out>, opts: InferenceSessionOptions = {}): Promise<InferenceSession<Out>> {
    const session = new InferenceSession(model, opts);
    await synchronize(session.device);
    return session;
  }

  /**
   * A session for `factory()`'s model with the weights of a safetensors checkpoint (a state
   * dict as `io.saveSafetensors` or torchvision exports write it), loaded strictly: a
   * missing or unexpected name is a KeyError before any session exists.
   *
   * @example
   * const session = await InferenceSession.fromFile('resnet18.safetensors', () => models.resnet18(), { example });
   */
  static async fromFile<Out>(path: string, factory: () => Module<[Tensor], Out>, opts: InferenceSessionOptions = {}): Promise<InferenceSession<Out>> {
    const weights = await loadStateDict(path);
    const model = factory();
    try {
      model.loadStateDict(weights, { strict: true });
    } finally {
      for (const t of weights.values()) t.dispose();
    }
    return InferenceSession.create(model, opts);
  }

  /** A copy of the counters. */
  get stats(): InferenceSessionStats {
    return { ...this.#stats, queued: this.#runs + this.#batched + this.#pending.length };
  }

  /**
   * Runs one batch. Batches run one after another; the promise settles once the output is
   * computed. An aborted `signal` rejects the call if the batch has not started.
   */
  run(batch: Tensor, opts: RunOptions = {}): Promise<Out> {
    try {
      this.#checkOpen('run');
      if (!(batch instanceof Tensor)) throw new ArgumentError('InferenceSession.run: batch must be a Tensor');
      batch._storage('InferenceSession.run', 'batch');
      opts.signal?.throwIfAborted();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#runs += 1;
    const work = this.#track(this.#inTurn(() => ({ size: batch.shape[0] ?? 1, out: this.#forward(batch) }), opts.signal));
    const finished = (): void => {
      this.#runs -= 1;
    };
    work.then(finished, finished);
    return work;
  }

  /** Runs one batch and waits for it (scripts; blocks the thread while the device works). */
  runSync(batch: Tensor): Out {
    this.#checkOpen('runSync');
    if (!(batch instanceof Tensor)) throw new ArgumentError('InferenceSession.runSync: batch must be a Tensor');
    const out = this.#forward(batch);
    synchronizeSync(this.device);
    return out;
  }

  /**
   * Queues one sample (no batch dimension) to run batched with other requests: a batch
   * starts when `maxBatch` requests wait or the first has waited `maxDelayMs`, and takes,
   * when the batch before it has finished, what waits by then (up to `maxBatch`). Resolves to
   * the sample's row of the output. Rejects at once with BusyError when the queue is full,
   * and with a typed error when the sample's shape or dtype differs from the others'; a bad
   * request never fails the others. Needs a model whose output is a tensor, or a record of
   * tensors (torchvision's segmentation models), with the batch dimension first, or an array
   * with one result per sample (a detector's detections: batchedDetector).
   */
  submit(sample: Tensor, opts: RunOptions = {}): Promise<SampleResult<Out>> {
    let request: Request<Out>;
    const settled = new Promise<SampleResult<Out>>((resolve, reject) => {
      request = { sample, bytes: 0, resolve, reject, signal: opts.signal, onAbort: undefined };
    });
    try {
      this.#checkOpen('submit');
      this.#validateSample(sample);
      opts.signal?.throwIfAborted();
    } catch (error) {
      request!.reject(error);
      return settled;
    }
    const bytes = sample.numel * dtypeSize(sample.dtype);
    const queued = this.#batched + this.#pending.length;
    if (queued >= this.#maxQueue || this.#queuedBytes + bytes > this.#maxQueueBytes) {
      this.#stats.rejected += 1;
      request!.reject(
        new BusyError(
          `InferenceSession.submit: the queue is full (${queued} requests, ` +
            `${this.#queuedBytes} bytes; maxQueue ${this.#maxQueue}, maxQueueBytes ${this.#maxQueueBytes}); retry later`,
        ),
      );
      return settled;
    }
    request!.bytes = bytes;
    this.#queuedBytes += bytes;
    this.#stats.submitted += 1;
    if (opts.signal) {
      const signal = opts.signal;
      request!.onAbort = () => {
        const index = this.#pending.indexOf(request);
        if (index < 0) return; // already in a batch: settled when it finishes
        this.#pending.splice(index, 1);
        this.#queuedBytes -= request.bytes;
        request.reject(signal.reason);
      };
      signal.addEventListener('abort', request!.onAbort, { once: true });
    }
    this.#pending.push(request!);
    if (this.#pending.length >= this.#maxBatch) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), this.#maxDelayMs);
    return settled;
  }

  /**
   * Stops accepting work. With `drain` (default) the queued requests still run; without,
   * they reject with DisposedError. Resolves once nothing runs, after restoring the model.
   */
  async close(opts: { drain?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (opts.drain ?? true) {
      this.#flush(); // each batch queues the next at once now that the session is closed
    } else {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      for (const request of this.#pending.splice(0)) {
        this.#queuedBytes -= request.bytes;
        this.#settle(request, new DisposedError('InferenceSession.submit: the session was closed before the request ran'));
      }
    }
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    this.#half?.restore();
    this.#fusion?.restore();
  }

  #checkOpen(op: string): void {
    if (this.#closed) throw new DisposedError(`InferenceSession.${op}: the session is closed`);
  }

  #validateSample(sample: Tensor): void {
    if (!(sample instanceof Tensor)) throw new ArgumentError('InferenceSession.submit: sample must be a Tensor');
    sample._storage('InferenceSession.submit', 'sample');
    const expected = this.#sampleShape ?? this.#pending[0]?.sample.shape;
    if (expected && (expected.length !== sample.shape.length || expected.some((n, d) => n !== sample.shape[d]))) {
      throw new ShapeError(
        `InferenceSession.submit: sample has shape [${sample.shape.join(', ')}], the session's samples are [${expected.join(', ')}] (no batch dimension)`,
      );
    }
    const dtype = this.#pending[0]?.sample.dtype;
    if (dtype && dtype !== sample.dtype) {
      throw new DTypeError(`InferenceSession.submit: sample is ${sample.dtype}, the queued samples are ${dtype}`);
    }
  }

  /** The forward of one batch on the session's device, freeing its intermediates. */
  #forward(batch: Tensor): Out {
    this.#stats.batches += 1;
    return noGrad(() =>
      scope(() => {
        const out = this.#model.call(batch.device === this.device ? batch : batch.to(this.device));
        return this.#half ? (inFloat32Outputs(out) as Out) : out;
      }),
    );
  }

  /** Runs `fn` (a batch of `size`) once the batches before it have finished, and resolves once its work has. */
  async #inTurn<T>(fn: () => { size: number; out: T }, signal?: AbortSignal): Promise<T> {
    const previous = this.#turn;
    let done!: () => void;
    this.#turn = new Promise((resolve) => (done = resolve));
    try {
      await previous;
      signal?.throwIfAborted();
      const started = performance.now();
      const { size, out } = fn();
      await synchronize(this.device);
      if (size > 0) this.#onBatch?.(size, performance.now() - started);
      return out;
    } finally {
      done();
    }
  }

  /** Keeps `work` in the set close() waits for until it settles. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#running.add(work);
    const finished = (): void => {
      this.#running.delete(work);
    };
    work.then(finished, finished);
    return work;
  }

  /**
   * Queues a batch of the waiting requests. It takes them (up to maxBatch) when its turn
   * comes, once the batch before it has finished: requests that arrive while the device is
   * busy join the next batch rather than each timer tick forming a small batch of its own
   * (a server's closed-loop clients got batches of 1.2 on average that way).
   */
  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#flushQueued || this.#pending.length === 0) return;
    this.#flushQueued = true;
    let requests: Request<Out>[] = [];
    const work = this.#inTurn(() => {
      this.#flushQueued = false;
      requests = this.#pending.splice(0, this.#maxBatch);
      for (const r of requests) if (r.signal && r.onAbort) r.signal.removeEventListener('abort', r.onAbort);
      this.#batched += requests.length;
      // What still waits forms the next batch: at once when full (or closing), else after maxDelayMs.
      if (this.#pending.length >= this.#maxBatch || (this.#closed && this.#pending.length > 0)) this.#flush();
      else if (this.#pending.length > 0) this.#timer = setTimeout(() => this.#flush(), this.#maxDelayMs);
      if (requests.length === 0) return { size: 0, out: null }; // every waiting request was aborted
      const batch = stack(requests.map((r) => r.sample));
      try {
        return { size: requests.length, out: this.#forward(batch) };
      } finally {
        batch.dispose();
      }
    });
    void this.#track(work)
      .then(
        (out) => {
          if (requests.length > 0) this.#deliver(requests, out as Out);
        },
        (error: unknown) => {
          for (const r of requests) this.#settle(r, error);
        },
      )
      .finally(() => {
        for (const r of requests) this.#queuedBytes -= r.bytes;
        this.#batched -= requests.length;
      });
  }

  /** Gives each request its row of the batch's output (of each tensor of a record output). */
  #deliver(requests: Request<Out>[], out: Out): void {
    if (Array.isArray(out) && out.length === requests.length) {
      // One result per sample already (a detector's Detection[]): each request gets its own.
      requests.forEach((r, i) => this.#settle(r, null, out[i] as SampleResult<Out>));
      return;
    }
    const tensors = out instanceof Tensor ? [out] : out !== null && typeof out === 'object' ? Object.values(out) : [];
    if (tensors.length === 0 || !tensors.every((t) => t instanceof Tensor && t.shape[0] === requests.length)) {
      const error = new ArgumentError(
        'InferenceSession.submit: the model must return a tensor, or a record of tensors, with the batch dimension first to split it between requests',
      );
      for (const t of tensors) if (t instanceof Tensor) t.dispose();
      for (const r of requests) this.#settle(r, error);
      return;
    }
    const rowOf = (t: Tensor, i: number): Tensor => scope(() => t.slice(0, i, i + 1).reshape(t.shape.slice(1)));
    requests.forEach((r, i) => {
      const row = out instanceof Tensor ? rowOf(out, i) : Object.fromEntries(Object.entries(out as Record<string, Tensor>).map(([k, t]) => [k, rowOf(t, i)]));
      this.#settle(r, null, row as SampleResult<Out>);
    });
    for (const t of tensors) (t as Tensor).dispose();
  }

  /** Resolves (or rejects) a request; one aborted meanwhile gets its signal's reason. */
  #settle(request: Request<Out>, error: unknown, row?: SampleResult<Out>): void {
    if (error === null && request.signal?.aborted) {
      disposeOutput(row);
      request.reject(request.signal.reason);
    } else if (error === null) {
      request.resolve(row!);
    } else {
      request.reject(error);
    }
  }
}
