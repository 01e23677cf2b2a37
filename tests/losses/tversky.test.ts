import { expect, it } from 'vitest';

import { diceLoss, focalTverskyLoss, manualSeed, rand, randint, randn, tensor, tverskyLoss, type FocalTverskyLossOptions, type TverskyLossOptions } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { segmentationLossTests } from '../helpers/segmentation_cases.js';

describeDevices('tverskyLoss and focalTverskyLoss vs MONAI / Abraham & Khan (written out in torch)', (device) => {
  segmentationLossTests(device, {
    tversky: (x, t, o) => tverskyLoss(x, t, o as TverskyLossOptions),
    focalTversky: (x, t, o) => focalTverskyLoss(x, t, o as FocalTverskyLossOptions),
  });
});

it('alpha = beta = 0.5 is the soft Dice loss; alpha and beta weigh false positives and negatives', () => {
  manualSeed(3);
  const [x, t] = [randn([2, 3, 4, 4]), randint(0, 3, [2, 4, 4])];
  expectClose(tverskyLoss(x, t, { softmax: true }).dataSync(), diceLoss(x, t, { softmax: true }).dataSync(), 1e-6);
  // pred [1, 1, 0, 0] vs target [1, 0, 1, 0]: TP 1, FP 1, FN 1.
  const pred = tensor([[[1, 1, 0, 0]]], { dtype: 'float32' });
  const target = tensor([[[1, 0, 1, 0]]], { dtype: 'float32' });
  const exact = { smoothNr: 0, smoothDr: 0 };
  expectClose(tverskyLoss(pred, target, { ...exact, alpha: 0.3, beta: 0.7 }).dataSync(), [1 - 1 / 2], 1e-7);
  expectClose(tverskyLoss(pred, target, { ...exact, alpha: 1, beta: 0 }).dataSync(), [1 - 1 / 2], 1e-7);
  expectClose(tverskyLoss(pred, target.mul(0).add(tensor([[[1, 1, 1, 0]]], { dtype: 'float32' })), { ...exact, alpha: 0, beta: 1 }).dataSync(), [1 - 2 / 3], 1e-7);
  expectClose(focalTverskyLoss(pred, target, { ...exact, gamma: 2 }).dataSync(), [0.25], 1e-7);
});

it('tverskyLoss and focalTverskyLoss match finite differences', () => {
  manualSeed(15);
  const labels = randint(0, 3, [2, 3, 4]);
  gradcheck((x) => tverskyLoss(x, labels, { softmax: true, alpha: 0.3, beta: 0.7 }), [randn([2, 3, 3, 4])]);
  gradcheck((x) => tverskyLoss(x, labels, { softmax: true, batch: true, includeBackground: false, reduction: 'none' }), [randn([2, 3, 3, 4])]);
  gradcheck((x) => focalTverskyLoss(x, labels, { softmax: true, gamma: 0.75 }), [randn([2, 3, 3, 4])]);
  const masks = rand([2, 1, 2, 3, 3]).gt(0.5).float();
  gradcheck((x) => focalTverskyLoss(x, masks, { sigmoid: true, gamma: 2, reduction: 'sum' }), [randn([2, 1, 2, 3, 3])]);
});

it('tverskyLoss and focalTverskyLoss refuse bad weights, naming themselves and the option', () => {
  const [x, t] = [randn([1, 2, 3, 3]), randint(0, 2, [1, 3, 3])];
  expect(() => tverskyLoss(x, t, { alpha: -0.1 })).toThrow(/tverskyLoss: expected alpha to be a finite number >= 0, got -0.1/);
  expect(() => tverskyLoss(x, t, { beta: Number.POSITIVE_INFINITY })).toThrow(/tverskyLoss: expected beta to be a finite number >= 0, got Infinity/);
  expect(() => focalTverskyLoss(x, t, { gamma: -1 })).toThrow(/focalTverskyLoss: expected gamma to be a finite number >= 0, got -1/);
  expect(() => focalTverskyLoss(x, t, { sigmoid: true, softmax: true })).toThrow(/focalTverskyLoss: expected at most one of sigmoid and softmax, got both true/);
});
