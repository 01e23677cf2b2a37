/**
 * WorkerPool: CPU inference on a pool of worker threads (piscina), for throughput on a
 * machine with many cores. Each worker has its own addon instance, stream and session,
 * and builds the model's architecture from a {@link ModuleRef}; the weights are packed
 * once into a SharedArrayBuffer that every worker's tensors borrow, so N workers hold one
 * copy of them, not N. Inputs and outputs cross threads as transferred typed arrays.
 *
 * piscina rather than our own pool (as the DataLoader's): it already balances tasks over
 * the least busy worker, replaces a worker that dies, and drains or destroys on request;
 * what neocog adds is the bounded queue (BusyError), typed errors and the shared weights.
 * @module
 */
import { availableParallelism } from 'node:os';

import { Piscina } from 'piscina';

import { findTsx } from '../data/worker_pool.js';
import { isModuleRef, isTypeScriptModule, moduleUrl, type ModuleRef } from '../data/module_ref.js';
import { decodeBatch, encodeBatch, reviveError } from '../data/worker_protocol.js';
import { ArgumentError, BusyError, DisposedError, WorkerError } from '../errors.js';
import { packSharedStateDictSync, type SharedStateDict } from '../io/shared_state_dict.js';
import { Module } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import type { PoolReply, PoolTask, PoolWorkerData } from './pool_worker.js';

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /**
   * The factory that builds the model's architecture in each worker: an exported function of
   * an ES module (sync or async) returning a Module. Its initial weights are replaced by
   * `stateDict`'s when given.
   */
  model: ModuleRef;
  /**
   * The weights every worker shares (one copy, read-only): a state dict, or a model to take
   * it from. Packed once, at construction. Without it each worker keeps the factory's own
   * weights (a copy each).
   */
  stateDict?: ReadonlyMap<string, Tensor> | Module<[Tensor], unknown>;
  /** Worker threads (default: the cores, `os.availableParallelism()`). */
  workers?: number;
  /** CPU threads each worker's kernels use (default `max(1, floor(cores / workers))`). */
  threadsPerWorker?: number;
  /** Batching of `submit` inside each worker, as InferenceSession's options of the same names. */
  session?: { maxBatch?: number; maxDelayMs?: number };
  /** The most calls queued or running before `run`/`submit` refuse with BusyError (default 1024). */
  maxQueue?: number;
}

/** Counters of a pool, for logs and metrics. */
export interface WorkerPoolStats {
  /** Worker threads. */
  workers: number;
  /** CPU threads per worker. */
  threadsPerWorker: number;
  /** Calls queued or running now. */
  queued: number;
  /** Calls answered with an output. */
  completed: number;
  /** Calls that failed (the model threw, a worker died, force-closed). */
  failed: number;
  /** Calls refused with BusyError. */
  rejected: number;
  /** Bytes of the shared weights (held once for all workers). */
  sharedWeightBytes: number;
}

/** The worker script beside this module: `.ts` when running from sources (tsx, vitest), `.js` when built. */
const entryUrl = new URL(`./pool_worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

const positiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * A pool of worker threads that run one model for CPU inference. Build it once, call
 * `run(batch)` (or `submit(sample)`, batched inside a worker with other samples) from as
 * many places at once as you like, and `close()` it. The event loop keeps turning: the
 * main thread only copies inputs and outputs.
 *
 * The shared weights are read-only by contract: the workers run in eval mode without
 * autograd and never write them; BatchNorm folding (which would write new weights in each
 * worker) is off.
 *
 * @example
 * const pool = new infer.WorkerPool({
 *   model: { module: new URL('./model.js', import.meta.url).href, exportName: 'makeModel' },
 *   stateDict: trained, // a Module or its state dict
 *   workers: 4,
 * });
 * const logits = await pool.run(batch); // [N, classes]
 * await pool.close();
 */
export class WorkerPool<Out = Tensor> {
  /** Worker threads. */
  readonly workers: number;
  /** CPU threads each worker's kernels use. */
  readonly threadsPerWorker: number;
  readonly #piscina: Piscina;
  readonly #maxQueue: number;
  readonly #sharedBytes: number;
  readonly #inFlight = new Set<{ reject: (error: Error) => void; done: Promise<unknown> }>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #stats = { completed: 0, failed: 0, rejected: 0 };

  /**
   * Starts the workers (each builds its model on its first task). Reads the weights once
   * (waiting for work queued on them) into a SharedArrayBuffer.
   * @throws ArgumentError for a malformed option
   */
  constructor(opts: WorkerPoolOptions) {
    if (!isModuleRef(opts.model)) throw new ArgumentError('infer.WorkerPool: model must be a ModuleRef ({ module, exportName, args? })');
    const model: ModuleRef = { ...opts.model, module: moduleUrl(opts.model.module, 'infer.WorkerPool') };
    const cores = availableParallelism();
    this.workers = opts.workers ?? cores;
    if (!positiveInteger(this.workers)) throw new ArgumentError(`infer.WorkerPool: workers must be a positive integer, got ${String(opts.workers)}`);
    this.threadsPerWorker = opts.threadsPerWorker ?? Math.max(1, Math.floor(cores / this.workers));
    if (!positiveInteger(this.threadsPerWorker)) {
      throw new ArgumentError(`infer.WorkerPool: threadsPerWorker must be a positive integer, got ${String(opts.threadsPerWorker)}`);
    }
    this.#maxQueue = opts.maxQueue ?? 1024;
    if (!positiveInteger(this.#maxQueue)) throw new ArgumentError(`infer.WorkerPool: maxQueue must be a positive integer, got ${String(opts.maxQueue)}`);
    const maxBatch = opts.session?.maxBatch ?? 32;
    const maxDelayMs = opts.session?.maxDelayMs ?? 2;
    if (!positiveInteger(maxBatch)) throw new ArgumentError(`infer.WorkerPool: session.maxBatch must be a positive integer, got ${String(maxBatch)}`);
    if (!(typeof maxDelayMs === 'number' && maxDelayMs >= 0 && Number.isFinite(maxDelayMs))) {
      throw new ArgumentError(`infer.WorkerPool: session.maxDelayMs must be a finite number >= 0, got ${String(maxDelayMs)}`);
    }
    const weights = opts.stateDict === undefined ? null : packWeights(opts.stateDict);
    this.#sharedBytes = weights?.buffer.byteLength ?? 0;
    const workerData: PoolWorkerData = { model, weights, threads: this.threadsPerWorker, maxBatch, maxDelayMs };
    const typescript = isTypeScriptModule(entryUrl.href) || isTypeScriptModule(model.module);
    this.#piscina = new Piscina({
      filename: entryUrl.href,
      workerData,
      minThreads: this.workers,
      maxThreads: this.workers,
      // Several samples in one worker at once, so that its session can batch them.
      concurrentTasksPerWorker: maxBatch,
      idleTimeout: Infinity,
      // Workers wait for tasks on their event loop, not in Atomics.wait: the addon's
      // completions (promises settled from its stream thread) must be able to run.
      atomics: 'disabled',
      // A worker does not inherit the parent's TypeScript loader: each registers tsx's
      // before piscina imports the entry (piscina takes a file name, so the registration
      // runs as an --import of its own).
      ...(typescript ? { execArgv: ['--import', registerTsx()] } : {}),
    });
  }

  /**
   * Runs one batch in a worker (its session's `run`): resolves with the model's output
   * (CPU tensors, owned by the caller). Rejects at once with BusyError past `maxQueue`.
   * @throws WorkerError (rejection) when the worker cannot build its model
   */
  run(batch: Tensor): Promise<Out> {
    return this.#call('run', batch) as Promise<Out>;
  }

  /**
   * Queues one sample (no batch dimension) in a worker, which batches it with the other
   * samples it holds (its session's `submit`): resolves with the sample's row of the output.
   */
  submit(sample: Tensor): Promise<Out> {
    return this.#call('submit', sample) as Promise<Out>;
  }

  /** A copy of the counters. */
  stats(): WorkerPoolStats {
    return {
      workers: this.workers,
      threadsPerWorker: this.threadsPerWorker,
      queued: this.#inFlight.size,
      ...this.#stats,
      sharedWeightBytes: this.#sharedBytes,
    };
  }

  /**
   * Stops accepting work and stops the workers. By default the calls in flight finish
   * first; with `force` they reject at once with DisposedError and the workers are
   * terminated. Idempotent.
   */
  close(opts: { force?: boolean } = {}): Promise<void> {
    this.#closed = true;
    if (opts.force) {
      for (const call of this.#inFlight) call.reject(new DisposedError('infer.WorkerPool: the pool was closed before the call finished'));
    }
    this.#closing ??= (async () => {
      if (!opts.force) await Promise.allSettled([...this.#inFlight].map((call) => call.done));
      await this.#piscina.destroy();
    })();
    return this.#closing;
  }

  #call(kind: PoolTask['kind'], input: Tensor): Promise<unknown> {
    const op = `infer.WorkerPool.${kind}`;
    if (this.#closed) return Promise.reject(new DisposedError(`${op}: the pool is closed`));
    if (!(input instanceof Tensor)) return Promise.reject(new ArgumentError(`${op}: expected a Tensor`));
    if (this.#inFlight.size >= this.#maxQueue) {
      this.#stats.rejected += 1;
      return Promise.reject(new BusyError(`${op}: the queue is full (${this.#inFlight.size} calls; maxQueue ${this.#maxQueue}); retry later`));
    }
    let reject!: (error: Error) => void;
    const settled = new Promise<unknown>((res, rej) => {
      reject = rej;
      void this.#send(kind, input).then(res, rej);
    });
    const call = { reject, done: settled.catch(() => undefined) };
    this.#inFlight.add(call);
    void settled.then(
      () => {
        this.#inFlight.delete(call);
        this.#stats.completed += 1;
      },
      () => {
        this.#inFlight.delete(call);
        this.#stats.failed += 1;
      },
    );
    return settled;
  }

  async #send(kind: PoolTask['kind'], input: Tensor): Promise<unknown> {
    const transferList: ArrayBuffer[] = [];
    const task: PoolTask = { kind, input: await encodeBatch(input, transferList) };
    let reply: PoolReply;
    try {
      reply = (await this.#piscina.run(task, { transferList })) as PoolReply;
    } catch (cause) {
      // piscina's own failures: a worker died, or the pool was destroyed.
      throw new WorkerError(`infer.WorkerPool.${kind}: the worker failed (${(cause as Error).message})`, { cause });
    }
    if (reply.ok) return decodeBatch(reply.output);
    const error = reviveError(reply.error, 'an infer.WorkerPool worker');
    if (!reply.startup) throw error;
    throw new WorkerError(`infer.WorkerPool: a worker could not build its model: ${error.name}: ${error.message}`, { cause: error });
  }
}

/** A module (as a data: URL) that registers tsx's ESM loader in the thread that imports it. */
function registerTsx(): string {
  const code = `import { register } from ${JSON.stringify(findTsx('infer.WorkerPool'))}; register();`;
  return `data:text/javascript,${encodeURIComponent(code)}`;
}

/** The weights as one SharedArrayBuffer (read synchronously: the constructor cannot wait). */
function packWeights(source: ReadonlyMap<string, Tensor> | Module<[Tensor], unknown>): SharedStateDict {
  const dict = source instanceof Module ? source.stateDict() : source;
  if (!(dict instanceof Map)) throw new ArgumentError('infer.WorkerPool: stateDict must be a Map of tensors or a Module');
  for (const [name, t] of dict) if (!(t instanceof Tensor)) throw new ArgumentError(`infer.WorkerPool: stateDict entry ${String(name)} is not a Tensor`);
  return packSharedStateDictSync(dict);
}
