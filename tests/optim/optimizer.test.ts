// What every optimizer shares (lib/optim/optimizer.ts): parameter groups, the fused step,
// option and parameter checks, state dicts. Each optimizer's steps against torch.optim are in
// its own file (sgd, adam, rmsprop).
import { expect, it } from 'vitest';

import { ArgumentError, DisposedError, manualSeed, memory, optim, randn, tensor, type Tensor } from '../../lib/index.js';
import { parameter } from '../../lib/nn/index.js';
import { expectClose } from '../helpers/devices.js';
import { optimFixture } from '../helpers/optim_cases.js';

it('the optim fixture has cases of every optimizer', () => {
  expect(new Set(optimFixture.optimizers.map((c) => c.optimizer))).toEqual(new Set(['SGD', 'Adam', 'AdamW', 'RMSprop']));
});

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

