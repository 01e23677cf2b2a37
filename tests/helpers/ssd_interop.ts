// What the SSD300 and SSDlite320 interop tests share: their fixtures' layout and the check of
// one seeded torchvision export (strict load, trainable names, default boxes, eval detections
// as sets, training losses).
import { readFileSync } from 'node:fs';

import { expect } from 'vitest';

import { noGrad, rand, vision, type models, type Tensor } from '../../lib/index.js';
import { expectLossesMatch, expectSameDetections, records, targetsOf, yieldToEventLoop } from './detection_interop.js';

/** A tests/fixtures/make_ssd*_interop.py JSON fixture. */
export interface SSDFixture {
  options: { num_classes: number; topk_candidates: number; detections_per_img: number; score_thresh: number };
  /** Distance from score_thresh to the nearest (box, class) score. */
  score_margin: number;
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  detections: Array<{ boxes: number[][]; labels: number[]; scores: number[] }>;
  losses: Record<string, number>;
  /** Per image, the loss gap at hard-negative mining's cut. */
  mining: Array<{ num_foreground: number; num_negative: number; gap: number }>;
}

/** Reads tests/fixtures/`name`. */
export function readSSDFixture<F extends SSDFixture>(name: string): F {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as F;
}

/** The input size, the feature map sizes, the default box count and the least score margin of one export. */
export interface SSDExportShape {
  size: number;
  featureSizes: number[];
  defaultBoxes: number;
  scoreMargin: number;
}

/**
 * Checks `model` (built with the fixture's options) against torchvision's export `tensors`:
 * strict load, the same trainable parameters, torchvision's float32 default boxes exactly,
 * its eval detections as sets and its training losses within 1e-3. Disposes the model.
 */
export async function expectSSDMatchesTorchvision(
  model: models.detection.SSD,
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  fixture: SSDFixture,
  shape: SSDExportShape,
): Promise<void> {
  const state = new Map([...tensors].filter(([name]) => !name.startsWith('__')));
  const images = [tensors.get('__input__.image0')!, tensors.get('__input__.image1')!];
  expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
  const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
  expect(trainable.sort()).toEqual((metadata.trainable ?? '').split(',').sort());
  expect(fixture.score_margin).toBeGreaterThan(shape.scoreMargin);
  for (const m of fixture.mining) expect(m.gap).toBeGreaterThan(1e-3);

  const { size, featureSizes } = shape;
  const boxes = model.anchorGenerator.call(new vision.ImageList(rand([1, 3, size, size]), [[size, size]]), featureSizes.map((s) => rand([1, 1, s, s])));
  expect(boxes[0]!.shape).toEqual([shape.defaultBoxes, 4]);
  expect(Array.from(boxes[0]!.dataSync())).toEqual(Array.from(tensors.get('__output__.default_boxes')!.dataSync()));
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
  await expectLossesMatch(losses, fixture.losses);
  model.dispose();
}
