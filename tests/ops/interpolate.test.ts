// interpolate's source indices against PyTorch 1.13 where its float32 index arithmetic and
// its scale_factor rules decide which pixels are read.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { tensor, type InterpolateMode, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTests, type FnCase } from '../helpers/fixture_cases.js';
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

const calls: Record<string, (x: Tensor) => Tensor> = {
  'linear x1.2 keeps 3': (x) => nc.interpolate(x, { scaleFactor: 1.2, mode: 'linear' }),
  'bilinear x(1.2, 2) keeps H': (x) => nc.interpolate(x, { scaleFactor: [1.2, 2], mode: 'bilinear' }),
  'bilinear x1.1 keeps both': (x) => nc.interpolate(x, { scaleFactor: 1.1, mode: 'bilinear' }),
  'trilinear x(1.25, 1.5, 2) keeps D': (x) => nc.interpolate(x, { scaleFactor: [1.25, 1.5, 2], mode: 'trilinear' }),
  'bicubic x1.2 keeps the size but not the pixels': (x) => nc.interpolate(x, { scaleFactor: 1.2, mode: 'bicubic' }),
  'nearest 2-d x1.2 copies a kept size': (x) => nc.interpolate(x, { scaleFactor: 1.2 }),
  'nearest 1-d x1.2 applies the scale to a kept size': (x) => nc.interpolate(x, { scaleFactor: 1.2 }),
  'nearest 2-d x2.1 halves the index of a doubled size': (x) => nc.interpolate(x, { scaleFactor: 2.1 }),
};

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
  fixtureTests(device, fixtures.cases, calls, {
    tolerance: 1e-5,
    skipGradient: (c) => c.name.startsWith('bicubic') || c.name.startsWith('nearest 1-d'),
  });
});

it('interpolate with a scaleFactor that keeps a size: gradients match finite differences', () => {
  nc.manualSeed(43);
  gradcheck((x) => nc.interpolate(x, { scaleFactor: [1.2, 2], mode: 'bilinear' }), [nc.randn([1, 1, 3, 3])]);
  gradcheck((x) => nc.interpolate(x, { scaleFactor: 1.2, mode: 'bicubic' }), [nc.randn([1, 1, 3, 4])]);
  gradcheck((x) => nc.interpolate(x, { scaleFactor: 1.2 }), [nc.randn([1, 2, 3])]);
});
