// Data-parallel training of the main job's CNN over several processes, as PyTorch's DDP:
//   npx neocog-run --nproc-per-node 2 examples/train-distributed.ts
// Each rank trains on its own share of the bundled Fashion-MNIST subset (DistributedSampler)
// and evaluates its share of the official test set; gradients are averaged across ranks in
// buckets during backward (DistributedDataParallel) and batch norm sees the whole batch
// (SyncBatchNorm), so N ranks of batch B train as one process of batch N x B would. Rank 0
// prints progress and writes runs/distributed/model.safetensors.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { data, distributed, io, manualSeed, models, nn, optim, train } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '32' },  // per rank
    lr: { type: 'string', default: '0.002' },
    limit: { type: 'string' },  // use only the first N training and test images (quick runs)
    out: { type: 'string', default: 'runs/distributed' },
  },
});

await distributed.initProcessGroup();  // MPI: rank and world size come from mpirun (neocog-run)
const rank = distributed.getRank();
const world = distributed.getWorldSize();
manualSeed(0);

const MEAN = 0.286;
const STD = 0.353;
const bundled = new URL('./data/fashion-mnist/', import.meta.url).pathname;
const load = (images: string, labels: string) =>
  new data.ImageArrayDataset(data.readIdx(join(bundled, images)), data.readIdx(join(bundled, labels)).data);
const fullTrain = load('train-subset-images-idx3-ubyte.gz', 'train-subset-labels-idx1-ubyte.gz');
const fullTest = load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');
const limit = (set: typeof fullTrain) =>
  args.limit ? new data.Subset(set, Array.from({ length: Math.min(Number(args.limit), set.length) }, (_, i) => i)) : set;
const trainSet = limit(fullTrain);
const testSet = limit(fullTest);

// Every rank sees a different 1/world of the data each epoch (fit tells the sampler the epoch).
const trainLoader = new data.DataLoader(trainSet, {
  batchSize: Number(args['batch-size']),
  sampler: new data.DistributedSampler(trainSet, { shuffle: true, seed: 0 }),
  collate: fullTrain.collate(MEAN, STD),
});
const testLoader = new data.DataLoader(testSet, {
  batchSize: 500,
  sampler: new data.DistributedSampler(testSet, { shuffle: false }),
  collate: fullTest.collate(MEAN, STD),
});

const model = nn.SyncBatchNorm.convertSyncBatchnorm(models.simpleCnn({ inChannels: 1 }));
const ddp = new nn.parallel.DistributedDataParallel(model);  // copies rank 0's weights to every rank
const optimizer = new optim.Adam(ddp.parameters(), { lr: Number(args.lr) });
const epochs = Number(args.epochs);

if (rank === 0) console.log(`training simpleCnn on ${trainSet.length} images over ${world} processes (batch ${args['batch-size']} each)`);
const started = performance.now();
const history = await train.fit(ddp, {
  epochs,
  optimizer,
  train: trainLoader,
  validation: testLoader,
  scheduler: new optim.CosineAnnealingLR(optimizer, epochs),
});
mkdirSync(args.out, { recursive: true });
// Every rank calls it; rank 0 writes (with each rank's generator position, to resume exactly).
await io.saveCheckpoint(join(args.out, 'model.safetensors'), { model: ddp.module, optimizer, extra: { epochs } });
const final = history[history.length - 1]!;
if (rank === 0) {
  const seconds = (performance.now() - started) / 1000;
  console.log(`test accuracy: ${(100 * final.valAccuracy!).toFixed(2)}% after ${seconds.toFixed(0)} s on ${world} processes`);
  console.log(`saved ${join(args.out, 'model.safetensors')}`);
}
distributed.destroyProcessGroup();
