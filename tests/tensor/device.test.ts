import { expect, it } from 'vitest';

import { ArgumentError, conv2d, getNumThreads, memory, queueLimits, randn, setNumThreads, setQueueLimits, synchronize, zeros } from '../../lib/index.js';
import { native } from '../../lib/native.js';

it('queued work is bounded: a loop that never reads values waits for the stream instead of queueing memory', async () => {
  const defaults = queueLimits();
  expect(defaults).toEqual({ maxTasks: 1024, maxBytes: 2 ** 30 });
  const block = 4 * 2 ** 20; // each add below writes a fresh 4 MiB output
  setQueueLimits({ maxBytes: 8 * block });
  try {
    const x = zeros([2 ** 20]);
    await synchronize();
    const before = memory('cpu').bytes;
    // A slow head keeps the stream busy while the loop below queues outputs it never reads.
    const a = randn([1024, 1024]);
    let y = a;
    for (let i = 0; i < 6; ++i) y = y.matmul(a);
    let peak = 0;
    const outputs = [];
    for (let i = 0; i < 64; ++i) {
      outputs.push(x.add(i)); // kept alive: only the queue limit stops the growth
      peak = Math.max(peak, memory('cpu').bytes - before);
      outputs.shift()?.dispose();
    }
    // Without the limit all 64 outputs (256 MiB) would be allocated before the first ran.
    expect(peak).toBeLessThan(16 * block);
    await synchronize();
  } finally {
    setQueueLimits(defaults);
  }
  expect(queueLimits()).toEqual(defaults);
});

it('a task limit makes the caller wait for the stream too, and results stay right', async () => {
  setQueueLimits({ maxTasks: 2 });
  try {
    let y = zeros([1000]);
    for (let i = 0; i < 300; ++i) y = y.add(1);
    expect((await y.data())[999]).toBe(300);
  } finally {
    setQueueLimits({ maxTasks: 1024 });
  }
});

it('queue limits are validated', () => {
  expect(() => setQueueLimits({ maxTasks: 0 })).toThrow(ArgumentError);
  expect(() => setQueueLimits({ maxBytes: 1.5 })).toThrow(/setQueueLimits: expected maxBytes to be a positive integer, got 1.5/);
  expect(() => setQueueLimits({}, 'gpu' as 'cpu')).toThrow(/expected device/);
  expect(queueLimits().maxTasks).toBe(1024);
});

it('setNumThreads changes the threads of the ops queued after it, as the stream applies it; results are the same', async () => {
  const initial = getNumThreads();
  expect(initial).toBeGreaterThanOrEqual(1);
  const x = randn([4, 16, 32, 32]);
  const w = randn([16, 16, 3, 3]);
  const before = conv2d(x, w, null, { padding: 1 }).dataSync();
  setNumThreads(1);
  expect(getNumThreads()).toBe(1);
  const single = conv2d(x, w, null, { padding: 1 }).dataSync();
  await synchronize();
  expect(native.numThreads('cpu')).toBe(1); // OpenMP on the stream thread reads back 1
  expect(Array.from(single)).toEqual(Array.from(before));
  setNumThreads(initial);
  await synchronize();
  expect(native.numThreads('cpu')).toBe(initial);
  expect(() => setNumThreads(0)).toThrow(ArgumentError);
  expect(() => setNumThreads(1.5)).toThrow(/setNumThreads: expected threads to be an integer in \[1, 1024\], got 1.5/);
});
