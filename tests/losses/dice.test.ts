import { expect, it } from 'vitest';

import { ArgumentError, diceCeLoss, diceLoss, manualSeed, memory, noGrad, rand, randint, randn, tensor, type DiceLossOptions } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { segmentationLossTests } from '../helpers/segmentation_cases.js';

describeDevices('diceLoss and diceCeLoss vs MONAI (written out in torch)', (device) => {
  segmentationLossTests(device, {
    dice: (x, t, o) => diceLoss(x, t, o as DiceLossOptions),
    diceCe: (x, t, o, d) => {
      const { ceWeight, ...rest } = o;
      return diceCeLoss(x, t, { ...rest, ceWeight: ceWeight ? tensor(ceWeight as number[], { dtype: 'float32', device: d }) : null });
    },
  });
});

it('pred [1, 1, 0, 0] vs target [1, 0, 1, 0]: Dice 0.5 and soft Jaccard 1/3 (issue 14)', () => {
  const pred = tensor([[[1, 1, 0, 0]]], { dtype: 'float32' });
  const target = tensor([[[1, 0, 1, 0]]], { dtype: 'float32' });
  const exact = { smoothNr: 0, smoothDr: 0 };
  expectClose(diceLoss(pred, target, exact).dataSync(), [1 - 0.5], 1e-7);
  expectClose(diceLoss(pred, target, { ...exact, jaccard: true }).dataSync(), [1 - 1 / 3], 1e-7);
});

it('empty target and empty prediction give loss 0 with the default smoothing, no NaN', () => {
  const empty = tensor([[[0, 0, 0, 0]]], { dtype: 'float32' });
  expectClose(diceLoss(empty, empty).dataSync(), [0], 1e-7);
  // Without smoothing it is 0 / 0, as MONAI's.
  expect(Number.isNaN(diceLoss(empty, empty, { smoothNr: 0, smoothDr: 0 }).dataSync()[0])).toBe(true);
});

it('batch: one Dice per class over the batch, not the mean of per-sample Dice', () => {
  const pred = tensor([[[1, 1]], [[0, 0]]], { dtype: 'float32' });
  const target = tensor([[[1, 1]], [[1, 1]]], { dtype: 'float32' });
  const exact = { smoothNr: 0, smoothDr: 0, reduction: 'none' as const };
  expectClose(diceLoss(pred, target, exact).dataSync(), [0, 1], 1e-7);
  expect(diceLoss(pred, target, { ...exact, batch: true }).shape).toEqual([1]);
  expectClose(diceLoss(pred, target, { ...exact, batch: true }).dataSync(), [1 - 4 / 6], 1e-7);
});

it('diceLoss and diceCeLoss match finite differences', () => {
  manualSeed(14);
  const labels = randint(0, 3, [2, 3, 4]);
  gradcheck((x) => diceLoss(x, labels, { softmax: true }), [randn([2, 3, 3, 4])]);
  gradcheck((x) => diceLoss(x, labels, { softmax: true, squaredPred: true, includeBackground: false, batch: true }), [randn([2, 3, 3, 4])]);
  gradcheck((x) => diceLoss(x, labels, { softmax: true, jaccard: true, reduction: 'none' }), [randn([2, 3, 3, 4])]);
  const masks = rand([2, 1, 3, 3]).gt(0.5).float();
  gradcheck((x) => diceLoss(x, masks, { sigmoid: true }), [randn([2, 1, 3, 3])]);
  gradcheck((x) => diceCeLoss(x, labels, { softmax: true, lambdaDice: 0.4, lambdaCe: 1.5 }), [randn([2, 3, 3, 4])]);
  gradcheck((x) => diceCeLoss(x, masks, { sigmoid: true, reduction: 'sum' }), [randn([2, 1, 3, 3])]);
});

it('diceLoss leaves no temporaries behind', () => {
  const [x, t] = [randn([2, 3, 4, 4]), randint(0, 3, [2, 4, 4])];
  const before = memory('cpu').tensors;
  noGrad(() => diceLoss(x, t, { softmax: true, includeBackground: false })).dispose();
  noGrad(() => diceCeLoss(x, t, { softmax: true })).dispose();
  expect(memory('cpu').tensors).toBe(before);
});

it('diceLoss and diceCeLoss refuse bad options, naming themselves and the option', () => {
  const x = randn([2, 3, 4, 4]);
  const t = randint(0, 3, [2, 4, 4]);
  expect(() => diceLoss(x, t, { smoothNr: -1 })).toThrow(/diceLoss: expected smoothNr to be a finite number >= 0, got -1/);
  expect(() => diceLoss(x, t, { reduction: 'avg' as never })).toThrow(ArgumentError);
  expect(() => diceCeLoss(x, t, { lambdaCe: Number.NaN })).toThrow(/diceCeLoss: expected lambdaCe to be a finite number >= 0, got NaN/);
  expect(() => diceCeLoss(x, t, { reduction: 'none' as never })).toThrow(/diceCeLoss: expected reduction 'mean' or 'sum'/);
  expect(() => diceCeLoss(x, t, { ceWeight: [1, 2, 3] as never })).toThrow(/diceCeLoss: expected ceWeight to be a Tensor/);
  expect(() => diceCeLoss(x, t, { ceWeight: tensor([1, 2], { dtype: 'float32' }) })).toThrow(/crossEntropy: expected weight of shape \[3\]/);
});
