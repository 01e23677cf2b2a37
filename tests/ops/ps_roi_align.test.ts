import { expect, it } from 'vitest';

import { ArgumentError, IndexError, psRoiAlign, rand, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { emptyBatchTest } from '../helpers/empty_batch.js';
import { readFixture } from '../helpers/fixture_cases.js';
import { gradcheck } from '../helpers/gradcheck.js';

// Written by make_ps_roi_align_fixtures.py from torchvision 0.14's ops.ps_roi_align: random
// rois and rois partly or wholly off the map, adaptive (-1) and fixed (1, 2) sampling.
const fixture = readFixture<{
  input: number[]; inputShape: number[]; rois: number[];
  cases: Array<{ size: [number, number]; scale: number; samplingRatio: number; shape: number[]; out: number[]; w: number[]; grad: number[] }>;
}>('ps_roi_align.json');

describeDevices('psRoiAlign', (device) => {
  const input = () => tensor(Float32Array.from(fixture.input), { device }).reshape(fixture.inputShape);
  const rois = () => tensor(Float32Array.from(fixture.rois), { device }).reshape(-1, 5);

  for (const c of fixture.cases) {
    it(`size [${c.size.join(', ')}] scale ${c.scale} samplingRatio ${c.samplingRatio}: values and input gradient match torchvision`, () => {
      const x = input().requiresGrad_();
      const y = psRoiAlign(x, rois(), c.size, { spatialScale: c.scale, samplingRatio: c.samplingRatio });
      expect(y.shape).toEqual(c.shape);
      expectClose(y.cpu().dataSync(), c.out, 1e-5);
      y.mul(tensor(Float32Array.from(c.w), { device }).reshape(y.shape)).sum().backward();
      expectClose(x.grad!.cpu().dataSync(), c.grad, 1e-5);
    });
  }

  it('takes one box tensor per image, and channels-last input', () => {
    const x = input();
    const perImage = [tensor([[1.3, 2.1, 7.6, 8.2]], { dtype: 'float32', device }), tensor([[0, 0, 10, 8], [-2, 3, 4, 12]], { dtype: 'float32', device })];
    const explicit = tensor([[0, 1.3, 2.1, 7.6, 8.2], [1, 0, 0, 10, 8], [1, -2, 3, 4, 12]], { dtype: 'float32', device });
    const expected = psRoiAlign(x, explicit, 2, { samplingRatio: 2 }).cpu().tolist();
    expect(psRoiAlign(x, perImage, 2, { samplingRatio: 2 }).cpu().tolist()).toEqual(expected);
    const channelsLast = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    const gradOf = (t: Tensor) => {
      const leaf = t.detach().requiresGrad_();
      const y = psRoiAlign(leaf, explicit, [2, 3], { spatialScale: 0.5 });
      y.mul(y.detach()).sum().backward();
      return { out: y.cpu().tolist(), grad: leaf.grad!.contiguous().cpu().tolist() };
    };
    expect(gradOf(channelsLast)).toEqual(gradOf(x));
  });

  it('a zero-size box with adaptive sampling pools 0 (torchvision: NaN from 0 / 0)', () => {
    const y = psRoiAlign(input(), tensor([[0, 3, 3, 3, 3]], { dtype: 'float32', device }), 2);
    expect(Array.from(y.cpu().dataSync())).toEqual(new Array(12).fill(0));
  });

  it('refuses bad arguments with typed errors', async () => {
    const x = zeros([2, 8, 6, 6], { device });
    const boxes = tensor([[0, 0, 0, 4, 4]], { dtype: 'float32', device });
    expect(() => psRoiAlign(x, boxes, 3)).toThrow(ShapeError);
    expect(() => psRoiAlign(x, boxes, 3)).toThrow(/psRoiAlign: expected input channels divisible by outputSize\[0\] \* outputSize\[1\] = 9, got 8 channels/);
    expect(() => psRoiAlign(x, boxes, [2, 3])).toThrow(/divisible by outputSize\[0\] \* outputSize\[1\] = 6, got 8/);
    expect(() => psRoiAlign(x, boxes, 2, { samplingRatio: 1.5 })).toThrow(ArgumentError);
    expect(() => psRoiAlign(x, boxes, 2, { samplingRatio: 1.5 })).toThrow(/psRoiAlign: expected an integer samplingRatio, got 1.5/);
    expect(() => psRoiAlign(x, boxes, 2, { spatialScale: 0 })).toThrow(/psRoiAlign: expected spatialScale > 0, got 0/);
    expect(() => psRoiAlign(x, boxes, 0)).toThrow(/psRoiAlign: expected outputSize to be an integer >= 1/);
    expect(() => psRoiAlign(x.reshape(16, 6, 6), boxes, 2)).toThrow(/psRoiAlign: expected input of shape \[N, C, H, W\], got \[16, 6, 6\]/);
    expect(() => psRoiAlign(x, boxes.reshape(5), 2)).toThrow(/psRoiAlign: expected boxes of shape \[K, 5\]/);
    expect(() => psRoiAlign(x, [boxes.slice(1, 1, 5)], 2)).toThrow(/psRoiAlign: 1 box tensors for a batch of 2/);
    // Batch indices are checked by the kernel (no blocking read at the call).
    await expect(psRoiAlign(x, tensor([[2, 0, 0, 1, 1]], { dtype: 'float32', device }), 2).data()).rejects.toThrow(IndexError);
    await expect(psRoiAlign(x, tensor([[0.5, 0, 0, 1, 1]], { dtype: 'float32', device }), 2).data()).rejects.toThrow(
      /psRoiAlign: box batch index 0.5 is not an image of the batch of 2/,
    );
  });
});

it('psRoiAlign gradients match finite differences (rois inside and across the border, adaptive and fixed sampling)', () => {
  const x = rand([2, 8, 6, 7]);
  const rois = tensor([[0, 0.7, 1.2, 4.1, 3.9], [1, -1.5, 2.2, 3.5, 8.8], [1, 2.2, 0.4, 6.5, 4.8]], { dtype: 'float32' });
  gradcheck((t) => psRoiAlign(t, rois, [2, 2]), [x]);
  gradcheck((t) => psRoiAlign(t, rois, [1, 2], { samplingRatio: 2, spatialScale: 0.8 }), [x]);
});

// No RoIs: an empty output and a zero input gradient, as torchvision
// (tests/fixtures/make_empty_batch_fixtures.py).
emptyBatchTest('psRoiAlign', (x) => psRoiAlign(x!, zeros([0, 5], { device: x!.device }), [2, 2], { samplingRatio: 2 }));
