/**
 * The job's coordinates, read from the environment a launcher left: torchrun's variables
 * (which neocog-run's `spawn` mode sets too), else Open MPI's (what `mpirun` sets).
 * @module
 */
import { ArgumentError, DistributedError } from '../errors.js';

/** Where one process sits in a data-parallel job. */
export interface JobEnv {
  /** This process's rank in the job, in `[0, worldSize)`. */
  readonly rank: number;
  /** Processes in the job, across every node. */
  readonly worldSize: number;
  /** This process's rank on its node, in `[0, localWorldSize)` (e.g. the GPU it should use). */
  readonly localRank: number;
  /** Processes on this node. */
  readonly localWorldSize: number;
  /** This node's index among the job's nodes (torchrun's GROUP_RANK). */
  readonly nodeRank: number;
  /** Host of rank 0's rendezvous store (MASTER_ADDR, default 127.0.0.1). */
  readonly masterAddr: string;
  /** Port of rank 0's rendezvous store (MASTER_PORT, default 29500). */
  readonly masterPort: number;
  /** Which variables described the job: torchrun's (RANK, WORLD_SIZE, ...) or Open MPI's (OMPI_COMM_WORLD_*). */
  readonly source: 'torchrun' | 'openmpi';
}

/** torchrun's default rendezvous address and port, which neocog-run uses too. */
export const DEFAULT_MASTER_ADDR = '127.0.0.1';
/** See {@link DEFAULT_MASTER_ADDR}. */
export const DEFAULT_MASTER_PORT = 29500;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The job this process belongs to, or `null` when it belongs to none (neither RANK nor
 * OMPI_COMM_WORLD_RANK is set). torchrun's variables win when both are present, as in
 * PyTorch's `env://` initialisation.
 *
 * Under torchrun's variables, RANK and WORLD_SIZE are required; LOCAL_WORLD_SIZE defaults
 * to WORLD_SIZE (one node), LOCAL_RANK to `rank % localWorldSize`, GROUP_RANK to
 * `floor(rank / localWorldSize)`, and MASTER_ADDR is required once the job spans nodes.
 * Under Open MPI's, Open MPI publishes no node index (its OMPI_COMM_WORLD_NODE_RANK is the
 * process's rank on its node across all jobs, not the node's), so `nodeRank` is
 * `floor(rank / localWorldSize)`: right for mpirun's default by-slot mapping with equal
 * processes per node, and always 0 on one node.
 *
 * @param env The variables to read (default `process.env`).
 * @throws ArgumentError when a variable is malformed (not a non-negative integer, a rank
 *   outside its size, a port outside 1..65535); the message names the variable and its value.
 * @throws DistributedError when the job's variables are incomplete (RANK without WORLD_SIZE).
 * @example
 * const job = jobEnv();
 * if (job) console.log(`rank ${job.rank} of ${job.worldSize}`);
 */
export function jobEnv(env: Env = process.env): JobEnv | null {
  if (env.RANK !== undefined) return fromTorchrun(env);
  if (env.OMPI_COMM_WORLD_RANK !== undefined) return fromOpenMpi(env);
  return null;
}

function fromTorchrun(env: Env): JobEnv {
  const rank = integer(env, 'RANK');
  const worldSize = required(env, 'WORLD_SIZE', 'RANK', 1);
  below(env, 'RANK', rank, 'WORLD_SIZE', worldSize);
  const localWorldSize = env.LOCAL_WORLD_SIZE === undefined ? worldSize : integer(env, 'LOCAL_WORLD_SIZE', 1);
  if (localWorldSize > worldSize) throw malformed('LOCAL_WORLD_SIZE', env.LOCAL_WORLD_SIZE, `at most WORLD_SIZE=${worldSize}`);
  const localRank = env.LOCAL_RANK === undefined ? rank % localWorldSize : integer(env, 'LOCAL_RANK');
  below(env, 'LOCAL_RANK', localRank, 'LOCAL_WORLD_SIZE', localWorldSize);
  const nodes = Math.ceil(worldSize / localWorldSize);
  const nodeRank = env.GROUP_RANK === undefined ? Math.floor(rank / localWorldSize) : integer(env, 'GROUP_RANK');
  if (nodeRank >= nodes) throw malformed('GROUP_RANK', env.GROUP_RANK, `less than the ${nodes} nodes WORLD_SIZE / LOCAL_WORLD_SIZE make`);
  // On one node the default address is right; across nodes a guessed one would leave the
  // other nodes waiting on their own loopback until the store's timeout.
  if (nodes > 1 && env.MASTER_ADDR === undefined) {
    throw new DistributedError(`jobEnv: the job spans ${nodes} nodes (WORLD_SIZE=${worldSize}, LOCAL_WORLD_SIZE=${localWorldSize}) but MASTER_ADDR is not set`);
  }
  return { rank, worldSize, localRank, localWorldSize, nodeRank, ...master(env), source: 'torchrun' };
}

function fromOpenMpi(env: Env): JobEnv {
  const rank = integer(env, 'OMPI_COMM_WORLD_RANK');
  const worldSize = required(env, 'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_RANK', 1);
  below(env, 'OMPI_COMM_WORLD_RANK', rank, 'OMPI_COMM_WORLD_SIZE', worldSize);
  const localWorldSize = required(env, 'OMPI_COMM_WORLD_LOCAL_SIZE', 'OMPI_COMM_WORLD_RANK', 1);
  if (localWorldSize > worldSize) throw malformed('OMPI_COMM_WORLD_LOCAL_SIZE', env.OMPI_COMM_WORLD_LOCAL_SIZE, `at most OMPI_COMM_WORLD_SIZE=${worldSize}`);
  const localRank = required(env, 'OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_RANK');
  below(env, 'OMPI_COMM_WORLD_LOCAL_RANK', localRank, 'OMPI_COMM_WORLD_LOCAL_SIZE', localWorldSize);
  const nodeRank = Math.floor(rank / localWorldSize);
  return { rank, worldSize, localRank, localWorldSize, nodeRank, ...master(env), source: 'openmpi' };
}

function master(env: Env): { masterAddr: string; masterPort: number } {
  const masterAddr = env.MASTER_ADDR ?? DEFAULT_MASTER_ADDR;
  if (masterAddr.trim() === '') throw malformed('MASTER_ADDR', masterAddr, 'a host name or address');
  const masterPort = env.MASTER_PORT === undefined ? DEFAULT_MASTER_PORT : integer(env, 'MASTER_PORT', 1);
  if (masterPort > 65535) throw malformed('MASTER_PORT', env.MASTER_PORT, 'a port in 1..65535');
  return { masterAddr, masterPort };
}

/** The variable `name` as an integer >= min; it must be set. */
function integer(env: Env, name: string, min = 0): number {
  const text = env[name];
  const value = text !== undefined && /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw malformed(name, text, min === 0 ? 'a non-negative integer' : `an integer >= ${min}`);
  }
  return value;
}

/** Like {@link integer}, but a missing variable means the job's description is incomplete. */
function required(env: Env, name: string, because: string, min = 0): number {
  if (env[name] === undefined) {
    throw new DistributedError(`jobEnv: ${because} is set (${because}=${env[because]}) but ${name} is not: the launcher's environment is incomplete`);
  }
  return integer(env, name, min);
}

function below(env: Env, name: string, value: number, sizeName: string, size: number): void {
  if (value >= size) throw malformed(name, env[name], `less than ${sizeName}=${size}`);
}

function malformed(name: string, text: string | undefined, expected: string): ArgumentError {
  return new ArgumentError(`jobEnv: expected ${name} to be ${expected}, got ${text === undefined ? 'nothing' : `'${text}'`}`);
}
