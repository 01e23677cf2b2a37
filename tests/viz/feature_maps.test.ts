import { expect, it } from 'vitest';

import { KeyError, memory, rand, scope, ShapeError, viz } from '../../lib/index.js';
import { liveHooks, QuadrantNet, snapshot } from '../helpers/explain_models.js';

it('the raw activation of a layer: [K, h, w], the layer output for the image', () => {
  const model = new QuadrantNet(8);
  const x = rand([1, 8, 8]);
  const activation = viz.featureMaps(model, 'features', x, { as: 'activation' });
  expect(activation.shape).toEqual([4, 8, 8]);
  // Channel 0 is the image in the top-left quadrant, 0 elsewhere.
  const top = activation.slice(0, 0, 1).reshape([8, 8]);
  expect(top.slice(0, 0, 4).slice(1, 0, 4).tolist()).toEqual(x.reshape([8, 8]).slice(0, 0, 4).slice(1, 0, 4).tolist());
  expect(top.slice(0, 4).abs().amax().item()).toBe(0);
  expect(viz.featureMaps(model, 'features.0', x, { as: 'activation' }).shape).toEqual([1, 8, 8]);
  expect(viz.featureMaps(model, '', x, { as: 'activation' }).shape).toEqual([4]);
});

it('a grid of the maps: one grey tile per channel, [1, 2*(8+2)+2, 2*(8+2)+2]', () => {
  const model = new QuadrantNet(8);
  const grid = viz.featureMaps(model, 'features', rand([1, 8, 8]));
  expect(grid.dtype).toBe('uint8');
  expect(grid.shape).toEqual([1, 22, 22]);
  expect(viz.featureMaps(model, 'features', rand([1, 8, 8]), { nrow: 4, padding: 0, scale: 2 }).shape).toEqual([1, 16, 64]);
});

it('removes its hook, also when the forward throws; leaves the model as it was; leaks no tensors', () => {
  const model = new QuadrantNet(8);
  const hooks = liveHooks(model.features);
  const x = rand([1, 8, 8]);
  const before = snapshot(model);
  viz.featureMaps(model, 'features', x).dispose();
  const tensors = memory('cpu').tensors;
  scope(() => viz.featureMaps(model, 'features', x)).dispose();
  viz.featureMaps(model, 'features', x, { as: 'activation' }).dispose();
  expect(memory('cpu').tensors).toBe(tensors);
  expect(hooks()).toBe(0);
  expect(() => viz.featureMaps(model, 'features', rand([1, 6, 6]))).toThrow(ShapeError);
  expect(hooks()).toBe(0);
  expect(snapshot(model)).toEqual(before);
});

it('bad input: typed errors naming the argument', () => {
  const model = new QuadrantNet(8);
  expect(() => viz.featureMaps(model, 'features.9', rand([1, 8, 8]))).toThrow(KeyError);
  expect(() => viz.featureMaps(model, 'features.9', rand([1, 8, 8]))).toThrow(/featureMaps: the model has no layer 'features.9'/);
  expect(() => viz.featureMaps(model, '', rand([1, 8, 8]))).toThrow(/featureMaps: a grid needs the layer's output to be \[1, K, h, w\], got \[1, 4\]/);
  expect(() => viz.featureMaps(model, 'features', rand([8, 8]))).toThrow(/featureMaps: expected image of shape \[C, H, W\]/);
});
