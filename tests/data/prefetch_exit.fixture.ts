// Run as a script by prefetch.test.ts: the process must exit by itself after the loop.
import { data } from '../../lib/index.js';
import { numbers } from './worker_datasets.fixture.js';

const args = { n: 100, delayMs: 20 };
const dataset = Object.assign(numbers(args).dataset, {
  workerSpec: () => ({ module: new URL('./worker_datasets.fixture.ts', import.meta.url).href, exportName: 'numbers', args }),
});
const loader = new data.DataLoader(dataset, { batchSize: 2, numWorkers: 2 });
const mode = process.argv[2];
if (mode === 'break') {
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
