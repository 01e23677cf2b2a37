import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { tensor, zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { statisticsSuite } from '../helpers/fixture_suites.js';

describeDevices('clamp, var and std vs PyTorch', (device) => {
  fixtureTests(device, statisticsSuite.cases, statisticsSuite.calls);

  it('argmax, argmin', () => {
    const m = tensor([[1, 5, 2, 5], [7, 0, 7, -1]], { device });
    expect(nc.argmax(m, 1).tolist()).toEqual([1, 0]);
    expect(nc.argmin(m, 1, { keepdim: true }).tolist()).toEqual([[0], [3]]);
    expect(nc.argmax(m).item()).toBe(4);
  });
});

it('clamp rejects bad arguments', () => {
  expect(() => nc.clamp(zeros([1, 2, 4, 4]))).toThrow(/at least one of min and max/);
});
