import { expect, it } from 'vitest';

import { ArgumentError, optim, tensor } from '../../lib/index.js';
import { parameter } from '../../lib/nn/index.js';
import { expectClose } from '../helpers/devices.js';
import { optimFixture as fixture } from '../helpers/optim_cases.js';

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

