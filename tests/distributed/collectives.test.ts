import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { distributed, DistributedError, tensor } from '../../lib/index.js';
import { runMpi, skipWithoutMpirun } from '../helpers/mpirun.js';

const cases = fileURLToPath(new URL('./fixtures/collective_cases.ts', import.meta.url));

describe('collectives without a process group', () => {
  it('throw DistributedError naming the collective', async () => {
    const t = tensor([1, 2]);
    expect(() => distributed.allReduce(t)).toThrow(DistributedError);
    expect(() => distributed.broadcast(t, 0)).toThrow(/broadcast: no process group/);
    expect(() => distributed.allGatherIntoTensor(t, t)).toThrow(DistributedError);
    expect(() => distributed.reduceScatterTensor(t, t)).toThrow(DistributedError);
    await expect(distributed.barrier()).rejects.toThrow(DistributedError);
    expect(Array.from(await t.data())).toEqual([1, 2]);
  });
});

describe.skipIf(skipWithoutMpirun)('collectives over MPI', () => {
  for (const ranks of [2, 3]) {
    it(`agree with hand-computed results for every dtype and op on ${ranks} ranks, with typed errors and a turning event loop`, () => {
      const run = runMpi(ranks, cases);
      expect(run.status, run.stderr).toBe(0);
      expect(run.records.map((r) => r.rank).sort()).toEqual(Array.from({ length: ranks }, (_, r) => r));
      for (const record of run.records) {
        expect(record.world).toBe(ranks);
        expect(record.failures).toEqual([]);
        // The last rank arrives 400 ms late; the others wait in the barrier with 10 ms ticks coming.
        if (record.rank !== ranks - 1) expect(record.barrierMs).toBeGreaterThan(300);
        expect(record.maxGapMs).toBeLessThan(100);
      }
    }, 120_000);
  }
});
