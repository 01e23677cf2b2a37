import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { manualSeed, randn, tensor, zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';

describeDevices('linear', (device) => {
  it('linear', () => {
    const x = tensor([[1, 2]], { dtype: 'float32', device });
    const weight = tensor([[1, 0], [0, 1], [1, 1]], { dtype: 'float32', device });
    expect(nc.linear(x, weight, tensor([0, 0, 1], { dtype: 'float32', device })).tolist()).toEqual([[1, 2, 4]]);
  });
});

it('linear gradients match finite differences', () => {
  manualSeed(51);
  gradcheck((x, w) => nc.linear(x, w), [randn([2, 3]), randn([4, 3])]);
});

it('linear rejects bad arguments', () => {
  expect(() => nc.linear(zeros([4, 3]), zeros([2, 2]))).toThrow(/expected input with 2 features/);
});
