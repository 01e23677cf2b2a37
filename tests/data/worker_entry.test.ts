// lib/data/worker_entry.ts: the worker side of the protocol, driven message by message on
// a raw thread — batches seeded per request, indices checked, cancel and stop honoured, and
// a dataset that fails to build reported before the thread exits.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { afterAll, expect, it } from 'vitest';

import {
  decodeBatch,
  reviveError,
  type Encoded,
  type SerializedError,
  type WorkerInit,
  type WorkerReply,
  type WorkerRequest,
} from '../../lib/data/worker_protocol.js';
import { IndexError, type Tensor } from '../../lib/index.js';

const entry = new URL('../../lib/data/worker_entry.ts', import.meta.url).href;
const fixtureModule = new URL('./worker_datasets.fixture.ts', import.meta.url).href;

/** tsx's registration API, as worker_pool.ts finds it: a worker does not inherit vitest's loader. */
function tsxApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(join(dirname(manifest), exports['./esm/api']!.import.default)).href;
}

const threads: Worker[] = [];
afterAll(() => Promise.all(threads.map((thread) => thread.terminate())));

/** Starts the entry on a fixture factory; `replies` collects what it posts, `exited` its exit code. */
function start(exportName: string, args: unknown) {
  const init: WorkerInit = { spec: { module: fixtureModule, exportName, args }, worker: 0 };
  const bootstrap = `import(${JSON.stringify(tsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  const thread = new Worker(bootstrap, { eval: true, workerData: init });
  threads.push(thread);
  const replies: WorkerReply[] = [];
  const waiters: Array<() => void> = [];
  thread.on('message', (reply: WorkerReply) => {
    replies.push(reply);
    waiters.splice(0).forEach((wake) => wake());
  });
  const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
  /** Resolves once `count` replies have come. */
  const received = async (count: number) => {
    while (replies.length < count) await new Promise<void>((wake) => waiters.push(wake));
    return replies.slice(0, count);
  };
  const send = (request: WorkerRequest) => thread.postMessage(request);
  return { replies, received, exited, send };
}

const batch = (id: number, indices: number[], seed: number): WorkerRequest => ({ type: 'batch', id, batch: id, indices, seed });

/** The batch a reply carries (fails on an error reply). */
function valueOf(reply: WorkerReply | undefined): Encoded {
  if (reply?.type !== 'batch') throw new Error(`expected a batch, got ${JSON.stringify(reply)}`);
  return reply.value;
}

/** The error a reply carries (fails on a batch). */
function errorOf(reply: WorkerReply | undefined): SerializedError {
  if (reply === undefined || reply.type === 'batch') throw new Error(`expected an error, got ${JSON.stringify(reply)}`);
  return reply.error;
}

it('serves batches in order, seeded per request; checks indices; honours cancel, then stop', async () => {
  // Items take 20 ms each, so later requests are still queued when cancel and stop arrive.
  const worker = start('numbers', { n: 6, noise: true, delayMs: 20 });
  worker.send(batch(1, [0, 1], 5));
  worker.send(batch(2, [0, 1], 5));
  worker.send(batch(3, [0, 1], 6));
  worker.send(batch(4, [2, 9], 5));
  worker.send(batch(5, [3], 5));
  worker.send({ type: 'cancel', ids: [5] });
  worker.send(batch(6, [4], 5));
  const replies = await worker.received(5);
  expect(replies.map((r) => [r.type, 'id' in r ? r.id : null])).toEqual([['batch', 1], ['batch', 2], ['batch', 3], ['error', 4], ['batch', 6]]);
  const images = replies.slice(0, 3).map((r) => (decodeBatch(valueOf(r)) as [Tensor, Tensor])[0].tolist());
  expect(images[1]).toEqual(images[0]); // the same seed draws the same noise
  expect(images[2]).not.toEqual(images[0]);
  const error = reviveError(errorOf(replies[3]), 'worker 0');
  expect(error).toBeInstanceOf(IndexError);
  expect(error.message).toBe("DataLoader worker: index 9 is out of range for the worker's dataset of length 6");

  worker.send(batch(7, [0], 1));
  worker.send({ type: 'stop' });
  worker.send(batch(8, [1], 1)); // after stop: dropped
  expect(await worker.exited).toBe(0);
  expect(worker.replies.map((r) => ('id' in r ? r.id : null))).toEqual([1, 2, 3, 4, 6, 7]);
});

it('a dataset that fails to build is reported once, and the thread exits on its own', async () => {
  const worker = start('broken', undefined);
  const [reply] = await worker.received(1);
  expect(reply!.type).toBe('startup-error');
  const error = reviveError(errorOf(reply), 'worker 0');
  expect(error).toBeInstanceOf(RangeError);
  expect(error.message).toBe('cannot open the dataset');
  expect(await worker.exited).toBe(0);
});
