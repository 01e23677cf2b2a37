import { expect, it } from 'vitest';

import { DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT, jobEnv } from '../../lib/distributed/env.js';
import { ArgumentError, DistributedError } from '../../lib/errors.js';

const torchrun = { RANK: '5', WORLD_SIZE: '8', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '4', GROUP_RANK: '1', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '1234' };
// What mpirun -np 2 set for rank 1 on this machine (Open MPI 4.1), trimmed to what matters.
const openMpi = { OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_LOCAL_RANK: '1', OMPI_COMM_WORLD_LOCAL_SIZE: '2', OMPI_COMM_WORLD_NODE_RANK: '1' };

it('jobEnv is null outside a job', () => {
  expect(jobEnv({})).toBeNull();
  expect(jobEnv({ LOCAL_RANK: '0', WORLD_SIZE: '2', OMPI_COMM_WORLD_SIZE: '2' })).toBeNull();
});

it("jobEnv reads torchrun's variables", () => {
  expect(jobEnv(torchrun)).toEqual({ rank: 5, worldSize: 8, localRank: 1, localWorldSize: 4, nodeRank: 1, masterAddr: '10.0.0.1', masterPort: 1234, source: 'torchrun' });
});

it('jobEnv defaults the local coordinates to one node and the master to 127.0.0.1:29500', () => {
  expect(jobEnv({ RANK: '2', WORLD_SIZE: '3' })).toEqual({
    rank: 2,
    worldSize: 3,
    localRank: 2,
    localWorldSize: 3,
    nodeRank: 0,
    masterAddr: DEFAULT_MASTER_ADDR,
    masterPort: DEFAULT_MASTER_PORT,
    source: 'torchrun',
  });
  expect([DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT]).toEqual(['127.0.0.1', 29500]);
  // Two nodes of two: rank 3 is the second process of node 1.
  expect(jobEnv({ RANK: '3', WORLD_SIZE: '4', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: 'head' })).toMatchObject({ localRank: 1, nodeRank: 1, masterAddr: 'head' });
});

it("jobEnv reads Open MPI's variables, and torchrun's win when both are there", () => {
  expect(jobEnv(openMpi)).toEqual({ rank: 1, worldSize: 2, localRank: 1, localWorldSize: 2, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29500, source: 'openmpi' });
  // Two nodes of two processes each, by slot: rank 2 is the first on node 1.
  expect(jobEnv({ ...openMpi, OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '0', MASTER_PORT: '4000' })).toMatchObject({
    rank: 2,
    nodeRank: 1,
    masterPort: 4000,
  });
  expect(jobEnv({ ...openMpi, RANK: '0', WORLD_SIZE: '1' })).toMatchObject({ rank: 0, worldSize: 1, source: 'torchrun' });
});

it('jobEnv rejects malformed values, naming the variable and its value', () => {
  const bad: [Record<string, string>, string][] = [
    [{ ...torchrun, RANK: 'one' }, "jobEnv: expected RANK to be a non-negative integer, got 'one'"],
    [{ ...torchrun, RANK: '-1' }, "jobEnv: expected RANK to be a non-negative integer, got '-1'"],
    [{ ...torchrun, RANK: '1.5' }, "jobEnv: expected RANK to be a non-negative integer, got '1.5'"],
    [{ ...torchrun, RANK: '' }, "jobEnv: expected RANK to be a non-negative integer, got ''"],
    [{ ...torchrun, RANK: '8' }, "jobEnv: expected RANK to be less than WORLD_SIZE=8, got '8'"],
    [{ ...torchrun, WORLD_SIZE: '0' }, "jobEnv: expected WORLD_SIZE to be an integer >= 1, got '0'"],
    [{ ...torchrun, LOCAL_RANK: '4' }, "jobEnv: expected LOCAL_RANK to be less than LOCAL_WORLD_SIZE=4, got '4'"],
    [{ ...torchrun, LOCAL_WORLD_SIZE: '9' }, "jobEnv: expected LOCAL_WORLD_SIZE to be at most WORLD_SIZE=8, got '9'"],
    [{ ...torchrun, GROUP_RANK: '2' }, "jobEnv: expected GROUP_RANK to be less than the 2 nodes WORLD_SIZE / LOCAL_WORLD_SIZE make, got '2'"],
    [{ ...torchrun, MASTER_PORT: '70000' }, "jobEnv: expected MASTER_PORT to be a port in 1..65535, got '70000'"],
    [{ ...torchrun, MASTER_PORT: '0' }, "jobEnv: expected MASTER_PORT to be an integer >= 1, got '0'"],
    [{ ...torchrun, MASTER_ADDR: ' ' }, "jobEnv: expected MASTER_ADDR to be a host name or address, got ' '"],
    [{ ...openMpi, OMPI_COMM_WORLD_RANK: '2' }, "jobEnv: expected OMPI_COMM_WORLD_RANK to be less than OMPI_COMM_WORLD_SIZE=2, got '2'"],
    [{ ...openMpi, OMPI_COMM_WORLD_LOCAL_RANK: 'x' }, "jobEnv: expected OMPI_COMM_WORLD_LOCAL_RANK to be a non-negative integer, got 'x'"],
  ];
  for (const [env, message] of bad) {
    expect(() => jobEnv(env), message).toThrow(ArgumentError);
    expect(() => jobEnv(env)).toThrow(message);
  }
});

it('jobEnv calls an incomplete job a DistributedError', () => {
  expect(() => jobEnv({ RANK: '0' })).toThrow(DistributedError);
  expect(() => jobEnv({ RANK: '0' })).toThrow('jobEnv: RANK is set (RANK=0) but WORLD_SIZE is not');
  expect(() => jobEnv({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '1' })).toThrow(/OMPI_COMM_WORLD_LOCAL_SIZE is not/);
  // Across nodes a default MASTER_ADDR would be a guess.
  expect(() => jobEnv({ RANK: '0', WORLD_SIZE: '4', LOCAL_WORLD_SIZE: '2' })).toThrow('jobEnv: the job spans 2 nodes (WORLD_SIZE=4, LOCAL_WORLD_SIZE=2) but MASTER_ADDR is not set');
});

it('jobEnv reads process.env by default', () => {
  const saved = { RANK: process.env.RANK, WORLD_SIZE: process.env.WORLD_SIZE };
  try {
    process.env.RANK = '0';
    process.env.WORLD_SIZE = '1';
    expect(jobEnv()).toMatchObject({ rank: 0, worldSize: 1 });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});
