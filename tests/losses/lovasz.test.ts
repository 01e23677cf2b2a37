import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, IndexError, lovaszHingeLoss, lovaszSoftmaxLoss, manualSeed, memory, noGrad, rand, randint, randn, ShapeError, synchronize, tensor, type LovaszHingeLossOptions, type LovaszSoftmaxLossOptions } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { segmentationLossTests } from '../helpers/segmentation_cases.js';

describeDevices("lovaszHingeLoss and lovaszSoftmaxLoss vs Berman et al.'s reference code", (device) => {
  segmentationLossTests(device, {
    lovaszHinge: (x, t, o) => lovaszHingeLoss(x, t, o as LovaszHingeLossOptions),
    lovaszSoftmax: (x, t, o) => lovaszSoftmaxLoss(x, t, o as LovaszSoftmaxLossOptions),
  });
});

it('a perfect hinge margin gives 0; one wrong pixel of two positives gives its hinge error times the Jaccard step', () => {
  const labels = tensor([[1, 1, 0, 0]]);
  expectClose(lovaszHingeLoss(tensor([[2, 3, -2, -5]], { dtype: 'float32' }), labels).dataSync(), [0], 1e-7);
  // Errors [0, 0, 0, 1.5] (last: logit 0.5 on a negative); sorted first, its Jaccard step is 1 - 2/3.
  expectClose(lovaszHingeLoss(tensor([[2, 3, -2, 0.5]], { dtype: 'float32' }), labels).dataSync(), [1.5 * (1 - 2 / 3)], 1e-6);
});

it('lovaszSoftmaxLoss: classes absent from the labels count only with classes: all', () => {
  // Two pixels of class 0, three classes: classes 1 and 2 are absent.
  const logits = tensor([[[[2, 0]], [[0, 1]], [[0, 0]]]], { dtype: 'float32' });
  const labels = tensor([[[0, 0]]]);
  const present = lovaszSoftmaxLoss(logits, labels).item();
  const all = lovaszSoftmaxLoss(logits, labels, { classes: 'all' }).item();
  expect(present).toBeGreaterThan(0);
  expect(all).not.toBeCloseTo(present, 4);
  // Every pixel ignored: 0, as the reference's empty case.
  expect(lovaszSoftmaxLoss(logits, labels.add(255), { ignoreIndex: 255 }).item()).toBe(0);
});

it('Lovász losses match finite differences', () => {
  manualSeed(16);
  // Logits spread apart so that no small step reorders the sorted errors (the loss is piecewise smooth).
  const spread = (shape: number[]) => randn(shape).mul(3);
  const binary = rand([3, 4, 4]).gt(0.5).int();
  gradcheck((x) => lovaszHingeLoss(x, binary), [spread([3, 4, 4])], { eps: 1e-3 });
  gradcheck((x) => lovaszHingeLoss(x, binary, { perImage: false }), [spread([3, 4, 4])], { eps: 1e-3 });
  const labels = randint(0, 3, [2, 3, 3]);
  gradcheck((x) => lovaszSoftmaxLoss(x, labels), [spread([2, 3, 3, 3])], { eps: 1e-3 });
  gradcheck((x) => lovaszSoftmaxLoss(x, labels, { perImage: true, classes: 'all' }), [spread([2, 3, 3, 3])], { eps: 1e-3 });
});

it('Lovász losses leave no temporaries behind', () => {
  const [x, t, logits, binary] = [randn([2, 3, 4, 4]), randint(0, 3, [2, 4, 4]), randn([2, 4, 4]), randint(0, 2, [2, 4, 4])];
  const before = memory('cpu').tensors;
  noGrad(() => lovaszSoftmaxLoss(x, t, { ignoreIndex: 2 })).dispose();
  noGrad(() => lovaszHingeLoss(logits, binary, { ignoreIndex: 255 })).dispose();
  expect(memory('cpu').tensors).toBe(before);
});

it('Lovász losses refuse bad arguments, naming themselves, the argument and both shapes', () => {
  const x = randn([2, 3, 4]);
  expect(() => lovaszHingeLoss(x, randint(0, 2, [2, 4]))).toThrow(/lovaszHingeLoss: expected labels of the shape of logits \[2, 3, 4\] \(\[N, \.\.\.spatial\]\), got \[2, 4\]/);
  expect(() => lovaszHingeLoss(x, randint(0, 2, [2, 3, 4]).to('uint8'))).toThrow(DTypeError);
  expect(() => lovaszHingeLoss(x, randint(0, 2, [2, 3, 4]), { ignoreIndex: Number.NaN })).toThrow(/lovaszHingeLoss: expected ignoreIndex to be a finite number or null, got NaN/);
  expect(() => lovaszSoftmaxLoss(x, randint(0, 2, [2, 3]))).toThrow(/lovaszSoftmaxLoss: expected labels of shape \[2, 4\] for logits \[2, 3, 4\], got \[2, 3\]/);
  expect(() => lovaszSoftmaxLoss(x, randint(0, 2, [2, 4]).float())).toThrow(/lovaszSoftmaxLoss: expected labels to have dtype int32 \(class indices\), got float32/);
  expect(() => lovaszSoftmaxLoss(x, randint(0, 2, [2, 4]), { classes: 'some' as never })).toThrow(ArgumentError);
  expect(() => lovaszSoftmaxLoss(randn([3]), randint(0, 2, [3]))).toThrow(ShapeError);
});

it('lovaszSoftmaxLoss: a class index >= C rejects data() with an IndexError', async () => {
  // The one-hot kernel may fail before the loss's later ops are queued: then one of those throws it.
  const run = async () => lovaszSoftmaxLoss(randn([1, 3, 2]), tensor([[0, 3]])).data();
  await expect(run()).rejects.toThrow(IndexError);
  await expect(synchronize()).resolves.toBeUndefined();
});
