import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { emptyBatchTest } from '../helpers/empty_batch.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { convTransposeOutputPaddingSuite, convTransposeSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

// PyTorch's values (tests/fixtures/make_fixtures.py, conv_transpose_fixtures and resample_fixtures).
const { cases, calls } = convTransposeOutputPaddingSuite;

it('every conv_transpose fixture has a neocog call', () => {
  expect(cases.length).toBeGreaterThanOrEqual(7);
  expect(cases.map((c) => c.name).filter((n) => !(n in calls))).toEqual([]);
});

describeDevices('convTranspose with outputPadding >= stride (dilation > stride) vs PyTorch', (device) => fixtureTests(device, cases, calls));

describeDevices('convTranspose vs PyTorch', (device) => {
  fixtureTests(device, convTransposeSuite.cases, convTransposeSuite.calls);

  it('the course example: convTranspose2d sizes', () => {
    expect(nc.convTranspose2d(zeros([1, 3, 64, 64], { device }), zeros([3, 16, 3, 3], { device }), null, { stride: 2, padding: 1 }).shape).toEqual([1, 16, 127, 127]);
  });
});

it('convTranspose2d gradients match finite differences', () => {
  nc.manualSeed(61);
  gradcheck((x, w) => nc.convTranspose2d(x, w, null, { stride: 2, padding: 1 }), [nc.randn([1, 2, 3, 3]), nc.randn([2, 2, 3, 3])]);
});

it('convTranspose2d rejects an outputPadding of stride or more', () => {
  const x = zeros([1, 2, 4, 4]);
  expect(() => nc.convTranspose2d(x, zeros([2, 3, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(/convTranspose2d: expected outputPadding\[0\] smaller than max\(stride, dilation\) = 2, got 2/);
});

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

// An empty batch (N = 0), as PyTorch (tests/fixtures/make_empty_batch_fixtures.py).
emptyBatchTest('convTranspose1d', (x, w, b) => nc.convTranspose1d(x!, w!, b, { stride: 2 }));
emptyBatchTest('convTranspose2d', (x, w, b) => nc.convTranspose2d(x!, w!, b, { stride: 2 }));
emptyBatchTest('convTranspose3d', (x, w, b) => nc.convTranspose3d(x!, w!, b, { stride: 2 }));
