// writePng: uint8 images to PNG through sharp, read back pixel for pixel.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { ShapeError, tensor, viz, zeros } from '../../lib/index.js';

const [H, W] = [6, 7];

describe('writePng', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neocog-png-'));

  it('writes RGB and grey uint8 images that decode to the same pixels', async () => {
    const overlay = tensor(Uint8Array.from({ length: 3 * H * W }, (_, i) => (37 * i) % 256), { shape: [3, H, W] });
    const path = join(dir, 'overlay.png');
    await viz.writePng(overlay, path);
    const { data: rgb, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([W, H, 3]);
    const planar = await overlay.data();
    const plane = H * W;
    expect(Array.from(rgb)).toEqual(Array.from({ length: 3 * plane }, (_, i) => planar[(i % 3) * plane + Math.floor(i / 3)]));
    const grey = tensor(Uint8Array.from({ length: 20 }, (_, i) => 13 * i), { shape: [1, 4, 5] });
    const greyPath = join(dir, 'grey.png');
    await viz.writePng(grey, greyPath, { compressionLevel: 9 });
    expect((await sharp(greyPath).metadata()).channels).toBe(1);
    const read = await sharp(greyPath).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(read.data)).toEqual(Array.from({ length: 20 }, (_, i) => 13 * i));
  });

  it('refuses non-uint8 images, bad shapes and compression levels', async () => {
    await expect(viz.writePng(zeros([3, 2, 2]), join(dir, 'x.png'))).rejects.toThrow(/writePng: expected image of dtype uint8, got float32/);
    await expect(viz.writePng(zeros([2, 2, 2], { dtype: 'uint8' }), join(dir, 'x.png'))).rejects.toThrow(ShapeError);
    await expect(viz.writePng(zeros([3, 2, 2], { dtype: 'uint8' }), join(dir, 'x.png'), { compressionLevel: 10 })).rejects.toThrow(/compressionLevel/);
  });
});
