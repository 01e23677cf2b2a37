import { expect, it } from 'vitest';

import { MAGMA, TURBO, VIRIDIS } from '../../lib/viz/colormap_data.js';

it.each([
  // First, middle (entry 128) and last entries of matplotlib's _cm_listed.py.
  ['viridis', VIRIDIS, [0.267004, 0.004874, 0.329415], [0.127568, 0.566949, 0.550556], [0.993248, 0.906157, 0.143936]],
  ['magma', MAGMA, [0.001462, 0.000466, 0.013866], [0.716387, 0.214982, 0.47529], [0.987053, 0.991438, 0.749504]],
  ['turbo', TURBO, [0.18995, 0.07176, 0.23217], [0.64362, 0.98999, 0.23356], [0.4796, 0.01583, 0.01055]],
])('%s: 256 RGB entries in [0, 1], as published', (_name, table, first, middle, last) => {
  expect(table).toHaveLength(256 * 3);
  expect(table.every((v) => v >= 0 && v <= 1)).toBe(true);
  expect(table.slice(0, 3)).toEqual(first);
  expect(table.slice(128 * 3, 129 * 3)).toEqual(middle);
  expect(table.slice(255 * 3)).toEqual(last);
});

it('viridis and magma get lighter from end to end (what makes them perceptual); turbo does not', () => {
  const luma = (t: readonly number[], i: number) => 0.2126 * t[3 * i]! + 0.7152 * t[3 * i + 1]! + 0.0722 * t[3 * i + 2]!;
  for (const table of [VIRIDIS, MAGMA]) for (let i = 16; i < 256; i += 16) expect(luma(table, i)).toBeGreaterThan(luma(table, i - 16));
  expect(luma(TURBO, 255)).toBeLessThan(luma(TURBO, 128));
});
