import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, manualSeed, models, nn, randn, tensor, zeros, type Tensor } from '../../../lib/index.js';
import { expectClose } from '../../helpers/devices.js';
import { readFixture } from '../../helpers/fixture_cases.js';

const { RetinaNetClassificationHead, RetinaNetHead, RetinaNetRegressionHead } = models.detection;

// tests/fixtures/make_retinanet_heads_fixtures.py: torchvision 0.14's RetinaNetHead(4, 2, 3)
// with seeded weights (std 0.5, far from its init, so that outputs differ per anchor and
// class) on two images' levels of 3x2 and 2x1 cells (16 anchors per image); the losses and
// their gradients with respect to the outputs for given anchors and matches: image 0 has
// two boxes and anchors of every code (0, 1, -1, -2), image 1 has no boxes.
interface Stored {
  shape: number[];
  data: number[];
}
const fixture = readFixture<{
  channels: number;
  anchors: number;
  classes: number;
  state: Record<string, Stored>;
  legacyNames: Record<string, string>;
  features: Stored[];
  clsLogits: Stored;
  bboxRegression: Stored;
  anchorBoxes: Stored[];
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  matched: number[][];
  losses: { classification: number; bbox_regression: number };
  gradClsLogits: Stored;
  gradBboxRegression: Stored;
}>('retinanet_heads.json');

const load = (s: Stored): Tensor => tensor(Float32Array.from(s.data)).reshape(s.shape);
const state = () => new Map(Object.entries(fixture.state).map(([k, s]) => [k, load(s)]));
const targets = () => fixture.targets.map((t) => ({ boxes: tensor(Float32Array.from(t.boxes.flat())).reshape(t.boxes.length, 4), labels: tensor(Int32Array.from(t.labels)) }));
const matched = () => fixture.matched.map((m) => tensor(Int32Array.from(m)));

function fixtureHead() {
  const head = new RetinaNetHead(fixture.channels, fixture.anchors, fixture.classes);
  expect(head.loadStateDict(state())).toEqual({ missing: [], unexpected: [] });
  return head;
}

describe('RetinaNetHead against torchvision', () => {
  it('gives its outputs [2, 16, 3] and [2, 16, 4] (anchors cell-major, then anchor)', () => {
    const { cls_logits, bbox_regression } = fixtureHead().call(fixture.features.map(load));
    expect(cls_logits.shape).toEqual(fixture.clsLogits.shape);
    expect(bbox_regression.shape).toEqual(fixture.bboxRegression.shape);
    expectClose(cls_logits.dataSync(), fixture.clsLogits.data, 1e-4);
    expectClose(bbox_regression.dataSync(), fixture.bboxRegression.data, 1e-4);
  });

  it('gives its losses and their gradients (an image with boxes and one without)', () => {
    const head = fixtureHead();
    const logits = load(fixture.clsLogits).requiresGrad_();
    const deltas = load(fixture.bboxRegression).requiresGrad_();
    const losses = head.computeLoss(targets(), { cls_logits: logits, bbox_regression: deltas }, fixture.anchorBoxes.map(load), matched());
    expect(Object.keys(losses).sort()).toEqual(['bbox_regression', 'classification']);
    expectClose([losses.classification.item()], [fixture.losses.classification], 1e-5);
    expectClose([losses.bbox_regression.item()], [fixture.losses.bbox_regression], 1e-5);
    losses.classification.add(losses.bbox_regression).backward();
    expectClose(logits.grad!.dataSync(), fixture.gradClsLogits.data, 1e-5);
    expectClose(deltas.grad!.dataSync(), fixture.gradBboxRegression.data, 1e-5);
  });

  it('loads the layout before torchvision 0.13 (conv.0, conv.2, ...), as RetinaNet\'s COCO checkpoint has it', () => {
    const legacy = new Map([...state()].map(([k, v]) => [fixture.legacyNames[k] ?? k, v]));
    expect([...legacy.keys()]).toContain('classification_head.conv.6.weight');
    const head = new RetinaNetHead(fixture.channels, fixture.anchors, fixture.classes);
    expect(head.loadStateDict(legacy)).toEqual({ missing: [], unexpected: [] });
    expectClose(head.call(fixture.features.map(load)).cls_logits.dataSync(), fixture.clsLogits.data, 1e-4);
  });
});

describe('RetinaNetHead', () => {
  it('names and initialises its parameters as torchvision (prior 0.01 in the class bias)', () => {
    manualSeed(0);
    const head = new RetinaNetHead(256, 9, 91);
    const dict = head.stateDict();
    const towers = ['classification_head', 'regression_head'].flatMap((h) => [0, 1, 2, 3].flatMap((i) => [`${h}.conv.${i}.0.weight`, `${h}.conv.${i}.0.bias`]));
    expect([...dict.keys()].sort()).toEqual([...towers, 'classification_head.cls_logits.weight', 'classification_head.cls_logits.bias', 'regression_head.bbox_reg.weight', 'regression_head.bbox_reg.bias'].sort());
    expect(dict.get('classification_head.cls_logits.weight')!.shape).toEqual([9 * 91, 256, 3, 3]);
    expect(dict.get('regression_head.bbox_reg.weight')!.shape).toEqual([9 * 4, 256, 3, 3]);
    const prior = Array.from(dict.get('classification_head.cls_logits.bias')!.dataSync());
    expect(prior.every((b) => Math.abs(b + Math.log(99)) < 1e-5)).toBe(true);
    for (const name of ['regression_head.bbox_reg.bias', 'classification_head.conv.2.0.bias']) expect(dict.get(name)!.abs().amax().item()).toBe(0);
    const std = dict.get('regression_head.conv.0.0.weight')!.std().item();
    expect(Math.abs(std - 0.01)).toBeLessThan(5e-4);
    head.dispose();
  });

  it('puts a normalisation layer after each convolution with normLayer (conv.i.1, as retinanet_resnet50_fpn_v2\'s)', () => {
    const head = new RetinaNetHead(8, 2, 3, { normLayer: (c) => new nn.GroupNorm(4, c) });
    const names = [...head.stateDict().keys()];
    expect(names).toContain('classification_head.conv.3.1.weight');
    expect(names).toContain('regression_head.conv.0.1.bias');
    const { cls_logits, bbox_regression } = head.call([randn([1, 8, 4, 4])]);
    expect([cls_logits.shape, bbox_regression.shape]).toEqual([[1, 32, 3], [1, 32, 4]]);
  });

  it('rejects bad sizes and features', () => {
    expect(() => new RetinaNetClassificationHead(4, 2, 0)).toThrow(/RetinaNetClassificationHead: expected numClasses to be an integer >= 1, got 0/);
    expect(() => new RetinaNetClassificationHead(4, 2, 3, { priorProbability: 1 })).toThrow(/expected priorProbability in \(0, 1\), got 1/);
    expect(() => new RetinaNetRegressionHead(0, 2)).toThrow(ArgumentError);
    const head = new RetinaNetHead(4, 2, 3);
    expect(() => head.call([])).toThrow(/RetinaNetClassificationHead: expected features to be a non-empty array/);
    expect(() => head.call([zeros([1, 5, 2, 2])])).toThrow(ShapeError);
    expect(() => head.call([zeros([1, 4, 2, 2]), zeros([2, 4, 1, 1])])).toThrow(/expected features\[1\] of shape \[N, 4, H, W\] \(N of features\[0\]\), got shape \[2, 4, 1, 1\]/);
  });

  it('rejects loss arguments that do not fit the outputs', () => {
    const head = fixtureHead();
    const outputs = { cls_logits: load(fixture.clsLogits), bbox_regression: load(fixture.bboxRegression) };
    const anchors = fixture.anchorBoxes.map(load);
    expect(() => head.computeLoss(targets().slice(0, 1), outputs, anchors, matched())).toThrow(/RetinaNetClassificationHead.computeLoss: expected targets to be an array of 2 entries/);
    expect(() => head.computeLoss(targets(), outputs, anchors, [matched()[0]!, tensor(Int32Array.from([0, 1]))])).toThrow(/expected matchedIdxs\[1\] of shape \[16\] \(one per anchor\), got \[2\]/);
    expect(() => head.computeLoss(targets(), outputs, anchors, matched().map((m) => m.to('float32')))).toThrow(DTypeError);
    const floatLabels = targets().map((t) => ({ ...t, labels: t.labels.to('float32') }));
    expect(() => head.computeLoss(floatLabels, outputs, anchors, matched())).toThrow(/expected targets\[0\].labels of dtype int32, got float32/);
    expect(() => head.computeLoss(targets(), outputs, [anchors[0]!, zeros([3, 4])], matched())).toThrow(/RetinaNetRegressionHead.computeLoss: expected anchors\[1\] of shape \[16, 4\], got \[3, 4\]/);
    expect(() => head.computeLoss(targets(), { ...outputs, cls_logits: zeros([2, 16, 5]) }, anchors, matched())).toThrow(/expected head outputs of shape \[N, A, 3\], got \[2, 16, 5\]/);
  });
});
