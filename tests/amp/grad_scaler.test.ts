// GradScaler (dynamic loss scaling with skipped steps), as torch.cuda.amp.GradScaler.
import { expect, it } from 'vitest';

import { GradScaler, manualSeed, optim, randn, tensor, type Device } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

it('GradScaler scales the loss, unscales the gradients and steps', () => {
  const w = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
  const optimizer = new optim.SGD([w], { lr: 0.1 });
  const scaler = new GradScaler({ initScale: 1024 });
  const loss = w.mul(tensor([3, 4], { dtype: 'float32' })).sum();
  const scaled = scaler.scale(loss);
  expect(scaled.item()).toBe(1024 * 11);
  scaled.backward();
  expect(Array.from(w.grad!.dataSync())).toEqual([3 * 1024, 4 * 1024]);
  expect(scaler.step(optimizer)).toBe(true);
  expect(Array.from(w.grad!.dataSync())).toEqual([3, 4]); // unscaled in place of the old gradient
  expectClose(w.dataSync(), [1 - 0.3, 2 - 0.4]);
  scaler.update();
  expect(scaler.getScale()).toBe(1024);
});

it('GradScaler skips a step with inf/NaN gradients, backs off, and grows after clean steps', () => {
  const w = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
  const optimizer = new optim.SGD([w], { lr: 0.1 });
  const scaler = new GradScaler({ initScale: 8, growthInterval: 2, growthFactor: 2, backoffFactor: 0.25 });
  const iteration = (gradient: number[]) => {
    optimizer.zeroGrad();
    scaler.scale(w.mul(tensor(gradient, { dtype: 'float32' })).sum()).backward();
    const stepped = scaler.step(optimizer);
    scaler.update();
    return stepped;
  };
  expect(iteration([Infinity, 1])).toBe(false);
  expect(Array.from(w.dataSync())).toEqual([1, 2]); // untouched
  expect(scaler.getScale()).toBe(2);
  expect(iteration([NaN, 1])).toBe(false);
  expect(scaler.getScale()).toBe(0.5);
  expect(iteration([1, 1])).toBe(true);
  expect(scaler.getScale()).toBe(0.5);
  expect(iteration([1, 1])).toBe(true);
  expect(scaler.getScale()).toBe(1); // two clean steps in a row
  expect(scaler.stateDict()).toEqual({ scale: 1, growthFactor: 2, backoffFactor: 0.25, growthInterval: 2, growthTracker: 0 });
  const restored = new GradScaler();
  restored.loadStateDict({ ...scaler.stateDict(), growthTracker: 1 });
  expect(restored.getScale()).toBe(1);
  expect(restored.stateDict().growthTracker).toBe(1);
});

describeDevices('GradScaler unscaling', (device: Device) => {
  it('unscales every element of large and non-contiguous gradients and finds one inf or NaN anywhere', () => {
    manualSeed(4);
    const big = randn([100_003], { device, requiresGrad: true });
    const small = randn([3], { device, requiresGrad: true });
    const values = randn([100_003], { device });
    for (const poison of [null, Infinity, -Infinity, NaN]) {
      const optimizer = new optim.SGD([big, small], { lr: 0 });
      const scaler = new GradScaler({ initScale: 4 });
      optimizer.zeroGrad();
      big.grad = values.mul(4) as typeof big.grad;
      // A strided (non-dense) gradient is made dense first.
      small.grad = tensor([8, 0, 12, 0, poison ?? 16, 0], { device, dtype: 'float32' }).slice(0, 0, 6, 2) as typeof small.grad;
      expect(small.grad!.strides).toEqual([2]);
      scaler.unscale_(optimizer);
      expect(scaler.step(optimizer)).toBe(poison === null);
      expectClose(big.grad!.dataSync(), values.dataSync(), 1e-7);
      if (poison === null) expect(Array.from(small.grad!.dataSync())).toEqual([2, 3, 4]);
    }
  });
});

it('GradScaler refuses misuse and bad settings, and passes through when disabled', () => {
  expect(() => new GradScaler({ initScale: 0 })).toThrow(/expected initScale to be a positive number, got 0/);
  expect(() => new GradScaler({ growthFactor: 1 })).toThrow(/growthFactor > 1/);
  expect(() => new GradScaler({ backoffFactor: 1.5 })).toThrow(/backoffFactor < 1/);
  expect(() => new GradScaler({ growthInterval: 0.5 })).toThrow(/growthInterval to be a positive integer/);
  const w = tensor([1], { dtype: 'float32', requiresGrad: true });
  const optimizer = new optim.SGD([w], { lr: 1 });
  const scaler = new GradScaler();
  expect(() => scaler.update()).toThrow(/no step\(\) or unscale_\(\) since the last update\(\)/);
  scaler.scale(w.sum()).backward();
  scaler.unscale_(optimizer);
  expect(() => scaler.unscale_(optimizer)).toThrow(/already called on this optimizer/);
  expect(() => scaler.loadStateDict({ ...scaler.stateDict(), growthTracker: 5000 })).toThrow(/growthTracker 5000 is outside/);

  const off = new GradScaler({ enabled: false });
  const loss = w.sum();
  expect(off.scale(loss)).toBe(loss);
  expect(off.getScale()).toBe(1);
  expect(off.step(optimizer)).toBe(true);
});
