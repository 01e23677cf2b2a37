// lib/data/image_transform.ts: TransformRunner applies a transform given as a function or
// as a ModuleRef (imported once), and says when a function cannot go to a worker.
import { expect, it } from 'vitest';

import { ArgumentError, data, tensor } from '../../lib/index.js';

const scaleRef = { module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'scale', args: { factor: 3 } };

it('without a transform the image passes through', async () => {
  const runner = new data.TransformRunner(undefined, 'MNIST');
  const image = tensor([1, 2], { dtype: 'float32' });
  expect(await runner.apply(image)).toBe(image);
  expect(runner.toRef()).toBeUndefined();
});

it('a function is applied; the input is disposed only when the transform replaced it', async () => {
  const doubled = new data.TransformRunner((t) => t.mul(2), 'MNIST');
  const image = tensor([1, 2], { dtype: 'float32' });
  const out = await doubled.apply(image);
  expect(out.tolist()).toEqual([2, 4]);
  expect(image.isDisposed).toBe(true);
  const same = tensor([5], { dtype: 'float32' });
  expect(await new data.TransformRunner((t) => t, 'MNIST').apply(same)).toBe(same);
  expect(same.isDisposed).toBe(false);
});

it('a ModuleRef is imported on first use and can go to a worker as it is', async () => {
  const runner = new data.TransformRunner(scaleRef, 'CIFAR10');
  expect((await runner.apply(tensor([1, 2], { dtype: 'float32' }))).tolist()).toEqual([3, 6]);
  expect((await runner.apply(tensor([4], { dtype: 'float32' }))).tolist()).toEqual([12]);
  expect(runner.toRef()).toBe(scaleRef);
});

it('refuses what is neither, a ref to something that is not a transform, and a function for workers', async () => {
  expect(() => new data.TransformRunner(42 as never, 'ImageFolder')).toThrow(ArgumentError);
  expect(() => new data.TransformRunner(42 as never, 'ImageFolder')).toThrow('ImageFolder: expected transform to be a function or { module, exportName, args }');
  // node:path's basename returns a string, not a function.
  const notATransform = new data.TransformRunner({ module: 'node:path', exportName: 'basename', args: '/a/b' }, 'ImageFolder');
  await expect(notATransform.apply(tensor([1], { dtype: 'float32' }))).rejects.toThrow(
    'ImageFolder: node:path#basename should return a transform function, got string',
  );
  expect(() => new data.TransformRunner((t) => t, 'CIFAR10').toRef()).toThrow(/CIFAR10: a transform given as a function cannot run in DataLoader workers/);
});
