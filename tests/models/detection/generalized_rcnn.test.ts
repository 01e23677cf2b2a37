import { describe, expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, noGrad, rand, ShapeError, tensor, vision, type Tensor } from '../../../lib/index.js';

const { FastRCNNPredictor, GeneralizedRCNN, GeneralizedRCNNTransform, RegionProposalNetwork, RoIHeads, RPNHead, TwoMLPHead, resnetFpnBackbone } = models.detection;

/** A GeneralizedRCNN of small parts: ResNet-18 FPN, an RPN over its 5 levels, a 3-class box branch, images resized to a shorter side of 64. */
function smallModel() {
  const backbone = resnetFpnBackbone({ backboneName: 'resnet18' });
  const anchors = new vision.AnchorGenerator([[32], [64], [128], [256], [512]], Array.from({ length: 5 }, () => [0.5, 1, 2]));
  const rpn = new RegionProposalNetwork(anchors, new RPNHead(256, 3), {
    fgIouThresh: 0.7, bgIouThresh: 0.3, batchSizePerImage: 256, positiveFraction: 0.5,
    preNmsTopN: { training: 200, testing: 100 }, postNmsTopN: { training: 100, testing: 50 }, nmsThresh: 0.7,
  });
  const roiHeads = new RoIHeads(new vision.MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2), new TwoMLPHead(256 * 7 * 7, 64), new FastRCNNPredictor(64, 3));
  const transform = new GeneralizedRCNNTransform(64, 96, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
  return new GeneralizedRCNN(backbone, rpn, roiHeads, transform);
}

const boxesOf = (rows: number[][]) => tensor(Float32Array.from(rows.flat())).reshape(rows.length, 4);

describe('GeneralizedRCNN', () => {
  it('registers its parts under torchvision\'s names and rejects a part that is not a Module', () => {
    manualSeed(0);
    const model = smallModel();
    expect([...model.namedChildren()].map(([name]) => name)).toEqual(['transform', 'backbone', 'rpn', 'roi_heads']);
    expect(() => new GeneralizedRCNN(model.backbone, model.rpn, {} as unknown as models.detection.RoIHeads, model.transform)).toThrow(/GeneralizedRCNN: expected roiHeads to be a Module/);
    model.dispose();
  });

describe('on a small ResNet-18 model', () => {
  manualSeed(0);
  const model = smallModel();
  const images = [rand([3, 48, 64]), rand([3, 40, 40])];
  const targets = [
    { boxes: boxesOf([[4, 4, 30, 40]]), labels: tensor(Int32Array.of(1)) },
    { boxes: boxesOf([[2, 3, 20, 25], [10, 10, 38, 30]]), labels: tensor(Int32Array.of(2, 1)) },
  ];

  it('returns the four losses in training; they reach the trainable parameters and not the frozen ones', () => {
    model.train();
    const losses = model.call(images, targets) as models.detection.GeneralizedRCNNLosses;
    expect(Object.keys(losses).sort()).toEqual(['loss_box_reg', 'loss_classifier', 'loss_objectness', 'loss_rpn_box_reg']);
    const total = Object.values(losses).reduce((a: Tensor, b: Tensor) => a.add(b));
    expect(Number.isFinite(total.item())).toBe(true);
    total.backward();
    const params = new Map(model.namedParameters());
    for (const name of ['rpn.head.cls_logits.weight', 'roi_heads.box_predictor.cls_score.weight', 'backbone.fpn.layer_blocks.0.0.weight', 'backbone.body.layer4.0.conv1.weight']) {
      expect(params.get(name)!.grad, name).not.toBeNull();
    }
    expect(params.get('backbone.body.conv1.weight')!.grad).toBeNull();
    model.zeroGrad();
  });

  it('returns one { boxes, labels, scores } per image in eval, boxes in the original image\'s pixels', () => {
    model.eval();
    const detections = noGrad(() => model.call(images)) as models.detection.Detection[];
    expect(detections).toHaveLength(2);
    detections.forEach((d, i) => {
      const [h, w] = [images[i]!.shape[1]!, images[i]!.shape[2]!];
      const k = d.boxes.shape[0]!;
      expect(d.boxes.shape).toEqual([k, 4]);
      expect(d.labels.shape).toEqual([k]);
      expect(d.scores.shape).toEqual([k]);
      const b = d.boxes.dataSync();
      // The transform resized the images up (to a shorter side of 64): unscaled boxes would reach past them.
      for (let j = 0; j < k; ++j) {
        expect(b[4 * j + 2]!).toBeLessThanOrEqual(w + 1e-3);
        expect(b[4 * j + 3]!).toBeLessThanOrEqual(h + 1e-3);
      }
    });
  });

  it('rejects training without targets, bad targets, and the wrong mode for detect() and losses()', () => {
    model.train();
    expect(() => model.call(images)).toThrow(/GeneralizedRCNN.forward: expected targets .* in training mode, got undefined/);
    expect(() => model.detect(images)).toThrow(/GeneralizedRCNN.detect: expected the model in eval mode/);
    const degenerate = [targets[0]!, { boxes: boxesOf([[10, 10, 10, 20]]), labels: tensor(Int32Array.of(1)) }];
    expect(() => model.losses(images, degenerate)).toThrow(/targets\[1\].boxes\[0\] is \[10, 10, 10, 20\]/);
    expect(() => model.losses(images, [targets[0]!, { boxes: tensor(Float32Array.of(1, 2, 3)).reshape(1, 3), labels: tensor(Int32Array.of(1)) }])).toThrow(ShapeError);
    expect(() => model.losses(images, [targets[0]!, { boxes: targets[1]!.boxes, labels: tensor(Int32Array.of(1)) }])).toThrow(/targets\[1\].labels to be a Tensor of shape \[2\]/);
    model.eval();
    expect(() => model.losses(images, targets)).toThrow(/GeneralizedRCNN.losses: expected the model in training mode/);
  });
});});
