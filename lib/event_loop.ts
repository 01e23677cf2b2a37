/**
 * Loops that neocog drives (DataLoader, `fit`, inference) give the event loop a turn per
 * step and stay a bounded distance ahead of the device streams (DESIGN §2, §3).
 * @internal
 * @module
 */
import { setImmediate as immediate } from 'node:timers/promises';

import { native } from './native.js';
import { devicesInUse } from './tensor/memory.js';

/**
 * Resolves on the next macrotask. `await` alone only queues a microtask, so a loop of
 * awaits starves timers, I/O callbacks and FinalizationRegistry cleanups (which free
 * tensors the user forgot); awaiting this lets all of them run.
 */
export function yieldToEventLoop(): Promise<void> {
  return immediate();
}

/**
 * Paces a loop one step ahead of the streams: each `step()` marks the end of the current
 * step on every device in use and waits, off the JavaScript thread, until the streams have
 * finished the step before it. The host prepares step k+1 while the device runs step k, the
 * queue never holds more than about two steps, and the event loop turns while it waits.
 */
export class StepPacer {
  #previous: Promise<unknown> | null = null;

  /** Call once per step, before starting the next one. */
  async step(): Promise<void> {
    const previous = this.#previous;
    this.#previous = Promise.all(devicesInUse().map((device) => native.fence(device)));
    await yieldToEventLoop();
    if (previous !== null) await previous;
  }
}
