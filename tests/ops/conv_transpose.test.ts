import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, zeros, type Tensor } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { fixtureTests, readFixture, type FnCase } from '../helpers/fixture_cases.js';
import { gradcheck } from '../helpers/gradcheck.js';

// PyTorch's values (tests/fixtures/make_fixtures.py, conv_transpose_fixtures).
const cases = readFixture<FnCase[]>('conv_transpose.json');

const calls: Record<string, (...xs: Tensor[]) => Tensor> = {
  'convTranspose2d ones s1 d2 op1': (x, w) => nc.convTranspose2d(x!, w!, null, { stride: 1, dilation: 2, outputPadding: 1 }),
  'convTranspose1d s1 d3 op2 p1': (x, w) => nc.convTranspose1d(x!, w!, null, { stride: 1, dilation: 3, padding: 1, outputPadding: 2 }),
  'convTranspose1d s1 d3 op2 p3': (x, w) => nc.convTranspose1d(x!, w!, null, { stride: 1, dilation: 3, padding: 3, outputPadding: 2 }),
  'convTranspose1d no input reaches the output': (x, w, b) => nc.convTranspose1d(x!, w!, b, { stride: 1, dilation: 5, padding: 1, outputPadding: 3 }),
  'convTranspose2d s2 d3 op2 bias': (x, w, b) => nc.convTranspose2d(x!, w!, b, { stride: 2, dilation: 3, outputPadding: 2 }),
  'convTranspose2d s(1,2) d(2,4) op(1,3) p1 groups2': (x, w) =>
    nc.convTranspose2d(x!, w!, null, { stride: [1, 2], dilation: [2, 4], padding: 1, outputPadding: [1, 3], groups: 2 }),
  'convTranspose3d s(1,2,1) d(2,3,2) op(1,2,0)': (x, w) => nc.convTranspose3d(x!, w!, null, { stride: [1, 2, 1], dilation: [2, 3, 2], outputPadding: [1, 2, 0] }),
};

it('every conv_transpose fixture has a neocog call', () => {
  expect(cases.length).toBeGreaterThanOrEqual(7);
  expect(cases.map((c) => c.name).filter((n) => !(n in calls))).toEqual([]);
});

describeDevices('convTranspose with outputPadding >= stride (dilation > stride) vs PyTorch', (device) => fixtureTests(device, cases, calls));

it('convTranspose with outputPadding >= stride: gradients match finite differences', () => {
  nc.manualSeed(71);
  gradcheck((x, w) => nc.convTranspose2d(x, w, null, { stride: 1, dilation: [2, 3], outputPadding: [1, 2] }), [nc.randn([1, 2, 3, 3]), nc.randn([2, 2, 2, 2])]);
  gradcheck((x, w, b) => nc.convTranspose1d(x, w, b, { stride: 2, dilation: 3, padding: 1, outputPadding: 2 }), [nc.randn([1, 2, 4]), nc.randn([2, 3, 2]), nc.randn([3])]);
});

it('convTranspose1d/2d/3d name themselves and outputPadding when it reaches max(stride, dilation)', () => {
  expect(() => nc.convTranspose1d(zeros([1, 2, 4]), zeros([2, 2, 3]), null, { stride: 1, dilation: 2, outputPadding: 2 })).toThrow(ArgumentError);
  expect(() => nc.convTranspose1d(zeros([1, 2, 4]), zeros([2, 2, 3]), null, { stride: 1, dilation: 2, outputPadding: 2 })).toThrow(
    /^convTranspose1d: expected outputPadding\[0\] smaller than max\(stride, dilation\) = 2, got 2$/,
  );
  expect(() => nc.convTranspose2d(zeros([1, 2, 4, 4]), zeros([2, 2, 3, 3]), null, { stride: [2, 1], dilation: [1, 3], outputPadding: [1, 3] })).toThrow(
    /^convTranspose2d: expected outputPadding\[1\] smaller than max\(stride, dilation\) = 3, got 3$/,
  );
  expect(() => nc.convTranspose3d(zeros([1, 2, 3, 3, 3]), zeros([2, 2, 2, 2, 2]), null, { stride: 2, outputPadding: [0, 0, 2] })).toThrow(
    /^convTranspose3d: expected outputPadding\[2\] smaller than max\(stride, dilation\) = 2, got 2$/,
  );
});
