import { expect, it } from 'vitest';

import { ArgumentError, KeyError, memory, nn, noGrad, optim, randn, scope, tensor } from '../../lib/index.js';

/** y = w·x + b with w = [1, 2], b = [3], and a BatchNorm1d whose buffers are averaged too. */
function tiny(): nn.Sequential {
  const model = new nn.Sequential(new nn.Linear(2, 1), new nn.BatchNorm1d(1));
  model.loadStateDict(new Map([...model.stateDict()].map(([k, v]) => [k, k === '0.weight' ? tensor([[1, 2]]).float() : k === '0.bias' ? tensor([3]).float() : v])));
  return model;
}

/** The i-th parameter (0: the Linear's weight, 1: its bias). */
const param = (model: nn.Module, i: number) => [...model.parameters()][i]!;

const values = async (t: { data(): Promise<ArrayLike<number>> }) => Array.from(await t.data());

/** Sets the Linear's weights (as an optimizer step would). */
function setLinear(model: nn.Sequential, w: number[], b: number): void {
  model.loadStateDict(new Map([...model.stateDict()].map(([k, v]) => [k, k === '0.weight' ? tensor([w]).float() : k === '0.bias' ? tensor([b]).float() : v])));
}

it('update averages parameters and float buffers by hand, copies integer buffers, and warms up as torch_ema', async () => {
  const model = tiny();
  const ema = new optim.ExponentialMovingAverage(model, { decay: 0.5 });
  setLinear(model, [3, 6], 7);
  ema.update();
  // 0.5 * old + 0.5 * new
  expect(await values(ema.averaged('0.weight'))).toEqual([2, 4]);
  expect(await values(ema.averaged('0.bias'))).toEqual([5]);
  setLinear(model, [2, 4], 5);
  ema.update();
  expect(await values(ema.averaged('0.weight'))).toEqual([2, 4]);
  expect(ema.numUpdates).toBe(2);

  model.train();
  noGrad(() => model.call(tensor([[1, 0], [0, 1], [2, 2]]).float()));
  const running = await values(model.getBuffer('1.running_mean')!);
  ema.update();
  const mean = await values(ema.averaged('1.running_mean'));
  expect(mean[0]).toBeCloseTo(0.5 * 0 + 0.5 * running[0]!, 6);
  expect(await values(ema.averaged('1.num_batches_tracked'))).toEqual(await values(model.getBuffer('1.num_batches_tracked')!));

  const warm = new optim.ExponentialMovingAverage(tiny(), { decay: 0.999, warmup: true });
  expect(warm.currentDecay).toBeCloseTo(1 / 10);
  warm.update();
  expect(warm.currentDecay).toBeCloseTo(2 / 11);
  ema.dispose();
  warm.dispose();
});

it('store / copyTo / restore evaluates with the average and returns to the trained weights', async () => {
  const model = tiny();
  const ema = new optim.ExponentialMovingAverage(model, { decay: 0.5 });
  setLinear(model, [3, 6], 7);
  ema.update();
  ema.store();
  ema.copyTo();
  expect(await values(param(model, 0))).toEqual([2, 4]);
  ema.restore();
  expect(await values(param(model, 0))).toEqual([3, 6]);
  // Another model of the same architecture takes the average too.
  const other = tiny();
  ema.copyTo(other);
  expect(await values(param(other, 1))).toEqual([5]);
  expect(() => ema.restore()).toThrow(/nothing stored/);
  ema.dispose();
});

it('update leaks no tensors', () => {
  const model = new nn.Sequential(new nn.Linear(8, 16), new nn.BatchNorm1d(16), new nn.Linear(16, 4));
  const ema = new optim.ExponentialMovingAverage(model, { decay: 0.9, warmup: true });
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const x = randn([4, 8]);
  const step = () => {
    scope(() => {
      optimizer.zeroGrad();
      model.call(x).square().mean().backward();
      optimizer.step();
    });
    ema.update();
  };
  step();
  const before = memory('cpu').tensors;
  for (let i = 0; i < 5; ++i) step();
  expect(memory('cpu').tensors).toBe(before);
  ema.store();
  ema.copyTo();
  ema.restore();
  expect(memory('cpu').tensors).toBe(before);
  ema.dispose();
});

it('refuses a bad decay or warmup, and a model whose names or shapes differ, before writing anything', async () => {
  const model = tiny();
  for (const decay of [-0.1, 1.5, Number.NaN, '0.9']) {
    expect(() => new optim.ExponentialMovingAverage(model, { decay: decay as number })).toThrow(/ExponentialMovingAverage: expected decay in \[0, 1\], got/);
  }
  expect(() => new optim.ExponentialMovingAverage(model, { warmup: 1 as unknown as boolean })).toThrow(ArgumentError);
  const ema = new optim.ExponentialMovingAverage(model);
  expect(() => ema.copyTo(new nn.Sequential(new nn.Linear(2, 1)))).toThrow(KeyError);
  const wide = new nn.Sequential(new nn.Linear(3, 1), new nn.BatchNorm1d(1));
  const before = await values([...wide.parameters()][0]!);
  expect(() => ema.copyTo(wide)).toThrow(/ExponentialMovingAverage.copyTo: 0.weight has shape \[1, 3\], its average \[1, 2\]/);
  expect(await values([...wide.parameters()][0]!)).toEqual(before);
  expect(() => ema.averaged('nope')).toThrow(KeyError);
  ema.dispose();
  expect(() => ema.update()).toThrow(/has been disposed/);
});
