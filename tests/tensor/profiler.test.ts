import { expect, it } from 'vitest';

import { add, conv2d, DeviceError, profile, randn, relu, scope } from '../../lib/index.js';

it('profile times each op on the stream, by op name, and returns what fn returned', async () => {
  const x = randn([8, 4, 16, 16]);
  const w = randn([6, 4, 3, 3]);
  const { result, ops, kernelMilliseconds, wallMilliseconds, table } = await profile(() =>
    scope(() => {
      for (let i = 0; i < 3; ++i) relu(add(x, 1));
      return conv2d(x, w).shape;
    }),
  );
  expect(result).toEqual([8, 6, 14, 14]);
  const byOp = new Map(ops.map((o) => [o.op, o]));
  expect(byOp.get('relu')?.count).toBe(3);
  expect(byOp.get('add')?.count).toBe(3);
  expect(byOp.get('conv2d')?.count).toBe(1);
  expect(byOp.has('fence')).toBe(false);
  expect(ops.every((o) => o.milliseconds >= 0)).toBe(true);
  expect(ops.map((o) => o.milliseconds)).toEqual([...ops.map((o) => o.milliseconds)].sort((a, b) => b - a));
  expect(kernelMilliseconds).toBeLessThanOrEqual(wallMilliseconds + 1);
  expect(table()).toMatch(/^op\s+calls\s+ms\s+%\n/);
  expect(table()).toContain('total kernel time');
});

it('profile stops recording when fn throws, and rejects an unknown device', async () => {
  await expect(profile(() => { throw new RangeError('boom'); })).rejects.toThrow('boom');
  // Nothing from the failed run leaks into the next one.
  const { ops } = await profile(() => undefined);
  expect(ops).toEqual([]);
  await expect(profile(() => 1, { device: 'tpu' as never })).rejects.toThrow(DeviceError);
});
