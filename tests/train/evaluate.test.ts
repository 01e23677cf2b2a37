import { expect, it } from 'vitest';

import { ArgumentError, crossEntropy, data, manualSeed, metrics, nn, noGrad, oneHot, randint, randn, train } from '../../lib/index.js';

function model(): nn.Sequential {
  manualSeed(3);
  return new nn.Sequential(new nn.Linear(4, 8), new nn.Dropout(0.5), new nn.ReLU(), new nn.Linear(8, 3));
}

it('evaluate equals a hand loop in eval mode under noGrad (sample-weighted means) and restores each module mode', async () => {
  const net = model();
  manualSeed(4);
  const set = new data.TensorDataset([randn([50, 4]), randint(0, 3, [50])]);
  // 50 = 16 + 16 + 16 + 2: the short batch must weigh 2, not a quarter.
  const loader = new data.DataLoader(set, { batchSize: 16 });
  net.train();
  net.at(0).eval();
  const result = await train.evaluate(net, loader, { metrics: { top2: (o, y) => metrics.accuracy(o, y, { topk: 2 }) } });
  expect(net.training).toBe(true);
  expect(net.at(0).training).toBe(false);
  expect(net.at(1).training).toBe(true);

  net.eval();
  const [x, y] = set.tensors as [ReturnType<typeof randn>, ReturnType<typeof randint>];
  const [loss, top1, top2] = noGrad(() => {
    const out = net.call(x);
    return [crossEntropy(out, y), metrics.accuracy(out, y), metrics.accuracy(out, y, { topk: 2 })].map((t) => t.item());
  });
  expect(result.count).toBe(50);
  expect(result.loss).toBeCloseTo(loss!, 5);
  expect(result.accuracy).toBeCloseTo(top1!, 6);
  expect(result.metrics.top2).toBeCloseTo(top2!, 6);
});

it('evaluate counts a probability target by its most likely class', async () => {
  const net = model();
  const x = randn([20, 4]);
  const labels = randint(0, 3, [20]);
  const soft = oneHot(labels, 3).float().mul(0.9).add(0.1 / 3);
  const hard = await train.evaluate(net, new data.DataLoader(new data.TensorDataset([x, labels]), { batchSize: 20 }));
  const probs = await train.evaluate(net, new data.DataLoader(new data.TensorDataset([x, soft]), { batchSize: 20 }));
  expect(probs.accuracy).toBeCloseTo(hard.accuracy, 6);
  expect(probs.loss).not.toBeCloseTo(hard.loss, 3);
});

it('evaluate refuses options that are not functions, before switching the model to eval mode', async () => {
  const net = model();
  const loader = new data.DataLoader(new data.TensorDataset([randn([4, 4]), randint(0, 3, [4])]), { batchSize: 4 });
  await expect(train.evaluate(net, loader, { loss: 3 as never })).rejects.toThrow(ArgumentError);
  await expect(train.evaluate(net, loader, { metrics: { f1: 'x' as never } })).rejects.toThrow(/evaluate: expected metrics\.f1 to be a function, got/);
  expect(net.training).toBe(true);
});
