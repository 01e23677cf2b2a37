// lib/autograd/grad_mode.ts: noGrad / enableGrad, and that the mode follows async calls.
import { expect, it } from 'vitest';

import { enableGrad, isGradEnabled, noGrad, tensor } from '../../lib/index.js';

const leaf = (values: number[]) => tensor(values, { dtype: 'float32', requiresGrad: true });

it('noGrad records nothing, also across await; enableGrad re-enables', async () => {
  const x = leaf([1, 2]);
  expect(isGradEnabled()).toBe(true);
  const y = noGrad(() => x.mul(2));
  expect(y.requiresGrad).toBe(false);
  expect(y.gradFn).toBeNull();
  await noGrad(async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(isGradEnabled()).toBe(false);
    expect(x.add(1).requiresGrad).toBe(false);
    expect(enableGrad(() => x.add(1).requiresGrad)).toBe(true);
  });
  expect(x.add(1).gradFn?.name).toBe('add');
});

it('the mode is restored when the function returns or throws, and nests', () => {
  expect(noGrad(() => noGrad(() => isGradEnabled()))).toBe(false);
  expect(noGrad(() => enableGrad(() => noGrad(() => isGradEnabled())))).toBe(false);
  expect(() =>
    noGrad(() => {
      throw new Error('inside noGrad');
    }),
  ).toThrow('inside noGrad');
  expect(isGradEnabled()).toBe(true);
  expect(noGrad(() => 42)).toBe(42);
});

it('concurrent async calls each keep their own mode', async () => {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
  const seen = await Promise.all([
    noGrad(async () => {
      await tick();
      return isGradEnabled();
    }),
    (async () => {
      await tick();
      return isGradEnabled();
    })(),
  ]);
  expect(seen).toEqual([false, true]);
});
