import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, manualSeed, randn, ShapeError, tensor, zeros } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { softmaxSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { classificationCalls, lossCases, lossFixtureTests, regressionCalls } from '../helpers/loss_cases.js';
import { segmentationLossTests } from '../helpers/segmentation_cases.js';

// losses.json also holds the regression and softmax cases: tests/losses/regression.test.ts and
// tests/ops/softmax.test.ts run those.
it('every losses.json case has a call here, in regression or in the softmax suite', () => {
  const calledSomewhere = (n: string) => n in classificationCalls || n in regressionCalls || n in softmaxSuite.calls;
  expect(lossCases.map((c) => c.name).filter((n) => !calledSomewhere(n))).toEqual([]);
});

describeDevices('classification losses vs PyTorch', (device) => lossFixtureTests(device, classificationCalls));

it('the fused cross entropy equals the composed nllLoss(logSoftmax) on random segmentation-like input', () => {
  manualSeed(52);
  const logits = randn([2, 5, 3, 4]).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).requiresGrad_(); // channels-last
  const labels = nc.randint(0, 5, [2, 3, 4]);
  const masked = nc.where(nc.rand([2, 3, 4]).lt(0.2), 255, labels);
  const weight = tensor([1, 2, 0.5, 1, 3], { dtype: 'float32' });
  const fused = nc.crossEntropy(logits, masked, { weight, ignoreIndex: 255 });
  fused.backward();
  const fusedGrad = Array.from(logits.grad!.dataSync());
  logits.grad = null;
  const composed = nc.nllLoss(nc.logSoftmax(logits, 1), masked, { weight, ignoreIndex: 255 });
  composed.backward();
  expectClose([fused.item()], [composed.item()], 1e-5);
  expectClose(fusedGrad, logits.grad!.dataSync(), 1e-5);
});

it('loss gradients match finite differences', () => {
  manualSeed(51);
  const labels = tensor([1, 0, 2]);
  gradcheck((x) => nc.crossEntropy(x, labels, { labelSmoothing: 0.1 }), [randn([3, 3])]);
  gradcheck((x) => nc.crossEntropy(x, labels, { weight: tensor([1, 2, 3], { dtype: 'float32' }), labelSmoothing: 0.2, reduction: 'sum' }), [randn([3, 3])]);
  gradcheck((x) => nc.binaryCrossEntropyWithLogits(x, zeros([2, 3]).add(0.3)), [randn([2, 3])]);
});

it('classification losses reject bad arguments', () => {
  const logits = zeros([4, 3]);
  expect(() => nc.crossEntropy(logits, tensor([0, 1]))).toThrow(/expected target of shape \[4\]/);
  expect(() => nc.crossEntropy(logits, tensor([0, 1, 2, 0]), { weight: zeros([2]) })).toThrow(/expected weight of shape \[3\]/);
  expect(() => nc.crossEntropy(logits, tensor([0, 1, 2, 0]), { labelSmoothing: 2 })).toThrow(ArgumentError);
  expect(() => nc.crossEntropy(logits, zeros([4, 2]))).toThrow(ShapeError);
  expect(() => nc.crossEntropy(logits, tensor([0, 1, 2, 0]), { reduction: 'avg' as never })).toThrow(/expected reduction/);
});

it('float class labels get a hint towards int32 indices or probabilities', () => {
  const logits = zeros([4, 3]);
  const floatLabels = tensor([0, 1, 2, 0], { dtype: 'float32' });
  const hint = "targets must be int32 class indices (use .to('int32')) or float probabilities of the input's shape";
  expect(() => nc.crossEntropy(logits, floatLabels)).toThrow(ShapeError);
  expect(() => nc.crossEntropy(logits, floatLabels)).toThrow(hint);
  expect(() => nc.crossEntropy(logits, floatLabels.to('uint8'))).toThrow(`crossEntropy: expected target to have dtype int32, got uint8: ${hint}`);
  expect(() => nc.nllLoss(logits, floatLabels)).toThrow(nc.DTypeError);
  expect(() => nc.nllLoss(logits, floatLabels)).toThrow("nllLoss: expected target to have dtype int32, got float32: targets must be int32 class indices (use .to('int32'))");
  // The cast the hint names works.
  expect(nc.crossEntropy(logits, floatLabels.to('int32')).dataSync()[0]).toBeCloseTo(Math.log(3), 5);
});

it('an out-of-range class index is an IndexError from the kernel', async () => {
  // The kernel may fail before the loss's later ops are queued: then one of those throws it.
  const run = async () => nc.crossEntropy(zeros([2, 3]), tensor([0, 7])).data();
  await expect(run()).rejects.toThrow(nc.IndexError);
  await expect(nc.synchronize()).resolves.toBeUndefined();
  await expect(run()).rejects.toThrow(/crossEntropy: target 7 is out of range for 3 classes/);
});

describeDevices('per-pixel crossEntropy ([N, C, H, W], [N, C, D, H, W]) and BCE posWeight vs PyTorch (segmentation fixture)', (device) => {
  const vector = (v: unknown) => (v ? tensor(v as number[], { dtype: 'float32', device }) : null);
  segmentationLossTests(device, {
    ce: (x, t, o) => nc.crossEntropy(x, t, { ...o, weight: vector(o['weight']) }),
    bce: (x, t, o) => {
      const pw = o['posWeight'] as { shape: number[]; values: number[] };
      return nc.binaryCrossEntropyWithLogits(x, t, { posWeight: tensor(pw.values, { dtype: 'float32', device }).reshape(pw.shape) });
    },
  });
});

it('BCE with logits at logit 0, target 1, posWeight 9 is 9 log 2 = 6.2383246 (issue 14)', () => {
  const loss = nc.binaryCrossEntropyWithLogits(zeros([1]), tensor([1], { dtype: 'float32' }), { posWeight: tensor([9], { dtype: 'float32' }) });
  expectClose(loss.dataSync(), [6.2383246], 1e-6);
});
