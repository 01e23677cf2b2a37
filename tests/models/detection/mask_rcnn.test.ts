import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ArgumentError, io, manualSeed, models, nn, noGrad, rand, ShapeError, tensor, vision, zeros, type Tensor } from '../../../lib/index.js';
import { boxesOf, expectLossesMatch, expectSameDetections, records, yieldToEventLoop } from '../../helpers/detection_interop.js';
import { interopTest } from '../../helpers/interop.js';

const { FastRCNNPredictor, MaskRCNN, MaskRCNNHeads, MaskRCNNPredictor, GeneralizedRCNN, FasterRCNN, maskrcnnResnet50Fpn, resnetFpnBackbone } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_mask_rcnn_interop.py';

// torchvision 0.14's maskrcnn_resnet50_fpn as built for a pretrained backbone
// (FrozenBatchNorm2d, 3 trainable stages), 5 classes, min_size 128, max_size 160, seeded
// random weights with random FrozenBatchNorm2d buffers and biases, the predictors' weights
// scaled down so that scores and masks do not saturate and deltas stay tame
// (tests/fixtures/make_mask_rcnn_interop.py; its mask probabilities span 0.07..0.90). The
// samplers' batch sizes exceed every candidate count, so training is deterministic there
// and here. The score threshold lies in the widest gap between the detections' scores that
// keeps 16..48 of them (`scoreGap` wide, 6e-4: 3e-4 from the nearest score, where scores
// agree to 1e-5; 14 and 14 detections), and
// box_detections_per_img 1000 cuts none off; the detections are compared as sets (label,
// score 1e-3, box 1e-2 px), since neighbours' scores may lie within float32 noise of each
// other, and each matched detection's pasted mask [1, H, W] to 1e-3.
interface Fixture {
  options: { num_classes: number; min_size: number; max_size: number; rpn_batch_size_per_image: number; box_batch_size_per_image: number; box_score_thresh: number; box_detections_per_img: number };
  scoreGap: number;
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  detections: Array<{ boxes: number[][]; labels: number[]; scores: number[] }>;
  losses: Record<string, number>;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/mask_rcnn_interop.json', import.meta.url), 'utf8')) as Fixture;

function fixtureModel() {
  const o = fixture.options;
  return maskrcnnResnet50Fpn({
    numClasses: o.num_classes,
    minSize: o.min_size,
    maxSize: o.max_size,
    rpnBatchSizePerImage: o.rpn_batch_size_per_image,
    boxBatchSizePerImage: o.box_batch_size_per_image,
    boxScoreThresh: o.box_score_thresh,
    boxDetectionsPerImg: o.box_detections_per_img,
  });
}

/** max |a - b| over two equally long arrays. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  for (let i = 0; i < a.length; ++i) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  return diff;
}

describe('maskrcnnResnet50Fpn against torchvision', () => {
  interopTest('mask_rcnn_resnet50_fpn.safetensors', command, 'loads torchvision\'s state dict strictly, freezes the same parameters, and gives its detections and masks (eval) and losses with loss_mask (training)', async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const get = (name: string): Tensor => {
      const t = tensors.get(name);
      if (!t) throw new Error(`${path} lacks ${name}`);
      return t;
    };
    const state = new Map([...tensors].filter(([name]) => !name.startsWith('__')));
    const images = [get('__input__.image0'), get('__input__.image1')];
    const model = fixtureModel();
    await yieldToEventLoop();
    expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
    const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
    expect(trainable.sort()).toEqual((metadata.trainable ?? '').split(',').sort());
    expect(fixture.scoreGap).toBeGreaterThan(5e-4);

    model.eval();
    await yieldToEventLoop();
    const detections = noGrad(() => model.detect(images));
    await yieldToEventLoop();
    expect(detections).toHaveLength(2);
    let worstMask = 0;
    detections.forEach((d, i) => {
      const expected = fixture.detections[i]!;
      const expectedMasks = get(`__output__.masks${i}`);
      const [height, width] = [images[i]!.shape[1]!, images[i]!.shape[2]!];
      const got = records(d);
      expect(d.masks!.shape).toEqual([got.length, 1, height, width]);
      expect(expectedMasks.shape).toEqual([got.length, 1, height, width]);
      const masks = d.masks!.dataSync();
      const wanted = expectedMasks.dataSync();
      const size = height * width;
      expectSameDetections(i, got, expected).forEach((match, k) => {
        const diff = maxDiff(masks.subarray(match * size, (match + 1) * size), wanted.subarray(k * size, (k + 1) * size));
        worstMask = Math.max(worstMask, diff);
        expect(diff, `image ${i}: mask of torchvision's detection ${k}`).toBeLessThan(1e-3);
      });
    });
    // The masks carry information: neither all 0 nor all 1.
    const all = detections[0]!.masks!;
    expect(all.max().item()).toBeGreaterThan(0.5);
    expect(worstMask).toBeLessThan(1e-3);

    model.train();
    await yieldToEventLoop();
    const targets = fixture.targets.map((t, i) => ({ boxes: boxesOf(t.boxes), labels: tensor(Int32Array.from(t.labels)), masks: get(`__input__.masks${i}`).to('uint8') }));
    const losses = model.losses(images, targets);
    expect(Object.keys(losses)).toContain('loss_mask');
    await expectLossesMatch(losses, fixture.losses);
    model.dispose();
  }, { timeout: 600_000 });
});

describe('MaskRCNNHeads and MaskRCNNPredictor', () => {
  it('keep the RoI size through the head and double it in the predictor, under torchvision\'s names', () => {
    manualSeed(0);
    const head = new MaskRCNNHeads(8, [6, 4], 1);
    const predictor = new MaskRCNNPredictor(4, 5, 3);
    const out = predictor.call(head.call(rand([2, 8, 7, 7])));
    expect(out.shape).toEqual([2, 3, 14, 14]);
    expect([...head.stateDict().keys()]).toEqual(['0.0.weight', '0.0.bias', '1.0.weight', '1.0.bias']);
    expect([...predictor.stateDict().keys()]).toEqual(['conv5_mask.weight', 'conv5_mask.bias', 'mask_fcn_logits.weight', 'mask_fcn_logits.bias']);
    expect(predictor.stateDict().get('conv5_mask.weight')!.shape).toEqual([4, 5, 2, 2]);
    // torchvision's init: Kaiming normal (fan out, ReLU) weights, zero head biases.
    expect(head.stateDict().get('0.0.bias')!.abs().sum().item()).toBe(0);
    const std = Math.sqrt(head.stateDict().get('0.0.weight')!.square().mean().item());
    expect(std).toBeGreaterThan(0.5 * Math.sqrt(2 / (6 * 9)));
    expect(std).toBeLessThan(1.5 * Math.sqrt(2 / (6 * 9)));
    expect(head.toString().startsWith('MaskRCNNHeads(8, layers=[6, 4], dilation=1\n')).toBe(true);
  });

  it('takes a dilation and a normalisation layer (torchvision\'s v2 head)', () => {
    const head = new MaskRCNNHeads(4, [4], 2, { normLayer: (c) => new nn.BatchNorm2d(c) });
    expect([...head.stateDict().keys()]).toContain('0.1.running_mean');
    expect(head.stateDict().has('0.0.bias')).toBe(false);
    expect(head.call(rand([1, 4, 9, 9])).shape).toEqual([1, 4, 9, 9]);
  });

  it('refuses bad sizes', () => {
    expect(() => new MaskRCNNHeads(0, [4], 1)).toThrow(/MaskRCNNHeads: expected inChannels to be an integer >= 1/);
    expect(() => new MaskRCNNHeads(4, [], 1)).toThrow(/MaskRCNNHeads: expected layers to be a non-empty list of channel counts, got/);
    expect(() => new MaskRCNNHeads(4, [4, 2.5], 1)).toThrow(/layers\[1\]/);
    expect(() => new MaskRCNNHeads(4, [4], 0)).toThrow(ArgumentError);
    expect(() => new MaskRCNNPredictor(4, 4, 0)).toThrow(/MaskRCNNPredictor: expected numClasses to be an integer >= 1/);
  });
});

describe('MaskRCNN', () => {
  it('builds torchvision\'s defaults and state-dict names', { timeout: 180_000 }, async () => {
    manualSeed(0);
    const model = maskrcnnResnet50Fpn();
    await yieldToEventLoop();
    expect(model).toBeInstanceOf(FasterRCNN);
    const mask = model.roiHeads.mask!;
    expect(mask.maskRoiPool.featmapNames).toEqual(['0', '1', '2', '3']);
    expect(mask.maskRoiPool.outputSize).toEqual([14, 14]);
    expect(mask.maskRoiPool.samplingRatio).toBe(2);
    const state = model.stateDict();
    for (let i = 0; i < 4; ++i) expect(state.get(`roi_heads.mask_head.${i}.0.weight`)!.shape).toEqual([256, 256, 3, 3]);
    expect(state.get('roi_heads.mask_predictor.conv5_mask.weight')!.shape).toEqual([256, 256, 2, 2]);
    expect(state.get('roi_heads.mask_predictor.mask_fcn_logits.weight')!.shape).toEqual([91, 256, 1, 1]);
    expect(state.get('roi_heads.box_predictor.cls_score.weight')!.shape).toEqual([91, 1024]);
    expect([model.transform.minSize, model.transform.maxSize]).toEqual([[800], 1333]);
    const params = new Map(model.namedParameters());
    expect(params.get('backbone.body.layer1.0.conv1.weight')!.requiresGrad).toBe(false);
    expect(params.get('roi_heads.mask_head.0.0.weight')!.requiresGrad).toBe(true);
    model.dispose();
  });

  // A small Mask R-CNN (ResNet-18 FPN, 64 px images, few proposals and detections, so that
  // the mask head runs on a handful of RoIs) through one training step and eval.
  function smallModel() {
    manualSeed(0);
    return new MaskRCNN(resnetFpnBackbone({ backboneName: 'resnet18' }), 3, {
      minSize: 64,
      maxSize: 64,
      rpnPostNmsTopNTrain: 100,
      rpnPostNmsTopNTest: 100,
      boxBatchSizePerImage: 16,
      boxScoreThresh: 0,
      boxDetectionsPerImg: 5,
    });
  }
  const image = () => rand([3, 48, 64]);
  const target = () => {
    const masks = zeros([1, 48, 64], { dtype: 'uint8' });
    return { boxes: tensor([[8, 6, 40, 30]], { dtype: 'float32' }), labels: tensor(Int32Array.from([2])), masks: masks.add(1).to('uint8') };
  };

  it('trains: loss_mask joins the losses and its gradient reaches the mask head and the backbone', { timeout: 180_000 }, async () => {
    const model = smallModel();
    await yieldToEventLoop();
    const losses = model.losses([image()], [target()]);
    await yieldToEventLoop();
    expect(Object.keys(losses).sort()).toEqual(['loss_box_reg', 'loss_classifier', 'loss_mask', 'loss_objectness', 'loss_rpn_box_reg']);
    expect(losses.loss_mask!.item()).toBeGreaterThan(0);
    losses.loss_mask!.backward();
    await yieldToEventLoop();
    const params = new Map(model.namedParameters());
    expect(params.get('roi_heads.mask_predictor.mask_fcn_logits.weight')!.grad!.abs().sum().item()).toBeGreaterThan(0);
    expect(params.get('backbone.fpn.layer_blocks.0.0.weight')!.grad!.abs().sum().item()).toBeGreaterThan(0);
    model.dispose();
  });

  it('detects: each record carries masks [D, 1, H, W] in 0..1 at the original image size', { timeout: 180_000 }, async () => {
    const model = smallModel().eval();
    await yieldToEventLoop();
    const [d] = noGrad(() => model.detect([image()]));
    const count = d!.boxes.shape[0]!;
    expect(count).toBeGreaterThan(0);
    expect(d!.masks!.shape).toEqual([count, 1, 48, 64]);
    expect(d!.masks!.min().item()).toBeGreaterThanOrEqual(0);
    expect(d!.masks!.max().item()).toBeLessThanOrEqual(1);
    model.dispose();
  });

  it('names what is wrong: masks missing in training targets, masks not the image\'s size, numClasses with maskPredictor', { timeout: 180_000 }, async () => {
    const model = smallModel();
    await yieldToEventLoop();
    const { boxes, labels, masks } = target();
    expect(() => model.losses([image()], [{ boxes, labels }])).toThrow(ArgumentError);
    expect(() => model.losses([image()], [{ boxes, labels }])).toThrow(/GeneralizedRCNN\.forward: expected targets\[0\]\.masks \(instance masks \[G, H, W\], uint8\) for a model with a mask branch, got undefined/);
    expect(() => model.losses([image()], [{ boxes, labels, masks: masks.slice(1, 0, 40) }])).toThrow(ShapeError);
    expect(() => model.losses([image()], [{ boxes, labels, masks: masks.slice(1, 0, 40) }])).toThrow(/expected targets\[0\]\.masks of shape \[K, 48, 64\] \(the image's size\), got \[1, 40, 64\]/);
    model.dispose();

    const backbone = resnetFpnBackbone({ backboneName: 'resnet18' });
    expect(() => new MaskRCNN(backbone, 3, { maskPredictor: new MaskRCNNPredictor(256, 256, 3) })).toThrow(/MaskRCNN: numClasses should be null when maskPredictor is given, got 3/);
    expect(() => new MaskRCNN(backbone, null)).toThrow(/MaskRCNN: numClasses should be given when maskPredictor is not, got null/);
    expect(() => new MaskRCNN(backbone, null, { maskPredictor: new MaskRCNNPredictor(256, 256, 3) })).toThrow(/FasterRCNN: numClasses should be given when boxPredictor is not/);
    expect(() => new MaskRCNN(backbone, 3, { maskRoiPool: new nn.Identity() as unknown as vision.MultiScaleRoIAlign })).toThrow(/MaskRCNN: expected maskRoiPool to be a MultiScaleRoIAlign/);
    expect(() => new MaskRCNN(new nn.Linear(2, 2) as unknown as models.detection.DetectionBackbone, 3)).toThrow(/MaskRCNN: expected backbone to be a Module with outChannels/);
    const custom = new MaskRCNN(backbone, null, { boxPredictor: new FastRCNNPredictor(1024, 3), maskPredictor: new MaskRCNNPredictor(256, 256, 3) });
    expect(custom).toBeInstanceOf(GeneralizedRCNN);
    custom.dispose();
  });
});
