// Page-locked host memory: Tensor.pinMemory / isPinned and DataLoader's pinMemory option.
// Without a usable GPU, pinning is refused with the reason and the loader warns once.
import { expect, it } from 'vitest';

import { arange, cuda, data, DeviceError, tensor } from '../../lib/index.js';

const gpu = cuda.isAvailable();

/** Batches of a 10-sample dataset as plain arrays, and the warnings emitted meanwhile. */
async function load(pinMemory: boolean): Promise<{ batches: number[][][]; pinned: boolean[]; warnings: string[] }> {
  const warnings: string[] = [];
  const listen = (w: Error) => warnings.push(w.message);
  process.on('warning', listen);
  try {
    const dataset = new data.TensorDataset([arange(0, 20).reshape(10, 2), arange(0, 10)]);
    const loader = new data.DataLoader(dataset, { batchSize: 4, pinMemory });
    const batches: number[][][] = [];
    const pinned: boolean[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      for await (const [x, y] of loader) {
        batches.push([Array.from(x!.dataSync()), Array.from(y!.dataSync())]);
        pinned.push(x!.isPinned() && y!.isPinned());
      }
    }
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    return { batches, pinned, warnings };
  } finally {
    process.off('warning', listen);
  }
}

it('a tensor is not pinned unless asked', () => {
  expect(tensor([1, 2, 3]).isPinned()).toBe(false);
});

it.runIf(!gpu)('without a usable GPU, pinMemory() is a DeviceError with the reason and the tensor is kept', () => {
  const t = tensor([1, 2, 3]);
  expect(() => t.pinMemory()).toThrow(DeviceError);
  expect(() => t.pinMemory()).toThrow(`pinMemory: CUDA is not available: ${cuda.unavailableReason()}`);
  expect(t.tolist()).toEqual([1, 2, 3]);
});

it.runIf(!gpu)('without a usable GPU, DataLoader pinMemory yields the same batches and warns once', async () => {
  const plain = await load(false);
  const asked = await load(true);
  expect(asked.batches).toEqual(plain.batches);
  expect(asked.pinned.every((p) => !p)).toBe(true);
  expect(asked.warnings.filter((w) => w.includes('pinMemory'))).toEqual([
    `DataLoader: pinMemory is set but CUDA is not available (${cuda.unavailableReason()}); batches stay in pageable memory`,
  ]);
});

it.runIf(gpu)('pinMemory() copies into page-locked memory that moves to and from the GPU', async () => {
  const t = arange(0, 12).reshape(3, 4).transpose(0, 1);
  const p = t.pinMemory();
  expect(p.isPinned()).toBe(true);
  expect(p.tolist()).toEqual(t.tolist());
  expect(p.pinMemory().isPinned()).toBe(true);
  const g = p.to('cuda:0');
  expect(await g.cpu().data()).toEqual(await t.contiguous().data());
  expect(() => g.pinMemory()).toThrow(/pinMemory: only CPU tensors can be pinned, got one on cuda:0/);
});

it.runIf(gpu)('DataLoader pinMemory hands out pinned batches with the same values', async () => {
  const plain = await load(false);
  const asked = await load(true);
  expect(asked.batches).toEqual(plain.batches);
  expect(asked.pinned.every(Boolean)).toBe(true);
  expect(asked.warnings).toEqual([]);
});
