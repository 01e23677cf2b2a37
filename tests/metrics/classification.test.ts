// accuracy and confusionMatrix against PyTorch (tests/fixtures/make_metrics_fixtures.py:
// the ImageNet example's top-k rule and torchvision's segmentation ConfusionMatrix), on
// hand-sized cases, and their argument errors.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, metrics, ShapeError, tensor, type Device } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

interface MetricsCase {
  name: string;
  output: { shape: number[]; values: number[] };
  target: { shape: number[]; values: number[] };
  voidTarget: number[];
  accuracy: Record<string, number>;
  confusion: number[];
  confusionVoid: number[];
}

const cases = JSON.parse(readFileSync(new URL('../fixtures/metrics.json', import.meta.url), 'utf8')) as MetricsCase[];

describeDevices('classification metrics vs PyTorch', (device: Device) => {
  it('the fixture has its cases', () => expect(cases.map((c) => c.name)).toEqual(['logits [12, 5]', 'segmentation [2, 4, 3, 3]']));

  for (const c of cases) {
    const output = () => tensor(Float32Array.from(c.output.values), { device }).reshape(c.output.shape);
    const target = (values = c.target.values) => tensor(Int32Array.from(values), { device }).reshape(c.target.shape);
    const classes = c.output.shape[1]!;

    it(`accuracy of ${c.name}, top 1, 2 and 3`, () => {
      for (const [k, expected] of Object.entries(c.accuracy)) {
        const result = metrics.accuracy(output(), target(), { topk: Number(k) });
        expect(result.shape).toEqual([]);
        expect(result.dtype).toBe('float32');
        expectClose([result.item()], [expected], 1e-6);
      }
      // Predicted labels give the top-1 figure.
      expectClose([metrics.accuracy(output().argmax(1), target()).item()], [c.accuracy['1']!], 1e-6);
    });

    it(`confusionMatrix of ${c.name}, from scores and from labels, with VOC's 255 left out`, () => {
      const cm = metrics.confusionMatrix(output(), target(), classes);
      expect(cm.shape).toEqual([classes, classes]);
      expect(cm.dtype).toBe('int32');
      expect(Array.from(cm.cpu().dataSync())).toEqual(c.confusion);
      expect(Array.from(metrics.confusionMatrix(output().argmax(1), target(), classes).cpu().dataSync())).toEqual(c.confusion);
      expect(Array.from(metrics.confusionMatrix(output(), target(c.voidTarget), classes).cpu().dataSync())).toEqual(c.confusionVoid);
    });
  }
});

it('hand cases: every sample right, none right, a prediction out of range, an empty batch', () => {
  const target = tensor(Int32Array.from([0, 1, 2, 1]));
  expect(metrics.accuracy(tensor(Int32Array.from([0, 1, 2, 1])), target).item()).toBe(1);
  expect(metrics.accuracy(tensor(Int32Array.from([1, 2, 0, 0])), target).item()).toBe(0);
  // Rows are targets, columns predictions; the prediction 7 names no class and is left out.
  const cm = metrics.confusionMatrix(tensor(Int32Array.from([0, 2, 7, 1])), target, 3);
  expect(cm.tolist()).toEqual([[1, 0, 0], [0, 1, 1], [0, 0, 0]]);
  expect(Number.isNaN(metrics.accuracy(tensor(new Int32Array(0)), tensor(new Int32Array(0))).item())).toBe(true);
  expect(metrics.confusionMatrix(tensor(new Int32Array(0)), tensor(new Int32Array(0)), 2).tolist()).toEqual([[0, 0], [0, 0]]);
});

it('accuracy and confusionMatrix record no gradient', () => {
  const logits = tensor([[2, 1], [0, 3]], { dtype: 'float32', requiresGrad: true });
  const target = tensor(Int32Array.from([0, 1]));
  expect(metrics.accuracy(logits, target).gradFn).toBeNull();
  expect(metrics.confusionMatrix(logits, target, 2).gradFn).toBeNull();
});

it('the metrics name the argument they refuse', () => {
  const logits = tensor([[2, 1, 0], [0, 3, 1]], { dtype: 'float32' });
  const target = tensor(Int32Array.from([0, 1]));
  expect(() => metrics.accuracy(logits, target.float())).toThrow(DTypeError);
  expect(() => metrics.accuracy(logits, target.float())).toThrow(/accuracy: expected target to have dtype int32/);
  expect(() => metrics.accuracy(logits, tensor(Int32Array.from([0, 1, 2])))).toThrow(ShapeError);
  expect(() => metrics.accuracy(logits, tensor(Int32Array.from([0, 1, 2])))).toThrow(/accuracy: expected output scores of shape \[3, C\] for target \[3\], got \[2, 3\]/);
  expect(() => metrics.accuracy(logits, target, { topk: 4 })).toThrow(ArgumentError);
  expect(() => metrics.accuracy(logits, target, { topk: 4 })).toThrow(/accuracy: expected topk to be an integer in \[1, 3\] \(the number of classes\), got 4/);
  expect(() => metrics.accuracy(target, target, { topk: 2 })).toThrow(/topk needs class scores/);
  expect(() => metrics.accuracy(tensor([true, false]), target)).toThrow(/expected output to be float class scores or int32 predicted labels, got bool/);
  expect(() => metrics.accuracy(tensor(Int32Array.from([1])), target)).toThrow(/expected int32 output \(predicted labels\) of the target's shape \[2\], got \[1\]/);
  expect(() => metrics.confusionMatrix(target, target, 0)).toThrow(/confusionMatrix: expected numClasses to be an integer >= 1, got 0/);
  expect(() => metrics.confusionMatrix(logits, target, 4)).toThrow(/confusionMatrix: expected scores with numClasses = 4 entries along dim 1, got \[2, 3\]/);
});
