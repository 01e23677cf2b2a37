// Run as a script by prefetch.test.ts: the process must exit by itself after the loop.
import { data } from '../../lib/index.js';
import { numbers } from './worker_datasets.fixture.js';

const args = { n: process.argv[2] === 'persistent' ? 10 : 100, delayMs: 20 };
const dataset = Object.assign(numbers(args).dataset, {
  // .ts from the sources, .js when prefetch_lifecycle.test.ts runs this compiled.
  workerSpec: () => ({ module: import.meta.url.replace('prefetch_exit.fixture', 'worker_datasets.fixture'), exportName: 'numbers', args }),
});
const mode = process.argv[2];
const loader = new data.DataLoader(dataset, { batchSize: 2, numWorkers: 2, persistentWorkers: mode === 'persistent' });
if (mode === 'persistent') {
  // A whole epoch on kept workers, and no close(): idle workers must not hold the process.
  const first: number[][] = [];
  for await (const [, y] of loader) first.push(y!.tolist() as number[]);
  console.log(`first batch ${JSON.stringify(first[0])}, ${mode}`);
} else if (mode === 'break') {
  for await (const [, y] of loader) {
    console.log(`first batch ${JSON.stringify(y!.tolist())}, ${mode}`);
    break;
  }
} else {
  // Never closed: the workers finish the batches asked for, then must not hold the process.
  const iterator = loader[Symbol.asyncIterator]();
  const { value } = await iterator.next();
  console.log(`first batch ${JSON.stringify(value![1]!.tolist())}, ${mode}`);
}
