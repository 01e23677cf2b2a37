import { expect, it } from 'vitest';

import { ArgumentError, memory, queueLimits, randn, setQueueLimits, synchronize, zeros } from '../../lib/index.js';

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
