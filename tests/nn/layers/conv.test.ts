import { expect, it } from 'vitest';

import { convTranspose3d, nn, randn, ShapeError } from '../../../lib/index.js';

it('convolution layers refuse bad arguments at construction, not at the first forward', () => {
  expect(() => new nn.Conv2d(0, 8, 3)).toThrow(/Conv2d: expected inChannels to be an integer >= 1/);
  expect(() => new nn.Conv2d(3, 8, 0)).toThrow(/Conv2d: expected kernelSize/);
  expect(() => new nn.Conv2d(3, 8, [3])).toThrow(/Conv2d: expected kernelSize to be an integer >= 1 or a list of 2 of them/);
  expect(() => new nn.Conv2d(3, 8, 3, { stride: [1] })).toThrow(/Conv2d: expected stride/);
  expect(() => new nn.Conv1d(3, 8, 3, { padding: [1, 1] })).toThrow(/Conv1d: expected padding/);
  expect(() => new nn.Conv3d(3, 8, 3, { dilation: 0 })).toThrow(/Conv3d: expected dilation/);
  expect(() => new nn.Conv2d(4, 8, 3, { groups: 0 })).toThrow(ShapeError);
  expect(() => new nn.Conv2d(4, 8, 3, { padding: 'full' as never })).toThrow(/Conv2d: expected padding to be a number, a list, 'same' or 'valid'/);
  expect(() => new nn.Conv2d(4, 8, 3, { paddingMode: 'mirror' as never })).toThrow(/Conv2d: expected paddingMode/);
  expect(() => new nn.ConvTranspose2d(4, 6, 2, { groups: 4 })).toThrow(/ConvTranspose2d: expected groups to be a positive integer dividing/);
  expect(() => new nn.ConvTranspose2d(4, 6, 2, { outputPadding: [1] })).toThrow(/ConvTranspose2d: expected outputPadding/);
  // Valid configurations still build.
  expect(new nn.Conv2d(4, 8, [3, 1], { stride: [2, 1], padding: 'same', groups: 4 }).weight.shape).toEqual([8, 1, 3, 1]);
});

it('convolution layers keep PyTorch shapes and reject bad configurations', () => {
  expect(new nn.Conv2d(4, 8, 3, { groups: 2 }).weight.shape).toEqual([8, 2, 3, 3]);
  expect(new nn.ConvTranspose2d(4, 6, 2).weight.shape).toEqual([4, 6, 2, 2]);
  expect(() => new nn.Conv2d(3, 8, 3, { groups: 2 })).toThrow(ShapeError);
});

it('ConvTranspose3d upsamples volumes as convTranspose3d and checks its arguments', () => {
  const up = new nn.ConvTranspose3d(4, 2, 2, { stride: 2 });
  expect(up.weight.shape).toEqual([4, 2, 2, 2, 2]);
  const x = randn([1, 4, 3, 2, 5]);
  const y = up.call(x);
  expect(y.shape).toEqual([1, 2, 6, 4, 10]);
  expect(Array.from(y.dataSync())).toEqual(Array.from(convTranspose3d(x, up.weight, up.bias, { stride: 2 }).dataSync()));
  expect(() => new nn.ConvTranspose3d(4, 2, [2, 2])).toThrow(/ConvTranspose3d: expected kernelSize/);
});
