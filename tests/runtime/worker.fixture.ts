// Run inside a worker_thread by workers.test.ts.
import { parentPort, workerData } from 'node:worker_threads';

import { manualSeed, ones, rand } from '../../lib/index.js';

manualSeed((workerData as { seed: number }).seed);
const first = Array.from(rand([4]).dataSync());
const product = ones([256, 64]).matmul(ones([64, 256]));
const values = Array.from(await product.data());
parentPort!.postMessage({ sum: values.reduce((s, v) => s + v, 0), first });
