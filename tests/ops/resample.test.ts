// interpolate, maxUnpool2d and scatterAdd (lib/ops/resample.ts). interpolate's source
// indices against PyTorch 1.13 where its float32 index arithmetic and its scale_factor rules
// decide which pixels are read.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { tensor, zeros, type InterpolateMode } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTests, type FnCase } from '../helpers/fixture_cases.js';
import { interpolateScaleSuite, interpolateSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

interface ScaledLine {
  in: number;
  scale: number;
  mode: InterpolateMode;
  alignCorners: boolean | null;
  output: number[];
}

// tests/fixtures/make_fixtures.py, interpolate_fixtures.
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/interpolate.json', import.meta.url), 'utf8')) as {
  nearest: string[];
  scaled: ScaledLine[];
  cases: FnCase[];
};

/** PyTorch's nearest source indices for in size `inSize` and every out size 1..80 (see the fixture script). */
function nearestIndices(inSize: number): number[][] {
  const steps = fixtures.nearest[inSize - 1]!;
  const result: number[][] = [];
  let at = 0;
  for (let out = 1; out <= 80; ++out) {
    const indices: number[] = [];
    let previous = 0;
    for (let k = 0; k < out; ++k) indices.push((previous += steps.charCodeAt(at++) - 48));
    result.push(indices);
  }
  return result;
}

const { calls } = interpolateScaleSuite;

it('the interpolate fixture is complete and every case has a call', () => {
  expect(fixtures.nearest).toHaveLength(64);
  expect(fixtures.nearest.every((s, i) => s.length === (80 * 81) / 2 || i < 0)).toBe(true);
  expect(fixtures.scaled.length).toBeGreaterThan(600);
  expect(fixtures.cases.map((c) => c.name).filter((n) => !(n in calls))).toEqual([]);
});

describeDevices('interpolate source indices vs PyTorch', (device) => {
  it("'nearest' by size picks PyTorch's pixel for every in 1..64 x out 1..80 (float32 index math)", () => {
    const mismatches: string[] = [];
    for (let inSize = 1; inSize <= 64; ++inSize) {
      const expected = nearestIndices(inSize);
      const line = nc.arange(inSize, { dtype: 'float32', device }).reshape(1, 1, inSize);
      for (let out = 1; out <= 80; ++out) {
        const got = Array.from(nc.interpolate(line, { size: out }).cpu().dataSync());
        if (got.join() !== expected[out - 1]!.join()) mismatches.push(`${inSize} -> ${out}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("'nearest' 18 -> 66: output 55 reads pixel 15, as PyTorch (double math read 14)", () => {
    const line = nc.arange(18, { dtype: 'float32', device }).reshape(1, 1, 18);
    expect(nc.interpolate(line, { size: 66 }).cpu().dataSync()[55]).toBe(nearestIndices(18)[65]![55]);
  });

  it('scaleFactor lines: nearest, linear (both alignCorners) and bicubic as PyTorch', () => {
    const failures: string[] = [];
    for (const c of fixtures.scaled) {
      const ramp = Float32Array.from({ length: c.in }, (_, i) => ((i * i) % 7) + 0.1 * i);
      const x = tensor(ramp, { device }).reshape(1, 1, 1, c.in);
      const opts = c.alignCorners === null ? {} : { alignCorners: c.alignCorners };
      const got = nc.interpolate(x, { scaleFactor: [1, c.scale], mode: c.mode, ...opts }).cpu().dataSync();
      try {
        expectClose(got, c.output, 1e-5);
      } catch (e) {
        failures.push(`${c.mode} align=${c.alignCorners} in ${c.in} x${c.scale}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  // torch 1.13's bicubic and 1-d nearest backward kernels copy the gradient where sizes are
  // kept, though their forwards resampled: that gradient is not the forward's; ours is
  // (gradcheck below).
  fixtureTests(device, interpolateScaleSuite.cases, calls, { tolerance: interpolateScaleSuite.tolerance, skipGradient: interpolateScaleSuite.skipGradient });
});

describeDevices('resampling ops vs PyTorch', (device) => {
  fixtureTests(device, interpolateSuite.cases, interpolateSuite.calls);

  it('bilinear to the same size copies the image, as PyTorch: an inf pixel leaves its neighbours finite', () => {
    const image = nc.rand([1, 2, 5, 6], { device });
    const withInf = nc.where(nc.arange(60, { device }).reshape(1, 2, 5, 6).eq(13), tensor(Infinity, { device }), image);
    const out = nc.interpolate(withInf, { size: [5, 6], mode: 'bilinear', alignCorners: false });
    expect(out.tolist()).toEqual(withInf.tolist());
  });

  it('the course example: maxUnpool2d', () => {
    const x = nc.arange(1, 17, 1, { dtype: 'float32', device }).reshape(1, 1, 4, 4);
    const { values, indices } = nc.maxPool2d(x, 2, { stride: 2, returnIndices: true });
    expect(nc.maxUnpool2d(values, indices, 2, { stride: 2 }).reshape(4, 4).tolist()).toEqual([
      [0, 0, 0, 0],
      [0, 6, 0, 8],
      [0, 0, 0, 0],
      [0, 14, 0, 16],
    ]);
  });

  it('scatterAdd accumulates and its gradient gathers', () => {
    const base = zeros([2, 3], { device, requiresGrad: true });
    const src = tensor([[1, 2], [3, 4]], { dtype: 'float32', device, requiresGrad: true });
    const out = nc.scatterAdd(base, 1, tensor([[0, 0], [2, 1]], { device }), src);
    expect(out.tolist()).toEqual([[3, 0, 0], [0, 4, 3]]);
    out.mul(tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32', device })).sum().backward();
    expect(src.grad!.tolist()).toEqual([[1, 1], [6, 5]]);
    expect(base.grad!.tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
});

it('resampling gradients match finite differences', () => {
  nc.manualSeed(61);
  gradcheck((x) => nc.interpolate(x, { size: [5, 3], mode: 'bicubic' }), [nc.randn([1, 1, 3, 4])]);
});

it('interpolate rejects bad arguments', () => {
  const x = zeros([1, 2, 4, 4]);
  expect(() => nc.interpolate(x, {})).toThrow(/exactly one of size and scaleFactor/);
  expect(() => nc.interpolate(x, { size: 3, mode: 'trilinear' })).toThrow(/expects a 5-d input/);
});

it('interpolate with a scaleFactor that keeps a size: gradients match finite differences', () => {
  nc.manualSeed(43);
  gradcheck((x) => nc.interpolate(x, { scaleFactor: [1.2, 2], mode: 'bilinear' }), [nc.randn([1, 1, 3, 3])]);
  gradcheck((x) => nc.interpolate(x, { scaleFactor: 1.2, mode: 'bicubic' }), [nc.randn([1, 1, 3, 4])]);
  gradcheck((x) => nc.interpolate(x, { scaleFactor: 1.2 }), [nc.randn([1, 2, 3])]);
});
