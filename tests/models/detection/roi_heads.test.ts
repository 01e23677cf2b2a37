import { describe, expect, it, vi } from 'vitest';

import { ArgumentError, DTypeError, indexSelect, io, manualSeed, models, noGrad, rand, ShapeError, Tensor, tensor, vision, zeros, type Device } from '../../../lib/index.js';
import { describeDevices, expectClose } from '../../helpers/devices.js';

const { FastRCNNPredictor, MaskRCNNHeads, MaskRCNNPredictor, RoIHeads, TwoMLPHead, fastrcnnLoss, maskrcnnInference, maskrcnnLoss } = models.detection;

// torchvision 0.14's RoIHeads (tests/fixtures/make_roi_heads_fixtures.py, committed with
// its output): MultiScaleRoIAlign(['0', '1'], 7, 2) over two 16-channel levels of two
// images (64x80, 56x72), 42 proposals per image (2 of them beyond the image, so that
// remove_small_boxes drops some detections), TwoMLPHead(16 * 7 * 7, 32) and
// FastRCNNPredictor(32, 5) with seeded random weights, 3 ground truths per image.
// Training there is deterministic: batchSizePerImage (100000) exceeds every image's
// proposals, so the sampler keeps every positive and negative and draws nothing at random,
// here as there.
const fixture = io.loadSafetensorsSync(new URL('../../fixtures/roi_heads.safetensors', import.meta.url).pathname);
const imageShapes = JSON.parse(fixture.metadata.imageShapes!) as Array<[number, number]>;
const options = JSON.parse(fixture.metadata.options!) as models.detection.RoIHeadsOptions;

function part(name: string): Tensor {
  const t = fixture.tensors.get(name);
  if (!t) throw new Error(`roi_heads.safetensors lacks ${name}`);
  return t;
}
const input = (name: string, device: Device) => part(`__input__.${name}`).to(device);
const output = (name: string) => part(`__output__.${name}`);

function setup(device: Device, opts: models.detection.RoIHeadsOptions = options) {
  const heads = new RoIHeads(new vision.MultiScaleRoIAlign(['0', '1'], 7, 2), new TwoMLPHead(16 * 7 * 7, 32), new FastRCNNPredictor(32, 5), opts);
  const state = new Map([...fixture.tensors].filter(([name]) => !name.startsWith('__')));
  expect(heads.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
  heads.to(device);
  const features = new Map([['0', input('feature.0', device)], ['1', input('feature.1', device)]]);
  const proposals = [0, 1].map((i) => input(`proposals.${i}`, device));
  const targets = [0, 1].map((i) => ({ boxes: input(`gt_boxes.${i}`, device), labels: input(`gt_labels.${i}`, device) }));
  return { heads, features, proposals, targets };
}

function expectDetections(d: models.detection.Detection, i: number, count = Infinity): void {
  const boxes = output(`detections.${i}.boxes`);
  const n = Math.min(boxes.shape[0]!, count);
  expect(d.boxes.shape).toEqual([n, 4]);
  expect(d.scores.shape).toEqual([n]);
  expect(d.labels.dtype).toBe('int32');
  expect(Array.from(d.labels.cpu().dataSync())).toEqual(Array.from(output(`detections.${i}.labels`).dataSync()).slice(0, n));
  expectClose(d.scores.cpu().dataSync(), output(`detections.${i}.scores`).dataSync().slice(0, n), 1e-4);
  const got = d.boxes.cpu().dataSync();
  const want = boxes.dataSync().slice(0, n * 4);
  for (let j = 0; j < want.length; ++j) expect(Math.abs(got[j]! - want[j]!), `box value ${j}`).toBeLessThanOrEqual(1e-3);
}

describeDevices('RoIHeads against torchvision', (device) => {
  it('eval: the same detections per image (boxes within 1e-3 px, scores 1e-4, same labels, same order)', () => {
    const { heads, features, proposals } = setup(device);
    heads.eval();
    const [detections, losses] = noGrad(() => heads.call(features, proposals, imageShapes));
    expect(losses).toEqual({});
    expect(detections).toHaveLength(2);
    // The fixture's images have ~40 detections of 4 classes each: every stage matters.
    expect(output('detections.0.boxes').shape[0]).toBeGreaterThan(30);
    detections.forEach((d, i) => expectDetections(d, i));
  });

  it('eval: detectionsPerImg keeps the best ones, a prefix of the full result', () => {
    const { heads, features, proposals } = setup(device, { ...options, detectionsPerImg: 5 });
    heads.eval();
    const [detections] = noGrad(() => heads.call(features, proposals, imageShapes));
    detections.forEach((d, i) => expectDetections(d, i, 5));
  });

  it('postprocessDetections from the predictor outputs gives the same detections', () => {
    const { heads, proposals } = setup(device);
    const detections = heads.postprocessDetections(output('class_logits').to(device), output('box_regression').to(device), proposals, imageShapes);
    detections.forEach((d, i) => expectDetections(d, i));
  });

  it('training: the same sampled labels, regression targets and losses (1e-4), and gradients (1e-4 of the largest) as torchvision', () => {
    const { heads, features, proposals, targets } = setup(device);
    const samples = heads.selectTrainingSamples(proposals, targets);
    for (const i of [0, 1]) {
      expect(Array.from(samples.labels[i]!.cpu().dataSync())).toEqual(Array.from(output(`sampled_labels.${i}`).dataSync()));
      expectClose(samples.regressionTargets[i]!.cpu().dataSync(), output(`regression_targets.${i}`).dataSync(), 1e-4);
    }
    // Some proposals fall between the thresholds (0.3, 0.5) and are left out.
    expect(samples.labels[0]!.shape[0]).toBeLessThan(45);

    for (const map of features.values()) map.requiresGrad_();
    const [detections, losses] = heads.call(features, proposals, imageShapes, targets);
    expect(detections).toEqual([]);
    expect(Object.keys(losses)).toEqual(['loss_classifier', 'loss_box_reg']);
    expectClose([losses.loss_classifier!.item()], output('loss_classifier').dataSync(), 1e-4);
    expectClose([losses.loss_box_reg!.item()], output('loss_box_reg').dataSync(), 1e-4);
    losses.loss_classifier!.add(losses.loss_box_reg!).backward();
    for (const [name, p] of heads.namedParameters()) expect(p.grad, name).not.toBeNull();
    const parameters = new Map(heads.namedParameters());
    for (const name of ['box_predictor.cls_score.weight', 'box_predictor.bbox_pred.weight', 'box_head.fc7.weight']) {
      const got = Array.from(parameters.get(name)!.grad!.cpu().dataSync());
      const want = Array.from(output(`grad.${name}`).dataSync());
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const diff = want.reduce((m, v, j) => Math.max(m, Math.abs(v - got[j]!)), 0);
      expect(scale, name).toBeGreaterThan(1e-3);
      expect(diff / scale, `${name}: max difference relative to the largest gradient`).toBeLessThan(1e-4);
    }
    expect(features.get('0')!.grad).not.toBeNull();
  });
});

describeDevices('RoIHeads', (device) => {
  it('registers its children under torchvision names', () => {
    manualSeed(0);
    const heads = new RoIHeads(new vision.MultiScaleRoIAlign(['0'], 2, 2), new TwoMLPHead(4 * 2 * 2, 8), new FastRCNNPredictor(8, 3));
    expect([...heads.stateDict().keys()]).toEqual([
      'box_head.fc6.weight', 'box_head.fc6.bias', 'box_head.fc7.weight', 'box_head.fc7.bias',
      'box_predictor.cls_score.weight', 'box_predictor.cls_score.bias', 'box_predictor.bbox_pred.weight', 'box_predictor.bbox_pred.bias',
    ]);
    expect(heads.boxRoiPool.featmapNames).toEqual(['0']);
    // torchvision's FasterRCNN defaults.
    expect([heads.proposalMatcher.highThreshold, heads.proposalMatcher.lowThreshold, heads.proposalMatcher.allowLowQualityMatches]).toEqual([0.5, 0.5, false]);
    expect([heads.fgBgSampler.batchSizePerImage, heads.fgBgSampler.positiveFraction]).toEqual([512, 0.25]);
    expect(heads.boxCoder.weights).toEqual([10, 10, 5, 5]);
    expect([heads.scoreThresh, heads.nmsThresh, heads.detectionsPerImg]).toEqual([0.05, 0.5, 100]);
  });

  it('reads back from the device only what shapes depend on: the pooler\'s levels, then NMS\'s keep mask per image (eval) or the sampled proposals once (training)', () => {
    const { heads, features, proposals, targets } = setup(device);
    const reads = vi.spyOn(Tensor.prototype, 'dataSync');
    try {
      heads.call(features, proposals, imageShapes, targets);
      expect(reads).toHaveBeenCalledTimes(2);
      reads.mockClear();
      heads.eval();
      noGrad(() => heads.call(features, proposals, imageShapes));
      // torchvision reads three times per image (score filter, remove_small_boxes, NMS).
      expect(reads).toHaveBeenCalledTimes(1 + 2);
    } finally {
      reads.mockRestore();
    }
  });

  it('training on images without ground truth: every proposal is background and the box loss is 0', () => {
    const { heads, features, proposals } = setup(device);
    const empty = [0, 1].map(() => ({ boxes: zeros([0, 4], { device }), labels: zeros([0], { dtype: 'int32', device }) }));
    const samples = heads.selectTrainingSamples(proposals, empty);
    expect(samples.labels.map((l) => l.shape[0])).toEqual([42, 42]);
    expect(samples.labels.every((l) => l.cpu().dataSync().every((v) => v === 0))).toBe(true);
    const [, losses] = heads.call(features, proposals, imageShapes, empty);
    expect(losses.loss_box_reg!.item()).toBe(0);
    expect(losses.loss_classifier!.item()).toBeGreaterThan(0);
  });

  it('eval on an image without proposals gives it no detections', () => {
    const { heads, features, proposals } = setup(device);
    heads.eval();
    const [detections] = noGrad(() => heads.call(features, [proposals[0]!, zeros([0, 4], { device })], imageShapes));
    expectDetections(detections[0]!, 0);
    expect(detections[1]!.boxes.shape).toEqual([0, 4]);
    expect(detections[1]!.labels.shape).toEqual([0]);
  });

  it('names what is wrong', () => {
    const { heads, features, proposals, targets } = setup(device);
    expect(() => heads.call(features, proposals, imageShapes)).toThrow(/RoIHeads.forward: expected targets .* in training mode/);
    expect(() => heads.call(features, proposals, imageShapes.slice(0, 1), targets)).toThrow(ArgumentError);
    expect(() => heads.call(features, proposals, [[64, 80], [0, 72]], targets)).toThrow(/imageShapes\[1\] to be \[height, width\]/);
    expect(() => heads.call(features, [proposals[0]!.reshape(-1)], imageShapes.slice(0, 1), targets.slice(0, 1))).toThrow(ShapeError);
    expect(() => heads.call(features, proposals, imageShapes, targets.slice(0, 1))).toThrow(/one \{ boxes, labels \} per image \(2\)/);
    const floatLabels = [targets[0]!, { boxes: targets[1]!.boxes, labels: targets[1]!.labels.to('float32') }];
    expect(() => heads.call(features, proposals, imageShapes, floatLabels)).toThrow(DTypeError);
    expect(() => heads.call(features, proposals, imageShapes, floatLabels)).toThrow(/targets\[1\]\.labels to have dtype int32, got float32/);
    const shortLabels = [targets[0]!, { boxes: targets[1]!.boxes, labels: targets[1]!.labels.slice(0, 0, 2) }];
    expect(() => heads.call(features, proposals, imageShapes, shortLabels)).toThrow(/targets\[1\]\.labels of shape \[3\]/);
    expect(() => heads.postprocessDetections(output('class_logits').to(device).slice(0, 0, 83), output('box_regression').to(device), proposals, imageShapes)).toThrow(
      /postprocessDetections: expected classLogits of shape \[84, numClasses\]/,
    );
    expect(() => heads.postprocessDetections(output('class_logits').to(device), output('box_regression').to(device).slice(1, 0, 16), proposals, imageShapes)).toThrow(
      /boxRegression of shape \[84, 20\]/,
    );
    const pool = new vision.MultiScaleRoIAlign(['0'], 2, 2);
    expect(() => new RoIHeads(pool, new TwoMLPHead(16, 8), new FastRCNNPredictor(8, 3), { nmsThresh: 2 })).toThrow(/nmsThresh in \[0, 1\]/);
    expect(() => new RoIHeads(pool, new TwoMLPHead(16, 8), new FastRCNNPredictor(8, 3), { detectionsPerImg: -1 })).toThrow(/detectionsPerImg/);
    expect(() => new RoIHeads(pool, new TwoMLPHead(16, 8), new FastRCNNPredictor(8, 3), { fgIouThresh: 0.3, bgIouThresh: 0.5 })).toThrow(/lowThreshold <= highThreshold/);
    expect(() => new RoIHeads(pool, null as unknown as models.detection.TwoMLPHead, new FastRCNNPredictor(8, 3))).toThrow(/boxHead to be a Module/);
  });
});

describe('RoIHeads with a mask branch', () => {
  // The box branch of the fixture above, and a small mask branch (14x14 pooling, one
  // 8-channel conv, 28x28 logits for 5 classes) with seeded random weights.
  function maskSetup() {
    manualSeed(0);
    const mask = { maskRoiPool: new vision.MultiScaleRoIAlign(['0', '1'], 14, 2), maskHead: new MaskRCNNHeads(16, [8], 1), maskPredictor: new MaskRCNNPredictor(8, 8, 5) };
    const heads = new RoIHeads(new vision.MultiScaleRoIAlign(['0', '1'], 7, 2), new TwoMLPHead(16 * 7 * 7, 32), new FastRCNNPredictor(32, 5), { ...options, mask });
    const boxOnly = setup('cpu').heads;
    const { missing, unexpected } = heads.loadStateDict(boxOnly.stateDict(), { strict: false });
    expect(unexpected).toEqual([]);
    expect(missing.every((name) => /^mask_(head|predictor)\./.test(name))).toBe(true);
    const features = new Map([['0', input('feature.0', 'cpu')], ['1', input('feature.1', 'cpu')]]);
    const proposals = [0, 1].map((i) => input(`proposals.${i}`, 'cpu'));
    const targets = [0, 1].map((i) => {
      const boxes = input(`gt_boxes.${i}`, 'cpu');
      const masks = rand([boxes.shape[0]!, ...imageShapes[i]!]).gt(0.5).to('uint8');
      return { boxes, labels: input(`gt_labels.${i}`, 'cpu'), masks };
    });
    const logitsOf = (boxes: Tensor[]) => mask.maskPredictor.call(mask.maskHead.call(mask.maskRoiPool.call(features, boxes, imageShapes)));
    return { heads, boxOnly, mask, features, proposals, targets, logitsOf };
  }

  it('registers mask_roi_pool, mask_head and mask_predictor under torchvision\'s names', () => {
    const { heads, boxOnly, mask } = maskSetup();
    expect(heads.hasMask).toBe(true);
    expect(boxOnly.hasMask).toBe(false);
    expect(boxOnly.mask).toBeNull();
    expect(heads.mask!.maskPredictor).toBe(mask.maskPredictor);
    const names = [...heads.stateDict().keys()];
    expect(names).toContain('mask_head.0.0.weight');
    expect(names).toContain('mask_predictor.conv5_mask.weight');
    expect(names).toContain('mask_predictor.mask_fcn_logits.bias');
  });

  it('training: the box losses unchanged, and loss_mask is maskrcnnLoss of the foreground proposals and their ground truths', () => {
    const { heads, boxOnly, features, proposals, targets, logitsOf } = maskSetup();
    const [detections, losses] = heads.call(features, proposals, imageShapes, targets);
    expect(detections).toEqual([]);
    expect(Object.keys(losses).sort()).toEqual(['loss_box_reg', 'loss_classifier', 'loss_mask']);
    const [, boxLosses] = boxOnly.call(features, proposals, imageShapes, targets);
    expect(losses.loss_classifier!.item()).toBeCloseTo(boxLosses.loss_classifier!.item(), 6);
    expect(losses.loss_box_reg!.item()).toBeCloseTo(boxLosses.loss_box_reg!.item(), 6);

    const samples = heads.selectTrainingSamples(proposals, targets);
    const positive = samples.labels.map((l) => tensor(Int32Array.from([...l.dataSync()].flatMap((v, k) => (v > 0 ? [k] : [])))));
    expect(positive.every((p) => p.shape[0]! > 0)).toBe(true);
    const boxes = positive.map((p, i) => indexSelect(samples.proposals[i]!, 0, p));
    const matched = positive.map((p, i) => indexSelect(samples.matchedIdxs[i]!, 0, p));
    const expected = maskrcnnLoss(logitsOf(boxes), boxes, targets.map((t) => t.masks), targets.map((t) => t.labels), matched);
    expect(losses.loss_mask!.item()).toBeCloseTo(expected.item(), 5);
    losses.loss_mask!.backward();
    const weight = new Map(heads.mask!.maskHead.namedParameters()).get('0.0.weight')!;
    expect(weight.grad!.abs().sum().item()).toBeGreaterThan(0);
  });

  it('eval: the box branch\'s detections, each with the sigmoid of its class\'s mask logits [D, 1, 28, 28]', () => {
    const { heads, features, proposals, logitsOf } = maskSetup();
    heads.eval();
    const [detections, losses] = noGrad(() => heads.call(features, proposals, imageShapes));
    expect(losses).toEqual({});
    detections.forEach((d, i) => expectDetections(d, i));
    const expected = noGrad(() => maskrcnnInference(logitsOf(detections.map((d) => d.boxes)), detections.map((d) => d.labels)));
    detections.forEach((d, i) => {
      expect(d.masks!.shape).toEqual([d.boxes.shape[0], 1, 28, 28]);
      expectClose(d.masks!.dataSync(), expected[i]!.dataSync(), 1e-6);
    });
    // An image without detections gets [0, 1, 28, 28] masks.
    const [none] = noGrad(() => heads.call(features, [proposals[0]!, zeros([0, 4])], imageShapes));
    expect(none[1]!.masks!.shape).toEqual([0, 1, 28, 28]);
  });

  it('names what is wrong: missing or mis-shaped masks in training, a bad branch', () => {
    const { heads, features, proposals, targets } = maskSetup();
    const noMasks = targets.map((t) => ({ boxes: t.boxes, labels: t.labels }));
    expect(() => heads.call(features, proposals, imageShapes, noMasks)).toThrow(ArgumentError);
    expect(() => heads.call(features, proposals, imageShapes, noMasks)).toThrow(/RoIHeads.forward: expected targets\[0\]\.masks \(instance masks \[G, H, W\]\) in training with a mask branch, got undefined/);
    const fewMasks = [targets[0]!, { ...targets[1]!, masks: targets[1]!.masks.slice(0, 0, 1) }];
    expect(() => heads.call(features, proposals, imageShapes, fewMasks)).toThrow(/expected targets\[1\]\.masks of shape \[3, H, W\] \(one per box\), got \[1, 56, 72\]/);
    const intMasks = [targets[0]!, { ...targets[1]!, masks: targets[1]!.masks.to('int32') }];
    expect(() => heads.call(features, proposals, imageShapes, intMasks)).toThrow(DTypeError);
    // In eval the targets' masks are not needed.
    heads.eval();
    expect(() => noGrad(() => heads.call(features, proposals, imageShapes, noMasks))).not.toThrow();
    const pool = new vision.MultiScaleRoIAlign(['0'], 2, 2);
    const branch = { maskRoiPool: pool, maskHead: new MaskRCNNHeads(16, [8], 1), maskPredictor: null as unknown as models.detection.MaskRCNNPredictor };
    expect(() => new RoIHeads(pool, new TwoMLPHead(16, 8), new FastRCNNPredictor(8, 3), { mask: branch })).toThrow(/RoIHeads: expected mask\.maskPredictor to be a Module, got null/);
  });
});

describe('fastrcnnLoss', () => {
  // Two images, 3 classes; rows 0 and 2 foreground. Expected values by hand: cross entropy
  // of uniform logits is log 3; the box loss is smooth L1 (beta 1/9) of the foreground
  // rows' own-class deltas, summed, over N = 3.
  const logits = zeros([3, 3]);
  const deltas = tensor(Float32Array.from({ length: 36 }, (_, i) => (i % 4) * 0.05)).reshape(3, 12);
  const labels = [tensor(Int32Array.of(1, 0)), tensor(Int32Array.of(2))];
  const targets = [zeros([2, 4]), zeros([1, 4])];
  // A foreground row's loss: |d| = 0, 0.05 (< 1/9: 0.5 d^2 / beta), 0.1 (< 1/9), 0.15 (|d| - 0.5 beta).
  const perRow = 0 + 0.5 * 0.05 ** 2 * 9 + 0.5 * 0.1 ** 2 * 9 + (0.15 - 0.5 / 9);

  it('is cross entropy plus the foreground rows\' smooth L1 over N', () => {
    const [classification, box] = fastrcnnLoss(logits, deltas, labels, targets);
    expectClose([classification.item()], [Math.log(3)], 1e-6);
    expectClose([box.item()], [(2 * perRow) / 3], 1e-5);
  });

  it('takes each foreground row\'s deltas of its own class, and no background row\'s', () => {
    const bump = (from: number, to: number) => deltas.add(tensor(Float32Array.from({ length: 36 }, (_, i) => (i >= from && i < to ? 1 : 0))).reshape(3, 12));
    const [, base] = fastrcnnLoss(logits, deltas, labels, targets);
    // Row 1 (background) and row 2's deltas of classes 0 and 1: no change.
    const [, others] = fastrcnnLoss(logits, bump(12, 32), labels, targets);
    expectClose([others.item()], [base.item()], 1e-6);
    // Row 2's class-2 deltas (0, 0.05, 0.1, 0.15) + 1: all beyond beta, each |d| - 0.5 / 9.
    const [, own] = fastrcnnLoss(logits, bump(32, 36), labels, targets);
    expectClose([own.item() - base.item()], [(4.3 - 4 * (0.5 / 9) - perRow) / 3], 1e-5);
  });

  it('names what is wrong', () => {
    expect(() => fastrcnnLoss(logits.reshape(-1), deltas, labels, targets)).toThrow(/fastrcnnLoss: expected classLogits of shape \[N, numClasses\]/);
    expect(() => fastrcnnLoss(logits, deltas.slice(1, 0, 8), labels, targets)).toThrow(/boxRegression of shape \[3, 12\]/);
    expect(() => fastrcnnLoss(logits, deltas, [labels[0]!], targets)).toThrow(/one regressionTargets tensor per labels tensor \(1\), got 2/);
    expect(() => fastrcnnLoss(logits, deltas, [labels[0]!.to('float32'), labels[1]!], targets)).toThrow(DTypeError);
    expect(() => fastrcnnLoss(logits, deltas, labels, [zeros([2, 4]), zeros([2, 4])])).toThrow(/regressionTargets\[1\] of shape \[1, 4\]/);
    expect(() => fastrcnnLoss(logits, deltas, [labels[0]!, labels[0]!], [targets[0]!, targets[0]!])).toThrow(/one label per row of classLogits \(3\), got 4/);
    expect(() => fastrcnnLoss(logits, deltas, [], [])).toThrow(/non-empty array/);
  });
});
