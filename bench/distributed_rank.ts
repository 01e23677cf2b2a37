// One process of bench/distributed.ts (under mpirun, or alone for one process):
//   allreduce <MiB> <iterations>   in-place all-reduce of a float32 buffer; prints the median seconds
//   train <steps>                   resnet18 CIFAR (batch 64 per rank) SGD steps, DDP when there
//                                   are several ranks; prints the median step seconds
// Prints one JSON line from rank 0.
import { crossEntropy, distributed, manualSeed, nn, optim, randint, randn, scope, synchronize, zeros } from '../lib/index.js';
import { benchModel } from './models.js';

const [mode, a, b] = process.argv.slice(2);
const inJob = process.env.OMPI_COMM_WORLD_SIZE !== undefined;
if (inJob) await distributed.initProcessGroup();
const rank = inJob ? distributed.getRank() : 0;
const world = inJob ? distributed.getWorldSize() : 1;

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;

if (mode === 'allreduce') {
  const t = zeros([Math.round((Number(a) * 2 ** 20) / 4)]);
  const times: number[] = [];
  for (let i = 0; i < Number(b) + 1; i++) {
    await distributed.barrier();
    const start = performance.now();
    distributed.allReduce(t);
    await synchronize();  // the all-reduce is ordered before everything synchronize waits for
    if (i > 0) times.push((performance.now() - start) / 1000);  // the first call sets up MPI's buffers
  }
  if (rank === 0) console.log(JSON.stringify({ world, bytes: t.numel * 4, seconds: median(times) }));
} else {
  manualSeed(rank);
  const model = benchModel('resnet18Cifar');
  const trained: nn.Module = world > 1 ? new nn.parallel.DistributedDataParallel(model) : model;
  const sgd = new optim.SGD(trained.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([64, 32, 32, 3]).permute(0, 3, 1, 2);  // channels-last, as in bench/train.ts
  const y = randint(0, 10, [64]);
  const times: number[] = [];
  for (let i = 0; i < Number(a) + 1; i++) {
    const start = performance.now();
    scope(() => {
      sgd.zeroGrad();
      crossEntropy(trained.call(x), y).backward();
      sgd.step();
    });
    await synchronize();
    if (inJob) await distributed.barrier();
    if (i > 0) times.push((performance.now() - start) / 1000);  // the first step warms up
  }
  if (rank === 0) console.log(JSON.stringify({ world, seconds: median(times), imagesPerSecond: (64 * world) / median(times) }));
}
if (inJob) distributed.destroyProcessGroup();
