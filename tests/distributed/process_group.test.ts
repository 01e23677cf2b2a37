import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ArgumentError, distributed, DistributedError } from '../../lib/index.js';
import { skipWithoutMpirun } from '../helpers/mpirun.js';

const singleton = fileURLToPath(new URL('./fixtures/singleton.ts', import.meta.url));

function runSingleton(env: Record<string, string>): string[] {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(RANK|WORLD_SIZE|LOCAL_RANK|LOCAL_WORLD_SIZE|GROUP_RANK|MASTER_ADDR|MASTER_PORT|OMPI_)/.test(k)));
  const result = spawnSync(process.execPath, ['--import', 'tsx', singleton], { encoding: 'utf8', timeout: 60_000, env: { ...clean, ...env } });
  expect(result.status, result.stderr).toBe(0);
  const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
  return (JSON.parse(line!) as { events: string[] }).events;
}

describe('process group without a job', () => {
  it('has no group until initProcessGroup, and says so by name', () => {
    expect(distributed.isInitialized()).toBe(false);
    expect(() => distributed.getRank()).toThrow(DistributedError);
    expect(() => distributed.getWorldSize()).toThrow(/getWorldSize: no process group/);
    expect(() => distributed.getBackend()).toThrow(DistributedError);
    expect(() => distributed.destroyProcessGroup()).not.toThrow();
  });

  it('refuses bad options before touching MPI or NCCL', async () => {
    await expect(distributed.initProcessGroup({ backend: 'gloo' as 'mpi' })).rejects.toThrow(ArgumentError);
    await expect(distributed.initProcessGroup({ rank: -1 })).rejects.toThrow(/rank must be an integer >= 0/);
    await expect(distributed.initProcessGroup({ worldSize: 0 })).rejects.toThrow(ArgumentError);
    await expect(distributed.initProcessGroup({ timeoutMs: 1.5 })).rejects.toThrow(ArgumentError);
    await expect(distributed.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: 'file:///tmp/x' })).rejects.toThrow(
      /initMethod must be 'env:\/\/' or 'tcp:\/\/host:port'/,
    );
    await expect(distributed.initProcessGroup({ backend: 'nccl', rank: 2, worldSize: 2 })).rejects.toThrow(/rank 2 is not below worldSize 2/);
    await expect(distributed.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, device: 'cpu' })).rejects.toThrow(/not 'cpu'/);
    expect(distributed.isInitialized()).toBe(false);
  });

  it("explains that 'nccl' needs CUDA where there is none", async () => {
    if (distributed.isInitialized()) return;
    const { cuda } = await import('../../lib/index.js');
    if (cuda.isAvailable()) return;  // the GPU suite covers NCCL itself
    await expect(distributed.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, initMethod: 'tcp://127.0.0.1:29511' })).rejects.toThrow(
      /the 'nccl' backend needs CUDA/,
    );
  });
});

describe.skipIf(skipWithoutMpirun)('the mpi backend in one process', () => {
  it('is a world of one, cannot start twice, and leaves the group on destroy', () => {
    const events = runSingleton({});
    expect(events[0]).toBe('init: rank 0 of 1 (mpi)');
    expect(events[1]).toBe('initialized after destroy: false');
    expect(events[2]).toMatch(/again: DistributedError: .*MPI was finalised in this process and cannot start again/);
  });

  it('refuses a job environment that MPI does not share (processes not started by mpirun)', () => {
    const events = runSingleton({ RANK: '1', WORLD_SIZE: '2', LOCAL_RANK: '1', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29512' });
    expect(events[0]).toMatch(/init: DistributedError: initProcessGroup: MPI sees rank 0 of 1, but rank 1 of 2 was expected.*started by mpirun/);
  });
});
