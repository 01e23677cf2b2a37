import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, models, rand, ShapeError, tensor, zeros, type Tensor } from '../../../lib/index.js';
import { expectClose } from '../../helpers/devices.js';
import { readFixture } from '../../helpers/fixture_cases.js';

const { maskrcnnInference, maskrcnnLoss, projectMasksOnBoxes } = models.detection;

// tests/fixtures/make_mask_branch_fixtures.py: torchvision 0.14's project_masks_on_boxes,
// maskrcnn_loss (value, and gradient of the logits) and maskrcnn_inference on three images,
// the last with no positive proposal.
interface Stored {
  shape: number[];
  values: number[];
}
interface Fixture {
  m: number;
  images: Array<{ masks: Stored; labels: number[]; boxes: Stored; matchedIdxs: number[]; projected: Stored }>;
  logits: Stored;
  loss: number;
  grad: Stored;
  inference: { logits: Stored; labels: number[][]; probabilities: Stored[] };
}
const fixture = readFixture<Fixture>('mask_branch.json');
const floats = (s: Stored): Tensor => tensor(Float32Array.from(s.values)).reshape(s.shape);
const ints = (values: number[]): Tensor => tensor(Int32Array.from(values));
const images = fixture.images.map((im) => ({
  masks: tensor(Uint8Array.from(im.masks.values)).reshape(im.masks.shape),
  labels: ints(im.labels),
  boxes: floats(im.boxes),
  matchedIdxs: ints(im.matchedIdxs),
}));

describe('mask branch against torchvision', () => {
  it('projectMasksOnBoxes crops and resizes each matched mask (uint8, bool and float32 masks alike)', () => {
    fixture.images.forEach((expected, i) => {
      const { masks, boxes, matchedIdxs } = images[i]!;
      for (const dtype of ['uint8', 'bool', 'float32'] as const) {
        const out = projectMasksOnBoxes(masks.to(dtype), boxes, matchedIdxs, fixture.m);
        expect(out.shape, `image ${i}`).toEqual(expected.projected.shape);
        expectClose(out.dataSync(), expected.projected.values, 1e-5);
      }
    });
  });

  it(`maskrcnnLoss gives torchvision's loss ${fixture.loss.toFixed(4)} and gradient`, () => {
    const logits = floats(fixture.logits).requiresGrad_();
    const loss = maskrcnnLoss(logits, images.map((im) => im.boxes), images.map((im) => im.masks), images.map((im) => im.labels), images.map((im) => im.matchedIdxs));
    expect(loss.shape).toEqual([]);
    expect(loss.item()).toBeCloseTo(fixture.loss, 5);
    loss.backward();
    expectClose(logits.grad!.dataSync(), fixture.grad.values, 1e-5);
  });

  it('maskrcnnLoss is a zero that keeps the graph when no proposal is positive', () => {
    const logits = rand([0, 4, 7, 7]).requiresGrad_();
    const loss = maskrcnnLoss(logits, [zeros([0, 4])], [zeros([1, 10, 10], { dtype: 'uint8' })], [ints([1])], [zeros([0], { dtype: 'int32' })]);
    expect(loss.item()).toBe(0);
    expect(loss.requiresGrad).toBe(true);
  });

  it('maskrcnnInference gives the sigmoid of each detection\'s own class, per image', () => {
    const { logits, labels, probabilities } = fixture.inference;
    const out = maskrcnnInference(floats(logits), labels.map(ints));
    expect(out).toHaveLength(probabilities.length);
    out.forEach((p, i) => {
      expect(p.shape).toEqual(probabilities[i]!.shape);
      expectClose(p.dataSync(), probabilities[i]!.values, 1e-6);
    });
  });
});

describe('mask branch failures', () => {
  const { masks, boxes, matchedIdxs, labels } = images[0]!;
  it('projectMasksOnBoxes names the argument and what came', () => {
    expect(() => projectMasksOnBoxes(masks.reshape(1, ...masks.shape), boxes, matchedIdxs, 7)).toThrow(/projectMasksOnBoxes: expected gtMasks of shape \[G, H, W\], got \[1, 3, 20, 24\]/);
    expect(() => projectMasksOnBoxes(masks.to('int32'), boxes, matchedIdxs, 7)).toThrow(DTypeError);
    expect(() => projectMasksOnBoxes(masks, boxes.slice(1, 0, 3), matchedIdxs, 7)).toThrow(/expected boxes of shape \[P, 4\], got \[5, 3\]/);
    expect(() => projectMasksOnBoxes(masks, boxes, matchedIdxs.slice(0, 1), 7)).toThrow(/expected matchedIdxs of shape \[5\] \(one per box\), got \[4\]/);
    expect(() => projectMasksOnBoxes(masks, boxes, matchedIdxs, 0)).toThrow(ArgumentError);
  });

  it('maskrcnnLoss and maskrcnnInference name the argument and what came', () => {
    const logits = rand([5, 4, 7, 7]);
    expect(() => maskrcnnLoss(rand([5, 4, 7, 6]), [boxes], [masks], [labels], [matchedIdxs])).toThrow(/maskrcnnLoss: expected maskLogits of shape \[P, numClasses, M, M\], got \[5, 4, 7, 6\]/);
    expect(() => maskrcnnLoss(rand([4, 4, 7, 7]), [boxes], [masks], [labels], [matchedIdxs])).toThrow(/expected maskLogits to hold one row per proposal \(5\), got \[4, 4, 7, 7\]/);
    expect(() => maskrcnnLoss(logits, [boxes], [], [labels], [matchedIdxs])).toThrow(/expected gtMasks to be a non-empty array of tensors/);
    expect(() => maskrcnnLoss(logits, [boxes], [masks, masks], [labels], [matchedIdxs])).toThrow(/expected gtMasks to hold one tensor per image \(1, like proposals\), got 2/);
    expect(() => maskrcnnLoss(logits, [boxes], [masks], [labels.slice(0, 0, 2)], [matchedIdxs])).toThrow(ShapeError);
    expect(() => maskrcnnInference(rand([5, 4, 7]), [ints([1, 2, 3, 1, 2])])).toThrow(/maskrcnnInference: expected maskLogits of shape \[D, numClasses, M, M\], got \[5, 4, 7\]/);
    expect(() => maskrcnnInference(logits, [ints([1, 2])])).toThrow(/expected maskLogits to hold one row per label \(2\), got \[5, 4, 7, 7\]/);
    expect(() => maskrcnnInference(logits, [zeros([5])])).toThrow(DTypeError);
  });
});
