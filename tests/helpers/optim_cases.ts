// The torch.optim fixture (tests/fixtures/optim.json, make_fixtures.py): four steps of each
// optimizer on fixed gradients, and the learning rates of each scheduler; declared once for
// tests/optim/{sgd,adam,rmsprop,lr_scheduler}.test.ts.
import { it } from 'vitest';

import { optim, tensor } from '../../lib/index.js';
import { parameter } from '../../lib/nn/index.js';
import { expectClose } from './devices.js';
import { readFixture } from './fixture_cases.js';

export interface OptimCase {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
  options: Record<string, number | boolean | number[]>;
  start: number[];
  grads: number[][];
  steps: number[][];
}

export const optimFixture = readFixture<{
  optimizers: OptimCase[];
  schedulers: Array<{ scheduler: string; lrs: number[] }>;
}>('optim.json');

/** The neocog optimizer of a case, on parameter `p`. */
function make(c: OptimCase, p: ReturnType<typeof parameter>) {
  const o = c.options;
  if (c.optimizer === 'SGD') {
    return new optim.SGD([p], {
      lr: o.lr as number,
      momentum: (o.momentum as number) ?? 0,
      dampening: (o.dampening as number) ?? 0,
      nesterov: (o.nesterov as boolean) ?? false,
      weightDecay: (o.weight_decay as number) ?? 0,
    });
  }
  if (c.optimizer === 'RMSprop') {
    return new optim.RMSprop([p], {
      lr: o.lr as number,
      momentum: (o.momentum as number) ?? 0,
      centered: (o.centered as boolean) ?? false,
      weightDecay: (o.weight_decay as number) ?? 0,
    });
  }
  const options = { lr: o.lr as number, ...(o.betas ? { betas: o.betas as [number, number] } : {}), ...(o.weight_decay !== undefined ? { weightDecay: o.weight_decay as number } : {}) };
  return c.optimizer === 'Adam' ? new optim.Adam([p], options) : new optim.AdamW([p], options);
}

/** Declares one test per fixture case of the optimizers named `names`. */
export function optimizerFixtureTests(names: ReadonlyArray<OptimCase['optimizer']>): void {
  for (const c of optimFixture.optimizers.filter((k) => names.includes(k.optimizer))) {
    it(`${c.optimizer} ${JSON.stringify(c.options)} matches torch.optim over four steps`, () => {
      const p = parameter(tensor(Float32Array.from(c.start)).reshape(2, 3));
      const optimizer = make(c, p);
      c.grads.forEach((g, i) => {
        p.grad = tensor(Float32Array.from(g)).reshape(2, 3) as typeof p.grad;
        optimizer.step();
        expectClose(p.dataSync(), c.steps[i]!, 1e-5);
      });
    });
  }
}
