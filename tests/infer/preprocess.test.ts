// lib/infer/preprocess.ts: torchvision's ImageClassification and SemanticSegmentation presets
// (PIL, torchvision 0.14; tests/fixtures/make_preset_fixtures.py) against ours through sharp.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ArgumentError, FormatError } from '../../lib/index.js';
import { imageClassificationPreset, semanticSegmentationPreset } from '../../lib/infer/index.js';

const photo = new URL('../fixtures/preset_photo.png', import.meta.url).pathname;
const reference = JSON.parse(readFileSync(new URL('../fixtures/presets.json', import.meta.url), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;

/**
 * Mean absolute difference, and the largest away from the image's edge rows and columns
 * (where PIL renormalises its filter and libvips extends the image), in normalised units:
 * one 8-bit level is 1 / 255 / std ≈ 0.017.
 */
async function differences(name: string, prepared: Promise<{ tensor: { shape: readonly number[]; data(): Promise<ArrayLike<number>>; dispose(): void } }>) {
  const { tensor } = await prepared;
  const expected = reference[name]!;
  expect(tensor.shape).toEqual(expected.shape);
  const ours = await tensor.data();
  tensor.dispose();
  let sum = 0;
  let max = 0;
  const [, h, w] = expected.shape as [number, number, number];
  expected.values.forEach((v, i) => {
    const d = Math.abs(ours[i]! - v);
    const y = Math.floor(i / w) % h;
    const x = i % w;
    sum += d;
    if (y > 0 && y < h - 1 && x > 0 && x < w - 1) max = Math.max(max, d);
  });
  return { mean: sum / expected.values.length, max };
}

describe('image presets', () => {
  it("imageClassificationPreset resizes the shorter side, crops the center and normalises as torchvision's ImageClassification", async () => {
    const { mean, max } = await differences('classification', imageClassificationPreset({ resizeSize: 40, cropSize: 32 })(photo));
    // sharp's and PIL's bilinear reductions differ by rounding: under half an 8-bit level on
    // average, at most 2 levels (measured: 0.0043 and 0.035 on a 500 x 375 photo-like image).
    expect(mean).toBeLessThan(0.008);
    expect(max).toBeLessThan(0.04);
  });

  it("semanticSegmentationPreset resizes the shorter side without cropping and keeps the original size", async () => {
    const prepare = semanticSegmentationPreset({ resizeSize: 24 });
    const { mean, max } = await differences('segmentation', prepare(photo));
    expect(mean).toBeLessThan(0.008);
    expect(max).toBeLessThan(0.04);
    const { tensor, originalSize } = await prepare(readFileSync(photo));
    expect(originalSize).toEqual([48, 64]);
    tensor.dispose();
  });

  it('grayscale with one mean and std; bad options are ArgumentErrors at creation, bad images FormatErrors', async () => {
    const { tensor } = await imageClassificationPreset({ resizeSize: 20, cropSize: 16, channels: 1, mean: [0.5], std: [0.25] })(photo);
    expect(tensor.shape).toEqual([1, 16, 16]);
    tensor.dispose();
    expect(() => imageClassificationPreset({ cropSize: 0 })).toThrow(/imageClassificationPreset: cropSize must be a positive integer, got 0/);
    expect(() => imageClassificationPreset({ resizeSize: 2.5 })).toThrow(ArgumentError);
    expect(() => semanticSegmentationPreset({ mean: [0.5] })).toThrow(/mean must hold 3 finite numbers/);
    expect(() => semanticSegmentationPreset({ std: [1, 0, 1] })).toThrow(/std must hold 3 positive numbers/);
    await expect(imageClassificationPreset()(new Uint8Array([1, 2, 3]))).rejects.toThrow(FormatError);
  });
});
