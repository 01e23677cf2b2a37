// The one convolution behind conv*d and convTranspose*d (lib/ops/convolution.ts): a
// transposed convolution is the adjoint of the convolution with the same geometry, and both
// directions share one backward.
import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { convParams } from '../../lib/ops/conv.js';
import { convolution } from '../../lib/ops/convolution.js';
import { gradcheck } from '../helpers/gradcheck.js';

const opts = { stride: 2, padding: 1, dilation: 1, groups: 2 };

it('<conv(x, w), y> = <x, convTranspose(y, w)>: the transposed direction is the adjoint', () => {
  nc.manualSeed(11);
  const x = nc.randn([2, 4, 9, 9]);
  const w = nc.randn([6, 2, 3, 3]);
  const geometry = convParams('conv2d', 2, [9, 9], [3, 3], opts);
  const y = nc.randn([2, 6, ...geometry.outSpatial]);
  const forward = convolution('conv2d', x, w, null, geometry, [2, 6, ...geometry.outSpatial], false);
  const transposed = convolution('convTranspose2d', y, w, null, geometry, [2, 4, 9, 9], true);
  const left = forward.mul(y).sum().item();
  const right = x.mul(transposed).sum().item();
  expect(Math.abs(left - right)).toBeLessThan(1e-3 * Math.max(1, Math.abs(left)));
  // and it is what the public ops compute
  expect(forward.sub(nc.conv2d(x, w, null, opts)).abs().max().item()).toBe(0);
});

it('both directions share one backward: gradients match finite differences', () => {
  nc.manualSeed(12);
  const geometry = convParams('conv2d', 2, [5, 5], [3, 3], { stride: 2, padding: 1 });
  const outSpatial = geometry.outSpatial;
  gradcheck((x, w, b) => convolution('conv2d', x, w, b, geometry, [1, 3, ...outSpatial], false), [
    nc.randn([1, 2, 5, 5]),
    nc.randn([3, 2, 3, 3]),
    nc.randn([3]),
  ]);
  gradcheck((y, w) => convolution('convTranspose2d', y, w, null, geometry, [1, 2, 5, 5], true), [
    nc.randn([1, 3, ...outSpatial]),
    nc.randn([3, 2, 3, 3]),
  ]);
});

it('the profiler and errors see the op name the caller gave', async () => {
  const geometry = convParams('conv2d', 2, [4, 4], [3, 3], {});
  const { ops } = await nc.profile(() =>
    nc.scope(() => {
      convolution('convTranspose2d', nc.zeros([1, 1, 2, 2]), nc.zeros([1, 1, 3, 3]), null, geometry, [1, 1, 4, 4], true);
    }),
  );
  expect(ops.map((o) => o.op)).toContain('convTranspose2d');
});
