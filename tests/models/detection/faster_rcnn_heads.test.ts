import { expect, it } from 'vitest';

import { ArgumentError, linear, manualSeed, models, randn, relu, ShapeError, type Device } from '../../../lib/index.js';
import { describeDevices, expectClose } from '../../helpers/devices.js';

const { FastRCNNPredictor, TwoMLPHead } = models.detection;

// Both heads also run inside tests/models/detection/roi_heads.test.ts, loaded with
// torchvision's weights and checked against its detections and losses.
describeDevices('TwoMLPHead', (device: Device) => {
  it('flattens [K, C, H, W] and applies relu(fc6) then relu(fc7): [3, 4, 2, 2] -> [3, 6]', () => {
    manualSeed(0);
    const head = new TwoMLPHead(4 * 2 * 2, 6).to(device);
    expect([...head.stateDict().keys()]).toEqual(['fc6.weight', 'fc6.bias', 'fc7.weight', 'fc7.bias']);
    const x = randn([3, 4, 2, 2], { device });
    const y = head.call(x);
    expect(y.shape).toEqual([3, 6]);
    const expected = relu(linear(relu(linear(x.flatten(1), head.fc6.weight, head.fc6.bias)), head.fc7.weight, head.fc7.bias));
    expectClose(y.cpu().dataSync(), expected.cpu().dataSync(), 1e-6);
    expect(y.cpu().dataSync().every((v) => v >= 0)).toBe(true);
  });

  it('names what is wrong', () => {
    const head = new TwoMLPHead(16, 6).to(device);
    expect(() => head.call(randn([3, 4, 2, 3], { device }))).toThrow(ShapeError);
    expect(() => head.call(randn([3, 4, 2, 3], { device }))).toThrow(/TwoMLPHead: expected x to hold 16 values per RoI \(inChannels\), got shape \[3, 4, 2, 3\]/);
    expect(() => head.call(randn([16], { device }))).toThrow(/expected x of shape \[K, \.\.\.\]/);
    expect(() => new TwoMLPHead(0, 6)).toThrow(ArgumentError);
    expect(() => new TwoMLPHead(16, 1.5)).toThrow(/representationSize/);
  });
});

describeDevices('FastRCNNPredictor', (device: Device) => {
  it('gives class logits [K, C] and per-class deltas [K, 4C] from [K, D] or [K, D, 1, 1]', () => {
    manualSeed(0);
    const predictor = new FastRCNNPredictor(6, 3).to(device);
    expect([...predictor.stateDict().keys()]).toEqual(['cls_score.weight', 'cls_score.bias', 'bbox_pred.weight', 'bbox_pred.bias']);
    expect(predictor.bboxPred.outFeatures).toBe(12);
    const x = randn([5, 6], { device });
    const [logits, deltas] = predictor.call(x);
    expect(logits.shape).toEqual([5, 3]);
    expect(deltas.shape).toEqual([5, 12]);
    expectClose(logits.cpu().dataSync(), linear(x, predictor.clsScore.weight, predictor.clsScore.bias).cpu().dataSync(), 1e-6);
    const [logits4] = predictor.call(x.reshape(5, 6, 1, 1));
    expectClose(logits4.cpu().dataSync(), logits.cpu().dataSync(), 1e-6);
  });

  it('names what is wrong', () => {
    const predictor = new FastRCNNPredictor(6, 3).to(device);
    expect(() => predictor.call(randn([5, 6, 2, 1], { device }))).toThrow(/FastRCNNPredictor: expected x of shape \[K, 6\] or \[K, 6, 1, 1\], got \[5, 6, 2, 1\]/);
    expect(() => predictor.call(randn([5, 7], { device }))).toThrow(ShapeError);
    expect(() => new FastRCNNPredictor(6, 0)).toThrow(/numClasses/);
  });
});
