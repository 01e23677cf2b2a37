import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ArgumentError, io, manualSeed, models, nn, noGrad, tensor } from '../../../lib/index.js';
import { expectLossesMatch, expectSameDetections, records, targetsOf } from '../../helpers/detection_interop.js';
import { interopTest } from '../../helpers/interop.js';

const { FasterRCNN, FastRCNNPredictor, GeneralizedRCNN, fasterrcnnResnet50Fpn, resnetFpnBackbone } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_faster_rcnn_interop.py';

// torchvision 0.14's fasterrcnn_resnet50_fpn as built for a pretrained backbone
// (FrozenBatchNorm2d, 3 trainable stages), 5 classes, min_size 128, max_size 160, seeded
// random weights with random FrozenBatchNorm2d buffers and biases, the predictors' weights
// scaled down so that scores do not saturate and deltas stay tame
// (tests/fixtures/make_faster_rcnn_interop.py). The samplers' batch sizes exceed every
// candidate count, so training is deterministic there and here. box_score_thresh 0.445 lies
// 1.7e-3 from every score (75 and 49 detections), and box_detections_per_img 1000 cuts none
// off; the detections are compared as sets (label, score 1e-3, box 1e-2 px), since some
// neighbours' scores lie within 2e-5 of each other, where float32 noise may swap them.
interface Fixture {
  options: { num_classes: number; min_size: number; max_size: number; rpn_batch_size_per_image: number; box_batch_size_per_image: number; box_score_thresh: number; box_detections_per_img: number };
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  detections: Array<{ boxes: number[][]; labels: number[]; scores: number[] }>;
  losses: Record<string, number>;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/faster_rcnn_interop.json', import.meta.url), 'utf8')) as Fixture;

function fixtureModel() {
  const o = fixture.options;
  return fasterrcnnResnet50Fpn({
    numClasses: o.num_classes,
    minSize: o.min_size,
    maxSize: o.max_size,
    rpnBatchSizePerImage: o.rpn_batch_size_per_image,
    boxBatchSizePerImage: o.box_batch_size_per_image,
    boxScoreThresh: o.box_score_thresh,
    boxDetectionsPerImg: o.box_detections_per_img,
  });
}

describe('fasterrcnnResnet50Fpn against torchvision', () => {
  interopTest('faster_rcnn_resnet50_fpn.safetensors', command, 'loads torchvision\'s state dict strictly, freezes the same parameters, and gives its detections (eval) and losses (training)', async (path) => {
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
      expectSameDetections(i, got, expected);
    });

    model.train();
    const losses = model.losses(images, targetsOf(fixture.targets));
    await expectLossesMatch(losses, fixture.losses);
    model.dispose();
  });
});

describe('FasterRCNN', () => {
  it('builds torchvision\'s defaults and state-dict names', () => {
    manualSeed(0);
    const model = fasterrcnnResnet50Fpn();
    expect(model.transform.minSize).toEqual([800]);
    expect(model.transform.maxSize).toBe(1333);
    expect(model.transform.imageMean).toEqual([0.485, 0.456, 0.406]);
    expect(model.transform.imageStd).toEqual([0.229, 0.224, 0.225]);
    expect(model.rpn.preNmsTopNCounts).toEqual({ training: 2000, testing: 1000 });
    expect(model.rpn.postNmsTopNCounts).toEqual({ training: 2000, testing: 1000 });
    expect(model.rpn.nmsThresh).toBe(0.7);
    expect(model.rpn.anchorGenerator.numAnchorsPerLocation()).toEqual([3, 3, 3, 3, 3]);
    expect(model.roiHeads.boxRoiPool.featmapNames).toEqual(['0', '1', '2', '3']);
    expect(model.roiHeads.boxRoiPool.outputSize).toEqual([7, 7]);
    expect([model.roiHeads.scoreThresh, model.roiHeads.nmsThresh, model.roiHeads.detectionsPerImg]).toEqual([0.05, 0.5, 100]);
    const names = [...model.stateDict().keys()];
    expect(names).toContain('backbone.body.layer4.2.conv3.weight');
    expect(names).toContain('rpn.head.cls_logits.weight');
    expect(names).toContain('roi_heads.box_head.fc6.weight');
    expect(model.stateDict().get('roi_heads.box_head.fc6.weight')!.shape).toEqual([1024, 256 * 7 * 7]);
    expect(model.stateDict().get('roi_heads.box_predictor.cls_score.weight')!.shape).toEqual([91, 1024]);
    expect(names.every((n) => /^(backbone|rpn|roi_heads)\./.test(n))).toBe(true);
    // trainableBackboneLayers 3: layer2..layer4 train, conv1 and layer1 do not.
    const params = new Map(model.namedParameters());
    expect(params.get('backbone.body.conv1.weight')!.requiresGrad).toBe(false);
    expect(params.get('backbone.body.layer1.0.conv1.weight')!.requiresGrad).toBe(false);
    expect(params.get('backbone.body.layer2.0.conv1.weight')!.requiresGrad).toBe(true);
    model.dispose();
  });

  it('rejects a bad backbone, and numClasses with boxPredictor or neither', () => {
    const backbone = resnetFpnBackbone({ backboneName: 'resnet18' });
    expect(() => new FasterRCNN(new nn.Linear(2, 2) as unknown as models.detection.DetectionBackbone, 3)).toThrow(/FasterRCNN: expected backbone to be a Module with outChannels/);
    expect(() => new FasterRCNN(backbone, 3, { boxPredictor: new FastRCNNPredictor(1024, 3) })).toThrow(ArgumentError);
    expect(() => new FasterRCNN(backbone, null)).toThrow(/FasterRCNN: numClasses should be given when boxPredictor is not/);
    expect(() => new FasterRCNN(backbone, 0)).toThrow(ArgumentError);
    const model = new FasterRCNN(backbone, null, { boxPredictor: new FastRCNNPredictor(1024, 3) });
    expect(model).toBeInstanceOf(GeneralizedRCNN);
    model.dispose();
  });
});
