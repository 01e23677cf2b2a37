import { readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, io, manualSeed, models, nn, noGrad, rand, tensor, vision } from '../../../lib/index.js';
import { boxesOf, expectLossesMatch, expectSameDetections, records, targetsOf, yieldToEventLoop } from '../../helpers/detection_interop.js';
import { interopTest } from '../../helpers/interop.js';

const { RetinaNet, LastLevelP6P7, retinanetDefaultAnchorGenerator, retinanetResnet50Fpn, resnetFpnBackbone } = models.detection;
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

describe('retinanetResnet50Fpn against torchvision', () => {
  interopTest('retinanet_resnet50_fpn.safetensors', command, 'loads torchvision\'s state dict strictly, freezes the same parameters, and gives its detections (eval) and losses (training)', async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const state = new Map([...tensors].filter(([name]) => !name.startsWith('__')));
    const images = [tensors.get('__input__.image0')!, tensors.get('__input__.image1')!];
    const model = fixtureModel();
    expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
    const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
    expect(trainable.sort()).toEqual((metadata.trainable ?? '').split(',').sort());
    await yieldToEventLoop();

    model.eval();
    const detections = noGrad(() => model.detect(images));
    await yieldToEventLoop();
    expect(detections).toHaveLength(2);
    detections.forEach((d, i) => {
      const expected = fixture.detections[i]!;
      const got = records(d);
      expectSameDetections(i, got, expected);
    });

    await yieldToEventLoop();

    model.train();
    const losses = model.losses(images, targetsOf(fixture.targets));
    await yieldToEventLoop();
    await expectLossesMatch(losses, fixture.losses);
    model.dispose();
  });
});

/** A RetinaNet of small parts: ResNet-18 FPN over layer2..4 with P6/P7, 3 classes, images resized to a shorter side of 32. */
function smallModel(opts: models.detection.RetinaNetOptions = {}) {
  const backbone = resnetFpnBackbone({ backboneName: 'resnet18', returnedLayers: [2, 3, 4], extraBlocks: new LastLevelP6P7(256, 256) });
  return new RetinaNet(backbone, 3, { minSize: 32, maxSize: 48, ...opts });
}

// Building ResNets and running them on the CPU takes a while on a loaded machine; the tests
// are synchronous, so a turn of the event loop follows each (see yieldToEventLoop).
describe('RetinaNet', { timeout: 180_000 }, () => {
  afterEach(yieldToEventLoop);

  it('builds torchvision\'s defaults and state-dict names (retinanet_resnet50_fpn, v1)', () => {
    manualSeed(0);
    const model = retinanetResnet50Fpn();
    expect(model.transform.minSize).toEqual([800]);
    expect(model.transform.maxSize).toBe(1333);
    expect(model.transform.imageMean).toEqual([0.485, 0.456, 0.406]);
    expect(model.transform.imageStd).toEqual([0.229, 0.224, 0.225]);
    expect(model.anchorGenerator.sizes).toEqual([[32, 40, 50], [64, 80, 101], [128, 161, 203], [256, 322, 406], [512, 645, 812]]);
    expect(model.anchorGenerator.aspectRatios).toEqual(Array.from({ length: 5 }, () => [0.5, 1, 2]));
    expect([model.proposalMatcher.highThreshold, model.proposalMatcher.lowThreshold, model.proposalMatcher.allowLowQualityMatches]).toEqual([0.5, 0.4, true]);
    expect([model.scoreThresh, model.nmsThresh, model.detectionsPerImg, model.topkCandidates]).toEqual([0.05, 0.5, 300, 1000]);
    expect(model.boxCoder.weights).toEqual([1, 1, 1, 1]);
    expect([...model.namedChildren()].map(([name]) => name)).toEqual(['backbone', 'anchor_generator', 'head', 'transform']);
    const dict = model.stateDict();
    const names = [...dict.keys()];
    expect(names).toContain('head.classification_head.conv.0.0.weight');
    expect(names).toContain('head.regression_head.bbox_reg.bias');
    expect(names).toContain('backbone.fpn.extra_blocks.p6.weight');
    // layer2..layer4 feed the pyramid: three inner blocks, the first from layer2's 512 channels.
    expect(dict.get('backbone.fpn.inner_blocks.0.0.weight')!.shape).toEqual([256, 512, 1, 1]);
    expect(names).not.toContain('backbone.fpn.inner_blocks.3.0.weight');
    expect(dict.get('head.classification_head.cls_logits.weight')!.shape).toEqual([9 * 91, 256, 3, 3]);
    expect(names.every((n) => /^(backbone|head)\./.test(n))).toBe(true);
    // trainableBackboneLayers 3: layer2..layer4 train, conv1 and layer1 do not.
    const params = new Map(model.namedParameters());
    expect(params.get('backbone.body.conv1.weight')!.requiresGrad).toBe(false);
    expect(params.get('backbone.body.layer1.0.conv1.weight')!.requiresGrad).toBe(false);
    expect(params.get('backbone.body.layer2.0.conv1.weight')!.requiresGrad).toBe(true);
    model.dispose();
  });

  describe('on a small ResNet-18 model', () => {
    manualSeed(0);
    // Untrained, every score is about the prior, 0.01: a lower threshold lets detections through.
    const model = smallModel({ scoreThresh: 0.005 });
    const images = [rand([3, 24, 32]), rand([3, 20, 20])];
    const targets = [
      { boxes: boxesOf([[2, 2, 15, 20], [10, 5, 30, 15]]), labels: tensor(Int32Array.of(1, 2)) },
      { boxes: boxesOf([[1, 2, 10, 12]]), labels: tensor(Int32Array.of(0)) },
    ];

    it('returns { classification, bbox_regression } in training; they reach the trainable parameters and not the frozen ones', () => {
      model.train();
      const losses = model.call(images, targets) as models.detection.RetinaNetLosses;
      expect(Object.keys(losses).sort()).toEqual(['bbox_regression', 'classification']);
      const total = losses.classification.add(losses.bbox_regression);
      expect(Number.isFinite(total.item())).toBe(true);
      total.backward();
      const params = new Map(model.namedParameters());
      for (const name of ['head.classification_head.cls_logits.weight', 'head.regression_head.bbox_reg.weight', 'backbone.fpn.extra_blocks.p7.weight', 'backbone.body.layer4.0.conv1.weight']) {
        expect(params.get(name)!.grad, name).not.toBeNull();
      }
      expect(params.get('backbone.body.conv1.weight')!.grad).toBeNull();
      model.zeroGrad();
    });

    it('trains on an image without boxes: every anchor is background, its box loss 0', () => {
      model.train();
      const background = [{ boxes: boxesOf([]), labels: tensor(new Int32Array(0)) }];
      const losses = model.losses([images[0]!], background);
      expect(losses.bbox_regression.item()).toBe(0);
      // The focal loss of every anchor against all-zero targets, over max(1, 0) foreground.
      expect(losses.classification.item()).toBeGreaterThan(0);
      losses.classification.backward();
      expect(new Map(model.namedParameters()).get('head.classification_head.cls_logits.bias')!.grad).not.toBeNull();
      model.zeroGrad();
    });

    it('returns one { boxes, labels, scores } per image in eval, in the original image\'s pixels, by decreasing score', () => {
      model.eval();
      const detections = noGrad(() => model.call(images)) as models.detection.Detection[];
      expect(detections).toHaveLength(2);
      detections.forEach((d, i) => {
        const [h, w] = [images[i]!.shape[1]!, images[i]!.shape[2]!];
        const k = d.boxes.shape[0]!;
        expect(k).toBeGreaterThan(0);
        expect(k).toBeLessThanOrEqual(300);
        expect([d.boxes.dtype, d.labels.dtype, d.scores.dtype]).toEqual(['float32', 'int32', 'float32']);
        expect([d.labels.shape, d.scores.shape]).toEqual([[k], [k]]);
        const [b, s, l] = [d.boxes.dataSync(), d.scores.dataSync(), d.labels.dataSync()];
        for (let j = 0; j < k; ++j) {
          // The transform resized the images up (to a shorter side of 32): unscaled boxes would reach past them.
          expect(b[4 * j + 2]!).toBeLessThanOrEqual(w + 1e-3);
          expect(b[4 * j + 3]!).toBeLessThanOrEqual(h + 1e-3);
          expect(s[j]!).toBeGreaterThan(0.005);
          expect(j === 0 || s[j]! <= s[j - 1]!).toBe(true);
          expect(l[j]! >= 0 && l[j]! < 3).toBe(true);
        }
      });
    });

    it('keeps detectionsPerImg detections, and none above a score threshold of 1', () => {
      // The same backbone and head (shared modules) under other post-processing options.
      const withOptions = (opts: models.detection.RetinaNetOptions) => new RetinaNet(model.backbone, null, { head: model.head, minSize: 32, maxSize: 48, ...opts }).eval();
      expect(noGrad(() => withOptions({ scoreThresh: 0.005, detectionsPerImg: 4 }).detect(images)).map((d) => d.boxes.shape[0])).toEqual([4, 4]);
      expect(noGrad(() => withOptions({ scoreThresh: 1 }).detect(images)).map((d) => d.boxes.shape)).toEqual([[0, 4], [0, 4]]);
    });

    it('rejects training without targets, bad targets and labels, and the wrong mode for detect() and losses()', () => {
      model.train();
      expect(() => model.call(images)).toThrow(/RetinaNet.forward: expected targets .* in training mode, got undefined/);
      expect(() => model.detect(images)).toThrow(/RetinaNet.detect: expected the model in eval mode, got training mode: call eval\(\) first/);
      const degenerate = [targets[0]!, { boxes: boxesOf([[10, 10, 10, 20]]), labels: tensor(Int32Array.of(1)) }];
      expect(() => model.losses(images, degenerate)).toThrow(/targets\[1\].boxes\[0\] is \[10, 10, 10, 20\]/);
      expect(() => model.losses(images, [targets[0]!, { boxes: tensor(Float32Array.of(1, 2, 3)).reshape(1, 3), labels: tensor(Int32Array.of(1)) }])).toThrow(ShapeError);
      expect(() => model.losses(images, [targets[0]!, { boxes: boxesOf([[1, 2, 8, 9]]), labels: tensor(Int32Array.of(1, 2)) }])).toThrow(/RetinaNet.forward: expected targets\[1\].labels to be a Tensor of shape \[1\]/);
      expect(() => model.losses(images, [targets[0]!, { boxes: boxesOf([[1, 2, 8, 9]]), labels: tensor(Float32Array.of(1)) }])).toThrow(DTypeError);
      expect(() => model.losses(images, [targets[0]!, { boxes: boxesOf([[1, 2, 8, 9]]), labels: tensor(Int32Array.of(3)) }])).toThrow(/RetinaNet.forward: expected targets\[1\].labels in \[0, 3\) \(the head's numClasses\), got 3/);
      model.eval();
      expect(() => model.losses(images, targets)).toThrow(/RetinaNet.losses: expected the model in training mode, got eval mode/);
    });

    it('rejects a bad backbone, head or options, and numClasses with head or neither', () => {
      const backbone = model.backbone;
      expect(() => new RetinaNet(new nn.Linear(2, 2) as unknown as models.detection.DetectionBackbone, 3)).toThrow(/RetinaNet: expected backbone to be a Module with outChannels/);
      expect(() => new RetinaNet(backbone, 3, { head: model.head })).toThrow(/RetinaNet: numClasses should be null when head is given, got 3/);
      expect(() => new RetinaNet(backbone, null)).toThrow(/RetinaNet: numClasses should be given when head is not, got null/);
      expect(() => new RetinaNet(backbone, 0)).toThrow(ArgumentError);
      expect(() => new RetinaNet(backbone, null, { head: new nn.Linear(2, 2) as unknown as models.detection.RetinaNetHeadModule })).toThrow(/RetinaNet: expected head to be a Module with computeLoss/);
      expect(() => new RetinaNet(backbone, 3, { nmsThresh: 2 })).toThrow(/RetinaNet: expected nmsThresh in \[0, 1\], got 2/);
      expect(() => new RetinaNet(backbone, 3, { topkCandidates: -1 })).toThrow(ArgumentError);
      expect(() => new RetinaNet(backbone, 3, { fgIouThresh: 0.3, bgIouThresh: 0.4 })).toThrow(/Matcher: expected lowThreshold <= highThreshold/);
      expect(new RetinaNet(backbone, null, { head: model.head }).head).toBe(model.head);
    });

    it('rejects a head whose predictions do not cover the anchors (ShapeError)', () => {
      const mismatched = new RetinaNet(model.backbone, null, { head: model.head, anchorGenerator: new vision.AnchorGenerator([32, 64, 128, 256, 512], [1]) });
      mismatched.eval();
      expect(() => noGrad(() => mismatched.detect(images))).toThrow(/RetinaNet.forward: expected the head's cls_logits of shape \[N, \d+, numClasses\] \(one row per anchor of the anchor generator\), got \[2, \d+, 3\]/);
    });
  });

  it('retinanetDefaultAnchorGenerator gives torchvision\'s _default_anchorgen (9 anchors per cell)', () => {
    const anchors = retinanetDefaultAnchorGenerator();
    expect(anchors.numAnchorsPerLocation()).toEqual([9, 9, 9, 9, 9]);
    // Level 0's cell anchors, as torchvision's (ratio major, then size; rounded half to even).
    expect((anchors.cellAnchors[0]!.tolist() as number[][]).slice(0, 3)).toEqual([[-23, -11, 23, 11], [-28, -14, 28, 14], [-35, -18, 35, 18]]);
  });
});
