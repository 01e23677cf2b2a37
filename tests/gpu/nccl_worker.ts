// One rank of tests/gpu/nccl.test.ts, started with torchrun's variables (RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or by mpirun. It runs each collective once on its GPU through the
// public API and prints what it got as one `RESULT {json}` line; the test checks the values,
// so a wrong answer names the collective and the rank.
import { distributed, tensor, zeros } from '../../lib/index.js';

// Under mpirun (no torchrun variables) the ranks share NCCL's id over MPI instead.
await distributed.initProcessGroup({ backend: 'nccl' });
const rank = distributed.getRank();
const worldSize = distributed.getWorldSize();
const device = `cuda:${distributed.jobEnv()!.localRank}` as const;
const opts = { device, dtype: 'float32' } as const;

const values = async (t: { data(): Promise<ArrayLike<number>> }): Promise<number[]> => Array.from(await t.data());

// Rank r holds [r+1, 10(r+1), -(r+1)]: distinct per rank and per position, so a sum that
// mixed up positions or left out a rank shows.
const own = (r: number): number[] => [r + 1, 10 * (r + 1), -(r + 1)];

const reduced = tensor(own(rank), opts);
await distributed.allReduce(reduced);

const broadcasted = tensor(own(rank), opts);
await distributed.broadcast(broadcasted, 0);

const gathered = Array.from({ length: worldSize }, () => zeros([3], opts));
await distributed.allGather(gathered, tensor(own(rank), opts));

// Block b of rank r is own(r) + 100 b; rank r receives the sum over ranks of block r.
const blocks = Array.from({ length: worldSize }, (_, b) => tensor(own(rank).map((v) => v + 100 * b), opts));
const scattered = zeros([3], opts);
await distributed.reduceScatter(scattered, blocks);

await distributed.barrier();

const result = {
  rank: distributed.getRank(),
  worldSize: distributed.getWorldSize(),
  allReduce: await values(reduced),
  broadcast: await values(broadcasted),
  allGather: await Promise.all(gathered.map(values)),
  reduceScatter: await values(scattered),
};
await distributed.destroyProcessGroup();
console.log(`RESULT ${JSON.stringify(result)}`);
