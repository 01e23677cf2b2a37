import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, io, manualSeed, models, nn, noGrad, ShapeError, tensor, vision, zeros, type Tensor } from '../../../lib/index.js';
import { describeDevices } from '../../helpers/devices.js';
import { agrees, expectLossesMatch, expectSameDetections, records, targetsOf } from '../../helpers/detection_interop.js';
import { interopTest } from '../../helpers/interop.js';
import { tinyFcos, tinyFcosImages, tinyFcosLosses, tinyFcosMargins, tinyFcosOptions, tinyFcosPart, tinyFcosTargets } from '../../helpers/tiny_fcos.js';

const { FCOS, FCOSHead, fcosResnet50Fpn, LastLevelP6P7, resnetFpnBackbone } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_fcos_interop.py';

// torchvision 0.14's fcos_resnet50_fpn as built for a pretrained backbone (FrozenBatchNorm2d,
// 3 trainable stages, layers 2..4 and P6/P7 from P5), 5 classes, min_size 128, max_size 160,
// seeded random weights with random FrozenBatchNorm2d buffers and biases, the predictors'
// weights scaled so that scores spread out (tests/fixtures/make_fcos_interop.py). FCOS has
// no sampler: training is deterministic there and here. The script picks score_thresh
// (0.506) 8.4e-4 from every one of the 5380 candidate scores (137 above it: 69 and 68
// detections), and detections_per_img 1000 cuts none off; the detections are compared as
// sets (label, score 1e-3, box 1e-2 px), since some neighbours' scores lie within 1e-5 of
// each other, where float32 noise may swap them.
interface Fixture {
  options: { num_classes: number; min_size: number; max_size: number; detections_per_img: number; score_thresh: number };
  scoreMargin: number;
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  detections: Array<{ boxes: number[][]; labels: number[]; scores: number[] }>;
  losses: Record<string, number>;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/fcos_interop.json', import.meta.url), 'utf8')) as Fixture;

function fixtureModel() {
  const o = fixture.options;
  return fcosResnet50Fpn({ numClasses: o.num_classes, minSize: o.min_size, maxSize: o.max_size, scoreThresh: o.score_thresh, detectionsPerImg: o.detections_per_img });
}

describe('fcosResnet50Fpn against torchvision', () => {
  interopTest('fcos_resnet50_fpn.safetensors', command, "loads torchvision's state dict strictly, freezes the same parameters, and gives its detections (eval) and losses (training)", async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const state = new Map([...tensors].filter(([name]) => !name.startsWith('__')));
    const images = [tensors.get('__input__.image0')!, tensors.get('__input__.image1')!];
    const model = fixtureModel();
    expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
    const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
    expect(trainable.sort()).toEqual((metadata.trainable ?? '').split(',').sort());
    // The threshold's margin is what makes the detection sets comparable at all.
    expect(fixture.scoreMargin).toBeGreaterThan(1e-4);

    model.eval();
    const detections = noGrad(() => model.detect(images));
    expect(detections).toHaveLength(2);
    detections.forEach((d, i) => {
      const expected = fixture.detections[i]!;
      const got = records(d);
      expect(expected.labels.length).toBeGreaterThan(10);
      expectSameDetections(i, got, expected);
    });

    model.train();
    const losses = model.losses(images, targetsOf(fixture.targets));
    await expectLossesMatch(losses, fixture.losses);
    // The losses reach the head and the trainable backbone.
    Object.values(losses).reduce((a, b) => a.add(b)).backward();
    const params = new Map(model.namedParameters());
    expect(params.get('head.classification_head.cls_logits.weight')!.grad).not.toBeNull();
    expect(params.get('head.regression_head.bbox_ctrness.weight')!.grad).not.toBeNull();
    expect(params.get('backbone.body.layer4.0.conv1.weight')!.grad).not.toBeNull();
    model.dispose();
  }, { timeout: 300_000 });
});

// The small FCOS of tests/fixtures/make_fcos_fixtures.py (committed, so these always run):
// its threshold, top-k (12 per level, 6 cuts) and detections (10 per image, 3 cuts) cuts
// each lie at least 1e-3 from the nearest score, so the sets cut are torchvision's.
describeDevices('FCOS against a small torchvision FCOS', (device) => {
  it('gives its detections with the candidate and detection cuts in play', () => {
    expect(Math.min(tinyFcosMargins.scoreThresh, tinyFcosMargins.topk, tinyFcosMargins.detectionsPerImg)).toBeGreaterThan(1e-3);
    expect(tinyFcosMargins.topkCuts).toBeGreaterThan(0);
    expect(tinyFcosMargins.detectionsCuts).toBeGreaterThan(0);
    const model = tinyFcos(device);
    const detections = noGrad(() => model.detect(tinyFcosImages(device)));
    detections.forEach((d, i) => {
      const expected = records({
        boxes: tinyFcosPart(`__output__.det${i}.boxes`) as Tensor<'float32'>,
        labels: tinyFcosPart(`__output__.det${i}.labels`) as Tensor<'int32'>,
        scores: tinyFcosPart(`__output__.det${i}.scores`) as Tensor<'float32'>,
      });
      const got = records({ boxes: d.boxes.cpu(), labels: d.labels.cpu(), scores: d.scores.cpu() });
      expect(d.labels.dtype).toBe('int32');
      expect(got.length, `image ${i}`).toBe(tinyFcosOptions.detections_per_img);
      const unused = new Set(got.keys());
      for (const want of expected) {
        const match = [...unused].find((j) => agrees(got[j]!, want));
        expect(match, `image ${i}: torchvision's ${JSON.stringify(want)} has no counterpart`).toBeDefined();
        unused.delete(match!);
      }
    });
    model.dispose();
  });

  it('matches points to boxes as torchvision (centre sampling, level ranges, smallest box) and gives its losses', () => {
    const model = tinyFcos(device);
    model.train();
    const images = tinyFcosImages(device);
    const targets = tinyFcosTargets(device);
    const [imageList, resized] = model.transform.call(images, targets);
    const features = [...model.backbone.call(imageList.tensors).values()];
    const anchors = model.anchorGenerator.call(imageList, features);
    const perLevel = features.map((f) => f.shape[2]! * f.shape[3]!);
    const matched = model.matchPoints(anchors, resized!, perLevel);
    matched.forEach((m, i) => {
      expect(m.dtype).toBe('int32');
      expect(Array.from(m.cpu().dataSync()), `image ${i}`).toEqual(Array.from(tinyFcosPart(`__output__.matched${i}`).dataSync()));
    });
    // The fixture exercises both kinds of points, and an image without boxes.
    expect(matched.map((m) => Array.from(m.cpu().dataSync()).filter((v) => v >= 0).length)).toEqual([19, 9, 0]);

    const losses = model.losses(images, targets);
    expect(Object.keys(losses).sort()).toEqual(['bbox_ctrness', 'bbox_regression', 'classification']);
    for (const [name, expected] of Object.entries(tinyFcosLosses.losses)) {
      expect(Math.abs(losses[name as keyof typeof losses].item() - expected), name).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected)));
    }
    model.dispose();
  });

  it('trains on images without boxes: the box losses are 0 and the classification loss is divided by 1', () => {
    const model = tinyFcos(device);
    model.train();
    const empty = [0, 1, 2].map(() => ({ boxes: zeros([0, 4], { device }), labels: zeros([0], { dtype: 'int32', device }) }));
    const losses = model.losses(tinyFcosImages(device), empty);
    for (const [name, expected] of Object.entries(tinyFcosLosses.lossesEmpty)) {
      expect(Math.abs(losses[name as keyof typeof losses].item() - expected), name).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected)));
    }
    // Gradients stay finite where no point has a box.
    losses.classification.add(losses.bbox_regression).add(losses.bbox_ctrness).backward();
    for (const [name, p] of model.namedParameters()) {
      expect(Array.from(p.grad!.cpu().dataSync()).every(Number.isFinite), name).toBe(true);
    }
    model.dispose();
  });
});

describe('FCOS', () => {
  it("builds torchvision's defaults, state-dict names and parameter count", () => {
    manualSeed(0);
    const model = fcosResnet50Fpn();
    expect(model.transform.minSize).toEqual([800]);
    expect(model.transform.maxSize).toBe(1333);
    expect(model.transform.imageMean).toEqual([0.485, 0.456, 0.406]);
    expect(model.transform.imageStd).toEqual([0.229, 0.224, 0.225]);
    expect(model.anchorGenerator.sizes).toEqual([[8], [16], [32], [64], [128]]);
    expect(model.anchorGenerator.aspectRatios).toEqual([[1], [1], [1], [1], [1]]);
    expect([model.centerSamplingRadius, model.scoreThresh, model.nmsThresh, model.detectionsPerImg, model.topkCandidates]).toEqual([1.5, 0.2, 0.6, 100, 1000]);
    const state = model.stateDict();
    const names = [...state.keys()];
    expect(names).toContain('backbone.body.layer4.2.conv3.weight');
    expect(names).toContain('backbone.fpn.extra_blocks.p7.weight');
    expect(names).toContain('head.classification_head.conv.9.weight');
    expect(names).toContain('head.regression_head.bbox_ctrness.bias');
    expect(names.every((n) => /^(backbone|head)\./.test(n))).toBe(true);
    // returnedLayers [2, 3, 4]: three pyramid inputs, not four.
    expect(names).toContain('backbone.fpn.inner_blocks.2.0.weight');
    expect(names.some((n) => n.includes('fpn.inner_blocks.3'))).toBe(false);
    expect(state.get('head.classification_head.cls_logits.weight')!.shape).toEqual([91, 256, 3, 3]);
    expect(state.get('head.classification_head.conv.1.weight')!.shape).toEqual([256]); // GroupNorm
    // torchvision's FCOS_ResNet50_FPN_Weights.COCO_V1.meta.num_params.
    const count = [...model.namedParameters()].reduce((n, [, p]) => n + p.numel, 0);
    expect(count).toBe(32269600);
    // trainableBackboneLayers 3: layer2..layer4 train, conv1 and layer1 do not.
    const params = new Map(model.namedParameters());
    expect(params.get('backbone.body.conv1.weight')!.requiresGrad).toBe(false);
    expect(params.get('backbone.body.layer1.0.conv1.weight')!.requiresGrad).toBe(false);
    expect(params.get('backbone.body.layer2.0.conv1.weight')!.requiresGrad).toBe(true);
    model.dispose();
  });

  it('says what is wrong with its arguments, its mode and the targets', () => {
    const backbone = resnetFpnBackbone({ backboneName: 'resnet18', returnedLayers: [2, 3, 4], extraBlocks: new LastLevelP6P7(256, 256) });
    expect(() => new FCOS(new nn.Linear(2, 2) as unknown as models.detection.DetectionBackbone, 3)).toThrow(/FCOS: expected backbone to be a Module with outChannels/);
    expect(() => new FCOS(backbone, 0)).toThrow(/FCOS: expected numClasses to be an integer >= 1, got 0/);
    expect(() => new FCOS(backbone, 3, { anchorGenerator: new vision.AnchorGenerator([[8], [16]], [0.5, 1]) })).toThrow(/FCOS: expected anchorGenerator to make one anchor per location .*got 2/);
    expect(() => new FCOS(backbone, 3, { head: new nn.Linear(2, 2) as unknown as models.detection.FCOSHead })).toThrow(/FCOS: expected head to be an FCOSHead/);
    expect(() => new FCOS(backbone, 3, { scoreThresh: Number.NaN })).toThrow(/FCOS: expected scoreThresh to be a number, got NaN/);
    expect(() => new FCOS(backbone, 3, { detectionsPerImg: -1 })).toThrow(ArgumentError);
    expect(new FCOS(backbone, 3, { head: new FCOSHead(256, 1, 7) }).head.numClasses).toBe(7);
    backbone.dispose();

    const model = tinyFcos('cpu');
    const images = tinyFcosImages();
    const targets = tinyFcosTargets();
    expect(() => model.losses(images, targets)).toThrow(/FCOS.losses: expected the model in training mode, got eval mode/);
    model.train();
    expect(() => model.detect(images)).toThrow(/FCOS.detect: expected the model in eval mode, got training mode/);
    expect(() => model.call(images)).toThrow(/FCOS.forward: expected targets \(one \{ boxes, labels \} per image\) in training mode, got undefined/);
    const withBoxes = (i: number, boxes: Tensor) => targets.map((t, j) => (j === i ? { ...t, boxes } : t));
    expect(() => model.losses(images, withBoxes(1, zeros([1, 3])))).toThrow(ShapeError);
    expect(() => model.losses(images, withBoxes(1, zeros([1, 3])))).toThrow(/FCOS.forward: expected targets\[1\].boxes to be a Tensor of shape \[G, 4\], got \[1, 3\]/);
    expect(() => model.losses(images, withBoxes(1, tensor(Float32Array.of(5, 5, 5, 9)).reshape(1, 4)))).toThrow(/FCOS.forward: all boxes must have positive width and height; targets\[1\].boxes\[0\] is \[5, 5, 5, 9\]/);
    const withLabels = (labels: Tensor) => targets.map((t, j) => (j === 1 ? { ...t, labels } : t));
    expect(() => model.losses(images, withLabels(tensor(Int32Array.of(1, 2))))).toThrow(/FCOS.forward: expected targets\[1\].labels to be a Tensor of shape \[1\] \(one per box\), got \[2\]/);
    expect(() => model.losses(images, withLabels(tensor(Float32Array.of(1))))).toThrow(DTypeError);
    expect(() => model.losses(images, withLabels(tensor(Int32Array.of(3))))).toThrow(/FCOS.forward: expected targets\[1\].labels in \[0, 3\) \(the head's classes\), got 3/);
    expect(() => model.matchPoints([zeros([4, 4])], [], [4])).toThrow(/FCOS.matchPoints: expected one anchors tensor per target/);
    expect(() => model.matchPoints([zeros([4, 4])], [{ boxes: zeros([1, 4]) }], [])).toThrow(/FCOS.matchPoints: expected numAnchorsPerLevel to be a non-empty array/);
    expect(() => model.matchPoints([zeros([4, 4])], [{ boxes: zeros([1, 4]) }], [3])).toThrow(/FCOS.matchPoints: expected anchors\[0\] of shape \[3, 4\], got \[4, 4\]/);
    expect(() => model.matchPoints([zeros([4, 4])], [{ boxes: zeros([4]) }], [4])).toThrow(/FCOS.matchPoints: expected targets\[0\].boxes of shape \[G, 4\], got \[4\]/);
    const outputs = { clsLogits: zeros([1, 4, 3]), bboxRegression: zeros([1, 4, 4]), bboxCtrness: zeros([1, 4, 1]) } as models.detection.FCOSHeadOutputs;
    // Zero logits: every one of the 4 x 3 scores is sqrt(0.5 * 0.5), above 0.281; 10 are kept.
    const [few] = model.postprocessDetections(outputs, [zeros([4, 4])], [[32, 32]], [4]);
    expect([few!.boxes.shape, few!.labels.dtype, Array.from(few!.scores.dataSync()).every((v) => v === 0.5)]).toEqual([[10, 4], 'int32', true]);
    expect(() => model.postprocessDetections(outputs, [zeros([4, 4])], [[32, 32]], [2, 1])).toThrow(/FCOS.postprocessDetections: expected headOutputs.clsLogits of shape \[1, 3, 3\], got \[1, 4, 3\]/);
    expect(() => model.postprocessDetections({ ...outputs, bboxCtrness: zeros([1, 4]) }, [zeros([4, 4])], [[32, 32]], [4])).toThrow(ShapeError);
    expect(() => model.postprocessDetections(outputs, [], [[32, 32]], [4])).toThrow(/FCOS.postprocessDetections: expected one anchors tensor per image size/);
    model.dispose();
  });
});
