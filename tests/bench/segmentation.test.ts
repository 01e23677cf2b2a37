import { describe, expect, it } from 'vitest';

import { cat, infer, io } from '../../lib/index.js';
import { selectCases } from '../../bench/cases.js';
import { fingerprint, type OutputFingerprint } from '../../bench/output_check.js';
import { segmentationCases, segmentationLabel } from '../../bench/segmentation_cases.js';

// bench/segmentation_torch.py's MONAI sliding window on a small case (tests/fixtures/make_bench_segmentation_fixtures.py).
const fixture = io.loadSafetensorsSync(new URL('../fixtures/bench_sliding_window.safetensors', import.meta.url).pathname);

describe('segmentation bench rows', () => {
  it("has the issue's rows: U-Net training at 1 and 4 x 1 x 128 x 128, DeepLabV3 eval at 1 x 3 x 512 x 512, a 1024² sliding window in 256 tiles, labelling a 2048² mask", () => {
    expect(segmentationCases.map(segmentationLabel)).toEqual([
      'unetTrain 1x1x128x128',
      'unetTrain 4x1x128x128',
      'deeplabv3Resnet50 eval 1x3x512x512',
      'slidingWindowUnet 1024x1024 roi 256 overlap 0.25',
      'connectedComponents 2048x2048 connectivity 4',
      'connectedComponents 2048x2048 connectivity 8',
    ]);
    // 1.2x PyTorch on the networks; 1x scipy.ndimage.label on the labelling.
    for (const c of segmentationCases) expect(c.target, segmentationLabel(c)).toBe(c.kind === 'connectedComponents' ? 1 : 1.2);
  });

  it('runs the U-Net of 4 levels from 16 channels, SGD with momentum, Gaussian blending', () => {
    for (const c of segmentationCases) {
      if (c.kind === 'unetTrain' || c.kind === 'slidingWindow') expect(c.unet).toEqual({ inChannels: 1, numClasses: 2, depth: 3, baseChannels: 16 });
      if (c.kind === 'unetTrain') expect(c.momentum).toBeGreaterThan(0);
      if (c.kind === 'slidingWindow') expect([c.mode, c.overlap, c.roi, c.image]).toEqual(['gaussian', 0.25, 256, 1024]);
    }
  });

  it('gives every row its own shared file, under bench/.build (ignored by git)', () => {
    const files = segmentationCases.map((c) => c.sharedFile);
    expect(new Set(files).size).toBe(files.length);
    for (const f of files) expect(f).toMatch(/^bench\/\.build\/segmentation\/\w+\.safetensors$/);
  });

  it('selects rows by name, and every row with "segmentation"', () => {
    expect(selectCases(['segmentation']).segmentation).toEqual(segmentationCases);
    expect(selectCases(['segmentation']).detection).toEqual([]);
    expect(selectCases(['unetTrain']).segmentation.map(segmentationLabel)).toEqual(['unetTrain 1x1x128x128', 'unetTrain 4x1x128x128']);
    expect(selectCases(['unetTrain']).train).toEqual([]);
    expect(() => selectCases(['deeplabv3Resnet101'])).toThrow(/unknown case deeplabv3Resnet101; known: .*deeplabv3Resnet50, slidingWindowUnet, connectedComponents, segmentation/);
  });
});

describe("segmentation bench's PyTorch sliding window (MONAI's algorithm in torch)", () => {
  const options = JSON.parse(fixture.metadata.options!) as { roi: number; overlap: number; sigmaScale: number; swBatchSize: number };
  const input = fixture.tensors.get('input')!;
  const expected = fixture.tensors.get('output')!;

  it('blends the same windows with the same Gaussian weights as infer.slidingWindowInference', async () => {
    // The fixture's predictor: each window minus its own mean, and |x|.
    const predictor = (tiles: typeof input) => cat([tiles.sub(tiles.mean([2, 3], { keepdim: true })), tiles.abs()], 1);
    using got = await infer.slidingWindowInference(input, options.roi, predictor, { ...options, mode: 'gaussian' });
    expect(got.shape).toEqual([2, 2, 45, 50]);
    const [a, b] = [got.dataSync(), expected.dataSync()];
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it('fingerprints an output as bench/output_check.ts does', async () => {
    const theirs = JSON.parse(fixture.metadata.fingerprint!) as OutputFingerprint;
    const ours = await fingerprint(expected);
    expect(ours.shape).toEqual(theirs.shape);
    expect(ours.mean).toBeCloseTo(theirs.mean, 6);
    expect(ours.meanAbs).toBeCloseTo(theirs.meanAbs, 6);
    expect(ours.samples).toEqual(theirs.samples);
  });
});
