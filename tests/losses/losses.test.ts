import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, manualSeed, randn, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { softmaxSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

interface LossCase {
  name: string;
  input: { shape: number[]; values: number[] };
  target: { shape: number[]; values: number[]; dtype: 'int32' | 'float32' };
  output: { shape: number[]; values: number[] };
  gradOutput: number[];
  gradInput: number[];
}

const allCases = JSON.parse(readFileSync(new URL('../fixtures/losses.json', import.meta.url), 'utf8')) as LossCase[];

const w = (device: nc.Device) => tensor([1, 2, 0.5, 1.5, 3], { dtype: 'float32', device });
const calls: Record<string, (x: Tensor, t: Tensor, device: nc.Device) => Tensor> = {
  ce: (x, t) => nc.crossEntropy(x, t),
  'ce weight': (x, t, d) => nc.crossEntropy(x, t, { weight: w(d) }),
  'ce ignore': (x, t) => nc.crossEntropy(x, t, { ignoreIndex: -100 }),
  'ce smoothing': (x, t) => nc.crossEntropy(x, t, { labelSmoothing: 0.1 }),
  'ce smoothing weight ignore': (x, t, d) => nc.crossEntropy(x, t, { weight: w(d), labelSmoothing: 0.2 }),
  'ce sum': (x, t) => nc.crossEntropy(x, t, { reduction: 'sum' }),
  'ce none': (x, t) => nc.crossEntropy(x, t, { reduction: 'none' }),
  'ce per pixel': (x, t) => nc.crossEntropy(x, t, { ignoreIndex: 255 }),
  'ce probabilities': (x, t) => nc.crossEntropy(x, t),
  'ce probabilities smoothing': (x, t) => nc.crossEntropy(x, t, { labelSmoothing: 0.3 }),
  'ce unbatched': (x, t) => nc.crossEntropy(x, t),
  nll: (x, t, d) => nc.nllLoss(nc.logSoftmax(x, 1), t, { weight: w(d) }),
  'bce logits': (x, t) => nc.binaryCrossEntropyWithLogits(x.mul(4), t),
  'bce logits posWeight': (x, t, d) => nc.binaryCrossEntropyWithLogits(x.mul(4), t, { posWeight: tensor([1, 2, 3, 0.5], { dtype: 'float32', device: d }) }),
  'bce logits weight none': (x, t, d) => nc.binaryCrossEntropyWithLogits(x, t, { weight: tensor([0.5, 2, 1, 1], { dtype: 'float32', device: d }), reduction: 'none' }),
  mse: (x, t) => nc.mseLoss(x, t),
  l1: (x, t) => nc.l1Loss(x, t, { reduction: 'sum' }),
  smoothL1: (x, t) => nc.smoothL1Loss(x.mul(2), t, { beta: 0.5 }),
  huber: (x, t) => nc.huberLoss(x.mul(2), t, { delta: 1.5 }),
};

// losses.json also holds the softmax cases: tests/ops/softmax.test.ts runs those.
it('every losses.json case has a call here or in the softmax suite', () => {
  expect(allCases.map((c) => c.name).filter((n) => !(n in calls) && !(n in softmaxSuite.calls))).toEqual([]);
});
const cases = allCases.filter((c) => c.name in calls);

describeDevices('losses vs PyTorch', (device) => {
  for (const c of cases) {
    it(`${c.name} [${c.input.shape}]`, () => {
      const x = tensor(Float32Array.from(c.input.values), { device }).reshape(c.input.shape).requiresGrad_();
      const t = tensor(c.target.dtype === 'int32' ? Int32Array.from(c.target.values) : Float32Array.from(c.target.values), { device }).reshape(c.target.shape);
      const out = calls[c.name]!(x, t, device);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), c.output.values, 1e-5);
      out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(c.output.shape));
      expectClose(x.grad!.cpu().dataSync(), c.gradInput, 1e-5);
    });
  }
});

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

it('losses reject bad arguments', () => {
  const logits = zeros([4, 3]);
  expect(() => nc.crossEntropy(logits, tensor([0, 1]))).toThrow(/expected target of shape \[4\]/);
  expect(() => nc.crossEntropy(logits, tensor([0, 1, 2, 0]), { weight: zeros([2]) })).toThrow(/expected weight of shape \[3\]/);
  expect(() => nc.crossEntropy(logits, tensor([0, 1, 2, 0]), { labelSmoothing: 2 })).toThrow(ArgumentError);
  expect(() => nc.crossEntropy(logits, zeros([4, 2]))).toThrow(ShapeError);
  expect(() => nc.crossEntropy(logits, tensor([0, 1, 2, 0]), { reduction: 'avg' as never })).toThrow(/expected reduction/);
  expect(() => nc.mseLoss(logits, zeros([3]))).toThrow(/expected target of the input's shape/);
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
