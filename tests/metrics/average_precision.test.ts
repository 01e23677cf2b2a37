// averagePrecision against py-faster-rcnn's voc_ap (VOC 2007 11-point, VOC 2010+
// all-point) and COCOeval.accumulate's 101-point rule (tests/fixtures/make_map_fixtures.py),
// the hand-built list from the issue, edge cases and argument errors.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, metrics } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

interface ApCase {
  flags: number[];
  numGt: number;
  allPoints: number;
  voc11: number;
  coco101: number;
}

const cases = (JSON.parse(readFileSync(new URL('../fixtures/map.json', import.meta.url), 'utf8')) as { averagePrecision: ApCase[] }).averagePrecision;
const METHODS = ['allPoints', 'voc11', 'coco101'] as const;

it('the fixture has its cases', () => expect(cases.map((c) => `${c.flags.length}/${c.numGt}`)).toEqual(['5/4', '10/10', '40/25', '200/120', '30/80']));

for (const c of cases) {
  it(`${c.flags.length} ranked detections, ${c.numGt} objects: each rule as voc_ap and COCOeval compute it`, () => {
    for (const method of METHODS) expectClose([metrics.averagePrecision(c.flags, c.numGt, { method })], [c[method]], 1e-12);
  });
}

it('TP flags [1, 0, 1, 1, 0] against 4 objects: 0.625 all-point, 0.613636 11-point, 0.628713 101-point', () => {
  const flags = [1, 0, 1, 1, 0];
  expectClose([metrics.averagePrecision(flags, 4)], [0.625], 1e-12); // allPoints is the default
  expectClose([metrics.averagePrecision(flags, 4, { method: 'voc11' })], [0.613636], 1e-6);
  expectClose([metrics.averagePrecision(flags, 4, { method: 'coco101' })], [0.628713], 1e-6);
  // Booleans and a typed array say the same.
  expect(metrics.averagePrecision([true, false, true, true, false], 4)).toBe(metrics.averagePrecision(Uint8Array.from(flags), 4));
});

it("VOC 2007's recall points are k * 0.1, so a recall of exactly 3/10 misses the 0.3 point, as in voc_ap", () => {
  // Recall 0.1, 0.2, 0.2, 0.3: with a 0.3 point of precision 0.75 this would be 3.75 / 11.
  expectClose([metrics.averagePrecision([1, 1, 0, 1], 10, { method: 'voc11' })], [3 / 11], 1e-12);
});

it('edge cases: no detections, every detection right, no object (-1)', () => {
  for (const method of METHODS) {
    expect(metrics.averagePrecision([], 3, { method })).toBe(0);
    expectClose([metrics.averagePrecision([1, 1, 1], 3, { method })], [1], 1e-12);
    expect(metrics.averagePrecision([], 0, { method })).toBe(-1);
    expect(metrics.averagePrecision([0, 0], 0, { method })).toBe(-1);
  }
});

it('averagePrecision names the argument it refuses', () => {
  expect(() => metrics.averagePrecision([1, 2], 4)).toThrow(ArgumentError);
  expect(() => metrics.averagePrecision([1, 2], 4)).toThrow(/averagePrecision: expected tpFlags to hold 0\/1 or booleans, got 2 \(number\) at index 1/);
  expect(() => metrics.averagePrecision([1, NaN], 4)).toThrow(/got NaN \(number\) at index 1/);
  expect(() => metrics.averagePrecision(null as unknown as number[], 4)).toThrow(/expected tpFlags to be an array of 0\/1 or booleans, got null/);
  expect(() => metrics.averagePrecision([1, 1, 1], 2)).toThrow(/averagePrecision: expected at most numGt = 2 true positives \(one per object\), got 3/);
  expect(() => metrics.averagePrecision([1], 1.5)).toThrow(/expected numGt to be an integer >= 0, got 1.5 \(number\)/);
  expect(() => metrics.averagePrecision([1], -1)).toThrow(/expected numGt to be an integer >= 0, got -1 \(number\)/);
  expect(() => metrics.averagePrecision([1], 1, { method: 'voc07' as 'voc11' })).toThrow(/expected method to be 'allPoints', 'voc11', 'coco101', got 'voc07'/);
});
