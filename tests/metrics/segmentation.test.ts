import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, IndexError, memory, metrics, randn, ShapeError, synchronize, tensor, zeros } from '../../lib/index.js';
import { segmentationMasks } from '../../lib/metrics/segmentation.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTensor, numbers, segmentationFixture } from '../helpers/segmentation_cases.js';

describeDevices('diceScore and iouScore vs MONAI compute_dice / compute_iou (written out in torch)', (device) => {
  for (const c of segmentationFixture.overlap) {
    it(`${c.name} label maps [${c.pred.shape}], ${c.numClasses} classes`, async () => {
      const [pred, target] = [fixtureTensor(c.pred, device), fixtureTensor(c.target, device)];
      const numClasses = c.numClasses;
      const dice = metrics.diceScore(pred, target, { numClasses });
      expect(dice.shape).toEqual([c.pred.shape[0], numClasses]);
      expect(dice.device).toBe(device);
      expectClose(await dice.cpu().data(), numbers(c.dice), 1e-6);
      expectClose(await metrics.diceScore(pred, target, { numClasses, ignoreEmpty: false }).cpu().data(), numbers(c.diceNoIgnoreEmpty), 1e-6);
      expectClose(await metrics.iouScore(pred, target, { numClasses }).cpu().data(), numbers(c.iou), 1e-6);
      expectClose(await metrics.iouScore(pred, target, { numClasses, ignoreEmpty: false }).cpu().data(), numbers(c.iouNoIgnoreEmpty), 1e-6);
      // Without the background: the same scores less column 0.
      const noBackground = await metrics.iouScore(pred, target, { numClasses, includeBackground: false }).cpu().data();
      expectClose(noBackground, numbers(c.iou).filter((_, i) => i % numClasses !== 0), 1e-6);
    });
  }
});

it('pred [1, 1, 0, 0] vs target [1, 0, 1, 0]: Dice 0.5 and IoU 1/3 (issue 14), as masks of any dtype', () => {
  const pred = tensor([[[1, 1, 0, 0]]], { dtype: 'uint8' });
  const target = tensor([[[1, 0, 1, 0]]], { dtype: 'float32' });
  expectClose(metrics.diceScore(pred, target).dataSync(), [0.5], 1e-7);
  expectClose(metrics.iouScore(pred, target).dataSync(), [1 / 3], 1e-7);
  expect(metrics.iouScore(pred, target).shape).toEqual([1, 1]);
});

it('empty target: NaN with ignoreEmpty (default), else 1 for an empty prediction and 0 for a non-empty one', () => {
  const empty = zeros([1, 1, 4]);
  const some = tensor([[[0, 1, 0, 0]]], { dtype: 'float32' });
  expect(Number.isNaN(metrics.diceScore(empty, empty).dataSync()[0])).toBe(true);
  expect(Number.isNaN(metrics.iouScore(some, empty).dataSync()[0])).toBe(true);
  expect(metrics.diceScore(empty, empty, { ignoreEmpty: false }).dataSync()[0]).toBe(1);
  expect(metrics.iouScore(empty, empty, { ignoreEmpty: false }).dataSync()[0]).toBe(1);
  expect(metrics.diceScore(some, empty, { ignoreEmpty: false }).dataSync()[0]).toBe(0);
  // An empty prediction of a non-empty target is 0 either way.
  expect(metrics.iouScore(empty, some).dataSync()[0]).toBe(0);
});

it('diceScore and iouScore take no part in autograd and leave no temporaries behind', () => {
  const [p, t] = [randn([2, 3, 4, 4]).gt(0), randn([2, 3, 4, 4]).gt(0)];
  const before = memory('cpu').tensors;
  const dice = metrics.diceScore(p, t);
  expect(dice.requiresGrad).toBe(false);
  dice.dispose();
  metrics.iouScore(p, t, { includeBackground: false }).dispose();
  expect(memory('cpu').tensors).toBe(before);
});

it('segmentation metrics refuse bad inputs, naming themselves and both shapes', async () => {
  const labels = tensor([[0, 1], [2, 1]]);
  expect(() => metrics.diceScore(labels, tensor([[0, 1]]), { numClasses: 3 })).toThrow(ShapeError);
  expect(() => metrics.diceScore(labels, tensor([[0, 1]]), { numClasses: 3 })).toThrow('diceScore: expected pred and target of one shape, got pred [2, 2] and target [1, 2]');
  expect(() => metrics.iouScore(labels.float(), labels.float(), { numClasses: 3 })).toThrow(DTypeError);
  expect(() => metrics.iouScore(labels, labels, { numClasses: 0 })).toThrow('iouScore: expected numClasses to be an integer >= 1, got 0');
  expect(() => metrics.iouScore(labels, labels)).toThrow(/iouScore: expected masks of rank >= 3 \(\[N, C, \.\.\.spatial\]; pass numClasses for label maps/);
  expect(() => metrics.iouScore(zeros([1, 1, 2]), zeros([1, 1, 2]), { includeBackground: false })).toThrow(ArgumentError);
  expect(() => segmentationMasks('x', labels, 'mask' as never, {})).toThrow(/x: expected target to be a Tensor/);
  // A label >= numClasses (in the target only, so that one kernel fails): the one-hot kernel rejects the read.
  const run = async () => metrics.diceScore(tensor([[0, 1], [1, 1]]), labels, { numClasses: 2 }).data();
  await expect(run()).rejects.toThrow(IndexError);
  await expect(synchronize()).resolves.toBeUndefined();
});

describeDevices("SegmentationConfusionMatrix vs torchvision's segmentation reference", (device) => {
  const c = segmentationFixture.confusion;
  it(`${c.numClasses} classes over ${c.batches.length} batches, 255 left out, class 3 never seen`, async () => {
    const cm = new metrics.SegmentationConfusionMatrix(c.numClasses);
    for (const b of c.batches) cm.update(fixtureTensor(b.pred, device), fixtureTensor(b.target, device));
    const result = await cm.compute();
    expect(result.confusionMatrix).toEqual(c.confusionMatrix);
    expectClose(result.iou, numbers(c.iou), 1e-12);
    expect(result.meanIou).toBeCloseTo(c.meanIou, 12);
    expect(result.pixelAccuracy).toBeCloseTo(c.pixelAccuracy, 12);
    expectClose(result.precision, numbers(c.precision), 1e-12);
    expectClose(result.recall, numbers(c.recall), 1e-12);
    const iou = numbers(c.iou);
    expectClose(result.dice, iou.map((v) => (2 * v) / (1 + v)), 1e-12);
    cm.reset();
    const empty = await cm.compute();
    expect(empty.confusionMatrix).toEqual(Array.from({ length: c.numClasses }, () => new Array<number>(c.numClasses).fill(0)));
    expect(Number.isNaN(empty.meanIou) && Number.isNaN(empty.pixelAccuracy)).toBe(true);
  });
});

it('SegmentationConfusionMatrix takes class scores, keeps its memory flat over updates, and refuses bad arguments', async () => {
  const cm = new metrics.SegmentationConfusionMatrix(2);
  const scores = tensor([[[[2, -1]], [[0, 3]]]], { dtype: 'float32' }); // argmax [[0, 1]]
  const target = tensor([[[0, 0]]]);
  cm.update(scores, target);
  const before = memory('cpu').tensors;
  for (let i = 0; i < 3; ++i) cm.update(scores, target);
  expect(memory('cpu').tensors).toBe(before);
  const { confusionMatrix, pixelAccuracy, recall, precision } = await cm.compute();
  expect(confusionMatrix).toEqual([[4, 4], [0, 0]]);
  expect(pixelAccuracy).toBe(0.5);
  expect(recall[0]).toBe(0.5);
  expect(Number.isNaN(recall[1]!) && precision[1] === 0).toBe(true);
  expect(() => new metrics.SegmentationConfusionMatrix(1.5)).toThrow('SegmentationConfusionMatrix: expected numClasses to be an integer >= 1, got 1.5');
  expect(() => cm.update(scores, tensor([[0, 0]]))).toThrow(ShapeError);
  expect(() => cm.update(scores, target.float())).toThrow(DTypeError);
});
