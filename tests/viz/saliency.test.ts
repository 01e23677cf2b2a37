import { expect, it } from 'vitest';

import { ArgumentError, IndexError, manualSeed, memory, randn, scope, ShapeError, tensor, viz, zeros, type Tensor } from '../../lib/index.js';
import { linearModel, snapshot, tinyCnn } from '../helpers/explain_models.js';

const close = (a: Tensor, b: Tensor, digits = 5) => (a.tolist() as number[]).flat(3).forEach((v, i) => expect(v).toBeCloseTo((b.tolist() as number[]).flat(3)[i] as number, digits));

it('gradient of a hand-set linear model: the attribution is the class row of the weights, the map |weights| max over channels', () => {
  // 3 classes over a [2, 3, 4] image.
  const weight = tensor(Float32Array.from({ length: 3 * 24 }, (_, i) => ((i * 7) % 11) - 5), { shape: [3, 24] });
  const model = linearModel(weight);
  const { attribution, map } = viz.saliency(model, randn([2, 3, 4]), 1);
  const row = weight.slice(0, 1, 2).reshape([2, 3, 4]);
  expect(attribution.shape).toEqual([2, 3, 4]);
  expect(attribution.tolist()).toEqual(row.tolist());
  expect(map.tolist()).toEqual(row.abs().amax(0).tolist());
});

it('a target function of the output gives what its class index gives', () => {
  const model = tinyCnn();
  const image = randn([1, 6, 6]);
  const byIndex = viz.saliency(model, image, 2);
  const byFunction = viz.saliency(model, image, (logits: Tensor) => logits.slice(1, 2, 3).sum());
  close(byFunction.attribution, byIndex.attribution, 6);
});

it('SmoothGrad with noise 0 is the plain gradient; with noise it differs', () => {
  const model = tinyCnn(1);
  const image = randn([1, 6, 6]);
  const plain = viz.saliency(model, image, 0);
  close(viz.saliency(model, image, 0, { method: 'smoothGrad', noise: 0, samples: 4 }).attribution, plain.attribution, 5);
  manualSeed(3);
  const noisy = viz.saliency(model, image, 0, { method: 'smoothGrad', noise: 0.3, samples: 4 }).map;
  expect(noisy.sub(plain.map).abs().amax().item()).toBeGreaterThan(1e-4);
});

it('Integrated Gradients are complete: the attributions add up to f(x) - f(baseline) within 1%', () => {
  const model = tinyCnn(2);
  const image = randn([1, 6, 6]).mul(3);
  for (const baseline of [0, randn([1, 6, 6])]) {
    const { attribution, map } = viz.saliency(model, image, 1, { method: 'integratedGradients', baseline, steps: 32 });
    const score = (x: Tensor) => model.eval().call(x.reshape([1, 1, 6, 6])).slice(1, 1, 2).item();
    const start = typeof baseline === 'number' ? zeros([1, 6, 6]) : baseline;
    const expected = score(image) - score(start);
    expect(Math.abs(expected)).toBeGreaterThan(0.1);
    expect(Math.abs(attribution.sum().item() - expected)).toBeLessThan(0.01 * Math.abs(expected));
    expect(map.shape).toEqual([6, 6]);
    model.train();
  }
});

it('leaves the model as it found it and leaks no tensors', () => {
  const model = tinyCnn(3);
  model.requiresGrad_(false, ['0']); // a frozen first layer stays frozen
  const image = randn([1, 6, 6]);
  const before = snapshot(model);
  const tensors = memory('cpu').tensors;
  for (const method of ['gradient', 'smoothGrad', 'integratedGradients'] as const) {
    scope(() => {
      viz.saliency(model, image, 0, { method, samples: 3, steps: 4 });
    });
  }
  expect(memory('cpu').tensors).toBe(tensors);
  expect(snapshot(model)).toEqual(before);
  expect(model.training).toBe(true);
});

it('bad input: typed errors naming the argument', () => {
  const model = tinyCnn();
  expect(() => viz.saliency(model, randn([1, 1, 6, 6]), 0)).toThrow(ShapeError);
  expect(() => viz.saliency(model, randn([1, 1, 6, 6]), 0)).toThrow(/saliency: expected image of shape \[C, H, W\]/);
  expect(() => viz.saliency(model, randn([1, 6, 6]), (logits: Tensor) => logits)).toThrow(ShapeError);
  expect(() => viz.saliency(model, randn([1, 6, 6]), (logits: Tensor) => logits)).toThrow(/saliency: expected target to return a scalar \(one-element\) tensor, got shape \[1, 3\]/);
  expect(() => viz.saliency(model, randn([1, 6, 6]), 3)).toThrow(IndexError);
  expect(() => viz.saliency(model, randn([1, 6, 6]), -1)).toThrow(/saliency: expected target to be a class index/);
  expect(() => viz.saliency(model, randn([1, 6, 6]), 0, { method: 'lrp' as 'gradient' })).toThrow(ArgumentError);
  expect(() => viz.saliency(model, randn([1, 6, 6]), 0, { method: 'integratedGradients', baseline: zeros([1, 5, 5]) })).toThrow(/saliency: expected baseline of the image's shape \[1, 6, 6\], got \[1, 5, 5\]/);
  expect(() => viz.saliency(model, randn([1, 6, 6]), 0, { steps: 0 })).toThrow(/saliency: expected steps to be an integer >= 1, got 0/);
});
