import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { DistributedError, randn } from '../../lib/index.js';
import { syncBatchNorm } from '../../lib/distributed/sync_batch_norm.js';
import { runMpi, skipWithoutMpirun } from '../helpers/mpirun.js';

const cases = fileURLToPath(new URL('./fixtures/sync_bn_cases.ts', import.meta.url));

describe('syncBatchNorm', () => {
  it('needs a process group', () => {
    expect(() => syncBatchNorm(randn([2, 3, 4, 4]), null, null, null, null)).toThrow(DistributedError);
  });

  describe.skipIf(skipWithoutMpirun)('over MPI, ranks with 1, 2 and 3 samples', () => {
    for (const ranks of [2, 3]) {
      it(`equals batchNorm of the concatenated batch on ${ranks} ranks: output, gradients, running statistics`, () => {
        const run = runMpi(ranks, cases);
        expect(run.status, run.stderr).toBe(0);
        expect(run.records).toHaveLength(ranks);
        for (const record of run.records) {
          for (const [what, diff] of Object.entries(record.diffs as Record<string, number>)) {
            expect(diff, `${what} on rank ${String(record.rank)}`).toBeLessThan(1e-5);
          }
        }
      }, 120_000);
    }
  });
});
