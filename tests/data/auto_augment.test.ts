import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, data, manualSeed, memory, ones, tensor } from '../../lib/index.js';
import { applyAugmentOp, randTable, wideTable, type AugmentOp } from '../../lib/data/auto_augment.js';

interface Encoded {
  shape: number[];
  data: number[];
}
interface Fixture {
  image: Encoded;
  ops: Array<{ table: 'wide' | 'rand'; op: AugmentOp; bin: number; magnitude: number; expected: Encoded }>;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/augment.json', import.meta.url), 'utf8')) as Fixture;
const image = tensor(Uint8Array.from(fixture.image.data)).reshape(fixture.image.shape);
const [h, w] = fixture.image.shape.slice(1) as [number, number];
const tables = { wide: wideTable(31), rand: randTable(31, h, w) };

for (const { table, op, bin, magnitude, expected } of fixture.ops) {
  it(`${table} ${op} bin ${bin} (magnitude ${magnitude.toFixed(4)}) matches torchvision's _apply_op on uint8 [${fixture.image.shape.join(', ')}]`, () => {
    const magnitudes = tables[table][op].magnitudes;
    expect(magnitudes ? magnitudes[bin] : 0).toBeCloseTo(Math.abs(magnitude), 5);
    const out = applyAugmentOp(image, op, magnitude, 'nearest', [0]);
    expect(out.dtype).toBe('uint8');
    const got = Array.from(out.dataSync());
    expect(got).toEqual(expected.data);
  });
}

it('trivialAugmentWide and randAugment keep the uint8 shape, repeat under the same seed, and vary across draws', () => {
  const wide = data.transforms.trivialAugmentWide();
  const rand = data.transforms.randAugment({ numOps: 2, magnitude: 9 });
  for (const augment of [wide, rand]) {
    manualSeed(21);
    const first = Array.from({ length: 30 }, () => Array.from(augment(image).dataSync()).join());
    manualSeed(21);
    const second = Array.from({ length: 30 }, () => Array.from(augment(image).dataSync()).join());
    expect(second).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(8);
  }
  expect(data.transforms.randAugment({ numOps: 0 })(image)).toBe(image);
  const before = memory('cpu').tensors;
  for (let i = 0; i < 20; ++i) for (const augment of [wide, rand]) {
    const out = augment(image);
    if (out !== image) out.dispose();
  }
  expect(memory('cpu').tensors).toBe(before);
  expect(data.transforms.randAugment()(image.unsqueeze(0)).shape).toEqual([1, ...fixture.image.shape]);
});

it('trivialAugmentWide and randAugment refuse bad options when built', () => {
  expect(() => data.transforms.trivialAugmentWide({ numMagnitudeBins: 1 })).toThrow(/expected numMagnitudeBins to be an integer >= 2, got 1/);
  expect(() => data.transforms.randAugment({ magnitude: 31 })).toThrow(/randAugment: expected magnitude to be an integer in \[0, 31\), got 31/);
  expect(() => data.transforms.randAugment({ numOps: -1 })).toThrow(ArgumentError);
  expect(() => data.transforms.randAugment({ interpolation: 'bicubic' as 'nearest' })).toThrow(ArgumentError);
  expect(() => data.transforms.trivialAugmentWide({ fill: [] })).toThrow(ArgumentError);
  expect(() => applyAugmentOp(ones([3, 4, 4]), 'Equalize', 0, 'nearest', [0])).toThrow(/expected image to have dtype uint8/);
  expect(() => data.transforms.trivialAugmentWide()(ones([3, 4, 4]))).toThrow(/trivialAugmentWide: expected image to have dtype uint8/);
  expect(() => data.transforms.randAugment()(ones([4, 4]).to('uint8'))).toThrow(/randAugment: expected an image \[C, H, W\]/);
});
