import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, io, manualSeed, models, nn, noGrad, rand, tensor, vision, type Tensor } from '../../../lib/index.js';
import { boxesOf, records, targetsOf, yieldToEventLoop } from '../../helpers/detection_interop.js';
import { interopTest } from '../../helpers/interop.js';
import { expectSSDMatchesTorchvision, readSSDFixture, type SSDFixture } from '../../helpers/ssd_interop.js';

const { SSD, SSDHead, SSDFeatureExtractorVGG, ssd300Vgg16 } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_ssd_interop.py';

// torchvision 0.14's ssd300_vgg16(weights=None, weights_backbone=None, num_classes=5): all
// of VGG trainable, seeded random weights with random biases, the predictors' weights scaled
// down so that scores do not saturate and deltas stay tame (tests/fixtures/make_ssd_interop.py).
// score_thresh lies in the widest gap between all (box, class) scores among the top
// 0.5%..0.1% (its margin, 1e-3, is recorded), topk_candidates and detections_per_img cut
// nothing, so no float32 noise can move a candidate in or out; the detections are compared
// as sets (label, score 1e-3, box 1e-2 px). Hard-negative mining's cut lies between losses
// 1.2e-2 apart in both images (recorded), so the same negatives are picked.
const fixture = readSSDFixture<SSDFixture>('ssd_interop.json');

describe('ssd300Vgg16 against torchvision', () => {
  interopTest('ssd300_vgg16.safetensors', command, 'loads torchvision\'s state dict strictly, makes its default boxes, and gives its detections (eval) and losses (training)', async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const o = fixture.options;
    const model = ssd300Vgg16({ numClasses: o.num_classes, trainableBackboneLayers: 5, topkCandidates: o.topk_candidates, detectionsPerImg: o.detections_per_img, scoreThresh: o.score_thresh });
    await expectSSDMatchesTorchvision(model, tensors, metadata, fixture, { size: 300, featureSizes: [38, 19, 10, 5, 3, 1], defaultBoxes: 8732, scoreMargin: 1e-4 });
  }, { timeout: 400_000 });
});

// Written by make_ssd_fixtures.py: torchvision's SSD.compute_loss on random head outputs
// [2, 24, 4], image 0 with three boxes (one of label 0: matched, so in the divisor, but not a
// positive) and image 1 with none; the hard-negative cut lies on no tie. Losses and the
// gradients of their sum.
interface LossCase {
  anchors: number[][];
  cls_logits: number[][][];
  bbox_regression: number[][][];
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  matched_idxs: number[][];
  losses: Record<string, number>;
  grad_cls_logits: number[][][];
  grad_bbox_regression: number[][][];
}
const lossCase = (JSON.parse(readFileSync(new URL('../../fixtures/ssd.json', import.meta.url), 'utf8')) as { compute_loss: LossCase }).compute_loss;

const flat3 = (rows: number[][][]) => rows.flat(2);

/** Two feature maps (8 and 16 channels) at strides 4 and 8: a backbone small enough for unit tests. */
class TinyBackbone extends nn.Module<[x: Tensor], Map<string, Tensor>> {
  readonly outChannels = [8, 16];
  c1 = new nn.Conv2d(3, 8, 3, { stride: 4, padding: 1 });
  c2 = new nn.Conv2d(8, 16, 3, { stride: 2, padding: 1 });
  forward(x: Tensor): Map<string, Tensor> {
    const a = this.c1.call(x).relu();
    return new Map([['0', a], ['1', this.c2.call(a)]]);
  }
}

/** An SSD of small parts: 4 classes, images resized to 64 wide and 48 high. */
function smallModel(opts: models.detection.SSDOptions = {}) {
  return new SSD(new TinyBackbone(), new vision.DefaultBoxGenerator([[2], [2, 3]]), [64, 48], 4, opts);
}

describe('SSD', { timeout: 180_000 }, () => {
  it('computeLoss gives torchvision\'s losses and gradients (hard-negative mining 3:1, an image without boxes, a matched box of label 0)', () => {
    const model = smallModel();
    const [n, a] = [lossCase.cls_logits.length, lossCase.cls_logits[0]!.length];
    const logits = tensor(Float32Array.from(flat3(lossCase.cls_logits))).reshape(n, a, 4).requiresGrad_();
    const deltas = tensor(Float32Array.from(flat3(lossCase.bbox_regression))).reshape(n, a, 4).requiresGrad_();
    const anchors = boxesOf(lossCase.anchors);
    const losses = model.computeLoss(
      targetsOf(lossCase.targets),
      { cls_logits: logits, bbox_regression: deltas },
      [anchors, anchors],
      lossCase.matched_idxs.map((m) => tensor(Int32Array.from(m))),
    );
    for (const [name, expected] of Object.entries(lossCase.losses)) {
      expect(losses[name as keyof typeof losses].item(), name).toBeCloseTo(expected, 4);
    }
    losses.bbox_regression.add(losses.classification).backward();
    const close = (got: Float32Array, want: number[]) => want.forEach((v, i) => expect(Math.abs(got[i]! - v), `${i}`).toBeLessThan(1e-5));
    close(logits.grad!.dataSync() as Float32Array, flat3(lossCase.grad_cls_logits));
    close(deltas.grad!.dataSync() as Float32Array, flat3(lossCase.grad_bbox_regression));
  });

  describe('on a small model', () => {
    manualSeed(0);
    const model = smallModel({ scoreThresh: 0.2 });
    const images = [rand([3, 40, 56]), rand([3, 30, 30])];
    const targets = [
      { boxes: boxesOf([[2, 2, 25, 30], [20, 5, 50, 25]]), labels: tensor(Int32Array.of(1, 2)) },
      { boxes: boxesOf([[1, 2, 20, 22]]), labels: tensor(Int32Array.of(3)) },
    ];

    it('returns { bbox_regression, classification } in training; they reach the head and the backbone', () => {
      model.train();
      const losses = model.call(images, targets) as models.detection.SSDLosses;
      expect(Object.keys(losses).sort()).toEqual(['bbox_regression', 'classification']);
      const total = losses.classification.add(losses.bbox_regression);
      expect(Number.isFinite(total.item()) && total.item() > 0).toBe(true);
      total.backward();
      const params = new Map(model.namedParameters());
      for (const name of ['head.classification_head.module_list.0.weight', 'head.regression_head.module_list.1.weight', 'backbone.c1.weight']) {
        expect(params.get(name)!.grad, name).not.toBeNull();
      }
      model.zeroGrad();
    });

    it('trains on images without boxes: no positives, so no negatives either, and both losses 0', () => {
      model.train();
      const empty = { boxes: boxesOf([]), labels: tensor(new Int32Array(0)) };
      const losses = model.losses(images, [empty, empty]);
      expect(losses.bbox_regression.item()).toBe(0);
      expect(losses.classification.item()).toBe(0);
    });

    it('returns one { boxes, labels, scores } per image in eval, in the original image\'s pixels, by decreasing score', () => {
      model.eval();
      const detections = noGrad(() => model.detect(images));
      expect(detections).toHaveLength(2);
      detections.forEach((d, i) => {
        const got = records(d);
        expect(got.length).toBeGreaterThan(0);
        const [h, w] = [images[i]!.shape[1]!, images[i]!.shape[2]!];
        got.forEach((r, k) => {
          expect(r.label >= 1 && r.label < 4).toBe(true);
          expect(r.score).toBeGreaterThan(0.2);
          if (k > 0) expect(r.score).toBeLessThanOrEqual(got[k - 1]!.score);
          expect(r.box[0]! >= 0 && r.box[2]! <= w + 1e-3 && r.box[1]! >= 0 && r.box[3]! <= h + 1e-3).toBe(true);
        });
      });
      const capped = smallModel({ scoreThresh: 0.2, detectionsPerImg: 3 });
      capped.loadStateDict(model.stateDict());
      capped.eval();
      expect(noGrad(() => capped.detect(images)).map((d) => d.labels.shape[0])).toEqual([3, 3]);
      const none = smallModel({ scoreThresh: 1 });
      none.eval();
      expect(noGrad(() => none.detect(images)).map((d) => d.boxes.shape)).toEqual([[0, 4], [0, 4]]);
    });

    it('rejects training without targets, bad targets and labels, and the wrong mode for detect() and losses()', () => {
      model.train();
      expect(() => model.call(images)).toThrow(/SSD.forward: expected targets/);
      expect(() => model.losses(images, [targets[0]!, { boxes: boxesOf([[5, 5, 5, 9]]), labels: tensor(Int32Array.of(1)) }])).toThrow(/positive width and height/);
      expect(() => model.losses(images, [targets[0]!, { boxes: boxesOf([[1, 2, 20, 22]]), labels: tensor(Int32Array.of(4)) }])).toThrow(/expected targets\[1\].labels in \[0, 4\) \(the head's numClasses\), got 4/);
      expect(() => model.losses(images, [targets[0]!, { boxes: boxesOf([[1, 2, 20, 22]]), labels: tensor(Float32Array.of(1)) as never }])).toThrow(DTypeError);
      expect(() => model.detect(images)).toThrow(/SSD.detect: expected the model in eval mode/);
      model.eval();
      expect(() => model.losses(images, targets)).toThrow(/SSD.losses: expected the model in training mode/);
    });
  });

  it('rejects a bad backbone, anchor generator, size or options, and numClasses with head or neither', () => {
    const anchors = () => new vision.DefaultBoxGenerator([[2], [2, 3]]);
    expect(() => new SSD(new nn.Conv2d(3, 8, 3) as never, anchors(), [64, 48], 4)).toThrow(/SSD: expected backbone to be a Module with outChannels, a list of positive integers/);
    expect(() => new SSD(new TinyBackbone(), new vision.AnchorGenerator() as never, [64, 48], 4)).toThrow(/expected anchorGenerator to be a DefaultBoxGenerator/);
    expect(() => new SSD(new TinyBackbone(), new vision.DefaultBoxGenerator([[2]]), [64, 48], 4)).toThrow(/outChannels \(2 feature maps\) to match the anchor generator's aspect ratios \(1 levels\)/);
    expect(() => new SSD(new TinyBackbone(), anchors(), [64, 0], 4)).toThrow(/expected size to be \[width, height\], positive integers/);
    expect(() => new SSD(new TinyBackbone(), anchors(), [64, 48], 0)).toThrow(ArgumentError);
    expect(() => new SSD(new TinyBackbone(), anchors(), [64, 48], null)).toThrow(/numClasses should be given when head is not/);
    expect(() => new SSD(new TinyBackbone(), anchors(), [64, 48], 4, { head: new SSDHead([8, 16], [4, 6], 4) })).toThrow(/numClasses should be null when head is given/);
    expect(() => new SSD(new TinyBackbone(), anchors(), [64, 48], 4, { positiveFraction: 0 })).toThrow(/expected positiveFraction in \(0, 1\], got 0/);
    expect(() => new SSD(new TinyBackbone(), anchors(), [64, 48], 4, { nmsThresh: 2 })).toThrow(ArgumentError);
  });

  it('rejects a head whose predictions do not cover the default boxes (ShapeError)', () => {
    const model = new SSD(new TinyBackbone(), new vision.DefaultBoxGenerator([[2], [2, 3]]), [64, 48], null, { head: new SSDHead([8, 16], [4, 4], 4) });
    model.eval();
    expect(() => noGrad(() => model.detect([rand([3, 40, 40])]))).toThrow(ShapeError);
  });

  it('ssd300Vgg16 builds torchvision\'s layout, names, parameter count (91 classes), transform and frozen conv1', async () => {
    const model = ssd300Vgg16();
    const names = [...model.stateDict().keys()];
    expect(names).toHaveLength(71);
    for (const name of ['backbone.scale_weight', 'backbone.features.21.weight', 'backbone.extra.0.1.weight', 'backbone.extra.0.7.1.weight', 'backbone.extra.0.7.3.bias', 'backbone.extra.4.2.weight', 'head.classification_head.module_list.5.bias', 'head.regression_head.module_list.0.weight']) {
      expect(names, name).toContain(name);
    }
    const params = [...model.namedParameters()];
    // torchvision's SSD300_VGG16_Weights.COCO_V1.meta["num_params"].
    expect(params.reduce((s, [, p]) => s + p.numel, 0)).toBe(35641826);
    expect(params.filter(([, p]) => !p.requiresGrad).map(([name]) => name).sort()).toEqual(['backbone.features.0.bias', 'backbone.features.0.weight', 'backbone.features.2.bias', 'backbone.features.2.weight']);
    expect(model.transform.fixedSize).toEqual([300, 300]);
    expect(model.transform.sizeDivisible).toBe(1);
    expect(model.transform.imageMean).toEqual([0.48235, 0.45882, 0.40784]);
    expect(model.transform.imageStd).toEqual([1 / 255, 1 / 255, 1 / 255]);
    expect([model.scoreThresh, model.nmsThresh, model.detectionsPerImg, model.topkCandidates, model.negToPosRatio]).toEqual([0.01, 0.45, 200, 400, 3]);
    expect(model.proposalMatcher).toBeInstanceOf(vision.SSDMatcher);
    expect(model.boxCoder.weights).toEqual([10, 10, 5, 5]);
    expect(model.anchorGenerator.numAnchorsPerLocation()).toEqual([4, 6, 6, 6, 4, 4]);
    expect(model.backbone).toBeInstanceOf(SSDFeatureExtractorVGG);
    model.dispose();
    await yieldToEventLoop();
    const allTrainable = ssd300Vgg16({ numClasses: 5, trainableBackboneLayers: 5 });
    expect([...allTrainable.parameters()].every((p) => p.requiresGrad)).toBe(true);
    allTrainable.dispose();
  });
});
