// meanAveragePrecision / MeanAveragePrecision against pycocotools' COCOeval
// (tests/fixtures/make_map_fixtures.py: seeded scenes with crowds, empty images, a class
// without ground truth and one without detections, > 100 detections of one class in an
// image, every area range), then hand-built cases for each COCOeval rule, and the
// argument errors.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, metrics, ShapeError, tensor, type Device, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

type DetectionPrediction = metrics.DetectionPrediction;
type DetectionTarget = metrics.DetectionTarget;
type Result = metrics.MeanAveragePrecisionResult;

interface FixtureImage {
  pred: { boxes: number[]; scores: number[]; labels: number[] };
  target: { boxes: number[]; labels: number[]; iscrowd: number[]; area?: number[] };
}
interface FixtureCase {
  name: string;
  images: FixtureImage[];
  stats: number[];
  perClass: { label: number; map: number; map50: number; map75: number; mar100: number }[];
  /** COCOeval.eval's arrays, flattened row-major. */
  eval: { shape: number[]; precision: number[]; recall: number[]; scores: number[] };
}

const cases = (JSON.parse(readFileSync(new URL('../fixtures/map.json', import.meta.url), 'utf8')) as { coco: FixtureCase[] }).coco;

/** The result's figures in COCOeval's `stats` order. */
const STAT_NAMES = ['map', 'map50', 'map75', 'mapSmall', 'mapMedium', 'mapLarge', 'mar1', 'mar10', 'mar100', 'marSmall', 'marMedium', 'marLarge'] as const;
const statsOf = (r: Result): number[] => STAT_NAMES.map((name) => r[name]);

const boxesOf = (flat: readonly number[], device: Device = 'cpu'): Tensor => tensor(Float32Array.from(flat), { device }).reshape(-1, 4);
const floats = (values: readonly number[], device: Device = 'cpu'): Tensor => tensor(Float32Array.from(values), { device });
const ints = (values: readonly number[], device: Device = 'cpu'): Tensor => tensor(Int32Array.from(values), { device });

function fromFixture(images: readonly FixtureImage[], device: Device): { preds: DetectionPrediction[]; targets: DetectionTarget[] } {
  return {
    preds: images.map(({ pred }) => ({ boxes: boxesOf(pred.boxes, device), scores: floats(pred.scores, device), labels: ints(pred.labels, device) })),
    targets: images.map(({ target }) => ({
      boxes: boxesOf(target.boxes, device),
      labels: ints(target.labels, device),
      iscrowd: ints(target.iscrowd, device),
      ...(target.area ? { area: floats(target.area, device) } : {}),
    })),
  };
}

describeDevices('meanAveragePrecision vs pycocotools', (device: Device) => {
  it('the fixture has its cases, and they hold what COCOeval treats specially', () => {
    expect(cases.map((c) => c.name)).toEqual(['mixed', 'dense', 'no detections', 'no ground truth']);
    const mixed = cases[0]!;
    const labelsOf = (key: 'pred' | 'target') => new Set(mixed.images.flatMap((i) => i[key].labels));
    expect(labelsOf('target').has(4)).toBe(false); // a class without ground truth ...
    expect(labelsOf('pred').has(3)).toBe(false); // ... and one without detections
    expect(mixed.images.some((i) => i.pred.labels.filter((l) => l === 0).length > 100)).toBe(true);
    expect(mixed.images.some((i) => i.pred.scores.length === 0 && i.target.labels.length === 0)).toBe(true);
    expect(mixed.images.some((i) => i.target.iscrowd.includes(1))).toBe(true);
    expect(mixed.stats.every((s) => s > 0)).toBe(true);
  });

  for (const c of cases) {
    it(`${c.name}: every COCOeval stat and per-class AP to 1e-4`, async () => {
      const { preds, targets } = fromFixture(c.images, device);
      const result = await metrics.meanAveragePrecision(preds, targets);
      expectClose(statsOf(result), c.stats, 1e-4);
      expect(result.perClass.map((p) => p.label)).toEqual(c.perClass.map((p) => p.label));
      for (const key of ['map', 'map50', 'map75', 'mar100'] as const) {
        expectClose(result.perClass.map((p) => p[key]), c.perClass.map((p) => p[key]), 1e-4);
      }
      // The figures are pycocotools' own arithmetic, not merely close to it.
      expectClose(statsOf(result), c.stats, 1e-12);
    });

    it(`${c.name}: eval precision [T, R, K, A, M], recall [T, K, A, M] and scores equal pycocotools' to 1e-6`, async () => {
      const { preds, targets } = fromFixture(c.images, device);
      const { eval: e, perClass } = await metrics.meanAveragePrecision(preds, targets);
      expect(e.shape).toEqual(c.eval.shape);
      expect(e.labels).toEqual(perClass.map((p) => p.label));
      expect([e.iouThresholds.length, e.recallThresholds.length, e.areaRanges, e.maxDets]).toEqual([10, 101, ['all', 'small', 'medium', 'large'], [1, 10, 100]]);
      for (const key of ['precision', 'recall', 'scores'] as const) {
        expect(e[key].length, key).toBe(c.eval[key].length);
        // -1 (undefined) exactly where pycocotools has it; the values to 1e-6.
        expect(Array.from(e[key], (v) => v === -1), key).toEqual(c.eval[key].map((v) => v === -1));
        expectClose(e[key], c.eval[key], 1e-6);
      }
    });

    it(`${c.name}: the stateful metric over batches of 3 images gives the same figures`, async () => {
      const { preds, targets } = fromFixture(c.images, device);
      const metric = new metrics.MeanAveragePrecision();
      for (let i = 0; i < preds.length; i += 3) await metric.update(preds.slice(i, i + 3), targets.slice(i, i + 3));
      expectClose(statsOf(await metric.compute()), c.stats, 1e-12);
    });
  }
});

/** One image of class 1: `gt` objects and detections ranked by the given scores. */
function scene(gt: number[][], dets: number[][], scores: number[], extra: Partial<DetectionTarget> = {}) {
  return {
    pred: { boxes: boxesOf(dets.flat()), scores: floats(scores), labels: ints(dets.map(() => 1)) },
    target: { boxes: boxesOf(gt.flat()), labels: ints(gt.map(() => 1)), ...extra },
  };
}

/** A box of side 40 (medium) at grid cell i, away from every other cell. */
const cell = (i: number): number[] => [100 * i, 0, 100 * i + 40, 40];

it('TP flags [1, 0, 1, 1, 0] against 4 objects: AP 0.628713 (101 points) at every IoU, recall 0.75', async () => {
  // Right detections are exact copies (IoU 1), wrong ones hit no object.
  const gt = [cell(0), cell(1), cell(2), cell(3)];
  const dets = [cell(0), cell(10), cell(1), cell(2), cell(11)];
  const { pred, target } = scene(gt, dets, [0.9, 0.8, 0.7, 0.6, 0.5]);
  const r = await metrics.meanAveragePrecision([pred], [target]);
  expectClose([r.map, r.map50, r.map75, r.mapMedium], [0.628713, 0.628713, 0.628713, 0.628713], 1e-6);
  expectClose([r.mar100, r.marMedium, r.mar10, r.mar1], [0.75, 0.75, 0.75, 0.25], 1e-12);
  // No small or large object: those figures are -1, as summarize() gives them.
  expect([r.mapSmall, r.mapLarge, r.marSmall, r.marLarge]).toEqual([-1, -1, -1, -1]);
  expect(r.perClass).toEqual([{ label: 1, map: r.map, map50: r.map50, map75: r.map75, mar100: r.mar100 }]);
  expectClose([metrics.averagePrecision([1, 0, 1, 1, 0], 4, { method: 'coco101' })], [r.map], 1e-12);
  // float16 boxes and scores (mixed-precision models) are read widened, to the same figures.
  const half = { boxes: pred.boxes.to('float16'), scores: pred.scores.to('float16'), labels: pred.labels };
  expect(statsOf(await metrics.meanAveragePrecision([half], [{ ...target, boxes: target.boxes.to('bfloat16') }]))).toEqual(statsOf(r));
});

it('IoU thresholds: a detection at IoU 0.6 is right at 0.50-0.60 and wrong from 0.65', async () => {
  // [0, 0, 40, 24] against [0, 0, 40, 40]: IoU = 960 / 1600 = 0.6, the third threshold.
  const r = await metrics.meanAveragePrecision([scene([cell(0)], [[0, 0, 40, 24]], [0.9]).pred], [scene([cell(0)], [], []).target]);
  expectClose([r.map50, r.map75, r.map], [1, 0, 3 / 10], 1e-12);
  expectClose([r.mar100], [3 / 10], 1e-12);
});

it('a crowd box is an ignore region: detections inside it (IoU = intersection / detection area) count neither way', async () => {
  const crowd = [300, 0, 600, 300];
  const inside = [[310, 10, 340, 40], [400, 100, 450, 150]]; // IoU with the crowd box ~0.01, but inside it
  const { pred, target } = scene([cell(0), crowd], [cell(0), ...inside], [0.5, 0.9, 0.8], { iscrowd: ints([0, 1]) });
  const r = await metrics.meanAveragePrecision([pred], [target]);
  expectClose([r.map, r.mar100], [1, 1], 1e-12);
  // The same box not marked crowd is an object missed, and the two detections are wrong.
  const plain = scene([cell(0), crowd], [cell(0), ...inside], [0.5, 0.9, 0.8]);
  const p = await metrics.meanAveragePrecision([plain.pred], [plain.target]);
  expect(p.map50).toBeLessThan(0.5);
  expectClose([p.mar100], [0.5], 1e-12);
  // A class whose only objects are crowds has no ground truth that counts: -1, left out.
  const only = scene([crowd], inside, [0.9, 0.8], { iscrowd: tensor([true]) });
  expect((await metrics.meanAveragePrecision([only.pred], [only.target])).perClass).toEqual([{ label: 1, map: -1, map50: -1, map75: -1, mar100: -1 }]);
});

it('at most 100 detections per image and class count: the 101st is dropped even when it is the only right one', async () => {
  const wrong = Array.from({ length: 100 }, (_, i) => cell(i + 1));
  const capped = scene([cell(0)], [...wrong, cell(0)], [...wrong.map(() => 0.9), 0.1]);
  const r = await metrics.meanAveragePrecision([capped.pred], [capped.target]);
  expect([r.map, r.mar100]).toEqual([0, 0]);
  // With 99 wrong ones it is the 100th: found (recall 1) but ranked last (precision 0.01).
  const fits = scene([cell(0)], [...wrong.slice(1), cell(0)], [...wrong.slice(1).map(() => 0.9), 0.1]);
  const f = await metrics.meanAveragePrecision([fits.pred], [fits.target]);
  expectClose([f.mar100, f.mar10, f.mar1, f.map], [1, 0, 0, 0.01], 1e-6);
  // The cap is per class: 100 wrong detections of class 2 take no place from class 1's.
  const other = { ...fits.pred, labels: ints([...wrong.slice(1).map(() => 2), 1]) };
  const o = await metrics.meanAveragePrecision([other], [fits.target]);
  expectClose([o.map, o.mar1], [1, 1], 1e-12);
});

it('equal scores keep their order within an image, as the stable sort in pycocotools', async () => {
  // Wrong then right at one score: precision 1/2 at full recall; right then wrong: 1.
  const wrongFirst = scene([cell(0)], [cell(1), cell(0)], [0.9, 0.9]);
  const rightFirst = scene([cell(0)], [cell(0), cell(1)], [0.9, 0.9]);
  expectClose([(await metrics.meanAveragePrecision([wrongFirst.pred], [wrongFirst.target])).map], [0.5], 1e-12);
  expectClose([(await metrics.meanAveragePrecision([rightFirst.pred], [rightFirst.target])).map], [1], 1e-12);
});

it("area ranges use the target's area when given, the box's width x height otherwise", async () => {
  const big = [0, 0, 200, 200]; // 40000 px: large by its box
  const { pred, target } = scene([big], [big], [0.9]);
  const byBox = await metrics.meanAveragePrecision([pred], [target]);
  expectClose([byBox.mapSmall, byBox.mapLarge], [-1, 1], 1e-12);
  const byArea = await metrics.meanAveragePrecision([pred], [{ ...target, area: floats([500]) }]);
  // Small by its area; the detection (large) matches it, so it is not ignored either.
  expectClose([byArea.mapSmall, byArea.mapLarge, byArea.map], [1, -1, 1], 1e-12);
  // Both ends of a range are inclusive: an object of exactly 32² is small and medium.
  const edge = scene([[0, 0, 32, 32]], [[0, 0, 32, 32]], [0.9]);
  const e = await metrics.meanAveragePrecision([edge.pred], [edge.target]);
  expectClose([e.mapSmall, e.mapMedium, e.mapLarge], [1, 1, -1], 1e-12);
});

it('empty inputs: no images, images without boxes, detections without ground truth', async () => {
  const none = await metrics.meanAveragePrecision([], []);
  expect(statsOf(none)).toEqual(STAT_NAMES.map(() => -1));
  expect(none.perClass).toEqual([]);
  const blank = { pred: { boxes: boxesOf([]), scores: floats([]), labels: ints([]) }, target: { boxes: boxesOf([]), labels: ints([]) } };
  expect(statsOf(await metrics.meanAveragePrecision([blank.pred, blank.pred], [blank.target, blank.target]))).toEqual(STAT_NAMES.map(() => -1));
  const onlyDets = scene([], [cell(0)], [0.9]);
  const d = await metrics.meanAveragePrecision([onlyDets.pred], [onlyDets.target]);
  expect(statsOf(d)).toEqual(STAT_NAMES.map(() => -1));
  expect(d.perClass).toEqual([{ label: 1, map: -1, map50: -1, map75: -1, mar100: -1 }]);
  // Ground truth and no detection: everything is 0, not -1.
  const missed = await metrics.meanAveragePrecision([blank.pred], [scene([cell(0)], [], []).target]);
  expect(statsOf(missed)).toEqual([0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1]);
});

it('MeanAveragePrecision: compute waits for an update still reading, reset forgets, a failed update adds nothing', async () => {
  const good = scene([cell(0)], [cell(0)], [0.9]);
  const bad = scene([cell(0)], [cell(5)], [0.9]);
  const metric = new metrics.MeanAveragePrecision();
  expect(statsOf(await metric.compute())).toEqual(STAT_NAMES.map(() => -1));
  const pending = metric.update([good.pred], [good.target]); // not awaited before compute
  // Precision is tp / (tp + fp + eps), as in pycocotools: 1 - 1e-16 here.
  expect((await metric.compute()).map).toBeCloseTo(1, 12);
  await pending;
  await metric.update([bad.pred], [bad.target]);
  // One of two objects found, ranked first (equal scores: the earlier image first): precision 1 up to recall 0.5.
  expectClose([(await metric.compute()).map], [51 / 101], 1e-12);
  metric.reset();
  await metric.update([bad.pred], [bad.target]);
  expect((await metric.compute()).map).toBe(0);
  const nan = scene([cell(0)], [cell(0)], [NaN]);
  await expect(metric.update([nan.pred], [nan.target])).rejects.toThrow(ArgumentError);
  expect((await metric.compute()).map).toBe(0);
});

it('the metric reads tensors on their device once and keeps no reference to them', async () => {
  const { pred, target } = scene([cell(0)], [cell(0)], [0.9]);
  const metric = new metrics.MeanAveragePrecision();
  await metric.update([pred], [target]);
  for (const t of [pred.boxes, pred.scores, pred.labels, target.boxes, target.labels]) t.dispose();
  expect((await metric.compute()).map).toBeCloseTo(1, 12);
});

it('meanAveragePrecision names the argument it refuses', async () => {
  const { pred, target } = scene([cell(0)], [cell(0), cell(1)], [0.9, 0.8]);
  const map = (preds: unknown, targets: unknown) => metrics.meanAveragePrecision(preds as DetectionPrediction[], targets as DetectionTarget[]);
  // Shapes, dtypes and list lengths throw at the call site.
  expect(() => map([pred], [target, target])).toThrow(ArgumentError);
  expect(() => map([pred], [target, target])).toThrow(/meanAveragePrecision: expected as many targets as preds \(one of each per image\), got 1 preds and 2 targets/);
  expect(() => map(pred, [target])).toThrow(/meanAveragePrecision: expected preds to be an array with one \{ boxes, scores, labels \} per image, got Object/);
  expect(() => map([null], [target])).toThrow(/expected preds\[0\] to be an object \{ boxes, scores, labels \}, got null/);
  expect(() => map([{ ...pred, scores: undefined }], [target])).toThrow(/expected preds\[0\]\.scores to be a Tensor, got undefined/);
  expect(() => map([{ ...pred, boxes: floats([0, 0, 1, 1, 2, 2, 3, 3]) }], [target])).toThrow(ShapeError);
  expect(() => map([{ ...pred, boxes: floats([0, 0, 1, 1, 2, 2, 3, 3]) }], [target])).toThrow(/expected preds\[0\]\.boxes of shape \[K, 4\] \(xyxy\), got \[8\]/);
  expect(() => map([{ ...pred, scores: floats([0.9]) }], [target])).toThrow(/expected preds\[0\]\.scores of shape \[2\] \(one per box of preds\[0\]\.boxes\), got \[1\]/);
  expect(() => map([{ ...pred, labels: floats([1, 1]) }], [target])).toThrow(DTypeError);
  expect(() => map([{ ...pred, labels: floats([1, 1]) }], [target])).toThrow(/expected preds\[0\]\.labels to have dtype int32, got float32/);
  expect(() => map([pred], [{ ...target, boxes: ints([0, 0, 40, 40]).reshape(1, 4) }])).toThrow(/expected targets\[0\]\.boxes to have dtype float32 or float16 or bfloat16, got int32/);
  expect(() => map([pred], [{ ...target, iscrowd: ints([0, 0]) }])).toThrow(/expected targets\[0\]\.iscrowd of shape \[1\]/);
  expect(() => map([pred], [{ ...target, iscrowd: floats([0]) }])).toThrow(/expected targets\[0\]\.iscrowd to have dtype int32 or uint8 or bool, got float32/);
  expect(() => map([pred], [{ ...target, area: ints([5]) }])).toThrow(/expected targets\[0\]\.area to have dtype float32/);
  // Values are checked once read: the promise rejects.
  await expect(map([{ ...pred, scores: floats([0.9, NaN]) }], [target])).rejects.toThrow(ArgumentError);
  await expect(map([{ ...pred, scores: floats([0.9, NaN]) }], [target])).rejects.toThrow(/meanAveragePrecision: expected preds\[0\]\.scores to hold no NaN, got NaN at index 1/);
  await expect(map([{ ...pred, boxes: boxesOf([0, 0, 40, 40, 50, 0, 10, 40]) }], [target])).rejects.toThrow(
    /expected preds\[0\]\.boxes in xyxy with x1 <= x2 and y1 <= y2, got \[50, 0, 10, 40\] at row 1/,
  );
  await expect(map([pred], [{ ...target, boxes: boxesOf([0, 0, Infinity, 40]) }])).rejects.toThrow(/expected targets\[0\]\.boxes to be finite, got \[0, 0, Infinity, 40\] at row 0/);
  await expect(map([pred], [{ ...target, area: floats([-1]) }])).rejects.toThrow(/expected targets\[0\]\.area to be finite and >= 0, got -1 at index 0/);
  const metric = new metrics.MeanAveragePrecision();
  expect(() => metric.update([pred], [])).toThrow(/MeanAveragePrecision\.update: expected as many targets as preds/);
});

it('precisionRecallCurves: one curve per class with ground truth, at the IoU, area and cap asked for', async () => {
  const mixed = cases[0]!;
  const { preds, targets } = fromFixture(mixed.images, 'cpu');
  const result = await metrics.meanAveragePrecision(preds, targets);
  const e = result.eval;
  const [, R, K, A, M] = e.shape;
  const curves = metrics.precisionRecallCurves(e, { iouThreshold: 0.75, name: (label) => `class ${label}` });
  // Class 4 has no ground truth: no curve.
  expect(curves.map((c) => [c.label, c.name])).toEqual([[0, 'class 0'], [1, 'class 1'], [2, 'class 2'], [3, 'class 3']]);
  for (const curve of curves) {
    const k = e.labels.indexOf(curve.label);
    expect(Array.from(curve.recall)).toEqual(Array.from(e.recallThresholds));
    expect(Array.from(curve.precision)).toEqual(Array.from({ length: R }, (_, r) => e.precision[(((5 * R + r) * K + k) * A + 0) * M + 2]));
    // Its mean is the class's AP at IoU 0.75.
    expectClose([curve.precision.reduce((a, b) => a + b, 0) / R], [result.perClass[k]!.map75], 1e-12);
  }
  const small = metrics.precisionRecallCurves(e, { area: 'small', maxDets: 10 });
  expect(small.every((c) => c.name === String(c.label))).toBe(true);
  expect(() => metrics.precisionRecallCurves(e, { iouThreshold: 0.52 })).toThrow(/precisionRecallCurves: expected iouThreshold to be one of 0.5, 0.55, ..., 0.95, got 0.52/);
  expect(() => metrics.precisionRecallCurves(e, { area: 'huge' as 'all' })).toThrow(/precisionRecallCurves: expected area to be one of 'all', 'small', 'medium', 'large', got 'huge'/);
  expect(() => metrics.precisionRecallCurves(e, { maxDets: 5 })).toThrow(/precisionRecallCurves: expected maxDets to be one of 1, 10, 100, got 5/);
  expect(() => metrics.precisionRecallCurves(result as unknown as metrics.CocoEvalArrays)).toThrow(ArgumentError);
});
