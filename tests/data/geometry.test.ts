// lib/data/geometry.ts: the affine matrices (torchvision's, from tests/fixtures/affine.json,
// made by make_affine_fixtures.py), the parameter ranges and draws, and the crop offsets.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import {
  affineMatrix,
  affineRanges,
  boxMatrix,
  centerOffset,
  drawAffine,
  drawCropOffset,
  drawRotation,
  gridTheta,
  IDENTITY_AFFINE,
  rotation,
  rotationRange,
  type AffineParams,
  type Matrix2x3,
} from '../../lib/data/geometry.js';
import { ArgumentError, manualSeed } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

interface MatrixCase {
  center: [number, number];
  angle: number;
  translate: [number, number];
  scale: number;
  shear: [number, number];
  inverse: number[];
  forward: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/affine.json', import.meta.url), 'utf8')) as {
  matrices: MatrixCase[];
  centerCrops: Array<{ h: number; w: number; size: [number, number]; offset: [number, number] }>;
};

/** Where `m` takes the point (x, y). */
const apply = (m: Matrix2x3, x: number, y: number): [number, number] => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];

describe('affine matrices', () => {
  for (const c of fixture.matrices) {
    const params: AffineParams = { angle: c.angle, translate: c.translate, scale: c.scale, shear: c.shear };
    it(`angle ${c.angle} translate [${c.translate.join(', ')}] scale ${c.scale} shear [${c.shear.join(', ')}] about [${c.center.join(', ')}] as torchvision`, () => {
      expectClose([...affineMatrix(params, c.center, true)], c.inverse, 1e-12);
      expectClose([...affineMatrix(params, c.center, false)], c.forward, 1e-12);
    });
  }

  it('the inverse undoes the forward map; boxMatrix turns about the image center', () => {
    const params: AffineParams = { angle: 20, translate: [2, -1], scale: 1.25, shear: [5, -3] };
    const forward = affineMatrix(params, [4, 3], false);
    const inverse = affineMatrix(params, [4, 3], true);
    expectClose(apply(inverse, ...apply(forward, 1.5, -2)), [1.5, -2], 1e-12);
    // A half turn about the center of an 8 x 6 (h x w) image swaps opposite corners.
    expectClose(apply(boxMatrix(rotation(180), 8, 6), 0, 0), [6, 8], 1e-12);
    expectClose([...boxMatrix(IDENTITY_AFFINE, 8, 6)], [1, 0, 0, 0, 1, 0], 0);
  });

  it('gridTheta normalises the inverse map to [-1, 1] coordinates', () => {
    expectClose([...gridTheta(IDENTITY_AFFINE, 4, 8)], [1, 0, 0, 0, 1, 0], 0);
    // A shift by 2 pixels right in an 8-wide image samples 2 / (8 / 2) = 0.5 to the left.
    expectClose([...gridTheta({ ...IDENTITY_AFFINE, translate: [2, 0] }, 4, 8)], [1, 0, -0.5, 0, 1, 0], 1e-12);
    // A quarter turn of a non-square image rescales the off-diagonal by the aspect ratio.
    expectClose([...gridTheta(rotation(90), 4, 8)].map((v) => v + 0), [0, -0.5, 0, 2, 0, 0], 1e-12);
  });
});

describe('ranges and draws', () => {
  it('affineRanges turns every option into a [min, max] range', () => {
    expect(affineRanges('randomAffine', {})).toEqual({ degrees: [-0, 0], translate: [0, 0], scale: [1, 1], shearX: [-0, 0], shearY: [0, 0] });
    expect(affineRanges('randomAffine', { degrees: 10, translate: [0.1, 0.2], scale: [0.9, 1.1], shear: [1, 2, 3, 4] })).toEqual({
      degrees: [-10, 10],
      translate: [0.1, 0.2],
      scale: [0.9, 1.1],
      shearX: [1, 2],
      shearY: [3, 4],
    });
    expect(affineRanges('randomAffine', { shear: 5 }).shearX).toEqual([-5, 5]);
    expect(rotationRange('randomRotation', [-5, 30])).toEqual([-5, 30]);
  });

  it('bad ranges are ArgumentErrors naming the transform and the option', () => {
    expect(() => affineRanges('randomAffine', { degrees: -1 })).toThrow(ArgumentError);
    expect(() => affineRanges('randomAffine', { degrees: -1 })).toThrow('randomAffine: expected degrees to be a number >= 0 or a [min, max] pair, got -1');
    expect(() => affineRanges('randomAffine', { scale: [2, 1] })).toThrow(/randomAffine: expected scale to be a \[min, max\] pair with min <= max/);
    expect(() => affineRanges('randomAffine', { scale: [0, 1] })).toThrow(/expected a positive scale range/);
    expect(() => affineRanges('randomAffine', { translate: [0.5, 1.5] })).toThrow(/expected translate to be \[fx, fy\] with fractions in \[0, 1\]/);
    expect(() => affineRanges('randomAffine', { shear: [1, 2, 3] as never })).toThrow(/expected shear as a number, \[min, max\] or \[xmin, xmax, ymin, ymax\]/);
    expect(() => rotationRange('randomRotation', Number.NaN)).toThrow(/randomRotation: expected degrees/);
  });

  it('draws are seeded, inside their ranges, with whole-pixel shifts', () => {
    const ranges = affineRanges('randomAffine', { degrees: 30, translate: [0.25, 0.5], scale: [0.5, 2], shear: [-3, 3, 1, 2] });
    manualSeed(3);
    const draws = drawAffine(ranges, 50, 8, 12);
    manualSeed(3);
    expect(drawAffine(ranges, 50, 8, 12)).toEqual(draws);
    for (const d of draws) {
      expect(Math.abs(d.angle)).toBeLessThanOrEqual(30);
      expect(d.translate.every(Number.isInteger)).toBe(true);
      expect(Math.abs(d.translate[0])).toBeLessThanOrEqual(3);
      expect(Math.abs(d.translate[1])).toBeLessThanOrEqual(4);
      expect(d.scale).toBeGreaterThanOrEqual(0.5);
      expect(d.scale).toBeLessThanOrEqual(2);
      expect(d.shear[1]).toBeGreaterThanOrEqual(1);
    }
    expect(new Set(draws.map((d) => d.angle)).size).toBe(50);
    const turns = drawRotation([10, 20], 20);
    // RandomRotation turns counter-clockwise: the affine angle is the negated draw.
    expect(turns.every((t) => t.angle <= -10 && t.angle >= -20 && t.scale === 1)).toBe(true);
  });

  it('crop offsets stay inside the image; the center offset rounds half to even as torchvision', () => {
    manualSeed(0);
    for (let i = 0; i < 50; ++i) {
      const [top, left] = drawCropOffset(7, 9, [3, 9]);
      expect(top).toBeGreaterThanOrEqual(0);
      expect(top).toBeLessThanOrEqual(4);
      expect(left).toBe(0);
    }
    for (const c of fixture.centerCrops) expect(centerOffset(c.h, c.w, c.size), `${c.h}x${c.w} -> ${c.size.join('x')}`).toEqual(c.offset);
  });
});
