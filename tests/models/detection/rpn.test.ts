import { describe, expect, it, vi } from 'vitest';

import { ArgumentError, DTypeError, manualSeed, memory, models, noGrad, randn, ShapeError, tensor, vision, zeros, type Device, type Tensor } from '../../../lib/index.js';
import { native } from '../../../lib/native.js';
import { describeDevices } from '../../helpers/devices.js';
import { readFixture } from '../../helpers/fixture_cases.js';

const { RPNHead, RegionProposalNetwork, concatBoxPredictionLayers } = models.detection;
type RPNTarget = Pick<models.detection.DetectionTarget, 'boxes'>;
type RegionProposalNetworkOptions = models.detection.RegionProposalNetworkOptions;

// tests/fixtures/make_rpn_fixtures.py: torchvision 0.14's AnchorGenerator + RPNHead (seeded
// random weights, larger than its init so that scores do not tie) + RegionProposalNetwork on
// two images (64x80 and 56x70 in a 64x80 batch) and three 16-channel levels at strides 8, 16,
// 32. Training uses batchSizePerImage 100000, more than the 318 anchors per image: the
// sampler then takes every positive and negative anchor, so no random draw is involved and
// neocog's losses can equal torchvision's.
interface Stored {
  shape: number[];
  data: number[];
}
interface EvalCase {
  name: string;
  preNmsTopN: number;
  postNmsTopN: number;
  nmsThresh: number;
  scoreThresh: number;
  proposals: number[][];
}
interface TrainCase {
  name: string;
  targets: number[][][];
  proposals: number[][];
  lossObjectness: number;
  lossRpnBoxReg: number;
}
const fixture = readFixture<{
  channels: number;
  sizes: number[][];
  aspectRatios: number[][];
  padded: [number, number];
  imageSizes: Array<[number, number]>;
  state: Record<string, Stored>;
  features: Record<string, Stored>;
  eval: EvalCase[];
  train: TrainCase[];
  train_options: { preNmsTopN: number; postNmsTopN: number; nmsThresh: number; fgIouThresh: number; bgIouThresh: number; batchSizePerImage: number; positiveFraction: number };
}>('rpn.json');

const load = (s: Stored, device: Device): Tensor => tensor(Float32Array.from(s.data), { device }).reshape(s.shape);

function makeRpn(device: Device, counts: { preNmsTopN: number; postNmsTopN: number; nmsThresh: number; scoreThresh?: number }) {
  const t = fixture.train_options;
  const head = new RPNHead(fixture.channels, 3);
  expect(head.loadStateDict(new Map(Object.entries(fixture.state).map(([k, s]) => [k, load(s, 'cpu')])))).toEqual({ missing: [], unexpected: [] });
  return new RegionProposalNetwork(new vision.AnchorGenerator(fixture.sizes, fixture.aspectRatios), head.to(device), {
    fgIouThresh: t.fgIouThresh,
    bgIouThresh: t.bgIouThresh,
    batchSizePerImage: t.batchSizePerImage,
    positiveFraction: t.positiveFraction,
    preNmsTopN: { training: counts.preNmsTopN, testing: counts.preNmsTopN },
    postNmsTopN: { training: counts.postNmsTopN, testing: counts.postNmsTopN },
    nmsThresh: counts.nmsThresh,
    scoreThresh: counts.scoreThresh ?? 0,
  });
}

function inputs(device: Device) {
  const images = new vision.ImageList(zeros([2, 3, ...fixture.padded], { device }), fixture.imageSizes);
  const features = new Map(Object.entries(fixture.features).map(([name, s]) => [name, load(s, device)]));
  return { images, features };
}

/** Proposals equal torchvision's in count and order, each coordinate within 1e-3 px. */
function expectProposals(actual: Tensor[], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((boxes, i) => {
    expect(boxes.shape, `image ${i}`).toEqual([expected[i]!.length / 4, 4]);
    const values = boxes.cpu().dataSync();
    const worst = expected[i]!.reduce((m, e, j) => Math.max(m, Math.abs(values[j]! - e)), 0);
    expect(worst, `image ${i}: largest coordinate difference (px)`).toBeLessThan(1e-3);
  });
}

describeDevices('RegionProposalNetwork against torchvision', (device) => {
  for (const c of fixture.eval) {
    it(`eval (${c.name}: preNmsTopN ${c.preNmsTopN}, postNmsTopN ${c.postNmsTopN}, nms ${c.nmsThresh}, score ${c.scoreThresh}) gives torchvision's proposals in its order and no losses`, () => {
      const rpn = makeRpn(device, c).eval();
      const { images, features } = inputs(device);
      const [proposals, losses] = noGrad(() => rpn.call(images, features));
      expect(losses).toEqual({});
      expectProposals(proposals, c.proposals);
      rpn.dispose();
    });
  }

  for (const c of fixture.train) {
    it(`training (${c.name}) gives torchvision's proposals and losses, and gradients to the head`, () => {
      const t = fixture.train_options;
      const rpn = makeRpn(device, t).train();
      const { images, features } = inputs(device);
      const targets: RPNTarget[] = c.targets.map((boxes) => ({ boxes: tensor(Float32Array.from(boxes.flat()), { device }).reshape(-1, 4) }));
      const [proposals, losses] = rpn.call(images, features, targets);
      expectProposals(proposals, c.proposals);
      expect(Object.keys(losses)).toEqual(['loss_objectness', 'loss_rpn_box_reg']);
      expect(losses.loss_objectness!.item()).toBeCloseTo(c.lossObjectness, 4);
      expect(losses.loss_rpn_box_reg!.item()).toBeCloseTo(c.lossRpnBoxReg, 4);
      expect(Math.abs(losses.loss_objectness!.item() - c.lossObjectness)).toBeLessThan(1e-4);
      expect(Math.abs(losses.loss_rpn_box_reg!.item() - c.lossRpnBoxReg)).toBeLessThan(1e-4);
      losses.loss_objectness!.add(losses.loss_rpn_box_reg!).backward();
      const head = rpn.head as InstanceType<typeof RPNHead>;
      for (const p of [head.clsLogits.weight, head.bboxPred.weight, head.bboxPred.bias!]) {
        const grad = p.grad!.cpu().dataSync();
        expect(grad.every(Number.isFinite)).toBe(true);
        expect(grad.some((g) => g !== 0)).toBe(true);
      }
      rpn.dispose();
    });
  }
});

describe('RPNHead', () => {
  it("has torchvision's state-dict names, init and output shapes, per level", () => {
    manualSeed(0);
    const head = new RPNHead(8, 3, 2);
    expect([...head.stateDict().keys()]).toEqual([
      'conv.0.0.weight', 'conv.0.0.bias', 'conv.1.0.weight', 'conv.1.0.bias', 'cls_logits.weight', 'cls_logits.bias', 'bbox_pred.weight', 'bbox_pred.bias',
    ]);
    const weights = Array.from(head.bboxPred.weight.dataSync());
    const std = Math.sqrt(weights.reduce((s, w) => s + w * w, 0) / weights.length);
    expect(std).toBeGreaterThan(0.008);
    expect(std).toBeLessThan(0.012);
    expect(Array.from(head.clsLogits.bias!.dataSync()).every((b) => b === 0)).toBe(true);
    const [logits, deltas] = head.call([randn([2, 8, 6, 5]), randn([2, 8, 3, 3])]);
    expect(logits.map((l) => l.shape)).toEqual([[2, 3, 6, 5], [2, 3, 3, 3]]);
    expect(deltas.map((d) => d.shape)).toEqual([[2, 12, 6, 5], [2, 12, 3, 3]]);
    head.dispose();
  });

  it('loads a checkpoint from torchvision < 0.11 (conv.weight), as torchvision does', () => {
    const head = new RPNHead(fixture.channels, 3);
    const legacy = new Map(Object.entries(fixture.state).map(([k, s]) => [k.replace(/^conv\.0\.0\./, 'conv.'), load(s, 'cpu')]));
    expect(legacy.has('conv.weight')).toBe(true);
    expect(head.loadStateDict(legacy)).toEqual({ missing: [], unexpected: [] });
    expect(Array.from(head.conv.stateDict().get('0.0.weight')!.dataSync())).toEqual(Array.from(Float32Array.from(fixture.state['conv.0.0.weight']!.data)));
    head.dispose();
  });

  it('throws typed errors for bad arguments', () => {
    expect(() => new RPNHead(0, 3)).toThrow(ArgumentError);
    expect(() => new RPNHead(8, 3, 0)).toThrow(/RPNHead: expected convDepth to be an integer >= 1/);
    const head = new RPNHead(8, 3);
    expect(() => head.call([randn([1, 4, 5, 5])])).toThrow(/RPNHead: expected features\[0\] of shape \[N, 8, H, W\], got shape \[1, 4, 5, 5\]/);
    expect(() => head.call([])).toThrow(ArgumentError);
    head.dispose();
  });
});

describe('concatBoxPredictionLayers', () => {
  it("orders the predictions image, level, cell, anchor, as torchvision's", () => {
    // One image, two anchors, a 1x2 map: cls[a, 0, x] = 10 a + x; deltas carry 100 a + 10 x + coordinate.
    const cls = tensor(Float32Array.from([0, 1, 10, 11])).reshape(1, 2, 1, 2);
    const reg = tensor(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7].flatMap((ch) => [0, 1].map((x) => 100 * Math.floor(ch / 4) + 10 * x + (ch % 4))))).reshape(1, 8, 1, 2);
    const [flatCls, flatReg] = concatBoxPredictionLayers([cls], [reg]);
    expect(flatCls.shape).toEqual([4, 1]);
    expect(Array.from(flatCls.dataSync())).toEqual([0, 10, 1, 11]);
    expect(flatReg.tolist()).toEqual([[0, 1, 2, 3], [100, 101, 102, 103], [10, 11, 12, 13], [110, 111, 112, 113]]);
  });

  it('throws ShapeError when the maps disagree', () => {
    expect(() => concatBoxPredictionLayers([zeros([1, 3, 2, 2])], [zeros([1, 8, 2, 2])])).toThrow(ShapeError);
    expect(() => concatBoxPredictionLayers([zeros([1, 3, 2, 2])], [])).toThrow(ArgumentError);
  });
});

describe('RegionProposalNetwork', () => {
  const options: RegionProposalNetworkOptions = {
    fgIouThresh: 0.7,
    bgIouThresh: 0.3,
    batchSizePerImage: 256,
    positiveFraction: 0.5,
    preNmsTopN: { training: 20, testing: 10 },
    postNmsTopN: { training: 8, testing: 5 },
    nmsThresh: 0.7,
  };
  const generator = () => new vision.AnchorGenerator([[16], [32]], [0.5, 1, 2]);
  const small = () => {
    const images = new vision.ImageList(zeros([2, 3, 32, 32]), [[32, 32], [30, 28]]);
    const features = new Map([['a', randn([2, 4, 4, 4])], ['b', randn([2, 4, 2, 2])]]);
    return { images, features };
  };

  it('keeps postNmsTopN proposals per mode, inside each image, with state-dict names under head', () => {
    manualSeed(3);
    const rpn = new RegionProposalNetwork(generator(), new RPNHead(4, 3), options);
    expect([...rpn.stateDict().keys()].every((k) => k.startsWith('head.'))).toBe(true);
    const { images, features } = small();
    rpn.eval();
    expect(rpn.preNmsTopN()).toBe(10);
    const [evalBoxes] = noGrad(() => rpn.call(images, features));
    expect(evalBoxes.map((b) => b.shape[0]! <= 5)).toEqual([true, true]);
    const [, second] = evalBoxes;
    const v = Array.from(second!.dataSync());
    for (let i = 0; i < v.length; i += 4) {
      expect(v[i]! >= 0 && v[i + 2]! <= 28 && v[i + 1]! >= 0 && v[i + 3]! <= 30).toBe(true);
    }
    rpn.train();
    const [trainBoxes, losses] = rpn.call(images, features, [{ boxes: tensor(Float32Array.of(2, 2, 20, 20)).reshape(1, 4) }, { boxes: zeros([0, 4]) }]);
    expect(trainBoxes.map((b) => b.shape[0]! <= 8)).toEqual([true, true]);
    expect(Number.isFinite(losses.loss_objectness!.item())).toBe(true);
    expect(Number.isFinite(losses.loss_rpn_box_reg!.item())).toBe(true);
    rpn.dispose();
  });

  it('reads the device once per image (NMS keep lists), in eval and in training, losses included', () => {
    manualSeed(4);
    const rpn = new RegionProposalNetwork(generator(), new RPNHead(4, 3), options);
    const { images, features } = small();
    const targets = [{ boxes: tensor(Float32Array.of(2, 2, 20, 20)).reshape(1, 4) }, { boxes: zeros([0, 4]) }];
    const reads = vi.spyOn(native, 'readSync');
    try {
      noGrad(() => rpn.eval().call(images, features));
      expect(reads).toHaveBeenCalledTimes(2);
      reads.mockClear();
      rpn.train().call(images, features, targets);
      expect(reads).toHaveBeenCalledTimes(2);
    } finally {
      reads.mockRestore();
      rpn.dispose();
    }
  });

  it('leaves only its outputs (and, after backward, the gradients) in memory', () => {
    manualSeed(5);
    const rpn = new RegionProposalNetwork(generator(), new RPNHead(4, 3), options);
    const { images, features } = small();
    const targets = [{ boxes: tensor(Float32Array.of(2, 2, 20, 20)).reshape(1, 4) }, { boxes: zeros([0, 4]) }];
    const step = () => {
      const [proposals, losses] = rpn.call(images, features, targets);
      const total = losses.loss_objectness!.add(losses.loss_rpn_box_reg!);
      total.backward();
      for (const t of [...proposals, ...Object.values(losses), total]) t.dispose();
    };
    rpn.train();
    step(); // makes the parameters' gradients
    const before = memory().cpu?.tensors ?? 0;
    step();
    expect((memory().cpu?.tensors ?? 0) - before).toBe(0);
    rpn.eval();
    const [proposals] = noGrad(() => rpn.call(images, features));
    expect((memory().cpu?.tensors ?? 0) - before).toBe(2);
    for (const t of proposals) t.dispose();
    rpn.dispose();
  });

  it('throws typed errors for bad options, inputs and targets', () => {
    const head = () => new RPNHead(4, 3);
    expect(() => new RegionProposalNetwork(generator(), head(), { ...options, bgIouThresh: 0.8 })).toThrow(/RegionProposalNetwork: expected bgIouThresh <= fgIouThresh/);
    expect(() => new RegionProposalNetwork(generator(), head(), { ...options, preNmsTopN: { training: 1.5, testing: 1 } })).toThrow(/expected preNmsTopN.training to be an integer >= 0/);
    expect(() => new RegionProposalNetwork(generator(), head(), { ...options, positiveFraction: 2 })).toThrow(ArgumentError);
    expect(() => new RegionProposalNetwork(generator(), head(), { ...options, nmsThresh: Number.NaN })).toThrow(/expected nmsThresh to be a number/);

    const rpn = new RegionProposalNetwork(generator(), head(), options);
    const { images, features } = small();
    expect(() => rpn.call(images, features)).toThrow(/RegionProposalNetwork.forward: expected targets \(one \{ boxes \} per image\) in training mode, got undefined/);
    expect(() => rpn.call(images, features, [{ boxes: zeros([0, 4]) }])).toThrow(/expected 2 targets/);
    expect(() => rpn.call(images, features, [{ boxes: zeros([1, 5]) }, { boxes: zeros([0, 4]) }])).toThrow(ShapeError);
    expect(() => rpn.call(images, features, [{ boxes: zeros([1, 4], { dtype: 'int32' }) }, { boxes: zeros([0, 4]) }])).toThrow(DTypeError);
    rpn.eval();
    expect(() => rpn.call(images, new Map())).toThrow(ArgumentError);
    expect(() => rpn.call(images, new Map([['a', randn([3, 4, 4, 4])], ['b', randn([3, 4, 2, 2])]]))).toThrow(/expected feature 'a' of shape \[2, C, H, W\]/);
    rpn.dispose();

    // The training steps, called on their own.
    expect(() => rpn.computeLoss(zeros([5]), zeros([6, 4]), [zeros([6])], [zeros([6, 4])])).toThrow(/computeLoss: expected objectness to hold 6 values/);
    expect(() => rpn.computeLoss(zeros([6]), zeros([6, 4]), [zeros([5])], [zeros([5, 4])])).toThrow(/computeLoss: expected the labels to cover the 6 rows/);
    expect(() => rpn.computeLoss(zeros([6]), zeros([6, 4]), [zeros([6])], [zeros([5, 4])])).toThrow(ShapeError);
    expect(() => rpn.filterProposals(zeros([2, 10, 4]), zeros([20]), [[32, 32]], [10])).toThrow(/filterProposals: expected proposals of shape \[1, 10, 4\]/);
    expect(() => rpn.assignTargetsToAnchors([zeros([4, 4])], [])).toThrow(ArgumentError);
    // A head whose anchors per cell are not the generator's.
    const mismatched = new RegionProposalNetwork(generator(), new RPNHead(4, 2), options).eval();
    expect(() => mismatched.call(images, features)).toThrow(/expected the head's objectness at level 0 of shape \[2, 3, H, W\]/);
    mismatched.dispose();
  });
});
