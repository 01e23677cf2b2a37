import { expect, it } from 'vitest';

import { ArgumentError, memory, rand, scope, ShapeError, viz, type Tensor } from '../../lib/index.js';
import { QuadrantNet, quadrantMeans, snapshot } from '../helpers/explain_models.js';

it('patches that are the quadrants: the drop is the quadrant sum where class q looks, 0 elsewhere', () => {
  const model = new QuadrantNet(8);
  const x = rand([1, 8, 8]).add(0.5);
  const sums = quadrantMeans(x.reshape([8, 8])).map((m) => m * 16);
  for (let q = 0; q < 4; ++q) {
    const map = viz.occlusion(model, x, q, { patch: 4, stride: 4 });
    expect(map.shape).toEqual([8, 8]);
    quadrantMeans(map).forEach((m, i) => expect(m).toBeCloseTo(i === q ? sums[q]! : 0, 4));
  }
});

it('overlapping patches peak in the quadrant the class depends on; batch size and target form do not change the map', () => {
  const model = new QuadrantNet(8);
  const x = rand([1, 8, 8]).add(0.5);
  const map = viz.occlusion(model, x, 3, { patch: 3, stride: 2, batchSize: 5 });
  const means = quadrantMeans(map);
  expect(means.indexOf(Math.max(...means))).toBe(3);
  const sameByBatch = viz.occlusion(model, x, 3, { patch: 3, stride: 2, batchSize: 64 });
  const sameByFunction = viz.occlusion(model, x, (logits: Tensor) => logits.slice(1, 3, 4).sum(), { patch: 3, stride: 2, batchSize: 4 });
  for (const other of [sameByBatch, sameByFunction]) expect(other.sub(map).abs().amax().item()).toBeLessThan(1e-5);
});

it('a baseline image covers with its own pixels: covering with the image itself changes nothing', () => {
  const model = new QuadrantNet(8);
  const x = rand([1, 8, 8]);
  expect(viz.occlusion(model, x, 0, { patch: 2, baseline: x }).abs().amax().item()).toBe(0);
});

it('leaves the model as it found it and leaks no tensors', () => {
  const model = new QuadrantNet(8);
  const x = rand([1, 8, 8]);
  const before = snapshot(model);
  const tensors = memory('cpu').tensors;
  scope(() => viz.occlusion(model, x, 1, { patch: 4, stride: 2, batchSize: 2 })).dispose();
  expect(memory('cpu').tensors).toBe(tensors);
  expect(snapshot(model)).toEqual(before);
});

it('bad input: typed errors naming the argument', () => {
  const model = new QuadrantNet(8);
  const x = rand([1, 8, 8]);
  expect(() => viz.occlusion(model, x, 0, { patch: 9 })).toThrow(ArgumentError);
  expect(() => viz.occlusion(model, x, 0, { patch: 9 })).toThrow(/occlusion: expected patch of at most the image's \[8, 8\], got \[9, 9\]/);
  expect(() => viz.occlusion(model, x, 0, { stride: 0 })).toThrow(/occlusion: expected stride to be an integer >= 1 or a list of 2 of them/);
  expect(() => viz.occlusion(model, x, 0, { baseline: rand([1, 4, 4]) })).toThrow(ShapeError);
  expect(() => viz.occlusion(model, rand([1, 1, 8, 8]), 0)).toThrow(/occlusion: expected image of shape \[C, H, W\]/);
  expect(() => viz.occlusion(model, x, (logits: Tensor) => logits, { batchSize: 1 })).toThrow(/occlusion: expected target to return a scalar/);
});
