// autocast (conv/linear/matmul in 16 bits, float32 outside), as torch.autocast, and a
// training run with it and a GradScaler (whose own tests are in grad_scaler.test.ts).
import { expect, it } from 'vitest';

import {
  ArgumentError,
  autocast,
  conv2d,
  crossEntropy,
  cuda,
  GradScaler,
  isAutocastEnabled,
  linear,
  manualSeed,
  matmul,
  models,
  optim,
  randint,
  randn,
  type Device,
} from '../../lib/index.js';
import { cpuHasBFloat16Kernels, describeDevices, expectClose } from '../helpers/devices.js';

describeDevices('autocast', (device: Device) => {
  const deviceType = device === 'cpu' ? 'cpu' : 'cuda';
  const dtype = deviceType === 'cpu' ? 'bfloat16' : 'float16';

  it.runIf(device !== 'cpu' || cpuHasBFloat16Kernels)('runs conv2d/linear/matmul on 16-bit operands and returns float32, with float32 gradients', () => {
    manualSeed(3);
    const x = randn([2, 3, 8, 8], { device, requiresGrad: true });
    const w = randn([4, 3, 3, 3], { device, requiresGrad: true });
    const b = randn([4], { device, requiresGrad: true });
    const y = autocast(() => conv2d(x, w, b, { padding: 1 }), { deviceType });
    expect(y.dtype).toBe('float32');
    // What autocast computes: the float32 conv of the 16-bit-rounded operands, rounded once more.
    const round = (t: typeof x) => t.detach().to(dtype).to('float32');
    expectClose(y.dataSync(), conv2d(round(x), round(w), round(b), { padding: 1 }).to(dtype).to('float32').dataSync(), 1e-6);

    y.sum().backward();
    for (const t of [x, w, b]) expect(t.grad!.dtype).toBe('float32');
    const [gx, gw, gb] = [x, w, b].map((t) => t.grad!.dataSync());
    for (const t of [x, w, b]) t.grad = null;
    conv2d(x, w, b, { padding: 1 }).sum().backward();
    // 16-bit operands carry 8 (bfloat16) or 11 (float16) significant bits.
    const tolerance = dtype === 'bfloat16' ? 3e-2 : 3e-3;
    expectClose(gx!, x.grad!.dataSync(), tolerance);
    expectClose(gw!, w.grad!.dataSync(), tolerance);
    expectClose(gb!, b.grad!.dataSync(), tolerance);

    const a = randn([5, 6], { device });
    const m = randn([6, 3], { device });
    const product = autocast(() => matmul(a, m), { deviceType });
    expect(product.dtype).toBe('float32');
    expectClose(product.dataSync(), matmul(a, m).dataSync(), 5e-2);
    expect(autocast(() => linear(a, randn([2, 6], { device }), randn([2], { device })), { deviceType }).dtype).toBe('float32');
  });

  it('leaves other devices, other dtypes and disabled scopes alone', () => {
    const a = randn([4, 4], { device });
    const exact = matmul(a, a).dataSync();
    const other = deviceType === 'cpu' ? 'cuda' : 'cpu';
    expect(autocast(() => matmul(a, a), { deviceType: other }).dataSync()).toEqual(exact);
    expect(autocast(() => autocast(() => matmul(a, a), { deviceType, enabled: false }), { deviceType }).dataSync()).toEqual(exact);
  });
});

it('follows awaits, nests per device type, and says whether it is on', async () => {
  expect(isAutocastEnabled('cpu')).toBe(false);
  await autocast(async () => {
    await Promise.resolve();
    expect(isAutocastEnabled('cpu')).toBe(true);
    expect(isAutocastEnabled('cuda')).toBe(false);
    // Nested per device type (CUDA's autocast stays off where there is no CUDA).
    autocast(() => expect([isAutocastEnabled('cuda'), isAutocastEnabled('cpu')]).toEqual([cuda.isAvailable(), true]), { deviceType: 'cuda' });
    autocast(() => expect(isAutocastEnabled('cpu')).toBe(false), { deviceType: 'cpu', enabled: false });
  }, { deviceType: 'cpu' });
  expect(isAutocastEnabled('cpu')).toBe(false);
});

it('without a deviceType, autocast and GradScaler serve the available device', () => {
  const available = cuda.isAvailable() ? 'cuda' : 'cpu';
  const other = available === 'cuda' ? 'cpu' : 'cuda';
  autocast(() => {
    expect(isAutocastEnabled(available)).toBe(true);
    expect(isAutocastEnabled(other)).toBe(false);
    expect(isAutocastEnabled()).toBe(true); // its default is autocast's
  });
  expect(isAutocastEnabled()).toBe(false);
  expect(new GradScaler().isEnabled()).toBe(true);
  expect(new GradScaler().getScale()).toBe(2 ** 16);
  expect(() => new GradScaler({ device: 'gpu' as never })).toThrow(/GradScaler: expected device 'cuda' or 'cpu', got gpu/);
});

it.runIf(cpuHasBFloat16Kernels && !cuda.isAvailable())('the README snippet, autocast without options, runs CPU ops in bfloat16', () => {
  manualSeed(5);
  const x = randn([4, 32]);
  const w = randn([8, 32]);
  const exact = linear(x, w).dataSync();
  const mixed = autocast(() => linear(x, w)).dataSync();
  const rounded = linear(x.to('bfloat16').to('float32'), w.to('bfloat16').to('float32')).to('bfloat16').to('float32').dataSync();
  expect(mixed).not.toEqual(exact);
  expectClose(mixed, rounded, 1e-6);
});

it('refuses unknown options and float16 on the CPU', () => {
  expect(() => autocast(() => 0, { deviceType: 'gpu' as never })).toThrow(ArgumentError);
  expect(() => autocast(() => 0, { dtype: 'float32' as never })).toThrow(/expected dtype 'float16' or 'bfloat16', got float32/);
  expect(() => autocast(() => 0, { deviceType: 'cpu', dtype: 'float16' })).toThrow(/the CPU runs mixed precision in 'bfloat16'/);
});

it.runIf(cpuHasBFloat16Kernels)('a lenet5 trains under CPU autocast with a GradScaler as it does in float32', () => {
  const run = (amp: boolean) => {
    manualSeed(0);
    const model = models.lenet5();
    const optimizer = new optim.Adam(model.parameters(), { lr: 3e-3 });
    const scaler = new GradScaler({ enabled: amp });
    const x = randn([32, 1, 28, 28]);
    const y = randint(0, 10, [32]);
    const losses: number[] = [];
    for (let step = 0; step < 10; step++) {
      optimizer.zeroGrad();
      const loss = amp ? autocast(() => crossEntropy(model.call(x), y), { deviceType: 'cpu' }) : crossEntropy(model.call(x), y);
      losses.push(loss.item());
      scaler.scale(loss).backward();
      expect(scaler.step(optimizer)).toBe(true);
      scaler.update();
    }
    for (const p of model.parameters()) expect(p.dtype).toBe('float32');
    return losses;
  };
  const mixed = run(true);
  expect(mixed[9]!).toBeLessThan(mixed[0]! * 0.7);
  expectClose(mixed, run(false), 1e-2);
});
