// lib/data/detection_transform.ts: the transforms option of detection datasets, as a
// function or as a ModuleRef that workers can rebuild.
import { expect, it } from 'vitest';

import { ArgumentError, data, tensor, zeros } from '../../lib/index.js';

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
