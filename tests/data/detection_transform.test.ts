// lib/data/detection_transform.ts: the transforms option of detection datasets, as a
// function or as a ModuleRef that workers can rebuild.
import { describe, expect, it } from 'vitest';

import { ArgumentError, data, tensor, zeros, type Tensor } from '../../lib/index.js';

const target = () => ({ boxes: tensor([[1, 2, 3, 4]], { dtype: 'float32' }), labels: tensor([5], { dtype: 'int32' }) });

it('passes (image, target) through when there are no transforms, and applies a function', async () => {
  const image = zeros([3, 2, 2]);
  const t = target();
  const none = new data.DetectionTransformRunner(undefined, 'Test');
  expect(await none.apply(image, t)).toEqual([image, t]);
  expect(none.toRef()).toBeUndefined();
  const doubled = new data.DetectionTransformRunner<ReturnType<typeof target>>(async (x, y) => [x.add(1), { ...y, boxes: y.boxes.mul(2) }], 'Test');
  const [x, y] = await doubled.apply(image, t);
  expect(await x.data()).toEqual(new Float32Array(12).fill(1));
  expect(y.boxes.tolist()).toEqual([[2, 4, 6, 8]]);
});

it('imports a ModuleRef once and keeps it as the worker ref', async () => {
  const ref = { module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'shiftBoxes', args: { factor: 1, shift: 10 } };
  const runner = new data.DetectionTransformRunner<ReturnType<typeof target>>(ref, 'Test');
  const [, moved] = await runner.apply(zeros([1, 1, 1]), target());
  expect(moved.boxes.tolist()).toEqual([[11, 2, 13, 4]]);
  expect(runner.toRef()).toBe(ref);
});

it('says what it expected of the option, of the factory and of the result', async () => {
  expect(() => new data.DetectionTransformRunner(42 as never, 'VOCDetection')).toThrow(ArgumentError);
  expect(() => new data.DetectionTransformRunner(42 as never, 'VOCDetection')).toThrow(/VOCDetection: expected transforms to be a function/);
  expect(() => new data.DetectionTransformRunner((x, y) => [x, y], 'CocoDetection').toRef()).toThrow(/cannot run in DataLoader workers/);
  const notFactory = new data.DetectionTransformRunner({ module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'scale', args: { factor: 2 } }, 'Test');
  await expect(notFactory.apply(zeros([1]), target())).rejects.toThrow(/expected transforms to return \[image, target\]/);
  const single = new data.DetectionTransformRunner((x) => x as never, 'Test');
  await expect(single.apply(zeros([1]), target())).rejects.toThrow(ArgumentError);
});

describe('pairedDetectionTransform', () => {
  const P = data.pairedTransforms;
  const coco = () => ({
    boxes: tensor([[0, 0, 4, 2], [1, 1, 1.5, 3], [2, 1, 6, 3]], { dtype: 'float32' }),
    labels: tensor([5, 6, 7], { dtype: 'int32' }),
    area: tensor([8, 1, 8], { dtype: 'float32' }),
    iscrowd: tensor([0, 1, 0], { dtype: 'uint8' }),
    masks: tensor(Uint8Array.from({ length: 3 * 4 * 6 }, (_, i) => 1 + Math.floor(i / 24))).reshape(3, 4, 6),
    imageId: 42,
  });

  it('moves boxes and masks with the image; labels and the other per-box fields keep the kept rows', async () => {
    const image = zeros([3, 4, 6]);
    const fn = data.pairedDetectionTransform<ReturnType<typeof coco>>(P.compose([P.randomHorizontalFlip(1), P.sanitizeBoxes()]));
    const [out, target] = await fn(image, coco());
    expect(out.shape).toEqual([3, 4, 6]);
    expect(target.boxes.tolist()).toEqual([[2, 0, 6, 2], [0, 1, 4, 3]]); // the 0.5-wide box is dropped
    expect(target.labels.tolist()).toEqual([5, 7]);
    expect(target.area.tolist()).toEqual([8, 8]);
    expect(target.iscrowd.tolist()).toEqual([0, 0]);
    expect([...new Set((target.masks as Tensor).dataSync())]).toEqual([1, 3]);
    expect(target.imageId).toBe(42);
  });

  it('keeps every row when nothing is dropped, and works without masks', async () => {
    const { masks: _, ...plain } = coco();
    const fn = data.pairedDetectionTransform<typeof plain>(P.randomVerticalFlip(1));
    const [, target] = await fn(zeros([1, 4, 6]), plain);
    expect(target.boxes.tolist()).toEqual([[0, 2, 4, 4], [1, 1, 1.5, 3], [2, 1, 6, 3]]);
    expect(target.labels).toBe(plain.labels);
    expect(target.area).toBe(plain.area);
    expect('masks' in target).toBe(false);
    expect(() => data.pairedDetectionTransform(42 as never)).toThrow(ArgumentError);
    expect(() => data.pairedDetectionTransform(42 as never)).toThrow(/pairedDetectionTransform: expected a paired transform/);
  });
});
