import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, manualSeed, models, noGrad, optim, rand, ShapeError, tensor, zeros } from '../../../lib/index.js';

const { FCOSLite, fcosLite } = models.detection;

const boxesOf = (rows: number[][]) => tensor(Float32Array.from(rows.flat())).reshape(rows.length, 4);
const labelsOf = (...labels: number[]) => tensor(Int32Array.from(labels));

/** Index of location (i, j) of level `level` (0: stride 8, 1: stride 16) on a 64x64 image: 8x8 then 4x4 locations. */
const at = (level: number, i: number, j: number) => (level === 0 ? 0 : 64) + i * (level === 0 ? 8 : 4) + j;

describe('FCOSLite target assignment', () => {
  const model = fcosLite({ numClasses: 4 });

  it('makes positive the locations of the small box near its centre on the stride-8 level, with their distances', () => {
    // Box 8..40 x 16..40: 32x24, centre (24, 28). Stride-8 centres are at 4, 12, 20, ...;
    // centre sampling at 1.5 strides keeps those strictly within 12 px of the centre.
    const assignment = model.assignTargets({ boxes: boxesOf([[8, 16, 40, 40]]), labels: labelsOf(2) }, [64, 64]);
    expect(assignment.labels).toHaveLength(64 + 16);
    const positives = [...assignment.labels.keys()].filter((k) => assignment.labels[k] !== 0);
    // x in {20, 28} (j = 2, 3), y in {20, 28, 36} (i = 2, 3, 4): |y - 28| < 12 and y < 40.
    expect(positives).toEqual([at(0, 2, 2), at(0, 2, 3), at(0, 3, 2), at(0, 3, 3), at(0, 4, 2), at(0, 4, 3)]);
    for (const k of positives) {
      expect(assignment.labels[k]).toBe(2);
      expect(assignment.matchedIdxs[k]).toBe(0);
    }
    // Location (2, 2) sits at (20, 20): l = 12, t = 4, r = 20, b = 20.
    expect([...assignment.ltrb.subarray(4 * at(0, 2, 2), 4 * at(0, 2, 2) + 4)]).toEqual([12, 4, 20, 20]);
    expect(assignment.centerness[at(0, 2, 2)]).toBeCloseTo(Math.sqrt((12 / 20) * (4 / 20)), 6);
    expect(assignment.matchedIdxs[at(0, 0, 0)]).toBe(-1);
    expect([...assignment.ltrb.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
  });

  it('sends a large box to the stride-16 level, and gives a location inside two boxes to the smaller', () => {
    // Box 0..64 x 0..64: every reach is >= 32, so only stride-16 locations (centres 8, 24, 40, 56) within 24 px of 32: 24 and 40.
    const big = model.assignTargets({ boxes: boxesOf([[0, 0, 64, 64]]), labels: labelsOf(1) }, [64, 64]);
    const positives = [...big.labels.keys()].filter((k) => big.labels[k] !== 0);
    expect(positives).toEqual([at(1, 1, 1), at(1, 1, 2), at(1, 2, 1), at(1, 2, 2)]);
    // Both boxes contain the stride-8 location (3, 3) at (28, 28); the smaller one (index 1, label 3) wins.
    const both = model.assignTargets({ boxes: boxesOf([[4, 4, 52, 52], [16, 16, 40, 40]]), labels: labelsOf(1, 3) }, [64, 64]);
    expect(both.labels[at(0, 3, 3)]).toBe(3);
    expect(both.matchedIdxs[at(0, 3, 3)]).toBe(1);
  });

  it('has no positives for an image without boxes', () => {
    const none = model.assignTargets({ boxes: zeros([0, 4]), labels: tensor(new Int32Array(0)) }, [64, 64]);
    expect(none.labels.every((l) => l === 0)).toBe(true);
  });
});

describe('FCOSLite on 64x64 images', () => {
  manualSeed(0);
  const model = fcosLite({ numClasses: 4, width: 8, headChannels: 16, headDepth: 1 });
  const images = [rand([3, 64, 64]), rand([3, 64, 64])];
  const targets = [
    { boxes: boxesOf([[8, 8, 40, 36]]), labels: labelsOf(1) },
    { boxes: boxesOf([[20, 4, 60, 50], [2, 30, 24, 60]]), labels: labelsOf(2, 3) },
  ];

  it('returns the three losses in training, finite, with gradients reaching backbone and head', () => {
    model.train();
    const losses = model.call(images, targets) as models.detection.FCOSLiteLosses;
    expect(Object.keys(losses).sort()).toEqual(['bbox_ctrness', 'bbox_regression', 'classification']);
    for (const loss of Object.values(losses)) {
      expect(loss.shape).toEqual([]);
      expect(Number.isFinite(loss.item())).toBe(true);
    }
    losses.classification.add(losses.bbox_regression).add(losses.bbox_ctrness).backward();
    const params = new Map(model.namedParameters());
    for (const name of ['stem.0.weight', 'stage4.1.0.weight', 'head.cls_logits.weight', 'head.bbox_pred.weight', 'head.bbox_ctrness.weight', 'head.box_tower.norm1_0.weight']) {
      expect(params.get(name)?.grad, name).toBeTruthy();
    }
    model.zeroGrad();
  });

  it('lowers each loss when overfitting two images', () => {
    manualSeed(1);
    const small = fcosLite({ numClasses: 4, width: 8, headChannels: 16, headDepth: 1 });
    small.train();
    const optimizer = new optim.Adam(small.parameters(), { lr: 0.01 });
    const history: number[][] = [];
    for (let step = 0; step < 8; ++step) {
      const losses = small.losses(images, targets);
      history.push([losses.classification.item(), losses.bbox_regression.item(), losses.bbox_ctrness.item()]);
      optimizer.zeroGrad();
      losses.classification.add(losses.bbox_regression).add(losses.bbox_ctrness).backward();
      optimizer.step();
    }
    const [first, last] = [history[0]!, history[history.length - 1]!];
    for (let k = 0; k < 3; ++k) expect(last[k]!, `loss ${k}: ${history.map((h) => h[k]!.toFixed(3)).join(' ')}`).toBeLessThan(first[k]!);
    expect(last[0]! + last[1]! + last[2]!).toBeLessThan(0.8 * (first[0]! + first[1]! + first[2]!));
    small.dispose();
  });

  it('returns { boxes, labels, scores } per image in eval: boxes inside the image, labels foreground, scores sorted', async () => {
    model.eval();
    const odd = rand([3, 50, 70]);
    const detections = noGrad(() => model.detect([images[0]!, odd]));
    expect(detections).toHaveLength(2);
    for (const [i, d] of detections.entries()) {
      const [h, w] = i === 0 ? [64, 64] : [50, 70];
      const k = d.boxes.shape[0]!;
      expect(d.boxes.shape).toEqual([k, 4]);
      expect(d.boxes.dtype).toBe('float32');
      expect(d.labels.dtype).toBe('int32');
      expect(d.scores.shape).toEqual([k]);
      expect(k).toBeLessThanOrEqual(100);
      const boxes = await d.boxes.data();
      for (let b = 0; b < k; ++b) {
        expect(boxes[4 * b]!).toBeGreaterThanOrEqual(0);
        expect(boxes[4 * b + 1]!).toBeGreaterThanOrEqual(0);
        expect(boxes[4 * b + 2]!).toBeLessThanOrEqual(w);
        expect(boxes[4 * b + 3]!).toBeLessThanOrEqual(h);
      }
      const labels = [...(await d.labels.data())];
      expect(labels.every((l) => l >= 1 && l <= 3)).toBe(true);
      const scores = [...(await d.scores.data())];
      expect(scores.every((s) => s > 0.05 && s <= 1)).toBe(true);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    }
    // A zero score threshold lets candidates through: the cap of detectionsPerImage holds.
    const capped = fcosLite({ numClasses: 4, width: 8, headChannels: 16, headDepth: 1, scoreThreshold: 0, detectionsPerImage: 5 }).eval();
    expect(noGrad(() => capped.detect([images[0]!]))[0]!.boxes.shape).toEqual([5, 4]);
  });

  it('refuses the wrong mode, missing or malformed targets, and bad images', () => {
    model.train();
    expect(() => model.call(images)).toThrow(/FCOSLite.forward: expected targets .* in training mode, got undefined/);
    expect(() => model.detect(images)).toThrow(ArgumentError);
    expect(() => model.losses(images, [targets[0]!])).toThrow(/one target per image, got 1 targets for 2 images/);
    expect(() => model.losses(images, [{ boxes: boxesOf([[1, 2, 3, 4]]).reshape(4), labels: labelsOf(1) }, targets[1]!])).toThrow(ShapeError);
    expect(() => model.losses(images, [{ boxes: boxesOf([[1, 2, 3, 4]]), labels: labelsOf(1, 2) }, targets[1]!])).toThrow(/targets\[0\].labels to be a Tensor of shape \[1\]/);
    expect(() => model.losses(images, [{ boxes: boxesOf([[1, 2, 3, 4]]), labels: tensor([1], { dtype: 'float32' }) }, targets[1]!])).toThrow(DTypeError);
    expect(() => model.losses(images, [{ boxes: boxesOf([[5, 2, 3, 4]]), labels: labelsOf(1) }, targets[1]!])).toThrow(/positive width and height; targets\[0\].boxes\[0\] is \[5, 2, 3, 4\]/);
    expect(() => model.losses(images, [{ boxes: boxesOf([[1, 2, 3, 4]]), labels: labelsOf(4) }, targets[1]!])).toThrow(/labels\[0\] in 1..3 \(0 is the background\), got 4/);
    expect(() => model.losses([rand([1, 64, 64]), images[1]!], targets)).toThrow(/images\[0\] of shape \[3, H, W\], got \[1, 64, 64\]/);
    expect(() => model.losses([], [])).toThrow(/non-empty array/);
    model.eval();
    expect(() => model.losses(images, targets)).toThrow(/FCOSLite.losses: expected the model in training mode/);
    expect(() => model.assignTargets(targets[0]!, [64, 0] as [number, number])).toThrow(/imageSize/);
  });

  it('checks its options', () => {
    expect(() => new FCOSLite({ numClasses: 1 })).toThrow(ArgumentError);
    expect(() => fcosLite({ numClasses: 3, boxLoss: 'l1' as 'giou' })).toThrow(/boxLoss 'giou' or 'ciou'/);
    expect(() => fcosLite({ numClasses: 3, nmsThreshold: 1.5 })).toThrow(/nmsThreshold/);
    expect(() => fcosLite({ numClasses: 3, scoreThreshold: 1 })).toThrow(/scoreThreshold/);
    expect(fcosLite({ numClasses: 3, boxLoss: 'ciou' }).options.boxLoss).toBe('ciou');
    expect(() => fcosLite({ numClasses: 3, stageBlocks: 0 })).toThrow(/stageBlocks/);
  });

  it('stacks stageBlocks conv blocks in each backbone stage, the first of stride 2', () => {
    const names = (opts: Partial<models.detection.FCOSLiteOptions>) => [...fcosLite({ numClasses: 3, width: 4, ...opts }).namedParameters()].map(([name]) => name);
    const blocks = (list: string[], stage: string) => new Set(list.filter((n) => n.startsWith(`${stage}.`)).map((n) => n.split('.')[1])).size;
    const [two, three] = [names({}), names({ stageBlocks: 3 })];
    for (const stage of ['stage2', 'stage3', 'stage4']) {
      expect(blocks(two, stage), stage).toBe(2);
      expect(blocks(three, stage), stage).toBe(3);
    }
    expect(three).toContain('stage4.2.1.weight');
    const deep = fcosLite({ numClasses: 3, width: 4, headChannels: 8, headDepth: 1, stageBlocks: 3 }).eval();
    expect(noGrad(() => deep.detect([rand([3, 64, 64])]))).toHaveLength(1);
  });
});
