import { expect, it } from 'vitest';

import { IndexError, KeyError, memory, rand, scope, ShapeError, viz, type Tensor } from '../../lib/index.js';
import { liveHooks, QuadrantNet, quadrantMeans, snapshot } from '../helpers/explain_models.js';

const image = () => rand([1, 8, 8]).add(0.5);

it.each([false, true])('plusPlus %s: the map of a class that depends on one quadrant peaks in that quadrant, [H, W] in [0, 1]', (plusPlus) => {
  const model = new QuadrantNet(8);
  const x = image();
  for (let q = 0; q < 4; ++q) {
    const cam = viz.gradCam(model, 'features', x, q, { plusPlus });
    expect(cam.shape).toEqual([8, 8]);
    expect(cam.amax().item()).toBeCloseTo(1, 5);
    expect(cam.amin().item()).toBeGreaterThanOrEqual(0);
    const means = quadrantMeans(cam);
    expect(means.indexOf(Math.max(...means))).toBe(q);
    expect(means.filter((_, i) => i !== q).every((m) => m < 0.05)).toBe(true);
  }
});

it('a scalar function of the output as target (a segmentation-style region score), and the layer as a module', () => {
  const model = new QuadrantNet(8);
  const x = image();
  const region = (logits: Tensor) => logits.slice(1, 2, 3).mean(); // class 2: bottom-left
  const cam = viz.gradCam(model, model.features, x, region, { plusPlus: true });
  const means = quadrantMeans(cam);
  expect(means.indexOf(Math.max(...means))).toBe(2);
  expect(viz.gradCam(model, 'features', x, region).tolist()).toEqual(viz.gradCam(model, 'features', x, 2).tolist());
});

it('leaves the model as it found it, removes its hook (also when the forward throws) and leaks no tensors', () => {
  const model = new QuadrantNet(8);
  const hooks = liveHooks(model.features);
  const x = image();
  const before = snapshot(model);
  viz.gradCam(model, 'features', x, 0).dispose();
  const tensors = memory('cpu').tensors;
  scope(() => viz.gradCam(model, 'features', x, 1, { plusPlus: true })).dispose();
  expect(memory('cpu').tensors).toBe(tensors);
  expect(snapshot(model)).toEqual(before);
  expect(hooks()).toBe(0);
  // A 6x6 image does not fit the 8x8 quadrant windows: the forward throws after the hook went in.
  expect(() => viz.gradCam(model, 'features', rand([1, 6, 6]), 0)).toThrow(ShapeError);
  expect(hooks()).toBe(0);
  expect(snapshot(model)).toEqual(before);
});

it('bad input: typed errors naming the argument', () => {
  const model = new QuadrantNet(8);
  expect(() => viz.gradCam(model, 'layer4.1', image(), 0)).toThrow(KeyError);
  expect(() => viz.gradCam(model, 'layer4.1', image(), 0)).toThrow(/gradCam: the model has no layer 'layer4.1' \(its layers: features, features.0, features.1, features.2\)/);
  expect(() => viz.gradCam(model, 'features', image(), (logits: Tensor) => logits)).toThrow(/gradCam: expected target to return a scalar \(one-element\) tensor, got shape \[1, 4\]/);
  expect(() => viz.gradCam(model, 'features', image(), 4)).toThrow(IndexError);
  expect(() => viz.gradCam(model, 'features', rand([8, 8]), 0)).toThrow(/gradCam: expected image of shape \[C, H, W\]/);
  // The logits are [1, 4]: not a feature map.
  expect(() => viz.gradCam(model, '', image(), 0)).toThrow(/gradCam: expected layer '' to output \[1, K, h, w\], got \[1, 4\]/);
});

it("zoo models: a detector's top box score and a segmentation class region as targets, at a layer picked by its path", async () => {
  const { manualSeed, models, nn } = await import('../../lib/index.js');
  manualSeed(0);
  // A detector takes a list of images and returns detections: a one-image wrapper is the model.
  const detector = models.detection.fcosLite({ numClasses: 3, width: 8, scoreThreshold: 0 });
  class TopBox extends nn.Module<[Tensor], Tensor> {
    detector = detector;
    forward(x: Tensor): Tensor {
      const [detection] = this.detector.call([x.squeeze(0)]) as Array<{ scores: Tensor }>;
      return detection!.scores;
    }
  }
  const wrapped = new TopBox();
  const photo = rand([3, 64, 64]);
  const score = (scores: Tensor) => scores.slice(0, 0, 1).sum();
  const cam = viz.gradCam(wrapped, 'detector.stage3', photo, score);
  expect(cam.shape).toEqual([64, 64]);
  expect(cam.amax().item()).toBeCloseTo(1, 5); // the score's gradient reaches the backbone through decoding and NMS

  const segmenter = models.segmentation.unet({ inChannels: 3, numClasses: 2, depth: 2, baseChannels: 4 });
  const region = (logits: Tensor) => logits.slice(1, 1, 2).slice(2, 0, 16).mean(); // class 1 in the top half
  const segCam = viz.gradCam(segmenter, 'decoder.0', rand([3, 32, 32]), region, { plusPlus: true });
  expect(segCam.shape).toEqual([32, 32]);
  expect(segCam.amax().item()).toBeCloseTo(1, 5);
});
