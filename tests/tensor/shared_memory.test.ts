// Tensors whose storage borrows a SharedArrayBuffer's memory (native/src/binding/shared_memory.cc).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { ArgumentError, memory, ShapeError } from '../../lib/index.js';
import { fromSharedMemory } from '../../lib/tensor/shared_memory.js';

function sharedFloats(values: number[]): { buffer: SharedArrayBuffer; floats: Float32Array } {
  const buffer = new SharedArrayBuffer(values.length * 4);
  const floats = new Float32Array(buffer);
  floats.set(values);
  return { buffer, floats };
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('fromSharedMemory', () => {
  it('reads the buffer it borrows, without allocating', async () => {
    const { buffer } = sharedFloats([1, 2, 3, 4, 5, 6]);
    const before = memory('cpu').bytes;
    const t = fromSharedMemory(new Uint8Array(buffer), [2, 3], 'float32');
    expect(memory('cpu').bytes).toBe(before); // the allocator holds none of it
    expect(t.shape).toEqual([2, 3]);
    expect([...(await t.data())]).toEqual([1, 2, 3, 4, 5, 6]);
    const doubled = t.mul(2);
    expect([...(await doubled.data())]).toEqual([2, 4, 6, 8, 10, 12]);
    doubled.dispose();
    t.dispose();
  });

  it('int32 and uint8 tensors at an offset in the buffer', async () => {
    const buffer = new SharedArrayBuffer(128);
    new Int32Array(buffer, 64, 3).set([7, -8, 9]);
    new Uint8Array(buffer, 4, 2).set([200, 1]);
    const ints = fromSharedMemory(new Uint8Array(buffer, 64, 12), [3], 'int32');
    const bytes = fromSharedMemory(new Uint8Array(buffer, 4, 2), [2], 'uint8');
    expect([...(await ints.data())]).toEqual([7, -8, 9]);
    expect([...(await bytes.data())]).toEqual([200, 1]);
    ints.dispose();
    bytes.dispose();
  });

  it('sees writes another thread makes to the buffer', async () => {
    const { buffer } = sharedFloats([0, 0, 0, 0]);
    const t = fromSharedMemory(new Uint8Array(buffer), [4], 'float32');
    const worker = new Worker('const { workerData } = require("node:worker_threads"); new Float32Array(workerData).set([4, 3, 2, 1]);', {
      eval: true,
      workerData: buffer,
    });
    await new Promise((resolve) => worker.once('exit', resolve));
    expect([...(await t.data())]).toEqual([4, 3, 2, 1]);
    t.dispose();
  });

  it('disposing the tensor leaves the buffer intact', async () => {
    const { buffer, floats } = sharedFloats([1, 2]);
    const t = fromSharedMemory(new Uint8Array(buffer), [2], 'float32');
    const view = t.reshape([1, 2]); // a view shares the borrowed storage
    t.dispose();
    expect([...(await view.data())]).toEqual([1, 2]);
    view.dispose();
    floats[0] = 5;
    expect([...floats]).toEqual([5, 2]);
  });

  it('an op queued on the tensor keeps the memory until it ran (the storage dies on the stream thread)', async () => {
    const { buffer } = sharedFloats(Array.from({ length: 1 << 16 }, (_, i) => i));
    let t = fromSharedMemory(new Uint8Array(buffer), [1 << 16], 'float32');
    const sums = [];
    for (let i = 0; i < 20; ++i) {
      sums.push(t.sum());
      t.dispose(); // the queued sum holds the last reference
      t = fromSharedMemory(new Uint8Array(buffer), [1 << 16], 'float32');
    }
    t.dispose();
    const expected = ((1 << 16) * ((1 << 16) - 1)) / 2;
    for (const s of sums) {
      expect(await s.item()).toBeCloseTo(expected, -3);
      s.dispose();
    }
  });

  it('garbage collection of tensors and buffers does not crash', async () => {
    for (let round = 0; round < 5; ++round) {
      for (let i = 0; i < 50; ++i) {
        const { buffer } = sharedFloats([i, i + 1, i + 2, i + 3]);
        const t = fromSharedMemory(new Uint8Array(buffer), [4], 'float32');
        t.add(1); // forgotten: the backstop frees it, and the storage lets the buffer go
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    collectGarbage();
    const { buffer } = sharedFloats([1]);
    const t = fromSharedMemory(new Uint8Array(buffer), [1], 'float32');
    expect(await t.item()).toBe(1);
    t.dispose();
  });

  it('refuses a view of the wrong size or alignment', () => {
    const buffer = new SharedArrayBuffer(64);
    expect(() => fromSharedMemory(new Uint8Array(buffer, 0, 12), [4], 'float32')).toThrow(ShapeError);
    expect(() => fromSharedMemory(new Uint8Array(buffer, 0, 12), [4], 'float32')).toThrow('fromSharedMemory: shape [4] of float32 needs 16 bytes, the view has 12');
    expect(() => fromSharedMemory(new Uint8Array(buffer, 2, 16), [4], 'float32')).toThrow(ArgumentError);
    expect(() => fromSharedMemory(new Float32Array(buffer) as unknown as Uint8Array, [16], 'float32')).toThrow(ArgumentError);
  });

  it('also borrows a plain ArrayBuffer view', async () => {
    const bytes = new Uint8Array(new Float32Array([3, 4]).buffer);
    const t = fromSharedMemory(bytes, [2], 'float32');
    expect([...(await t.data())]).toEqual([3, 4]);
    t.dispose();
  });
});
