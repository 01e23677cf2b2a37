import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, memory, optim, tensor } from '../../lib/index.js';
import { parameter } from '../../lib/nn/index.js';
import { expectClose } from '../helpers/devices.js';

interface OptimCase {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
  options: Record<string, number | boolean | number[]>;
  start: number[];
  grads: number[][];
  steps: number[][];
}

// Written by make_fixtures.py: four steps of each torch.optim optimizer on fixed gradients.
const fixture = JSON.parse(readFileSync(new URL('../fixtures/optim.json', import.meta.url), 'utf8')) as {
  optimizers: OptimCase[];
  schedulers: Array<{ scheduler: string; lrs: number[] }>;
};
const cases = fixture.optimizers;

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

for (const c of cases) {
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

it('steps free their temporaries; parameter groups keep their own lr', () => {
  const a = parameter(tensor([1, 1], { dtype: 'float32' }));
  const b = parameter(tensor([1, 1], { dtype: 'float32' }));
  const sgd = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
  a.grad = tensor([1, 1], { dtype: 'float32' }) as typeof a.grad;
  b.grad = tensor([1, 1], { dtype: 'float32' }) as typeof b.grad;
  sgd.step();
  const before = memory('cpu').tensors;
  sgd.step();
  expect(memory('cpu').tensors).toBe(before);
  expectClose(a.dataSync(), [1 - 0.1 - 0.1 * 1.9, 1 - 0.1 - 0.1 * 1.9]);
  expectClose(b.dataSync(), [1 - 0.5 - 0.5 * 1.9, 1 - 0.5 - 0.5 * 1.9]);
  sgd.zeroGrad();
  expect(a.grad).toBeNull();
});

it('optimizers reject bad options', () => {
  const p = parameter(tensor([1], { dtype: 'float32' }));
  expect(() => new optim.SGD([p], { lr: -1 })).toThrow(ArgumentError);
  expect(() => new optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
  expect(() => new optim.Adam([])).toThrow(/empty/);
});

const schedulers: Record<string, (o: optim.SGD) => optim.LRScheduler> = {
  StepLR: (o) => new optim.StepLR(o, 3, 0.5),
  MultiStepLR: (o) => new optim.MultiStepLR(o, [2, 5], 0.1),
  CosineAnnealingLR: (o) => new optim.CosineAnnealingLR(o, 6, 0.01),
  LinearWarmup: (o) => new optim.LinearWarmup(o, 0.25, 1, 4),
  OneCycleLR: (o) => new optim.OneCycleLR(o, 0.5, 10),
};

for (const { scheduler, lrs } of fixture.schedulers) {
  it(`${scheduler} follows torch.optim.lr_scheduler`, () => {
    const sgd = new optim.SGD([parameter(tensor([0], { dtype: 'float32' }))], { lr: 0.1 });
    const sched = schedulers[scheduler]!(sgd);
    const seen = [sched.getLastLr()[0]!];
    for (let i = 1; i < lrs.length; ++i) {
      sched.step();
      seen.push(sched.getLastLr()[0]!);
    }
    expectClose(seen, lrs, 1e-6);
  });
}

it('ReduceLROnPlateau lowers the lr after `patience` epochs without improvement', () => {
  const sgd = new optim.SGD([parameter(tensor([0], { dtype: 'float32' }))], { lr: 1 });
  const plateau = new optim.ReduceLROnPlateau(sgd, { patience: 2, factor: 0.5 });
  for (const loss of [1, 0.9, 0.9, 0.9, 0.9]) plateau.step(loss);
  expect(sgd.paramGroups[0]!.options.lr).toBe(0.5);
  expect(() => new optim.ReduceLROnPlateau(sgd, { factor: 2 })).toThrow(/factor must be < 1/);
});

it('gradient clipping by global norm and by value', () => {
  const a = parameter(tensor([3, 0], { dtype: 'float32' }));
  const b = parameter(tensor([0], { dtype: 'float32' }));
  a.grad = tensor([3, 0], { dtype: 'float32' }) as typeof a.grad;
  b.grad = tensor([4], { dtype: 'float32' }) as typeof b.grad;
  expect(optim.clipGradNorm([a, b], 1)).toBeCloseTo(5);
  expectClose(a.grad!.dataSync(), [0.6, 0], 1e-5);
  expectClose(b.grad!.dataSync(), [0.8], 1e-5);
  a.grad = tensor([3, -7], { dtype: 'float32' }) as typeof a.grad;
  optim.clipGradValue([a], 2);
  expect(a.grad!.tolist()).toEqual([2, -2]);
  expect(() => optim.clipGradNorm([a], 0)).toThrow(ArgumentError);
});
