// backends.cudnn.deterministic / allowTf32 and backends.cuda.matmul.allowTf32: validated
// settings carried by each conv/matmul; on CUDA, deterministic algorithms repeat bit for bit.
import { afterEach, expect, it } from 'vitest';

import { ArgumentError, backends, conv2d, manualSeed, matmul, randn, type Device } from '../lib/index.js';
import { describeDevices, expectClose } from './helpers/devices.js';

afterEach(() => {
  backends.cudnn.deterministic = false;
  backends.cudnn.allowTf32 = false;
  backends.cuda.matmul.allowTf32 = false;
});

it('every setting defaults to exact, reproducible-where-asked float32 and takes only booleans', () => {
  expect({ ...backends.cudnn }).toEqual({ deterministic: false, allowTf32: false });
  expect({ ...backends.cuda.matmul }).toEqual({ allowTf32: false });
  backends.cudnn.deterministic = true;
  expect(backends.cudnn.deterministic).toBe(true);
  expect(() => {
    backends.cuda.matmul.allowTf32 = 'yes' as never;
  }).toThrow(ArgumentError);
  expect(() => {
    backends.cudnn.allowTf32 = 1 as never;
  }).toThrow(/backends\.cudnn\.allowTf32: expected true or false, got 1/);
  expect(() => {
    (backends.cudnn as Record<string, boolean>).benchmark = true;
  }).toThrow(TypeError); // sealed: a misspelt setting is an error, not a silent no-op
});

describeDevices('backends settings', (device: Device) => {
  it('conv and matmul honour them and stay within float32 tolerance of the defaults', () => {
    manualSeed(7);
    const x = randn([2, 8, 12, 12], { device, requiresGrad: true });
    const w = randn([16, 8, 3, 3], { device, requiresGrad: true });
    const a = randn([64, 96], { device });
    const b = randn([96, 32], { device });
    const exactConv = conv2d(x, w, null, { padding: 1 }).dataSync();
    const exactMatmul = matmul(a, b).dataSync();
    backends.cudnn.allowTf32 = true;
    backends.cuda.matmul.allowTf32 = true;
    // TF32 keeps 10 mantissa bits of each product (Ampere and newer); the CPU has no TF32.
    const tolerance = device === 'cpu' ? 0 : 5e-3;
    expectClose(conv2d(x, w, null, { padding: 1 }).dataSync(), exactConv, tolerance);
    expectClose(matmul(a, b).dataSync(), exactMatmul, tolerance);
  });

  it('deterministic convolution gradients repeat bit for bit', () => {
    backends.cudnn.deterministic = true;
    manualSeed(8);
    const x = randn([4, 16, 20, 20], { device });
    const w = randn([32, 16, 3, 3], { device });
    const gradients = [0, 1].map(() => {
      const wi = w.detach().requiresGrad_();
      const xi = x.detach().requiresGrad_();
      conv2d(xi, wi, null, { padding: 1 }).sum().backward();
      return [wi.grad!.dataSync(), xi.grad!.dataSync()];
    });
    expect(gradients[1]![0]).toEqual(gradients[0]![0]);
    expect(gradients[1]![1]).toEqual(gradients[0]![1]);
  });
});
