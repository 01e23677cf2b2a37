import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { lossFixtureTests, regressionCalls } from '../helpers/loss_cases.js';

describeDevices('regression losses vs PyTorch', (device) => lossFixtureTests(device, regressionCalls));

it('regression losses reject bad arguments', () => {
  const logits = zeros([4, 3]);
  expect(() => nc.mseLoss(logits, zeros([3]))).toThrow(/expected target of the input's shape/);
});
