import { describe, expect, it } from 'vitest';

import { ArgumentError, ShapeError, io, models, nn, noGrad, rand, tensor } from '../../../lib/index.js';
import { boxesOf, records } from '../../helpers/detection_interop.js';
import { interopTest } from '../../helpers/interop.js';
import { expectSSDMatchesTorchvision, readSSDFixture, type SSDFixture } from '../../helpers/ssd_interop.js';

const { SSDLiteHead, SSDLiteFeatureExtractorMobileNet, ssdlite320MobilenetV3Large } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_ssdlite_interop.py';

// torchvision 0.14's ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None,
// num_classes=5): all of MobileNetV3 trainable, BatchNorm statistics from a calibration batch
// and random affines and biases, the predictors' 1x1 weights scaled so that scores neither
// tie nor saturate (tests/fixtures/make_ssdlite_interop.py). score_thresh lies in the widest
// gap between all (box, class) scores among the top 1%..0.2% (its margin, 1.6e-3, is
// recorded), topk_candidates and detections_per_img cut nothing, so no float32 noise can move
// a candidate in or out; the detections are compared as sets (label, score 1e-3, box 1e-2 px).
// Hard-negative mining's cut lies between losses 1.7e-3 and 1.6e-2 apart (recorded), so the
// same negatives are picked. The losses are of training mode, BatchNorm on batch statistics.
interface Fixture extends SSDFixture {
  parameter_counts: { full_tail: number; 'width_0.5': number };
}
const fixture = readSSDFixture<Fixture>('ssdlite_interop.json');

describe('ssdlite320MobilenetV3Large against torchvision', () => {
  interopTest('ssdlite320_mobilenet_v3_large.safetensors', command, 'loads torchvision\'s state dict strictly, makes its default boxes, and gives its detections (eval) and losses (training)', async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const o = fixture.options;
    const model = ssdlite320MobilenetV3Large({ numClasses: o.num_classes, topkCandidates: o.topk_candidates, detectionsPerImg: o.detections_per_img, scoreThresh: o.score_thresh });
    await expectSSDMatchesTorchvision(model, tensors, metadata, fixture, { size: 320, featureSizes: [20, 10, 5, 3, 2, 1], defaultBoxes: 3234, scoreMargin: 1e-3 });
  }, { timeout: 400_000 });
});

describe('ssdlite320MobilenetV3Large', { timeout: 180_000 }, () => {
  it('builds torchvision\'s layout, names, parameter count (91 classes), default boxes, transform and defaults', () => {
    const model = ssdlite320MobilenetV3Large();
    const names = [...model.stateDict().keys()];
    // torchvision's state dict: 476 entries, num_batches_tracked included.
    expect(names).toHaveLength(476);
    for (const name of [
      'backbone.features.0.0.0.weight',
      'backbone.features.0.13.0.weight',
      'backbone.features.0.13.1.running_var',
      'backbone.features.1.0.1.0.weight',
      'backbone.features.1.0.2.fc1.weight',
      'backbone.features.1.0.3.1.bias',
      'backbone.features.1.3.0.weight',
      'backbone.extra.0.1.0.weight',
      'backbone.extra.3.2.1.num_batches_tracked',
      'head.classification_head.module_list.0.0.0.weight',
      'head.classification_head.module_list.5.1.bias',
      'head.regression_head.module_list.0.0.1.running_mean',
    ]) {
      expect(names, name).toContain(name);
    }
    const params = [...model.namedParameters()];
    // torchvision's SSDLite320_MobileNet_V3_Large_Weights.COCO_V1.meta["num_params"].
    expect(params.reduce((s, [, p]) => s + p.numel, 0)).toBe(3440060);
    expect(params.every(([, p]) => p.requiresGrad)).toBe(true);
    expect(model.backbone).toBeInstanceOf(SSDLiteFeatureExtractorMobileNet);
    expect(model.backbone.outChannels).toEqual([672, 480, 512, 256, 256, 128]);
    expect(model.head).toBeInstanceOf(SSDLiteHead);
    expect(model.anchorGenerator.numAnchorsPerLocation()).toEqual([6, 6, 6, 6, 6, 6]);
    expect(model.anchorGenerator.scales.map((s) => Number(s.toFixed(4)))).toEqual([0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1]);
    expect(model.anchorGenerator.steps).toBeNull();
    expect(model.transform.fixedSize).toEqual([320, 320]);
    expect(model.transform.sizeDivisible).toBe(1);
    expect(model.transform.imageMean).toEqual([0.5, 0.5, 0.5]);
    expect(model.transform.imageStd).toEqual([0.5, 0.5, 0.5]);
    expect([model.scoreThresh, model.nmsThresh, model.detectionsPerImg, model.topkCandidates, model.negToPosRatio]).toEqual([0.001, 0.55, 300, 300, 3]);
    // BatchNorm2d(eps=0.001, momentum=0.03) everywhere, as torchvision's norm_layer.
    const norms = [...model.modules()].filter((m) => m instanceof nn.BatchNorm2d);
    expect(norms).toHaveLength(70); // torchvision's count
    expect(norms.every((m) => m.extraRepr().endsWith('eps=0.001, momentum=0.03'))).toBe(true);
    model.dispose();
  });

  it('runs at 320x320 whatever the image size: six maps of 20..1 cells, 3234 boxes; detections in the image\'s pixels', () => {
    const model = ssdlite320MobilenetV3Large({ numClasses: 3 });
    model.eval();
    const maps = noGrad(() => model.backbone.call(rand([1, 3, 320, 320])));
    expect([...maps.values()].map((t) => t.shape)).toEqual([[1, 672, 20, 20], [1, 480, 10, 10], [1, 512, 5, 5], [1, 256, 3, 3], [1, 256, 2, 2], [1, 128, 1, 1]]);
    const [d] = noGrad(() => model.detect([rand([3, 90, 120])]));
    const got = records(d!);
    expect(got.length).toBeGreaterThan(0);
    for (const r of got) {
      expect(r.label >= 1 && r.label < 3).toBe(true);
      expect(r.box[0]! >= 0 && r.box[2]! <= 120 + 1e-3 && r.box[1]! >= 0 && r.box[3]! <= 90 + 1e-3).toBe(true);
    }
    model.dispose();
  });

  it('trains: losses reach the head, the extra blocks and the backbone; labels are checked against SSDlite\'s classes', () => {
    const model = ssdlite320MobilenetV3Large({ numClasses: 3 });
    model.train();
    const images = [rand([3, 64, 64]), rand([3, 48, 80])];
    const targets = [
      { boxes: boxesOf([[4, 4, 40, 50]]), labels: tensor(Int32Array.of(1)) },
      { boxes: boxesOf([[10, 5, 70, 40]]), labels: tensor(Int32Array.of(2)) },
    ];
    const losses = model.losses(images, targets);
    const total = losses.classification.add(losses.bbox_regression);
    expect(Number.isFinite(total.item()) && total.item() > 0).toBe(true);
    total.backward();
    const params = new Map(model.namedParameters());
    for (const name of ['head.classification_head.module_list.0.1.weight', 'head.regression_head.module_list.5.0.0.weight', 'backbone.extra.3.2.0.weight', 'backbone.features.0.0.0.weight']) {
      expect(params.get(name)!.grad, name).not.toBeNull();
    }
    // SSD checks labels against its head's classes: SSDlite's head counts too.
    expect(() => model.losses(images, [targets[0]!, { boxes: boxesOf([[1, 2, 20, 22]]), labels: tensor(Int32Array.of(3)) }])).toThrow(/expected targets\[1\].labels in \[0, 3\) \(the head's numClasses\), got 3/);
    model.dispose();
  });

  it('freezes all but the top trainableBackboneLayers stages; reducedTail and widthMult shape the backbone', () => {
    const frozen = ssdlite320MobilenetV3Large({ numClasses: 2, trainableBackboneLayers: 1 });
    const trainable = [...frozen.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
    // Stage 6 (torchvision's stage_indices [0, 2, 4, 7, 13, 16]) is the last 1x1 convolution.
    expect(trainable.filter((n) => n.startsWith('backbone.features'))).toEqual(['backbone.features.1.3.0.weight', 'backbone.features.1.3.1.weight', 'backbone.features.1.3.1.bias']);
    expect(trainable.some((n) => n.startsWith('backbone.extra.'))).toBe(true);
    frozen.dispose();
    const none = ssdlite320MobilenetV3Large({ numClasses: 2, trainableBackboneLayers: 0 });
    expect([...none.namedParameters()].filter(([n, p]) => n.startsWith('backbone.features') && p.requiresGrad)).toEqual([]);
    none.dispose();
    // torchvision's _mobilenet_extractor(mobilenet_v3_large(reduced_tail, width_mult)) + SSDLiteHead, 5 classes (the fixture script counts them).
    const count = (m: models.detection.SSD) => [...m.parameters()].reduce((s, p) => s + p.numel, 0);
    const fullTail = ssdlite320MobilenetV3Large({ numClasses: 5, reducedTail: false });
    expect(fullTail.backbone.outChannels).toEqual([672, 960, 512, 256, 256, 128]);
    expect(count(fullTail)).toBe(fixture.parameter_counts.full_tail);
    fullTail.dispose();
    const narrow = ssdlite320MobilenetV3Large({ numClasses: 5, widthMult: 0.5 });
    expect(narrow.backbone.outChannels).toEqual([336, 240, 512, 256, 256, 128]);
    expect(count(narrow)).toBe(fixture.parameter_counts['width_0.5']);
    narrow.dispose();
  });

  it('rejects bad numClasses, options and inputs with typed errors naming the function and argument', () => {
    expect(() => ssdlite320MobilenetV3Large({ numClasses: 0 })).toThrow(ArgumentError);
    expect(() => ssdlite320MobilenetV3Large({ numClasses: 0 })).toThrow(/ssdlite320MobilenetV3Large: .*numClasses/);
    expect(() => ssdlite320MobilenetV3Large({ numClasses: 2.5 })).toThrow(/ssdlite320MobilenetV3Large: .*numClasses/);
    expect(() => ssdlite320MobilenetV3Large({ trainableBackboneLayers: 7 })).toThrow(/mobilenetExtractor: expected trainableLayers in \[0, 6\], got 7/);
    expect(() => ssdlite320MobilenetV3Large({ trainableBackboneLayers: -1 })).toThrow(/trainableBackboneLayers/);
    expect(() => ssdlite320MobilenetV3Large({ reducedTail: 'yes' as never })).toThrow(/expected reducedTail to be a boolean/);
    expect(() => ssdlite320MobilenetV3Large({ head: new SSDLiteHead([8], [6], 3) } as never)).toThrow(/the head is SSDlite's own/);
    expect(() => ssdlite320MobilenetV3Large({ nmsThresh: 2 })).toThrow(ArgumentError);
    expect(() => ssdlite320MobilenetV3Large(null as never)).toThrow(/expected opts to be an options object/);
    const model = ssdlite320MobilenetV3Large({ numClasses: 3 });
    model.eval();
    // A one-channel image: the transform's three-channel mean refuses it.
    expect(() => noGrad(() => model.detect([rand([1, 64, 64])]))).toThrow(ShapeError);
    expect(() => noGrad(() => model.backbone.call(rand([1, 1, 64, 64])))).toThrow(/SSDLiteFeatureExtractorMobileNet.forward: expected x of shape \[N, 3, H, W\], got \[1, 1, 64, 64\]/);
    model.dispose();
  });
});
