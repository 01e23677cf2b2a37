// randCropByPosNegLabel: the foreground ratio over many draws, patches inside the volume,
// image and label crops aligned, MONAI's fall-backs, seeding and typed errors.
import { describe, expect, it } from 'vitest';

import { ArgumentError, data, manualSeed, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';

/** A [1, ...spatial] int32 volume whose value at each voxel is its flat index + 1 (nothing is 0). */
function indexVolume(spatial: number[]): Tensor {
  const count = spatial.reduce((a, b) => a * b, 1);
  return tensor(Int32Array.from({ length: count }, (_, i) => i + 1), { shape: [1, ...spatial] });
}

/** A [1, ...spatial] int32 label with foreground 1 at the given flat indices. */
function labelAt(spatial: number[], foreground: number[]): Tensor {
  const values = new Int32Array(spatial.reduce((a, b) => a * b, 1));
  for (const i of foreground) values[i] = 1;
  return tensor(values, { shape: [1, ...spatial] });
}

describe('randCropByPosNegLabel', () => {
  it('centres pos / (pos + neg) of the patches on foreground (2-D, 4000 draws, pos 3 neg 1)', async () => {
    // Single-voxel patches are their centres: no clamping, so each says where it was drawn.
    const label = labelAt([20, 30], [31, 32, 95, 400, 401, 599]);
    const patches = await data.randCropByPosNegLabel(label, label, { spatialSize: [1, 1], pos: 3, neg: 1, numSamples: 4000, generator: data.seededRandom(5) });
    expect(patches).toHaveLength(4000);
    let onForeground = 0;
    for (const [, patch] of patches) onForeground += (await patch.data())[0]!;
    // Binomial(4000, 0.75): sd ~ 27, so ±110 is ~4 sd.
    expect(Math.abs(onForeground - 3000)).toBeLessThan(110);
  });

  it('draws centres uniformly within the foreground and within the background', async () => {
    const foreground = [3, 17, 40];
    const image = indexVolume([7, 9]);
    const label = labelAt([7, 9], foreground);
    const patches = await data.randCropByPosNegLabel(image, label, { spatialSize: [1, 1], pos: 1, neg: 0, numSamples: 3000, generator: data.seededRandom(9) });
    const counts = new Map<number, number>();
    for (const [patch] of patches) counts.set((await patch.data())[0]! - 1, (counts.get((await patch.data())[0]! - 1) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(foreground);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(110);
  });

  it('keeps 3-D patches inside the volume, image and label crops aligned, around the drawn voxel', async () => {
    const spatial = [6, 10, 12];
    const size = [4, 5, 7];
    const foreground = [0, 6 * 10 * 12 - 1, 5 * 120 + 9 * 12, 3 * 120 + 5 * 12 + 6]; // corners and the middle
    const image = indexVolume(spatial);
    const label = labelAt(spatial, foreground);
    // The image is the label plus its coordinates: an aligned label crop is the image crop's foreground.
    const both = tensor(Int32Array.from(await image.data(), (v, i) => v * 2 + (foreground.includes(i) ? 1 : 0)), { shape: [1, ...spatial] });
    const patches = await data.randCropByPosNegLabel(both, label, { spatialSize: size, pos: 1, neg: 1, numSamples: 300, generator: data.seededRandom(3) });
    let withForeground = 0;
    for (const [imagePatch, labelPatch] of patches) {
      expect(imagePatch.shape).toEqual([1, ...size]);
      expect(labelPatch.shape).toEqual([1, ...size]);
      const [values, labels] = [await imagePatch.data(), await labelPatch.data()];
      // The first voxel's coordinates give the start; every voxel must follow from it, inside the volume.
      const first = (values[0]! >> 1) - 1;
      const start = [Math.floor(first / 120), Math.floor(first / 12) % 10, first % 12];
      start.forEach((s, d) => {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s + size[d]!).toBeLessThanOrEqual(spatial[d]!);
      });
      for (let z = 0, i = 0; z < size[0]!; ++z) {
        for (let y = 0; y < size[1]!; ++y) {
          for (let x = 0; x < size[2]!; ++x, ++i) {
            const flat = (start[0]! + z) * 120 + (start[1]! + y) * 12 + start[2]! + x;
            expect(values[i]! >> 1).toBe(flat + 1);
            expect(labels[i]).toBe(values[i]! & 1);
          }
        }
      }
      if (labels.some((v) => v > 0)) ++withForeground;
    }
    // Foreground-centred patches (about half) contain their foreground voxel even at the corners.
    expect(withForeground).toBeGreaterThanOrEqual(120);
  });

  it("places a patch as MONAI's correct_crop_centers: start = clamp(centre - floor(size / 2), 0, L - size)", async () => {
    const image = indexVolume([1, 10]);
    // [centre column, patch width, expected start]: even and odd widths, both edges and the middle.
    for (const [centre, width, start] of [[9, 4, 6], [1, 4, 0], [5, 4, 3], [2, 4, 0], [5, 3, 4], [9, 3, 7], [0, 3, 0], [4, 10, 0], [7, 1, 7]] as const) {
      const [[patch]] = (await data.randCropByPosNegLabel(image, labelAt([1, 10], [centre]), { spatialSize: [1, width], pos: 1, neg: 0 })) as [[Tensor, Tensor]];
      expect([centre, width, (await patch.data())[0]! - 1]).toEqual([centre, width, start]);
    }
  });

  it('falls back as MONAI does: no foreground draws background centres only, no background foreground only', async () => {
    const empty = zeros([1, 8, 8], { dtype: 'int32' });
    const image = indexVolume([8, 8]);
    const patches = await data.randCropByPosNegLabel(image, empty, { spatialSize: [3, 3], pos: 1, neg: 0, numSamples: 20, generator: data.seededRandom(1) });
    expect(patches).toHaveLength(20);
    // Random background crops: several different places, no foreground anywhere.
    expect(new Set(await Promise.all(patches.map(async ([p]) => (await p.data())[0]))).size).toBeGreaterThan(3);
    for (const [, label] of patches) expect(Array.from(await label.data())).toEqual(new Array(9).fill(0));
    const full = tensor(new Int32Array(64).fill(2), { shape: [1, 8, 8] });
    const fullPatches = await data.randCropByPosNegLabel(image, full, { spatialSize: [1, 1], pos: 0, neg: 1, numSamples: 10, generator: data.seededRandom(1) });
    for (const [, label] of fullPatches) expect((await label.data())[0]).toBe(2);
  });

  it("counts a voxel as foreground when a one-hot label's channel other than 0 is > 0, for any label dtype", async () => {
    // Channel 0 is the one-hot background: its ones are no foreground (MONAI's map_binary_to_indices).
    const twoChannels = tensor(Uint8Array.from([1, 0, 1, 1, 0, 1, 0, 0]), { shape: [2, 2, 2] }).bool();
    const patches = await data.randCropByPosNegLabel(indexVolume([2, 2]), twoChannels, { spatialSize: [1, 1], pos: 1, neg: 0, numSamples: 5, generator: data.seededRandom(2) });
    for (const [image] of patches) expect((await image.data())[0]).toBe(2);
    // One channel: its values themselves (float labels too).
    const oneChannel = tensor(Float32Array.from([0, 0, 0.5, 0]), { shape: [1, 2, 2] });
    for (const [image] of await data.randCropByPosNegLabel(indexVolume([2, 2]), oneChannel, { spatialSize: [1, 1], pos: 1, neg: 0, numSamples: 5, generator: data.seededRandom(2) })) {
      expect((await image.data())[0]).toBe(3);
    }
  });

  it("draws from neocog's seeded generator by default, so manualSeed reproduces the patches; spatialSize <= 0 takes the whole extent", async () => {
    const label = labelAt([16, 16], [5, 77, 200]);
    const image = indexVolume([16, 16]);
    const starts = async () => Promise.all((await data.randCropByPosNegLabel(image, label, { spatialSize: [4, -1], numSamples: 12 })).map(async ([p]) => (await p.data())[0]));
    manualSeed(21);
    const first = await starts();
    manualSeed(21);
    expect(await starts()).toEqual(first);
    const whole = await data.randCropByPosNegLabel(image, label, { spatialSize: [4, 0] });
    expect(whole[0]![0].shape).toEqual([1, 4, 16]);
  });

  it('cuts a too-large patch only with allowSmaller', async () => {
    const label = labelAt([5, 6], [7]);
    await expect(data.randCropByPosNegLabel(label, label, { spatialSize: [8, 3] })).rejects.toThrow(/randCropByPosNegLabel: spatialSize \[8, 3\] is larger than the volume \[5, 6\]/);
    const [[patch]] = (await data.randCropByPosNegLabel(label, label, { spatialSize: [8, 3], allowSmaller: true })) as [[Tensor, Tensor]];
    expect(patch.shape).toEqual([1, 5, 3]);
  });

  it('refuses mismatched shapes and bad options with typed errors', async () => {
    const image = zeros([1, 8, 8]);
    const label = labelAt([8, 8], [3]);
    await expect(data.randCropByPosNegLabel(image, labelAt([8, 9], [3]), { spatialSize: [2, 2] })).rejects.toThrow(/expected label of shape \[C', 8, 8\] to match image \[1, 8, 8\], got \[1, 8, 9\]/);
    await expect(data.randCropByPosNegLabel(zeros([8, 8]), label, { spatialSize: [2, 2] })).rejects.toThrow(ShapeError);
    await expect(data.randCropByPosNegLabel(image, label, { spatialSize: [2, 2, 2] })).rejects.toThrow(/expected spatialSize to be 2 integers/);
    await expect(data.randCropByPosNegLabel(image, label, { spatialSize: [2, 2], pos: -1 })).rejects.toThrow(/expected pos to be a finite number >= 0, got -1/);
    await expect(data.randCropByPosNegLabel(image, label, { spatialSize: [2, 2], pos: 0, neg: 0 })).rejects.toThrow(/pos \+ neg > 0/);
    await expect(data.randCropByPosNegLabel(image, label, { spatialSize: [2, 2], numSamples: 0 })).rejects.toThrow(ArgumentError);
    await expect(data.randCropByPosNegLabel(image, label, { spatialSize: [2, 2], generator: () => 1 })).rejects.toThrow(/generator to return numbers in \[0, 1\), got 1/);
  });
});
