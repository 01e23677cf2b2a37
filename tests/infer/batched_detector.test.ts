// lib/infer/batched_detector.ts: a list-of-images detector as a module of batches.
import { expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, nn, noGrad, rand, ShapeError, zeros, type Tensor } from '../../lib/index.js';
import { batchedDetector } from '../../lib/infer/index.js';

it('gives each image of a batch the detections the detector gives it in a list; refuses other ranks and training mode', () => {
  manualSeed(4);
  const detector = models.detection.fcosLite({ numClasses: 3, width: 8, scoreThreshold: 0 }).eval();
  const batch = rand([2, 3, 64, 64]);
  const batched = batchedDetector(detector);
  const images = [0, 1].map((i) => batch.slice(0, i, i + 1).reshape([3, 64, 64]));
  const [ours, theirs] = noGrad(() => [batched.call(batch), detector.detect(images)]);
  expect(ours).toHaveLength(2);
  ours.forEach((d, i) => {
    for (const key of ['boxes', 'labels', 'scores'] as const) expect((d[key] as Tensor).tolist()).toEqual((theirs[i]![key] as Tensor).tolist());
  });
  expect([...batched.namedModules()].some(([name]) => name === 'detector')).toBe(true); // the session's eval() and fusion reach it
  expect(() => noGrad(() => batched.call(rand([3, 64, 64])))).toThrow(ShapeError);
  batched.train();
  expect(() => batched.call(batch)).toThrow(/expected targets/); // training mode wants targets and gives losses
  expect(() => batchedDetector({} as never)).toThrow(ArgumentError);
  class Losses extends nn.Module<[readonly Tensor[]], Tensor> {
    forward(): Tensor {
      return zeros([]);
    }
  }
  expect(() => batchedDetector(new Losses()).call(batch)).toThrow(/must return one detection per image/);
});
