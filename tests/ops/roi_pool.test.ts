import { expect, it } from 'vitest';

import { IndexError, manualSeed, randn, roiPool, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { emptyBatchTest } from '../helpers/empty_batch.js';
import { readFixture } from '../helpers/fixture_cases.js';
import { gradcheck } from '../helpers/gradcheck.js';

// Written by make_roi_pool_fixtures.py from torchvision.ops.roi_pool.
const fixture = readFixture<{
  input: number[]; rois: number[];
  cases: Array<{ size: [number, number]; scale: number; out: number[]; w: number[]; grad: number[] }>;
}>('roi_pool.json');

describeDevices('roiPool', (device) => {
  it('values and input gradients match torchvision (rounded corners, bins off the map, scales)', () => {
    const rois = tensor(Float32Array.from(fixture.rois), { device }).reshape(-1, 5);
    for (const c of fixture.cases) {
      const x = tensor(Float32Array.from(fixture.input), { device }).reshape(2, 3, 10, 12).requiresGrad_();
      const y = roiPool(x, rois, c.size, { spatialScale: c.scale });
      expect(y.shape).toEqual([8, 3, ...c.size]);
      expectClose(y.cpu().dataSync(), c.out, 1e-6);
      y.mul(tensor(Float32Array.from(c.w), { device }).reshape(y.shape)).sum().backward();
      expectClose(x.grad!.cpu().dataSync(), c.grad, 1e-5);
    }
  });

  it('takes one box tensor per image, and channels-last input', () => {
    const x = tensor(Float32Array.from(fixture.input), { device }).reshape(2, 3, 10, 12);
    const perImage = [tensor([[1.3, 2.1, 7.6, 8.2]], { dtype: 'float32', device }), tensor([[0, 0, 11, 9]], { dtype: 'float32', device })];
    const explicit = tensor([[0, 1.3, 2.1, 7.6, 8.2], [1, 0, 0, 11, 9]], { dtype: 'float32', device });
    const expected = roiPool(x, explicit, 3).cpu().tolist();
    expect(roiPool(x, perImage, 3).cpu().tolist()).toEqual(expected);
    // Channels-last maps take the kernels' channels-innermost path: same values and gradients.
    const rois = tensor(Float32Array.from(fixture.rois), { device }).reshape(-1, 5);
    const gradOf = (input: Tensor) => {
      const leaf = input.detach().requiresGrad_();
      const y = roiPool(leaf, rois, [3, 4], { spatialScale: 0.5 });
      y.mul(y.detach()).sum().backward();
      return { out: y.cpu().tolist(), grad: leaf.grad!.cpu().tolist() };
    };
    const channelsLast = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    expect(roiPool(channelsLast, explicit, 3).cpu().tolist()).toEqual(expected);
    expect(gradOf(channelsLast)).toEqual(gradOf(x));
  });

  it('refuses bad arguments with typed errors', async () => {
    const x = zeros([2, 3, 10, 12], { device });
    const rois = tensor([[0, 0, 0, 4, 4]], { dtype: 'float32', device });
    // Batch indices are checked by the kernel (no blocking read at the call).
    await expect(roiPool(x, tensor([[2, 0, 0, 1, 1]], { dtype: 'float32', device }), 2).data()).rejects.toThrow(IndexError);
    await expect(roiPool(x, tensor([[0.5, 0, 0, 1, 1]], { dtype: 'float32', device }), 2).data()).rejects.toThrow(
      /roiPool: box batch index 0.5 is not an image of the batch of 2/,
    );
    expect(() => roiPool(x.reshape(6, 10, 12), rois, 2)).toThrow(ShapeError);
    expect(() => roiPool(x, rois.reshape(5), 2)).toThrow(/roiPool: expected boxes of shape \[K, 5\]/);
    expect(() => roiPool(x, [rois.slice(1, 1, 5)], 2)).toThrow(/roiPool: 1 box tensors for a batch of 2/);
    expect(() => roiPool(x, rois, 0)).toThrow(/roiPool: expected outputSize to be an integer >= 1/);
    expect(() => roiPool(x, rois, 2, { spatialScale: 0 })).toThrow(/roiPool: expected spatialScale > 0/);
  });
});

it('roiPool gradients match finite differences', () => {
  // Distinct values 0.1 apart, shuffled: no two in a bin within the finite-difference step.
  manualSeed(3);
  const order = randn([84]).argsort().dataSync();
  const x = tensor(Float32Array.from(order, (v) => v * 0.1)).reshape(1, 2, 6, 7);
  const rois = tensor([[0, 0.7, 1.2, 4.1, 3.9], [0, 2.2, 0.4, 5.5, 4.8]], { dtype: 'float32' });
  gradcheck((t) => roiPool(t, rois, [2, 2]), [x]);
});

// No RoIs: an empty output and a zero input gradient, as torchvision
// (tests/fixtures/make_empty_batch_fixtures.py).
emptyBatchTest('roiPool', (x) => roiPool(x!, zeros([0, 5], { device: x!.device }), [2, 2]));
