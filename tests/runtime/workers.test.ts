import { Worker } from 'node:worker_threads';

import { expect, it } from 'vitest';

const script = new URL('./worker.fixture.ts', import.meta.url).href;

// Workers start without the parent's TypeScript loader: register tsx, then import the fixture.
const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}); })`;

function runWorker(seed: number): Promise<{ sum: number; first: number[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(bootstrap, { eval: true, workerData: { seed } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

it('the addon loads and computes in two worker_threads at once', async () => {
  const [a, b, again] = await Promise.all([runWorker(1), runWorker(2), runWorker(1)]);
  expect(a.sum).toBeCloseTo(256 * 256 * 64, 0);
  expect(b.sum).toBeCloseTo(256 * 256 * 64, 0);
  expect(a.first).toEqual(again.first); // each worker has its own generator state
  expect(a.first).not.toEqual(b.first);
});

it('the main thread keeps working after workers exit', async () => {
  await runWorker(3);
  const { ones } = await import('../../lib/index.js');
  expect(ones([2]).add(1).tolist()).toEqual([2, 2]);
});
