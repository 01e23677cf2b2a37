// The PyTorch loss fixture (tests/fixtures/losses.json, make_fixtures.py loss_fixtures): its
// cases and the neocog call of each, declared once for tests/losses/{classification,regression}.test.ts.
// Its softmax cases are tests/helpers/fixture_suites.ts' softmaxSuite.
import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { tensor, type Device, type Tensor } from '../../lib/index.js';
import { expectClose } from './devices.js';
import { readFixture } from './fixture_cases.js';

/** One losses.json case: `calls[name](input, target)` must give `output`, and `gradInput` for `gradOutput`. */
export interface LossCase {
  name: string;
  input: { shape: number[]; values: number[] };
  target: { shape: number[]; values: number[]; dtype: 'int32' | 'float32' };
  output: { shape: number[]; values: number[] };
  gradOutput: number[];
  gradInput: number[];
}

export const lossCases = readFixture<LossCase[]>('losses.json');

/** A loss call on the case's input and target. */
export type LossCall = (x: Tensor, t: Tensor, device: Device) => Tensor;

/** The class weights of the weighted cases (make_fixtures.py). */
const w = (device: Device) => tensor([1, 2, 0.5, 1.5, 3], { dtype: 'float32', device });
/** lib/losses/classification.ts: crossEntropy, nllLoss, binaryCrossEntropyWithLogits. */
export const classificationCalls: Record<string, LossCall> = {
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
};

/** lib/losses/regression.ts: mseLoss, l1Loss, smoothL1Loss, huberLoss. */
export const regressionCalls: Record<string, LossCall> = {
  mse: (x, t) => nc.mseLoss(x, t),
  l1: (x, t) => nc.l1Loss(x, t, { reduction: 'sum' }),
  smoothL1: (x, t) => nc.smoothL1Loss(x.mul(2), t, { beta: 0.5 }),
  huber: (x, t) => nc.huberLoss(x.mul(2), t, { delta: 1.5 }),
};


/** Declares one test per case of losses.json that `calls` names, on `device`. */
export function lossFixtureTests(device: Device, calls: Record<string, LossCall>): void {
  for (const c of lossCases.filter((k) => k.name in calls)) {
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
}
