import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, DisposedError, manualSeed, memory, optim, randn, tensor, type Tensor } from '../../lib/index.js';
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

it('optimizers refuse the hyper-parameters torch.optim refuses, naming the option and group', () => {
  const p = parameter(tensor([1], { dtype: 'float32' }));
  // torch: "Invalid beta parameter at index 0: 1.5"; this used to be accepted.
  expect(() => new optim.Adam([p], { betas: [1.5, 0.999] })).toThrow(ArgumentError);
  expect(() => new optim.Adam([p], { betas: [1.5, 0.999] })).toThrow('Adam: expected betas[0] in [0, 1), got 1.5 (number)');
  expect(() => new optim.AdamW([p], { betas: [0.9, 1] })).toThrow(/AdamW: expected betas\[1\] in \[0, 1\)/);
  expect(() => new optim.Adam([p], { betas: [-0.1, 0.9] })).toThrow(ArgumentError);
  expect(() => new optim.Adam([p], { betas: [0.9] as never })).toThrow(/expected betas to be a pair/);
  expect(() => new optim.Adam([p], { eps: -1e-8 })).toThrow(/Adam: expected eps >= 0/);
  expect(() => new optim.Adam([p], { weightDecay: -0.1 })).toThrow(/expected weightDecay >= 0/);
  expect(() => new optim.Adam([p], { lr: NaN })).toThrow(/expected lr >= 0/);
  expect(() => new optim.SGD([p], { lr: 0.1, momentum: -0.9 })).toThrow(/SGD: expected momentum >= 0/);
  expect(() => new optim.SGD([p], { lr: 0.1, weightDecay: -1 })).toThrow(ArgumentError);
  expect(() => new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/Nesterov/);
  expect(() => new optim.RMSprop([p], { alpha: -0.5 })).toThrow(/RMSprop: expected alpha >= 0/);
  expect(() => new optim.RMSprop([p], { momentum: -1 })).toThrow(ArgumentError);
  expect(() => new optim.RMSprop([p], { eps: -1 })).toThrow(ArgumentError);
  // A group's own options are checked too, and named.
  const q = parameter(tensor([2], { dtype: 'float32' }));
  expect(() => new optim.SGD([{ params: [p] }, { params: [q], momentum: -1 }], { lr: 0.1 })).toThrow(/expected momentum >= 0 in parameter group 1/);
  expect(() => new optim.SGD([{ params: [p], nesterov: true }], { lr: 0.1, momentum: 0.9 })).not.toThrow();
  // The edges torch accepts.
  expect(() => new optim.Adam([p], { betas: [0, 0], eps: 0, lr: 0 })).not.toThrow();
  expect(() => new optim.RMSprop([p], { alpha: 0, momentum: 0 })).not.toThrow();
});

it('step() refuses a disposed parameter instead of skipping it', () => {
  const a = parameter(tensor([1, 2], { dtype: 'float32' }));
  const b = parameter(tensor([3], { dtype: 'float32' }));
  const c = parameter(tensor([4], { dtype: 'float32' }));
  const sgd = new optim.SGD([{ params: [a] }, { params: [b, c] }], { lr: 0.5 });
  a.grad = tensor([1, 1], { dtype: 'float32' });
  c.grad = tensor([1], { dtype: 'float32' });
  c.dispose();
  expect(() => sgd.step()).toThrow(DisposedError);
  expect(() => sgd.step()).toThrow('SGD.step: parameter 1 of parameter group 1 (shape [1]) has been disposed');
  // Nothing was updated before the error.
  expect(Array.from(a.dataSync())).toEqual([1, 2]);
});

it('the fused step handles channels-last parameters, gradients in another layout, and many tensors in one launch', () => {
  manualSeed(2);
  // A conv weight kept channels-last, its gradient arriving contiguous: same result as contiguous.
  const values = randn([4, 3, 2, 2]);
  const grad = randn([4, 3, 2, 2]);
  const run = (p: Tensor<'float32'>) => {
    const adam = new optim.AdamW([p, parameter(randn([70000]))], { lr: 0.01 });
    for (let i = 0; i < 3; ++i) {
      p.grad = grad.clone();
      adam.step();
    }
    return p.contiguous().dataSync();
  };
  const channelsLast = parameter(values.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2));
  expectClose(run(channelsLast), run(parameter(values.clone())), 1e-6);
  expect(channelsLast.strides).toEqual([12, 1, 6, 3]);
});

it('optimizers refuse parameters that are not dense float32, and state of the wrong shape', () => {
  const strided = parameter(randn([4, 4])).slice(1, 0, 2);
  expect(() => new optim.SGD([strided as Tensor<'float32'>], { lr: 0.1 })).toThrow(/dense float32/);
  const p = parameter(randn([3]));
  const sgd = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
  p.grad = randn([3]);
  sgd.step();
  const dict = sgd.stateDict();
  const other = new optim.SGD([parameter(randn([4]))], { lr: 0.1, momentum: 0.9 });
  expect(() => other.loadStateDict(dict)).toThrow(/shape \[3\], its parameter \[4\]/);
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
  expect(() => new optim.ReduceLROnPlateau(sgd, { factor: 2 })).toThrow(/expected factor in \[0, 1\), got 2/);
});

it('schedulers refuse settings torch refuses (or that would give NaN or negative rates)', () => {
  const sgd = new optim.SGD([parameter(tensor([0], { dtype: 'float32' }))], { lr: 1 });
  expect(() => new optim.ReduceLROnPlateau(sgd, { factor: -0.5 })).toThrow(ArgumentError);
  expect(() => new optim.ReduceLROnPlateau(sgd, { mode: 'lowest' as never })).toThrow(/expected mode 'min' or 'max'/);
  expect(() => new optim.ReduceLROnPlateau(sgd, { patience: -1 })).toThrow(/expected patience to be an integer >= 0/);
  expect(() => new optim.ReduceLROnPlateau(sgd, { minLr: -1 })).toThrow(/expected minLr >= 0/);
  expect(() => new optim.LinearWarmup(sgd, 0)).toThrow(/LinearWarmup: expected startFactor in \(0, 1\]/);
  expect(() => new optim.LinearWarmup(sgd, 0.5, 1.5)).toThrow(/expected endFactor in \[0, 1\]/);
  expect(() => new optim.LinearWarmup(sgd, 0.5, 1, 0)).toThrow(/expected totalIters to be an integer >= 1/);
  expect(() => new optim.OneCycleLR(sgd, 0.1, 0)).toThrow(/OneCycleLR: expected totalSteps/);
  expect(() => new optim.OneCycleLR(sgd, 0.1, 10, { pctStart: 1.5 })).toThrow(/expected pctStart in \[0, 1\]/);
  expect(() => new optim.OneCycleLR(sgd, -0.1, 10)).toThrow(/expected maxLr > 0/);
  expect(() => new optim.OneCycleLR(sgd, 0.1, 10, { divFactor: 0 })).toThrow(/expected divFactor > 0/);
  expect(() => new optim.MultiStepLR(sgd, [2, 1.5])).toThrow(/MultiStepLR: expected milestones/);
  // A refused OneCycleLR leaves the groups' lr alone.
  expect(sgd.paramGroups[0]!.options.lr).toBe(1);
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
