import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { DistributedError, nn } from '../../../lib/index.js';
import { runMpi, skipWithoutMpirun } from '../../helpers/mpirun.js';

const training = fileURLToPath(new URL('./fixtures/ddp_train.ts', import.meta.url));
const launcher = fileURLToPath(new URL('../../../lib/distributed/launcher_cli.ts', import.meta.url));

function expectEqualToOneProcess(ranks: number, args: string[]): void {
  const run = runMpi(ranks, training, args);
  expect(run.status, run.stderr).toBe(0);
  expect(run.records).toHaveLength(ranks);
  for (const record of run.records) {
    expect(record.world).toBe(ranks);
    // Weights (and batch-norm statistics) after 5 SGD steps with momentum.
    expect(record.maxDiff as number).toBeLessThan(1e-5);
    // Live tensors after step 4 against step 1, each step in a scope: DDP keeps nothing per
    // step (fewer is fine: the collector may meanwhile free garbage made before step 1).
    expect(record.liveGrowth as number).toBeLessThanOrEqual(0);
  }
}

describe('DistributedDataParallel', () => {
  it('needs a process group', () => {
    expect(() => new nn.parallel.DistributedDataParallel(new nn.Linear(2, 2))).toThrow(DistributedError);
  });

  describe.skipIf(skipWithoutMpirun)('over MPI: training equals one process on the concatenated batch', () => {
    it('on 2 ranks, with SyncBatchNorm, from replicas initialised differently', () => expectEqualToOneProcess(2, []), 120_000);
    it('on 3 ranks', () => expectEqualToOneProcess(3, []), 120_000);
    it('accumulating gradients over two micro-batches with noSync()', () => expectEqualToOneProcess(2, ['--accumulate', '--no-bn']), 120_000);
    it('with findUnusedParameters when only rank 0 uses a layer', () => expectEqualToOneProcess(2, ['--unused']), 120_000);

    it('a rank killed mid-step ends the whole job through the launcher within seconds, naming the rank', () => {
      const started = performance.now();
      const result = spawnSync(process.execPath, ['--import', 'tsx', launcher, '--nproc-per-node', '2', training, '--die-at', '2'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      const seconds = (performance.now() - started) / 1000;
      expect(result.status).not.toBe(0);
      expect(result.status).not.toBeNull();  // the launcher exited by itself, not by the timeout
      expect(result.stderr).toMatch(/rank 1.*SIGKILL/);
      expect(seconds).toBeLessThan(30);
    }, 90_000);

    it('names the parameters that got no gradient when findUnusedParameters is off', () => {
      const run = runMpi(2, training, ['--forget-unused']);
      expect(run.status, run.stderr).toBe(0);
      for (const record of run.records) {
        expect(record.error).toBe('DistributedError');
        expect(record.message).toMatch(/did not produce gradients for 2 parameter\(s\) \(spare\.bias, spare\.weight\).*findUnusedParameters: true/);
      }
    }, 120_000);
  });
});
