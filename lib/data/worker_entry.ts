/**
 * The code a DataLoader worker thread runs: build the dataset from its spec once, then
 * turn each batch request into a batch (items, augmentation, collate) and post it back
 * with its tensors encoded as transferable typed arrays. Requests are served one at a
 * time, in the order they arrive.
 * @internal
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';

import { IndexError } from '../errors.js';
import { scope } from '../tensor/memory.js';
import { manualSeed } from '../tensor/random.js';
import { stackCollate } from './collate.js';
import { buildWorkerParts, type WorkerDatasetParts } from './worker_dataset.js';
import { encodeBatch, serializeError, type BatchRequest, type WorkerInit, type WorkerReply, type WorkerRequest } from './worker_protocol.js';

const port = parentPort!;
const { spec } = workerData as WorkerInit;

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function buildParts(): Promise<WorkerDatasetParts> {
  return buildWorkerParts(spec, 'DataLoader worker');
}

async function serve({ dataset, collate = stackCollate as (items: unknown[]) => unknown }: WorkerDatasetParts, request: BatchRequest): Promise<void> {
  try {
    // One seed per batch, so random augmentation does not depend on timing or worker count.
    manualSeed(request.seed);
    const transfer: ArrayBuffer[] = [];
    // Every tensor made for the batch is freed once its values are copied out.
    const value = await scope(async () => {
      for (const i of request.indices) {
        if (!(Number.isInteger(i) && i >= 0 && i < dataset.length)) {
          throw new IndexError(`DataLoader worker: index ${i} is out of range for the worker's dataset of length ${dataset.length}`);
        }
      }
      const items = await Promise.all(request.indices.map((i) => dataset.get(i)));
      return encodeBatch(await collate(items), transfer);
    });
    reply({ type: 'batch', id: request.id, value }, transfer);
  } catch (error) {
    reply({ type: 'error', id: request.id, error: serializeError(error) });
  }
}

async function main(): Promise<void> {
  let parts: WorkerDatasetParts;
  try {
    parts = await buildParts();
  } catch (error) {
    reply({ type: 'startup-error', error: serializeError(error) });
    port.close();
    return;
  }
  let queue = Promise.resolve();
  let stopping = false;
  const cancelled = new Set<number>();
  port.on('message', (request: WorkerRequest) => {
    if (request.type === 'stop') {
      // Requests still queued are dropped; the one in hand finishes, then the thread exits
      // on its own (terminating mid-decode could crash native image code).
      stopping = true;
      queue = queue.then(() => port.close());
    } else if (request.type === 'cancel') {
      for (const id of request.ids) cancelled.add(id);
    } else {
      queue = queue.then(() => {
        if (stopping || cancelled.delete(request.id)) return undefined;
        return serve(parts, request);
      });
    }
  });
}

await main();
