import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { expect, it } from 'vitest';

import { cuda, DeviceError, tensor, zeros } from '../../lib/index.js';
import { addonPath } from '../../lib/native.js';

const pluginBuilt = existsSync(join(dirname(addonPath), 'libneocog_cuda.so'));

it.runIf(!cuda.isAvailable())('without a usable GPU, isAvailable() is false and says why', () => {
  expect(cuda.deviceCount()).toBe(0);
  const reason = cuda.unavailableReason();
  expect(reason).toBeTypeOf('string');
  if (!pluginBuilt) expect(reason).toMatch(/plugin is not installed \(npm install @neocog\/linux-x64-cuda13\) and was not built/);
  else expect(reason).toMatch(/driver|libcudnn|cuDNN|cuBLAS|no CUDA device/);
});

it.runIf(!cuda.isAvailable())("to('cuda') throws a DeviceError carrying the reason", () => {
  const x = tensor([1, 2, 3]);
  expect(() => x.to('cuda')).toThrow(DeviceError);
  expect(() => x.to('cuda')).toThrow(`to: CUDA is not available: ${cuda.unavailableReason()}`);
  expect(() => zeros([2], { device: 'cuda:1' })).toThrow(DeviceError);
  expect(() => cuda.getDeviceProperties(0)).toThrow(DeviceError);
  expect(x.tolist()).toEqual([1, 2, 3]); // nothing lost
});

it('device names are validated', () => {
  expect(() => zeros([2], { device: 'gpu' as never })).toThrow(/expected device 'cpu', 'cuda' or 'cuda:N', got gpu/);
});

it.runIf(cuda.isAvailable())('a CUDA device reports its properties and round-trips data', async () => {
  const props = cuda.getDeviceProperties(0);
  expect(props.major).toBeGreaterThanOrEqual(7);
  expect(props.cudnnVersion).toBeGreaterThanOrEqual(90000);
  const x = tensor([[1, 2], [3, 4]], { dtype: 'float32' });
  const g = x.to('cuda');
  expect(g.device).toBe('cuda:0');
  expect(Array.from(await g.add(g).cpu().data())).toEqual([2, 4, 6, 8]);
  expect(() => g.add(x)).toThrow(/input is on cuda:0 and other is on cpu/);
});

it('a CUDA package of another version than neocog is refused with the version to install', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { packageVersionMismatch } = await import('../../lib/cuda.js');
  const dir = mkdtempSync(join(tmpdir(), 'neocog-cuda-package-'));
  const manifest = (name: string, version: string) => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({ name, version }));
    return path;
  };
  const neocog = manifest('neocog', '0.2.0');
  expect(packageVersionMismatch(manifest('same', '0.2.0'), neocog)).toBeNull();
  expect(packageVersionMismatch(manifest('older', '0.1.0'), neocog)).toBe(
    '@neocog/linux-x64-cuda13 0.1.0 is installed, but neocog 0.2.0 needs the same version: npm install @neocog/linux-x64-cuda13@0.2.0',
  );
});
