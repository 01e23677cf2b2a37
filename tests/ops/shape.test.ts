import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, ShapeError, tensor, zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { casesWithoutCalls, sharedFixtureCases, shapeSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

// resample.json holds the cases of several op files; tests/helpers/fixture_suites.ts splits it.
it('every fixture has a neocog call', () => {
  expect(casesWithoutCalls('resample.json', sharedFixtureCases['resample.json']!)).toEqual([]);
});

describeDevices('shape ops vs PyTorch', (device) => {
  fixtureTests(device, shapeSuite.cases, shapeSuite.calls);

  it('split, chunk, oneHot, maskedFill', () => {
    const x = nc.arange(10, { device });
    expect(nc.split(x, 4).map((t) => t.tolist())).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(nc.split(x, [2, 8]).map((t) => t.shape)).toEqual([[2], [8]]);
    expect(nc.chunk(x, 3).map((t) => t.numel)).toEqual([4, 4, 2]);
    expect(nc.oneHot(tensor([0, 2], { device }), 3).tolist()).toEqual([[1, 0, 0], [0, 0, 1]]);
    expect(nc.maskedFill(tensor([1, 2, 3], { device }), tensor([true, false, true], { device }), 0).tolist()).toEqual([0, 2, 0]);
  });
});

it('pad gradients match finite differences', () => {
  nc.manualSeed(61);
  gradcheck((x) => nc.pad(x, [1, 1], 'reflect'), [nc.randn([2, 4])]);
});

it('shape ops reject bad arguments', () => {
  const x = zeros([1, 2, 4, 4]);
  expect(() => nc.cat([])).toThrow(ArgumentError);
  expect(() => nc.cat([zeros([2, 3]), zeros([3, 3])], 1)).toThrow(ShapeError);
  expect(() => nc.pad(x, [1])).toThrow(/even number/);
  expect(() => nc.pad(x, [4, 4], 'reflect')).toThrow(/must be smaller than the size 4/);
  expect(() => nc.pixelShuffle(zeros([1, 3, 2, 2]), 2)).toThrow(ShapeError);
});
