// The MPI bootstrap of NCCL jobs: when it is chosen, and (under mpirun, CPU only: the
// exchange does not need a GPU) rank 0's id reaching every rank.
import { describe, expect, it } from 'vitest';

import { chooseNcclBootstrap } from '../../lib/distributed/mpi_bootstrap.js';
import { runMpi, skipWithoutMpirun } from '../helpers/mpirun.js';

const mpirunEnv = { OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '2' };

describe('chooseNcclBootstrap', () => {
  it("is MPI for 'mpi://', and by default in processes mpirun started without MASTER_ADDR", () => {
    expect(chooseNcclBootstrap('mpi://', {})).toEqual({ kind: 'mpi' });
    expect(chooseNcclBootstrap(undefined, mpirunEnv)).toEqual({ kind: 'mpi' });
  });

  it("is the TCP store for 'env://' and 'tcp://', under torchrun's variables, and with MASTER_ADDR set", () => {
    expect(chooseNcclBootstrap('env://', mpirunEnv)).toEqual({ kind: 'tcp' });
    expect(chooseNcclBootstrap('tcp://10.0.0.1:29500', mpirunEnv)).toEqual({ kind: 'tcp' });
    expect(chooseNcclBootstrap(undefined, { RANK: '0', WORLD_SIZE: '2' })).toEqual({ kind: 'tcp' });
    expect(chooseNcclBootstrap(undefined, { ...mpirunEnv, RANK: '1' })).toEqual({ kind: 'tcp' });
    expect(chooseNcclBootstrap(undefined, { ...mpirunEnv, MASTER_ADDR: 'node0' })).toEqual({ kind: 'tcp' });
    expect(chooseNcclBootstrap(undefined, {})).toEqual({ kind: 'tcp' });
  });
});

describe.skipIf(skipWithoutMpirun)('shareOverMpi under mpirun', () => {
  it.each([2, 3])("hands rank 0's bytes to each of %i ranks, made once, and leaves MPI", (ranks) => {
    const run = runMpi(ranks, 'tests/distributed/fixtures/mpi_bootstrap_rank.ts');
    expect(run.status, run.stderr).toBe(0);
    const records = run.records.sort((a, b) => (a.rank as number) - (b.rank as number));
    expect(records.map((r) => [r.rank, r.size])).toEqual(Array.from({ length: ranks }, (_, r) => [r, ranks]));
    expect(records.map((r) => r.made)).toEqual([1, ...new Array<number>(ranks - 1).fill(0)]);
    const sent = records[0]!.hex as string;
    expect(sent).toHaveLength(256);
    for (const r of records) expect(r.hex).toBe(sent);
    for (const r of records) expect(r.initialized).toBe(false);
  }, 120_000);
});
