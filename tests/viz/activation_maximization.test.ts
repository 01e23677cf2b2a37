import { expect, it } from 'vitest';

import { ArgumentError, IndexError, KeyError, manualSeed, memory, noGrad, randn, scope, ShapeError, viz, type Tensor } from '../../lib/index.js';
import { liveHooks, QuadrantNet, quadrantMeans, snapshot, tinyCnn } from '../helpers/explain_models.js';

it("a layer channel: the input grows where that channel looks (channel 1 is the top-right quadrant's window)", () => {
  const model = new QuadrantNet(8);
  manualSeed(0);
  const x = viz.activationMaximization(model, 'features', { shape: [1, 8, 8], channel: 1, steps: 20, lr: 0.1, jitter: 0 });
  expect(x.shape).toEqual([1, 8, 8]);
  const means = quadrantMeans(x.reshape([8, 8]));
  expect(means.indexOf(Math.max(...means))).toBe(1);
  expect(means[1]).toBeGreaterThan(1);
});

it('a class target: the logit rises from the start image; the result is reproducible from the seeds', () => {
  const model = tinyCnn(4);
  const init = randn([1, 6, 6]).mul(0.01);
  const logit = (x: Tensor) => noGrad(() => model.eval().call(x.reshape([1, 1, 6, 6])).slice(1, 2, 3).item());
  // No jitter here: the Linear head of this tiny net is tied to pixel positions.
  const ascent = viz.activationMaximization(model, 2, { init, steps: 16, lr: 0.1, jitter: 0, blur: 0 });
  expect(logit(ascent)).toBeGreaterThan(logit(init) + 0.5);
  model.train();
  const found = viz.activationMaximization(model, 2, { init, steps: 16, lr: 0.1, jitter: 1, blur: 0.5, seed: 7 });
  const again = viz.activationMaximization(model, (out: Tensor) => out.slice(1, 2, 3).sum(), { init, steps: 16, lr: 0.1, jitter: 1, blur: 0.5, seed: 7 });
  expect(again.sub(found).abs().amax().item()).toBeLessThan(1e-5);
});

it('never changes the weights, restores modes and requiresGrad, removes its hook and leaks no tensors', () => {
  const model = new QuadrantNet(8);
  const hooks = liveHooks(model.features);
  const before = snapshot(model);
  const init = randn([1, 8, 8]);
  viz.activationMaximization(model, 'features', { init, steps: 2 }).dispose();
  const tensors = memory('cpu').tensors;
  scope(() => viz.activationMaximization(model, 'features', { init, steps: 3, channel: 2 })).dispose();
  expect(memory('cpu').tensors).toBe(tensors);
  expect(snapshot(model)).toEqual(before);
  expect(hooks()).toBe(0);
  expect(() => viz.activationMaximization(model, 'features', { init, channel: 4, steps: 1 })).toThrow(IndexError);
  expect(hooks()).toBe(0);
  expect(snapshot(model)).toEqual(before);
});

it('bad input: typed errors naming the argument', () => {
  const model = new QuadrantNet(8);
  expect(() => viz.activationMaximization(model, 'layer9', { shape: [1, 8, 8] })).toThrow(KeyError);
  expect(() => viz.activationMaximization(model, 'features', {})).toThrow(ShapeError);
  expect(() => viz.activationMaximization(model, 'features', {})).toThrow(/activationMaximization: expected shape to be \[C, H, W\]/);
  expect(() => viz.activationMaximization(model, 'features', { shape: [1, 8, 8], channel: 4, steps: 1 })).toThrow(/channel 4 is out of range for the layer's output \[1, 4, 8, 8\]/);
  expect(() => viz.activationMaximization(model, 'features', { shape: [1, 8, 8], lr: 0 })).toThrow(ArgumentError);
  expect(() => viz.activationMaximization(model, (out: Tensor) => out, { shape: [1, 8, 8], steps: 1 })).toThrow(/expected target to return a scalar/);
  expect(() => viz.activationMaximization(model, 'features', { init: randn([8, 8]) })).toThrow(/expected init of shape \[C, H, W\]/);
});
