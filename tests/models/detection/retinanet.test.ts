import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, io, manualSeed, models, nn, noGrad, tensor, zeros } from '../../../lib/index.js';
import { interopTest } from '../../helpers/interop.js';

const { RetinaNet, RetinaNetHead, LastLevelP6P7, retinanetDefaultAnchorGenerator, retinanetResnet50Fpn, resnetFpnBackbone } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_retinanet_interop.py';

// torchvision 0.14's RetinaNet on retinanet_resnet50_fpn's v1 backbone as built for a
// pretrained backbone (FrozenBatchNorm2d, 3 trainable stages, layer2..4 under the FPN, P6/P7
// from P5), 5 classes, min_size 128, max_size 160, seeded random weights with random
// FrozenBatchNorm2d buffers and biases, the predictors' weights scaled down so that scores
// do not saturate and deltas stay tame (tests/fixtures/make_retinanet_interop.py).
// score_thresh lies in the widest gap between all (anchor, class) scores near 0.8 (its
// margin, 8e-4, is recorded), topk_candidates and detections_per_img cut nothing, so no
// float32 noise can move a candidate in or out; the detections are compared as sets
// (label, score 1e-3, box 1e-2 px), since neighbours' scores may lie close enough to swap.
interface Fixture {
  options: { num_classes: number; min_size: number; max_size: number; topk_candidates: number; detections_per_img: number; score_thresh: number };
  score_margin: number;
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  detections: Array<{ boxes: number[][]; labels: number[]; scores: number[] }>;
  losses: Record<string, number>;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/retinanet_interop.json', import.meta.url), 'utf8')) as Fixture;

function fixtureModel() {
  const o = fixture.options;
  return retinanetResnet50Fpn({
    numClasses: o.num_classes,
    minSize: o.min_size,
    maxSize: o.max_size,
    topkCandidates: o.topk_candidates,
    detectionsPerImg: o.detections_per_img,
    scoreThresh: o.score_thresh,
  });
}

const boxesOf = (rows: number[][]) => tensor(Float32Array.from(rows.flat())).reshape(rows.length, 4);
const targetsOf = (records: Fixture['targets']) => records.map((t) => ({ boxes: boxesOf(t.boxes), labels: tensor(Int32Array.from(t.labels)) }));

interface DetectionRecord {
  label: number;
  score: number;
  box: number[];
}

/** One image's detections as records, in their order. */
function records(d: models.detection.Detection): DetectionRecord[] {
  const [boxes, labels, scores] = [d.boxes.dataSync(), d.labels.dataSync(), d.scores.dataSync()];
  return Array.from(labels, (label, k) => ({ label, score: scores[k]!, box: Array.from(boxes.subarray(4 * k, 4 * k + 4)) }));
}

/** Same label, scores within 1e-3 and box coordinates within 1e-2 px. */
function agrees(a: DetectionRecord, b: DetectionRecord): boolean {
  return a.label === b.label && Math.abs(a.score - b.score) < 1e-3 && a.box.every((v, c) => Math.abs(v - b.box[c]!) < 1e-2);
}

describe('retinanetResnet50Fpn against torchvision', () => {
  interopTest('retinanet_resnet50_fpn.safetensors', command, 'loads torchvision\'s state dict strictly, freezes the same parameters, and gives its detections (eval) and losses (training)', async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const state = new Map([...tensors].filter(([name]) => !name.startsWith('__')));
    const images = [tensors.get('__input__.image0')!, tensors.get('__input__.image1')!];
    const model = fixtureModel();
    expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
    const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
    expect(trainable.sort()).toEqual((metadata.trainable ?? '').split(',').sort());

    model.eval();
    const detections = noGrad(() => model.detect(images));
    expect(detections).toHaveLength(2);
    detections.forEach((d, i) => {
      const expected = fixture.detections[i]!;
      const got = records(d);
      expect(got.length, `image ${i}: detections`).toBe(expected.labels.length);
      // Ours by decreasing score, as torchvision's.
      got.forEach((r, k) => expect(k === 0 || r.score <= got[k - 1]!.score).toBe(true));
      const unused = new Set(got.keys());
      expected.labels.forEach((label, k) => {
        const want = { label, score: expected.scores[k]!, box: expected.boxes[k]! };
        const match = [...unused].find((j) => agrees(got[j]!, want));
        expect(match, `image ${i}: torchvision's detection ${k} ${JSON.stringify(want)} has no counterpart`).toBeDefined();
        unused.delete(match!);
      });
    });

    model.train();
    const losses = model.losses(images, targetsOf(fixture.targets));
    expect(Object.keys(losses).sort()).toEqual(Object.keys(fixture.losses).sort());
    for (const [name, expected] of Object.entries(fixture.losses)) {
      const got = losses[name as keyof typeof losses].item();
      expect(Math.abs(got - expected), name).toBeLessThan(1e-3 * Math.max(1, Math.abs(expected)));
    }
    model.dispose();
  });
});
