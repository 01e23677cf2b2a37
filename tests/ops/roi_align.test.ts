import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { IndexError, manualSeed, randn, roiAlign, ShapeError, tensor, zeros } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { emptyBatchTest } from '../helpers/empty_batch.js';
import { gradcheck } from '../helpers/gradcheck.js';

// Written by make_box_fixtures.py from torchvision.ops.roi_align.
const fixture = JSON.parse(readFileSync(new URL('../fixtures/boxes.json', import.meta.url), 'utf8')) as {
  roiInput: number[]; rois: number[];
  roiAlign: Array<{ size: [number, number]; scale: number; ratio: number; aligned: boolean; out: number[]; w: number[]; grad: number[] }>;
};

describeDevices('roiAlign', (device) => {
  it('roiAlign values and input gradients match torchvision (adaptive and fixed sampling, aligned or not)', async () => {
    const rois = tensor(Float32Array.from(fixture.rois), { device }).reshape(-1, 5);
    for (const c of fixture.roiAlign) {
      const x = tensor(Float32Array.from(fixture.roiInput), { device }).reshape(2, 3, 10, 12).requiresGrad_();
      const y = roiAlign(x, rois, c.size, { spatialScale: c.scale, samplingRatio: c.ratio, aligned: c.aligned });
      expect(y.shape).toEqual([5, 3, ...c.size]);
      expectClose(y.cpu().dataSync(), c.out, 1e-4);
      y.mul(tensor(Float32Array.from(c.w), { device }).reshape(y.shape)).sum().backward();
      expectClose(x.grad!.cpu().dataSync(), c.grad, 1e-4);
    }
    // The list-of-boxes form is the same as explicit batch indices.
    const x = tensor(Float32Array.from(fixture.roiInput), { device }).reshape(2, 3, 10, 12);
    const perImage = [tensor([[1.3, 2.1, 7.6, 8.2]], { dtype: 'float32', device }), tensor([[0, 0, 11, 9]], { dtype: 'float32', device })];
    const explicit = tensor([[0, 1.3, 2.1, 7.6, 8.2], [1, 0, 0, 11, 9]], { dtype: 'float32', device });
    expect(roiAlign(x, perImage, 3).cpu().tolist()).toEqual(roiAlign(x, explicit, 3).cpu().tolist());
    // Channels-last maps take the kernels' channels-innermost path, with the same sums.
    const channelsLast = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    expect(roiAlign(channelsLast, rois, [2, 3], { samplingRatio: 2 }).cpu().tolist()).toEqual(roiAlign(x, rois, [2, 3], { samplingRatio: 2 }).cpu().tolist());
    // Batch indices are checked by the kernel (no blocking read at the call).
    await expect(roiAlign(x, tensor([[2, 0, 0, 1, 1]], { dtype: 'float32', device }), 2).data()).rejects.toThrow(IndexError);
    await expect(roiAlign(x, tensor([[0.5, 0, 0, 1, 1]], { dtype: 'float32', device }), 2).data()).rejects.toThrow(
      /roiAlign: box batch index 0.5 is not an image of the batch of 2/,
    );
    expect(() => roiAlign(x, perImage.slice(0, 1), 2)).toThrow(/1 box tensors for a batch of 2/);
    expect(() => roiAlign(x.reshape(6, 10, 12), explicit, 2)).toThrow(ShapeError);
  });

});

it('roiAlign gradients match finite differences', () => {
  manualSeed(7);
  const rois = tensor([[0, 0.7, 1.2, 4.1, 3.9], [0, 2.2, 0.4, 5.5, 4.8]], { dtype: 'float32' });
  gradcheck((x) => roiAlign(x, rois, [2, 2], { samplingRatio: 2, aligned: true }), [randn([1, 2, 6, 7])]);
});

// No RoIs: an empty output and a zero input gradient, as torchvision
// (tests/fixtures/make_empty_batch_fixtures.py).
emptyBatchTest('roiAlign', (x) => roiAlign(x!, zeros([0, 5], { device: x!.device }), [2, 2], { samplingRatio: 2, aligned: true }));
