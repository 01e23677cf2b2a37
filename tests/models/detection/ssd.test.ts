import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, io, manualSeed, models, noGrad, rand, tensor, vision } from '../../../lib/index.js';
import { boxesOf, expectSameDetections, records, targetsOf, yieldToEventLoop } from '../../helpers/detection_interop.js';
import { interopTest } from '../../helpers/interop.js';

const { SSD, SSDHead, SSDFeatureExtractorVGG, ssd300Vgg16, vgg16Features } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_ssd_interop.py';

// torchvision 0.14's ssd300_vgg16(weights=None, weights_backbone=None, num_classes=5): all
// of VGG trainable, seeded random weights with random biases, the predictors' weights scaled
// down so that scores do not saturate and deltas stay tame (tests/fixtures/make_ssd_interop.py).
// score_thresh lies in the widest gap between all (box, class) scores among the top
// 0.5%..0.1% (its margin, 1e-3, is recorded), topk_candidates and detections_per_img cut
// nothing, so no float32 noise can move a candidate in or out; the detections are compared
// as sets (label, score 1e-3, box 1e-2 px). Hard-negative mining's cut lies between losses
// 1.2e-2 apart in both images (recorded), so the same negatives are picked.
interface Fixture {
  options: { num_classes: number; topk_candidates: number; detections_per_img: number; score_thresh: number };
  score_margin: number;
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  detections: Array<{ boxes: number[][]; labels: number[]; scores: number[] }>;
  losses: Record<string, number>;
  mining: Array<{ num_foreground: number; num_negative: number; gap: number }>;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/ssd_interop.json', import.meta.url), 'utf8')) as Fixture;

describe('ssd300Vgg16 against torchvision', () => {
  interopTest('ssd300_vgg16.safetensors', command, 'loads torchvision\'s state dict strictly, makes its default boxes, and gives its detections (eval) and losses (training)', async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const state = new Map([...tensors].filter(([name]) => !name.startsWith('__')));
    const images = [tensors.get('__input__.image0')!, tensors.get('__input__.image1')!];
    const o = fixture.options;
    const model = ssd300Vgg16({ numClasses: o.num_classes, trainableBackboneLayers: 5, topkCandidates: o.topk_candidates, detectionsPerImg: o.detections_per_img, scoreThresh: o.score_thresh });
    expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
    const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
    expect(trainable.sort()).toEqual((metadata.trainable ?? '').split(',').sort());
    expect(fixture.score_margin).toBeGreaterThan(1e-4);
    for (const m of fixture.mining) expect(m.gap).toBeGreaterThan(1e-3);

    // The default boxes of a 300x300 batch: torchvision's float32 values exactly.
    const boxes = model.anchorGenerator.call(new vision.ImageList(rand([1, 3, 300, 300]), [[300, 300]]), [38, 19, 10, 5, 3, 1].map((s) => rand([1, 1, s, s])));
    const expectedBoxes = tensors.get('__output__.default_boxes')!;
    expect(boxes[0]!.shape).toEqual([8732, 4]);
    expect(Array.from(boxes[0]!.dataSync())).toEqual(Array.from(expectedBoxes.dataSync()));
    await yieldToEventLoop();

    model.eval();
    const detections = noGrad(() => model.detect(images));
    await yieldToEventLoop();
    expect(detections).toHaveLength(2);
    detections.forEach((d, i) => expectSameDetections(i, records(d), fixture.detections[i]!));
    await yieldToEventLoop();

    model.train();
    const losses = model.losses(images, targetsOf(fixture.targets));
    await yieldToEventLoop();
    expect(Object.keys(losses).sort()).toEqual(Object.keys(fixture.losses).sort());
    for (const [name, expected] of Object.entries(fixture.losses)) {
      const got = losses[name as keyof typeof losses].item();
      expect(Math.abs(got - expected), name).toBeLessThan(1e-3 * Math.max(1, Math.abs(expected)));
    }
    model.dispose();
  }, { timeout: 400_000 });
});
