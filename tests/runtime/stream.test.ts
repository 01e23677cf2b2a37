import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

import { IndexError, memory, nn, ones, profile, randn, ShapeError, synchronize, tensor, zeros } from '../../lib/index.js';
import { native } from '../../lib/native.js';

/** Queues ~100 ms of matmuls so that ops called next are still waiting when they return. */
function busyStream(): void {
  const a = randn([768, 768]);
  let y = a;
  for (let i = 0; i < 12; ++i) y = y.matmul(a);
}

it('an error in a queued kernel rejects data() and the library keeps working', async () => {
  const x = tensor([[1, 2], [3, 4]]);
  busyStream();
  const bad = x.indexSelect(0, tensor([1, 7])); // validated shapes; the value 7 is only seen by the kernel
  const downstream = bad.add(1); // queued after the failure: inherits it
  await expect(bad.data()).rejects.toThrow(IndexError);
  await expect(downstream.data()).rejects.toThrow(/indexSelect: index 7 is out of range for dimension 0 with size 2/);
  // delivered once through data(): later ops run normally
  expect(x.add(1).tolist()).toEqual([[2, 3], [4, 5]]);
  expect(x.indexSelect(0, tensor([1, 0])).tolist()).toEqual([[3, 4], [1, 2]]);
});

it('an unobserved queued error is thrown by the next op, naming the failed op', async () => {
  const x = tensor([1, 2, 3]);
  busyStream();
  x.indexSelect(0, tensor([5]));
  await expect(synchronize()).rejects.toThrow(/indexSelect: index 5 is out of range/);
  x.indexSelect(0, tensor([-1]));
  // wait for the stream without consuming the error, then the next op reports it
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(() => x.add(1)).toThrow(IndexError);
  expect(x.add(1).tolist()).toEqual([2, 3, 4]);
});

it('a long op returns at once and the event loop keeps ticking while it runs', async () => {
  const a = randn([5000, 5000]);
  await synchronize();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const started = performance.now();
  const y = a.matmul(a); // 250 GFLOP: about 1-2 s on two cores
  const enqueueMs = performance.now() - started;
  await synchronize();
  const totalMs = performance.now() - started;
  clearInterval(timer);
  expect(totalMs).toBeGreaterThan(300);
  expect(enqueueMs).toBeLessThan(totalMs / 10); // the call did not wait for the math
  expect(ticks).toBeGreaterThan(totalMs / 50); // timers kept firing meanwhile
  a.dispose();
  y.dispose();
});

it('reads see every op queued before them', async () => {
  let x = zeros([1000]);
  for (let i = 0; i < 50; ++i) x = x.add(1);
  expect((await x.data())[999]).toBe(50);
});

it('a small op on an idle stream runs before the call returns: its kernel error reaches the very next op', async () => {
  const x = tensor([1, 2, 3]);
  await synchronize();
  // indexSelect of 3 floats runs on the calling thread (Backend::runsInline), so its error is
  // already recorded when it returns; queued, it would be reported only once the stream ran it.
  x.indexSelect(0, tensor([7]));
  expect(() => x.add(1)).toThrow(/indexSelect: index 7 is out of range/);
  expect(x.add(1).tolist()).toEqual([2, 3, 4]);
});

it('a small op does not overtake queued work: an in-place write waits for the queued reads of its target', async () => {
  const x = tensor([1, 2, 3, 4], { dtype: 'float32' });
  busyStream();
  const doubled = x.mul(2); // queued behind the matmuls: reads x later
  nn.init.constant_(x, 0); // a small write to x, on a busy stream: queued too, after the read
  expect(await doubled.data()).toEqual(new Float32Array([2, 4, 6, 8]));
  expect(x.tolist()).toEqual([0, 0, 0, 0]);
});

it('ops run on the calling thread are profiled like queued ones', async () => {
  const x = tensor([1, 2, 3]);
  await synchronize();
  const { ops } = await profile(() => x.add(1).mul(2));
  expect(ops.find((o) => o.op === 'add')?.count).toBe(1);
  expect(ops.find((o) => o.op === 'mul')?.count).toBe(1);
});

it('out of memory is a catchable OutOfMemoryError and the library still works', () => {
  const before = memory('cpu').tensors;
  // A public shape this large is refused before allocating (more than 2^31 - 1 elements) ...
  expect(() => zeros([1e7, 1e7])).toThrow(ShapeError);
  // ... so the allocator's own failure is reached through the binding.
  expect(() => native.empty('cpu', 4e14)).toThrow(/OutOfMemory|out of memory/);
  try {
    native.empty('cpu', 4e14);
  } catch (error) {
    expect((error as Error).name).toBe('OutOfMemoryError');
  }
  expect(memory('cpu').tensors).toBe(before);
  expect(ones([2]).add(1).tolist()).toEqual([2, 2]);
});

it('NEOCOG_SYNC=1 runs ops synchronously: a kernel error throws at the call site', () => {
  const script = fileURLToPath(new URL('./sync-mode.fixture.ts', import.meta.url));
  const output = execFileSync(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, NEOCOG_SYNC: '1' },
    encoding: 'utf8',
  });
  expect(JSON.parse(output)).toEqual({ syncMode: true, thrownAtCall: 'IndexError', afterwards: [2, 3] });
});
