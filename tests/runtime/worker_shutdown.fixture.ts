// Run as a script by worker_shutdown.test.ts. Main thread: starts workers that run neocog
// ops (small ops in a loop that reads values, and a long convolution), keeps computing
// itself, then ends the workers the way argv[2] says: 'terminate' or 'exit'.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { conv2d, randn } from '../../lib/index.js';

if (!isMainThread) {
  const { kind } = workerData as { kind: 'small' | 'conv' };
  parentPort!.postMessage('started');
  for (;;) {
    if (kind === 'conv') {
      await conv2d(randn([4, 64, 64, 64]), randn([64, 64, 3, 3]), null, { padding: 1 }).data();
    } else {
      const x = randn([64, 64]);
      for (let i = 0; i < 50; i++) x.matmul(x).relu();
      await x.sum().data();
      x.matmul(x).item();
    }
  }
} else {
  const mode = process.argv[2] ?? 'terminate';
  const delayMs = Number(process.argv[3] ?? 50);
  const start = (kind: string) =>
    new Promise<Worker>((resolve, reject) => {
      // Workers do not inherit tsx's loader: register it, then import this file.
      const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const worker = new Worker(boot, { eval: true, workerData: { kind } });
      worker.once('message', () => resolve(worker));
      worker.once('error', reject);
    });
  const workers = await Promise.all([start('small'), start('small'), start('conv')]);
  await new Promise((r) => setTimeout(r, delayMs));
  if (mode === 'exit') {
    // Leave with ops in flight on every thread, ours included.
    randn([256, 256]).matmul(randn([256, 256]));
    process.exit(0);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  // This thread's work is unaffected by the terminations.
  const x = randn([32, 32]);
  const sum = await x.matmul(x).sum().data();
  console.log(`ok ${Number.isFinite(sum[0]) ? 'finite' : 'nan'}`);
}
