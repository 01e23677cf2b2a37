import { expect, it } from 'vitest';

import { ArgumentError, manualSeed, nn, randn, tensor, zeros, type Tensor } from '../../../lib/index.js';

it('LazyLinear creates its weight from the first input', () => {
  manualSeed(5);
  const lazy = new nn.LazyLinear(3);
  expect([...lazy.parameters()]).toHaveLength(0);
  expect(lazy.call(randn([2, 7])).shape).toEqual([2, 3]);
  expect([...lazy.namedParameters()].map(([name, p]) => [name, p.shape])).toEqual([
    ['weight', [3, 7]],
    ['bias', [3]],
  ]);
});

it('basic layers refuse bad arguments at construction, not at the first forward', () => {
  // torch: "dropout probability has to be between 0 and 1, but got 2"; this used to be accepted.
  expect(() => new nn.Dropout(2)).toThrow(ArgumentError);
  expect(() => new nn.Dropout(2)).toThrow('Dropout: expected p in [0, 1], got 2 (number)');
  expect(() => new nn.Dropout(-0.1)).toThrow(ArgumentError);
  expect(() => new nn.Dropout2d(NaN)).toThrow(/Dropout2d: expected p in \[0, 1\]/);
  expect(new nn.Dropout(1).p).toBe(1);
  expect(() => new nn.Linear(0, 3)).toThrow(/Linear: expected inFeatures to be an integer >= 1, got 0/);
  expect(() => new nn.Linear(3, 2.5)).toThrow(ArgumentError);
  expect(() => new nn.LazyLinear(-1)).toThrow(/LazyLinear: expected outFeatures/);
  expect(() => new nn.Flatten(0.5)).toThrow(/Flatten: expected startDim to be an integer, got 0.5/);
  expect(() => new nn.Upsample({})).toThrow(/Upsample: give exactly one of size and scaleFactor/);
  expect(() => new nn.Upsample({ scaleFactor: 0 })).toThrow(/Upsample: expected scaleFactor to hold positive finite numbers, got 0/);
  expect(() => new nn.Upsample({ size: [2.5, 3] })).toThrow(/Upsample: expected size to hold positive integers/);
  expect(() => new nn.Upsample({ scaleFactor: 2, mode: 'area' as never })).toThrow(/Upsample: expected mode/);
  expect(() => new nn.Softmax(0.5)).toThrow(/Softmax: expected dim to be an integer, got 0.5/);
  expect(() => new nn.LogSoftmax(undefined as never)).toThrow(ArgumentError);
});

it('basic layers keep PyTorch shapes and reject bad configurations', () => {
  expect(new nn.Upsample({ scaleFactor: 2, mode: 'nearest' }).call(zeros([1, 1, 2, 2])).shape).toEqual([1, 1, 4, 4]);
});

it('Hardsigmoid is torch.nn.Hardsigmoid: relu6(x + 3) / 6, gradient 1/6 strictly inside (-3, 3), NaN kept', () => {
  // Printed by torch 1.13: nn.Hardsigmoid()(x) and the gradient of its sum.
  const x = tensor([-4, -3, -1.5, 0, 2.9, 3, 5], { dtype: 'float32', requiresGrad: true });
  const y = new nn.Hardsigmoid().call(x);
  const expected = [0, 0, 0.25, 0.5, 0.9833333492279053, 1, 1];
  Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 7));
  y.sum().backward();
  const sixth = 0.1666666716337204;
  Array.from(x.grad!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([0, 0, sixth, sixth, sixth, 0, 0][i]!, 7));
  expect(Number.isNaN(new nn.Hardsigmoid().call(tensor([NaN], { dtype: 'float32' })).item())).toBe(true);
});

it('ReLU6 is hardtanh(0, 6) as torch.nn.ReLU6: no gradient at either bound, NaN kept', () => {
  // Printed by torch 1.13: nn.ReLU6()(x) and the gradient of its sum (clamp passed it at 0 and 6).
  const x = tensor([-2, 0, 3, 6, 7], { dtype: 'float32', requiresGrad: true });
  const y = new nn.ReLU6().call(x);
  expect(Array.from(y.dataSync())).toEqual([0, 0, 3, 6, 6]);
  y.sum().backward();
  expect(Array.from(x.grad!.dataSync())).toEqual([0, 0, 1, 0, 0]);
  expect(Number.isNaN(new nn.ReLU6().call(tensor([NaN], { dtype: 'float32' })).item())).toBe(true);
});

it('StochasticDepth drops rows in training only and checks its arguments; Permute reorders dims', () => {
  manualSeed(43);
  const drop = new nn.StochasticDepth(0.5);
  const x = randn([200, 4]);
  const rows = (t: Tensor) => Array.from({ length: 200 }, (_, i) => Array.from(t.dataSync()).slice(i * 4, i * 4 + 4));
  const out = rows(drop.call(x));
  const input = rows(x);
  const dropped = out.filter((r) => r.every((v) => v === 0)).length;
  expect(dropped).toBeGreaterThan(70);
  expect(dropped).toBeLessThan(130);
  out.forEach((r, i) => r.forEach((v, j) => expect(v === 0 || Math.abs(v - 2 * input[i]![j]!) < 1e-6).toBe(true)));
  drop.eval();
  expect(drop.call(x).tolist()).toEqual(x.tolist());
  expect(drop.toString()).toContain('p=0.5, mode=row');
  expect(() => new nn.StochasticDepth(1.5)).toThrow(/StochasticDepth: expected p in \[0, 1\]/);
  expect(() => new nn.StochasticDepth(0.1, 'column' as never)).toThrow(/StochasticDepth: expected mode 'row' or 'batch'/);
  const permute = new nn.Permute([0, 2, 3, 1]);
  const y = randn([2, 3, 4, 5]);
  expect(permute.call(y).shape).toEqual([2, 4, 5, 3]);
  expect(permute.call(y).tolist()).toEqual(y.permute(0, 2, 3, 1).tolist());
  expect(() => new nn.Permute([0, 1.5])).toThrow(/Permute: expected dims\[1\] to be an integer/);
});
