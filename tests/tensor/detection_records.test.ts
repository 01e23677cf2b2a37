// One DetectionTarget and one Detection type (lib/tensor/detection_records.ts) for data,
// models and metrics: a detection DataLoader's targets go to a detector's call and to
// MeanAveragePrecision.update, and a detector's detections to update, with no mapping and
// no casts. `npx tsc --noEmit` checks the expectTypeOf lines (tsconfig includes tests/);
// the loop also runs.
import { expect, expectTypeOf, it } from 'vitest';

import { data, metrics, models, rand, tensor, type Detection, type DetectionTarget, type Tensor } from '../../lib/index.js';

/** The targets a detector's `call` takes in training. */
type Targets<M extends { call: (...args: never[]) => unknown }> = NonNullable<Parameters<M['call']>[1]>;

it('every detector takes the datasets\' targets and returns what the metric takes', () => {
  for (const target of [{} as data.CocoTarget, {} as data.VocTarget]) expectTypeOf(target).toMatchTypeOf<DetectionTarget>();
  const cocoTargets: data.CocoTarget[] = [];
  expectTypeOf(cocoTargets).toMatchTypeOf<Targets<models.detection.FasterRCNN>>();
  expectTypeOf(cocoTargets).toMatchTypeOf<Targets<models.detection.MaskRCNN>>();
  expectTypeOf(cocoTargets).toMatchTypeOf<Targets<models.detection.RetinaNet>>();
  expectTypeOf(cocoTargets).toMatchTypeOf<Targets<models.detection.FCOS>>();
  expectTypeOf(cocoTargets).toMatchTypeOf<Targets<models.detection.FCOSLite>>();
  expectTypeOf<data.VocTarget[]>().toMatchTypeOf<Targets<models.detection.FasterRCNN>>();
  // The metric takes the same records, and the detectors' detections.
  expectTypeOf<Parameters<metrics.MeanAveragePrecision['update']>>().toEqualTypeOf<[preds: readonly Detection[], targets: readonly DetectionTarget[]]>();
  expectTypeOf<ReturnType<models.detection.FasterRCNN['detect']>>().toEqualTypeOf<Detection[]>();
  expectTypeOf<ReturnType<models.detection.FCOSLite['detect']>>().toEqualTypeOf<Detection[]>();
  // The namespaces re-export the one type, and the metric's old name is an alias of it.
  expectTypeOf<data.DetectionTarget>().toEqualTypeOf<DetectionTarget>();
  expectTypeOf<metrics.DetectionTarget>().toEqualTypeOf<DetectionTarget>();
  expectTypeOf<models.detection.DetectionTarget>().toEqualTypeOf<DetectionTarget>();
  expectTypeOf<models.detection.Detection>().toEqualTypeOf<Detection>();
  expectTypeOf<metrics.DetectionPrediction>().toEqualTypeOf<Detection>();
});

it('a detection DataLoader batch goes to MeanAveragePrecision.update as it comes', async () => {
  const box = [[10, 10, 50, 50]];
  const items: data.Dataset<[Tensor, DetectionTarget]> = {
    length: 2,
    get: (i) => [rand([3, 64, 64]), { boxes: tensor(box, { dtype: 'float32' }), labels: tensor(Int32Array.of(1 + i)), iscrowd: tensor(Uint8Array.of(0)), imageId: i }],
  };
  const metric = new metrics.MeanAveragePrecision();
  for await (const [images, targets] of new data.DataLoader(items, { batchSize: 2, collate: data.detectionCollate })) {
    expect(images).toHaveLength(2);
    const detections: Detection[] = targets.map((t) => ({ boxes: t.boxes, labels: t.labels, scores: tensor([0.9], { dtype: 'float32' }) }));
    await metric.update(detections, targets);
  }
  const result = await metric.compute();
  // Every object found exactly: AP 1 (pycocotools' 1 - 1e-16) for both classes.
  expect(result.perClass.map((c) => c.label)).toEqual([1, 2]);
  for (const c of result.perClass) expect(c.map).toBeCloseTo(1, 12);
});
