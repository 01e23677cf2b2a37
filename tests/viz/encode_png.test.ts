import { inflateSync } from 'node:zlib';

import { expect, it } from 'vitest';

import { viz } from '../../lib/index.js';

it('encodes RGB rasters as valid PNG', () => {
  const png = viz.encodePng(2, 1, Uint8Array.from([255, 0, 0, 0, 0, 255]));
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  expect(png.readUInt32BE(16)).toBe(2);
  expect(png.readUInt32BE(20)).toBe(1);
  const idatLength = png.readUInt32BE(33);
  expect(png.subarray(37, 41).toString('ascii')).toBe('IDAT');
  // one row: filter byte 0, then the two pixels
  expect([...inflateSync(png.subarray(41, 41 + idatLength))]).toEqual([0, 255, 0, 0, 0, 0, 255]);
});
