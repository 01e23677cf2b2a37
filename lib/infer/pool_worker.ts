/**
 * The worker side of {@link WorkerPool} (worker_pool.ts): piscina imports this module in
 * each worker thread and calls its default export once per task. The first task builds
 * the model from its ModuleRef, swaps in the weights that borrow the pool's
 * SharedArrayBuffer (no copy), and opens an InferenceSession; later tasks reuse it.
 * Replies carry errors as data (piscina's structured clone would drop their classes).
 * @internal
 * @module
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';

import { buildFromRef, type ModuleRef } from '../data/module_ref.js';
import { decodeBatch, encodeBatch, serializeError, type Encoded, type SerializedError } from '../data/worker_protocol.js';
import { ArgumentError } from '../errors.js';
import { unpackSharedStateDict, type SharedStateDict } from '../io/shared_state_dict.js';
import { Module } from '../nn/module.js';
import { useWeights } from '../nn/use_weights.js';
import { setNumThreads, synchronize } from '../tensor/device.js';
import { emptyCache } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';
import { InferenceSession } from './session.js';

/** What every worker of a pool starts with (piscina's workerData). */
export interface PoolWorkerData {
  model: ModuleRef;
  /** The weights, shared by every worker; null to keep the factory's own. */
  weights: SharedStateDict | null;
  threads: number;
  maxBatch: number;
  maxDelayMs: number;
}

/** One task: a batch to run whole, or one sample to batch with the worker's other samples. */
export interface PoolTask {
  kind: 'run' | 'submit';
  input: Encoded;
}

/** A task's answer: the encoded output, or the error, and whether the worker could not start. */
export type PoolReply = { ok: true; output: Encoded } | { ok: false; startup: boolean; error: SerializedError };

/** The session of each pool this thread serves (one in a worker; tests call runPoolTask directly). */
const sessions = new WeakMap<PoolWorkerData, Promise<InferenceSession<unknown>>>();

/** Builds the worker's model once: its architecture from the ref, its weights from the shared buffer. */
async function start(data: PoolWorkerData): Promise<InferenceSession<unknown>> {
  setNumThreads(data.threads);
  const model: unknown = await buildFromRef(data.model, 'infer.WorkerPool');
  if (!(model instanceof Module)) {
    throw new ArgumentError(`infer.WorkerPool: ${data.model.exportName} from ${data.model.module} returned ${describe(model)}, not a Module`);
  }
  if (data.weights) {
    useWeights(model, unpackSharedStateDict(data.weights));
    // The factory's own initial weights are freed once their queued initialisation has
    // run; then hand their memory back rather than keep a per-worker cache as large as the
    // model (emptying before the stream got there left every block cached).
    await synchronize('cpu');
    emptyCache('cpu');
  }
  // fuse: false: folding BatchNorms writes new convolution weights, one copy per worker.
  return InferenceSession.create(model as Module<[Tensor], unknown>, { fuse: false, maxBatch: data.maxBatch, maxDelayMs: data.maxDelayMs, maxQueue: 2 ** 30 });
}

/** Frees the tensors of an output: a tensor, or arrays and records of them (detections). */
function disposeTree(value: unknown): void {
  if (value instanceof Tensor) value.dispose();
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) disposeTree(item);
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? `an object (${value.constructor.name})` : `a ${typeof value}`;
}

/** Runs one task in this worker (piscina's handler). */
export default function runTask(task: PoolTask): Promise<unknown> {
  return runPoolTask(task, workerData as PoolWorkerData);
}

/**
 * Runs one task of the pool started with `data`, building its session on the first.
 * Resolves with a {@link PoolReply}, wrapped for piscina to transfer its buffers when it
 * carries an output.
 */
export async function runPoolTask(task: PoolTask, data: PoolWorkerData): Promise<unknown> {
  let ready: InferenceSession<unknown>;
  try {
    let session = sessions.get(data);
    if (!session) sessions.set(data, (session = start(data)));
    ready = await session;
  } catch (error) {
    return { ok: false, startup: true, error: serializeError(error) } satisfies PoolReply;
  }
  const input = decodeBatch(task.input);
  try {
    if (!(input instanceof Tensor)) throw new ArgumentError('infer.WorkerPool: the input must be a tensor');
    const output = task.kind === 'run' ? await ready.run(input) : await ready.submit(input);
    const transfer: ArrayBuffer[] = [];
    try {
      const encoded = await encodeBatch(output, transfer);
      // Moved, not copied, back to the main thread.
      return move({ [transferableSymbol]: transfer, [valueSymbol]: { ok: true, output: encoded } satisfies PoolReply });
    } finally {
      disposeTree(output);
    }
  } catch (error) {
    return { ok: false, startup: false, error: serializeError(error) } satisfies PoolReply;
  } finally {
    if (input instanceof Tensor) input.dispose();
  }
}
