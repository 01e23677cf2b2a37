/**
 * The main-thread side of the DataLoader's workers: starts the threads (with a TypeScript
 * loader when the code they run is TypeScript), sends batch requests, matches replies to
 * them, and stops the threads.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { ArgumentError } from '../errors.js';
import { isTypeScriptModule, moduleUrl, type ModuleRef } from './module_ref.js';
import { reviveError, type BatchRequest, type Encoded, type WorkerInit, type WorkerReply, type WorkerRequest } from './worker_protocol.js';

/** How long a stopping worker may take to finish its batch before it is terminated. */
const STOP_GRACE_MS = 10_000;

/** The worker script beside this module: `.ts` when running from sources (tsx, vitest), `.js` when built. */
const entryUrl = new URL(`./worker_entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

/** The ESM entry of tsx's registration API (`tsx/esm/api`), read from tsx's package exports. */
function tsxApiUrl(base: string): string {
  const manifest = createRequire(base).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
  const target = exports?.['./esm/api']?.import?.default;
  if (!target) throw new Error(`${manifest} exports no ./esm/api`);
  return pathToFileURL(join(dirname(manifest), target)).href;
}

/**
 * tsx's registration API (`tsx/esm/api`), found from the user's project first, then from
 * neocog's. A worker does not inherit the parent's TypeScript loader; `caller` names who
 * needs it in the error.
 * @internal
 */
export function findTsx(caller: string): string {
  for (const base of [join(process.cwd(), 'noop.js'), import.meta.url]) {
    try {
      return tsxApiUrl(base);
    } catch {
      // try the next place
    }
  }
  throw new ArgumentError(`${caller}: workers must run TypeScript (the factory module or neocog itself is a .ts file) and need the package tsx; install it or use compiled .js modules`);
}

/** Starts one worker thread running the entry script. */
function startWorker(init: WorkerInit): Worker {
  if (!isTypeScriptModule(entryUrl) && !isTypeScriptModule(init.spec.module)) return new Worker(new URL(entryUrl), { workerData: init });
  // A worker does not inherit the parent's TypeScript loader: register tsx, then load the entry.
  const bootstrap = `import(${JSON.stringify(findTsx('DataLoader'))}).then(({ register }) => { register(); return import(${JSON.stringify(entryUrl)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

interface Pending {
  worker: number;
  batch: number;
  resolve: (value: Encoded) => void;
  reject: (error: Error) => void;
}

/** A fixed set of worker threads that build batches of one dataset. */
export class WorkerPool {
  readonly #workers: Worker[];
  readonly #exited: Array<Promise<void>>;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #failure: Error | undefined;
  #closing = false;

  constructor(spec: ModuleRef, count: number) {
    const portable: ModuleRef = { ...spec, module: moduleUrl(spec.module, 'DataLoader') };
    this.#workers = Array.from({ length: count }, (_, worker) => {
      const thread = startWorker({ spec: portable, worker });
      thread.on('message', (reply: WorkerReply) => this.#onReply(worker, reply));
      thread.on('error', (error) => this.#fail(reviveError({ name: error.name, message: error.message, stack: error.stack }, `DataLoader worker ${worker}`)));
      thread.unref(); // referenced only while a reply is awaited (see #updateRefs)
      return thread;
    });
    this.#exited = this.#workers.map(
      (thread, worker) =>
        new Promise<void>((resolve) =>
          thread.once('exit', (code) => {
            if (!this.#closing) this.#fail(new Error(`DataLoader: worker ${worker} exited unexpectedly (code ${code})`));
            resolve();
          }),
        ),
    );
  }

  /** Number of worker threads. */
  get size(): number {
    return this.#workers.length;
  }

  /** True once a worker failed to start or died: the pool serves no more batches. */
  get broken(): boolean {
    return this.#failure !== undefined;
  }

  /** Asks worker `worker` for a batch; `reply` resolves with the encoded batch. */
  request(worker: number, batch: Omit<BatchRequest, 'type' | 'id'>): { id: number; reply: Promise<Encoded> } {
    const id = this.#nextId++;
    if (this.#failure) return { id, reply: Promise.reject(this.#failure) };
    const reply = new Promise<Encoded>((resolve, reject) => {
      this.#pending.set(id, { worker, batch: batch.batch, resolve, reject });
      this.#updateRefs();
      this.#workers[worker]!.postMessage({ type: 'batch', id, ...batch } satisfies WorkerRequest);
    });
    return { id, reply };
  }

  /** Forgets requests nobody will read (an epoch ended early); workers skip those not started. */
  cancel(ids: readonly number[]): void {
    const byWorker = new Map<number, number[]>();
    for (const id of ids) {
      const pending = this.#pending.get(id);
      if (!pending) continue;
      this.#pending.delete(id);
      byWorker.set(pending.worker, [...(byWorker.get(pending.worker) ?? []), id]);
    }
    for (const [worker, list] of byWorker) this.#workers[worker]!.postMessage({ type: 'cancel', ids: list } satisfies WorkerRequest);
    this.#updateRefs();
  }

  /** Stops every worker after its current batch, terminating those that do not stop in time. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#pending.clear();
    await Promise.all(
      this.#workers.map(async (thread, worker) => {
        const exited = this.#exited[worker]!;
        thread.ref(); // stay alive until it has really gone
        thread.postMessage({ type: 'stop' } satisfies WorkerRequest);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
        if ((await Promise.race([exited, late])) === 'late') await thread.terminate();
        clearTimeout(timer);
      }),
    );
  }

  #onReply(worker: number, reply: WorkerReply): void {
    if (reply.type === 'startup-error') {
      this.#fail(reviveError(reply.error, `DataLoader worker ${worker} while building its dataset`));
      return;
    }
    const pending = this.#pending.get(reply.id);
    if (!pending) return; // a batch nobody waits for any more
    this.#pending.delete(reply.id);
    this.#updateRefs();
    if (reply.type === 'batch') pending.resolve(reply.value);
    else pending.reject(reviveError(reply.error, `DataLoader worker ${worker} while building batch ${pending.batch}`));
  }

  /** Rejects every outstanding request and every later one: the pool is broken. */
  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#updateRefs();
  }

  /**
   * Keeps the process alive only while a reply is awaited, so a loop abandoned without
   * `break` (its iterator never closed) cannot hold the process open.
   */
  #updateRefs(): void {
    const waiting = new Set([...this.#pending.values()].map((p) => p.worker));
    this.#workers.forEach((thread, i) => (waiting.has(i) ? thread.ref() : thread.unref()));
  }
}
