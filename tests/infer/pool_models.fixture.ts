// Model factories that infer.WorkerPool workers import (see worker_pool.test.ts).
import { ArgumentError, nn } from '../../lib/index.js';

/** A model with 4096 x 4096 x 1 + 4096 float32 weights: 64 MiB. */
export function wideLinear(): nn.Linear {
  return new nn.Linear(4096, 4096);
}

/** A factory that throws, as one whose checkpoint is missing would. */
export function broken(): nn.Linear {
  throw new ArgumentError('broken: no weights for this architecture');
}

/** A factory that returns something other than a module. */
export function notAModule(): number {
  return 42;
}

/** A model whose forward takes a while (for the event-loop and drain tests): conv layers on a large input. */
export async function slowCnn(): Promise<nn.Sequential> {
  await Promise.resolve(); // factories may be async
  return new nn.Sequential(new nn.Conv2d(3, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.Conv2d(64, 64, 3, { padding: 1 }), new nn.AdaptiveAvgPool2d(1), new nn.Flatten());
}
