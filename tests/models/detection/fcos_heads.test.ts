import { expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, nn, randn, ShapeError, zeros, type Device, type Tensor } from '../../../lib/index.js';
import { describeDevices, expectClose } from '../../helpers/devices.js';
import { tinyFcos, tinyFcosImages, tinyFcosLosses, tinyFcosPart, tinyFcosTargets } from '../../helpers/tiny_fcos.js';

const { FCOSClassificationHead, FCOSHead, FCOSRegressionHead } = models.detection;

/**
 * Checks that `flat` `[N, sum(H W A), K]` holds each level's `[N, A * K, H, W]` point by
 * point: level, then cell (row-major), then anchor, as torchvision's permute and reshape.
 */
function expectPointsLast(flat: Tensor, levels: Tensor[], numAnchors: number, k: number): void {
  const out = flat.cpu().dataSync();
  const total = flat.shape[1]!;
  let offset = 0;
  for (const level of levels) {
    const [n, , h, w] = level.shape as [number, number, number, number];
    const raw = level.cpu().dataSync();
    for (let b = 0; b < n; ++b) {
      for (let y = 0; y < h; ++y) {
        for (let x = 0; x < w; ++x) {
          for (let a = 0; a < numAnchors; ++a) {
            for (let c = 0; c < k; ++c) {
              const point = offset + (y * w + x) * numAnchors + a;
              expect(out[(b * total + point) * k + c]).toBe(raw[((b * numAnchors * k + a * k + c) * h + y) * w + x]);
            }
          }
        }
      }
    }
    offset += h * w * numAnchors;
  }
  expect(offset).toBe(total);
}

describeDevices('FCOSClassificationHead', (device: Device) => {
  it("has torchvision's layout and initialisation, and puts out [N, sum(H W A), K] point by point (2 levels, A 2, K 3)", () => {
    manualSeed(0);
    const head = new FCOSClassificationHead(32, 2, 3, { numConvs: 2 }).to(device);
    expect([...head.stateDict().keys()]).toEqual(['conv.0.weight', 'conv.0.bias', 'conv.1.weight', 'conv.1.bias', 'conv.3.weight', 'conv.3.bias', 'conv.4.weight', 'conv.4.bias', 'cls_logits.weight', 'cls_logits.bias']);
    expect(head.conv.at(1)).toBeInstanceOf(nn.GroupNorm);
    expect((head.conv.at(1) as nn.GroupNorm).numGroups).toBe(32);
    expectClose(head.clsLogits.bias!.cpu().dataSync(), Array(6).fill(-Math.log(99)), 1e-6);
    expect(Array.from(head.conv.at(0).stateDict().get('bias')!.cpu().dataSync()).every((v) => v === 0)).toBe(true);
    const features = [randn([2, 32, 3, 4], { device }), randn([2, 32, 2, 2], { device })];
    const logits = head.call(features);
    expect(logits.shape).toEqual([2, 3 * 4 * 2 + 2 * 2 * 2, 3]);
    expectPointsLast(logits, features.map((f) => head.clsLogits.call(head.conv.call(f))), 2, 3);
  });

  it('takes a normalisation layer and a prior, and names what is wrong', () => {
    const head = new FCOSClassificationHead(8, 1, 2, { numConvs: 1, priorProbability: 0.5, normLayer: (c) => new nn.BatchNorm2d(c) });
    expect(head.conv.at(1)).toBeInstanceOf(nn.BatchNorm2d);
    expectClose(head.clsLogits.bias!.dataSync(), [0, 0], 1e-7);
    expect(() => new FCOSClassificationHead(32, 1, 0)).toThrow(/FCOSClassificationHead: expected numClasses to be an integer >= 1, got 0/);
    expect(() => new FCOSClassificationHead(32, 1, 3, { priorProbability: 1 })).toThrow(/FCOSClassificationHead: expected priorProbability to be a number in \(0, 1\), got 1/);
    expect(() => new FCOSClassificationHead(32, 1, 3, { normLayer: 'group' as unknown as models.detection.FCOSNormLayer })).toThrow(ArgumentError);
    expect(() => new FCOSClassificationHead(24, 1, 3)).toThrow(ShapeError); // GroupNorm(32) of 24 channels
    const ok = new FCOSClassificationHead(32, 1, 3).to(device);
    expect(() => ok.call([randn([1, 16, 2, 2], { device })])).toThrow(/FCOSClassificationHead: expected features\[0\] of shape \[N, 32, H, W\], got shape \[1, 16, 2, 2\]/);
    expect(() => ok.call([])).toThrow(/FCOSClassificationHead: expected features to be a non-empty array/);
  });
});

describeDevices('FCOSRegressionHead', (device: Device) => {
  it("has torchvision's layout, ReLU'd distances [N, P, 4] and centerness [N, P, 1] point by point (A 2)", () => {
    manualSeed(1);
    const head = new FCOSRegressionHead(32, 2, { numConvs: 1 }).to(device);
    expect([...head.stateDict().keys()]).toEqual(['conv.0.weight', 'conv.0.bias', 'conv.1.weight', 'conv.1.bias', 'bbox_reg.weight', 'bbox_reg.bias', 'bbox_ctrness.weight', 'bbox_ctrness.bias']);
    const features = [randn([1, 32, 2, 3], { device }), randn([1, 32, 1, 2], { device })];
    const [distances, centerness] = head.call(features);
    expect(distances.shape).toEqual([1, 16, 4]);
    expect(centerness.shape).toEqual([1, 16, 1]);
    expect(Array.from(distances.cpu().dataSync()).every((v) => v >= 0)).toBe(true);
    expectPointsLast(distances, features.map((f) => head.bboxReg.call(head.conv.call(f)).relu()), 2, 4);
    expectPointsLast(centerness, features.map((f) => head.bboxCtrness.call(head.conv.call(f))), 2, 1);
    expect(() => head.call([randn([1, 8, 2, 2], { device })])).toThrow(/FCOSRegressionHead: expected features\[0\] of shape \[N, 32, H, W\]/);
    expect(() => new FCOSRegressionHead(32, 0)).toThrow(/FCOSRegressionHead: expected numAnchors to be an integer >= 1/);
  });
});

describeDevices('FCOSHead', (device: Device) => {
  it("registers torchvision's branch names and returns the three outputs", () => {
    manualSeed(2);
    const head = new FCOSHead(32, 1, 4, 1).to(device);
    const names = [...head.stateDict().keys()];
    expect(names.filter((n) => n.startsWith('classification_head.')).length).toBe(6);
    expect(names.filter((n) => n.startsWith('regression_head.')).length).toBe(8);
    expect(head.boxCoder.normalizeBySize).toBe(true);
    const out = head.call([randn([2, 32, 3, 3], { device })]);
    expect([out.clsLogits.shape, out.bboxRegression.shape, out.bboxCtrness.shape]).toEqual([[2, 9, 4], [2, 9, 4], [2, 9, 1]]);
  });

  it("computeLoss gives torchvision's losses for torchvision's matches (small FCOS, an image without boxes)", () => {
    const model = tinyFcos(device);
    model.train();
    const [imageList, resized] = model.transform.call(tinyFcosImages(device), tinyFcosTargets(device));
    const features = [...model.backbone.call(imageList.tensors).values()];
    const anchors = model.anchorGenerator.call(imageList, features);
    const matched = [0, 1, 2].map((i) => tinyFcosPart(`__output__.matched${i}`, device));
    const targets = resized!.map((t) => ({ boxes: t.boxes, labels: t.labels! }));
    const losses = model.head.computeLoss(targets, model.head.call(features), anchors, matched);
    for (const [name, expected] of Object.entries(tinyFcosLosses.losses)) {
      expect(Math.abs(losses[name as keyof typeof losses].item() - expected), name).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected)));
    }
    model.dispose();
  });

  it('computeLoss keeps gradients finite where the matched boxes are degenerate for the background, and names what is wrong', () => {
    const head = new FCOSHead(32, 1, 2, 1).to(device);
    const anchors = [zeros([3, 4], { device }).add(randn([3, 4], { device }).abs().cumsum(1))];
    const regression = zeros([1, 3, 4], { device, requiresGrad: true });
    const logits = randn([1, 3, 2], { device, requiresGrad: true });
    const ctrness = randn([1, 3, 1], { device, requiresGrad: true });
    const outputs = { clsLogits: logits, bboxRegression: regression, bboxCtrness: ctrness } as models.detection.FCOSHeadOutputs;
    // No point matched: zero-size predicted boxes against box 0 everywhere.
    const targets = [{ boxes: zeros([1, 4], { device }).add(1), labels: zeros([1], { dtype: 'int32', device }) }];
    const matched = [zeros([3], { dtype: 'int32', device }).sub(1)];
    const losses = head.computeLoss(targets, outputs, anchors, matched);
    expect(losses.bbox_regression.item()).toBe(0);
    expect(losses.bbox_ctrness.item()).toBe(0);
    losses.classification.add(losses.bbox_regression).add(losses.bbox_ctrness).backward();
    for (const t of [regression, logits, ctrness]) expect(Array.from(t.grad!.cpu().dataSync()).every(Number.isFinite)).toBe(true);
    expect(Array.from(regression.grad!.cpu().dataSync()).every((v) => v === 0)).toBe(true);

    expect(() => head.computeLoss(targets, { ...outputs, bboxCtrness: zeros([1, 3, 2], { device }) }, anchors, matched)).toThrow(/FCOSHead.computeLoss: expected headOutputs.bboxCtrness of shape \[1, 3, 1\], got \[1, 3, 2\]/);
    expect(() => head.computeLoss(targets, outputs, anchors, [])).toThrow(/FCOSHead.computeLoss: expected matchedIdxs to be an array of 1 entries \(one per image\)/);
    expect(() => head.computeLoss(targets, outputs, [zeros([4, 4], { device })], matched)).toThrow(ShapeError);
    expect(() => head.computeLoss(targets, { ...outputs, clsLogits: zeros([3, 2], { device }) }, anchors, matched)).toThrow(/expected headOutputs.clsLogits of shape \[N, P, C\]/);
  });
});
