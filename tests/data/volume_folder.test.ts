// VolumeFolder: image/label TIFF volume pairs as [C, D, H, W] float32 and [D, H, W] int32.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { ArgumentError, data, DTypeError, FormatError, IndexError, ShapeError, tensor, type Tensor } from '../../lib/index.js';

const [D, H, W] = [3, 4, 5];
const root = mkdtempSync(join(tmpdir(), 'neocog-volumes-'));
const imageValues = (seed: number, channels = 1) => Array.from({ length: channels * D * H * W }, (_, i) => (i * 7919 + seed * 101) % 65536);
const labelIds = (seed: number) => Array.from({ length: D * H * W }, (_, i) => (i + seed) % 3);

async function writePair(dir: string, name: string, seed: number, opts: { image?: Tensor; label?: Tensor } = {}): Promise<void> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  await data.writeTiffVolume(opts.image ?? tensor(Int32Array.from(imageValues(seed)), { shape: [D, H, W] }), join(dir, 'images', `${name}.tif`));
  await data.writeTiffVolume(opts.label ?? tensor(Uint8Array.from(labelIds(seed)), { shape: [D, H, W] }), join(dir, 'labels', `${name}.tif`));
}

beforeAll(async () => {
  await writePair(join(root, 'ok'), 'a', 1);
  await writePair(join(root, 'ok'), 'b', 2);
});

describe('VolumeFolder', () => {
  it('pairs volumes by name: a 16-bit image as float32 [1, D, H, W] with its values, labels as int32 [D, H, W]', async () => {
    const set = new data.VolumeFolder(join(root, 'ok'), { numClasses: 3 });
    expect(set.length).toBe(2);
    expect(set.pairs.map(([i, l]) => [i.split('/').slice(-2).join('/'), l.split('/').slice(-2).join('/')])).toEqual([['images/a.tif', 'labels/a.tif'], ['images/b.tif', 'labels/b.tif']]);
    const [image, label] = await set.get(1);
    expect([image.shape, image.dtype, label.shape, label.dtype]).toEqual([[1, D, H, W], 'float32', [D, H, W], 'int32']);
    expect(Array.from(await image.data())).toEqual(imageValues(2));
    expect(Array.from(await label.data())).toEqual(labelIds(2));
  });

  it('puts an RGB volume channels first: [D, 3, H, W] on disk, [3, D, H, W] out', async () => {
    const rgb = Array.from({ length: D * 3 * H * W }, (_, i) => i % 256);
    await writePair(join(root, 'rgb'), 'x', 1, { image: tensor(Uint8Array.from(rgb), { shape: [D, 3, H, W] }) });
    const [image] = await new data.VolumeFolder(join(root, 'rgb')).get(0);
    expect(image.shape).toEqual([3, D, H, W]);
    const values = await image.data();
    for (let c = 0; c < 3; ++c) for (let d = 0; d < D; ++d) for (let p = 0; p < H * W; ++p) expect(values[(c * D + d) * H * W + p]).toBe(rgb[(d * 3 + c) * H * W + p]);
  });

  it('batches through DataLoader workers and applies transforms to both volumes', async () => {
    const loader = new data.DataLoader(new data.VolumeFolder(join(root, 'ok')), { batchSize: 2, numWorkers: 1 });
    const shapes = [];
    for await (const [images, labels] of loader) shapes.push([images.shape, labels.shape]);
    expect(shapes).toEqual([[[2, 1, D, H, W], [2, D, H, W]]]);
    const cropped = new data.VolumeFolder(join(root, 'ok'), { transforms: (image, label) => [image.slice(1, 0, 1), label.slice(0, 0, 1)] });
    const [image, label] = await cropped.get(0);
    expect([image.shape, label.shape]).toEqual([[1, 1, H, W], [1, H, W]]);
  });

  it('names the file for size mismatches, float labels, ids past numClasses, unreadable and unpaired files', async () => {
    const bad = join(root, 'bad');
    await writePair(bad, 'short', 1, { label: tensor(new Uint8Array((D - 1) * H * W), { shape: [D - 1, H, W] }) });
    await expect(new data.VolumeFolder([[join(bad, 'images/short.tif'), join(bad, 'labels/short.tif')]]).get(0)).rejects.toThrow(/label .*short\.tif is 2×4×5 but image .*short\.tif is 3×4×5/);
    await writePair(bad, 'class7', 1, { label: tensor(Uint8Array.from(labelIds(1), (v, i) => (i === 27 ? 7 : v)), { shape: [D, H, W] }) });
    const class7 = new data.VolumeFolder([[join(bad, 'images/class7.tif'), join(bad, 'labels/class7.tif')]], { numClasses: 3 });
    await expect(class7.get(0)).rejects.toThrow(IndexError);
    await expect(class7.get(0)).rejects.toThrow(/class7\.tif has class id 7 at voxel \(1, 1, 2\), but numClasses is 3/);
    const floatLabel = fileURLToPath(new URL('../fixtures/tiff/float32_none.tif', import.meta.url));
    const floatPair = new data.VolumeFolder([[floatLabel, floatLabel]]);
    await expect(floatPair.get(0)).rejects.toThrow(DTypeError);
    await expect(new data.VolumeFolder([[join(bad, 'images/short.tif'), join(bad, 'missing.tif')]]).get(0)).rejects.toThrow(FormatError);
    await expect(new data.VolumeFolder([[join(root, 'rgb/images/x.tif'), join(root, 'rgb/images/x.tif')]]).get(0)).rejects.toThrow(ShapeError);
    copyFileSync(join(bad, 'labels/short.tif'), join(bad, 'labels/orphan.tif'));
    expect(() => new data.VolumeFolder(bad)).toThrow(/label .*orphan\.tif has no image/);
    expect(() => new data.VolumeFolder(join(root, 'nowhere'))).toThrow(ArgumentError);
    await expect(new data.VolumeFolder(join(root, 'ok')).get(2)).rejects.toThrow(/index 2 is out of range for 2 pairs/);
  });
});
