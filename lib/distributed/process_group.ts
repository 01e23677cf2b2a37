/**
 * The process group, as `torch.distributed`'s default group (issue 18): `initProcessGroup`
 * joins this process to the job, the collectives (collectives.ts) then run over it, and
 * `destroyProcessGroup` leaves it. Two engines, both existing libraries: **MPI** (Open MPI,
 * loaded at run time) for CPU tensors, in processes started by `mpirun` (which `neocog-run`
 * uses), and **NCCL** (the CUDA plugin) for CUDA tensors, whose ranks share NCCL's unique id
 * through a small TCP store at `MASTER_ADDR:MASTER_PORT`, or over MPI when mpirun started
 * them (./mpi_bootstrap.ts).
 * @module
 */
import { cudaUnavailableReason } from '../cuda.js';
import { ArgumentError, DistributedError, fromNativeError } from '../errors.js';
import { native } from '../native.js';
import { parseDevice, type Device } from '../tensor/device.js';
import { jobEnv } from './env.js';
import { chooseNcclBootstrap, shareOverMpi } from './mpi_bootstrap.js';
import { TCPStore } from './tcp_store.js';

/** The collective engines: `'mpi'` for CPU tensors, `'nccl'` for CUDA tensors. */
export type DistributedBackend = 'mpi' | 'nccl';

/** Options of {@link initProcessGroup}. */
export interface InitProcessGroupOptions {
  /** The engine (default `'mpi'`; `'nccl'` for CUDA tensors, as PyTorch's). */
  backend?: DistributedBackend;
  /** This process's rank (default: `RANK`, or MPI's own for `'mpi'`, with which it must agree). */
  rank?: number;
  /** The number of processes (default: `WORLD_SIZE`, or MPI's own for `'mpi'`). */
  worldSize?: number;
  /**
   * How NCCL ranks share NCCL's unique id: `'env://'` (rank 0's TCP store at `MASTER_ADDR`
   * and `MASTER_PORT`), `'tcp://host:port'`, or `'mpi://'` (an MPI broadcast, in processes
   * mpirun started, on any number of nodes; MPI is left once NCCL is up). Default: `'mpi://'`
   * under mpirun without `MASTER_ADDR`, else `'env://'`. The 'mpi' backend needs none:
   * mpirun has connected the processes.
   */
  initMethod?: string;
  /** NCCL: this process's GPU (default `cuda:LOCAL_RANK`). */
  device?: Device;
  /** How long NCCL's rendezvous waits for the other ranks, in ms (default 300,000, as PyTorch's 5 minutes). */
  timeoutMs?: number;
}

interface Group {
  backend: DistributedBackend;
  rank: number;
  worldSize: number;
  device: Device;
  store: TCPStore | null;
}

let group: Group | null = null;

/** sizeof(ncclUniqueId): NCCL_UNIQUE_ID_BYTES in nccl.h. */
const NCCL_UNIQUE_ID_BYTES = 128;

/** @internal The current group; throws DistributedError naming `op` when there is none. */
export function currentGroup(op: string): Readonly<Group> {
  if (group === null) throw new DistributedError(`${op}: no process group; await distributed.initProcessGroup() first`);
  return group;
}

function checkCount(op: string, name: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw new ArgumentError(`${op}: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

/** MASTER_ADDR / MASTER_PORT from `initMethod` or the job's environment. */
function rendezvous(initMethod: string, env: ReturnType<typeof jobEnv>): { host: string; port: number } {
  if (initMethod.startsWith('tcp://')) {
    const match = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(initMethod);
    if (!match) throw new ArgumentError(`initProcessGroup: initMethod must be 'env://' or 'tcp://host:port' (or 'mpi://' under mpirun), got '${initMethod}'`);
    return { host: match[1]!, port: Number(match[2]) };
  }
  if (initMethod !== 'env://') throw new ArgumentError(`initProcessGroup: initMethod must be 'env://' or 'tcp://host:port' (or 'mpi://' under mpirun), got '${initMethod}'`);
  if (env === null) {
    throw new DistributedError(
      "initProcessGroup: initMethod 'env://' needs MASTER_ADDR and MASTER_PORT (set by neocog-run); this process is not in a job",
    );
  }
  return { host: env.masterAddr, port: env.masterPort };
}

async function initMpi(options: InitProcessGroupOptions): Promise<Group> {
  const env = jobEnv();
  let joined: { rank: number; size: number };
  try {
    joined = await native.distInitMpi();
  } catch (error) {
    throw fromNativeError(error);
  }
  const fresh: Group = { backend: 'mpi', rank: joined.rank, worldSize: joined.size, device: 'cpu', store: null };
  const expectedSize = options.worldSize ?? env?.worldSize;
  const expectedRank = options.rank ?? env?.rank;
  if ((expectedSize !== undefined && expectedSize !== joined.size) || (expectedRank !== undefined && expectedRank !== joined.rank)) {
    native.distDestroy();
    throw new DistributedError(
      `initProcessGroup: MPI sees rank ${joined.rank} of ${joined.size}, but rank ${expectedRank} of ${expectedSize} was expected. ` +
        "The 'mpi' backend needs its processes started by mpirun (neocog-run does so when mpirun is on PATH)",
    );
  }
  return fresh;
}

async function initNccl(options: InitProcessGroupOptions): Promise<Group> {
  const env = jobEnv();
  const bootstrap = chooseNcclBootstrap(options.initMethod, process.env);
  const rank = options.rank ?? env?.rank;
  const worldSize = options.worldSize ?? env?.worldSize;
  // Over MPI, MPI says which rank this is; the TCP store needs to be told.
  if (bootstrap.kind === 'tcp' && (rank === undefined || worldSize === undefined)) {
    throw new DistributedError("initProcessGroup: the 'nccl' backend needs rank and worldSize (options, or RANK and WORLD_SIZE as neocog-run sets)");
  }
  if (rank !== undefined && worldSize !== undefined && rank >= worldSize) throw new ArgumentError(`initProcessGroup: rank ${rank} is not below worldSize ${worldSize}`);
  const device = options.device === undefined ? (`cuda:${env?.localRank ?? 0}` as Device) : parseDevice('initProcessGroup', options.device);
  if (device === 'cpu') throw new ArgumentError("initProcessGroup: the 'nccl' backend runs on a CUDA device, not 'cpu' (use backend 'mpi')");
  const rendezvousAt = bootstrap.kind === 'tcp' ? rendezvous(options.initMethod ?? 'env://', env) : null;
  const reason = cudaUnavailableReason();
  if (reason !== null) throw new DistributedError(`initProcessGroup: the 'nccl' backend needs CUDA: ${reason}`);
  if (bootstrap.kind === 'mpi') {
    const shared = await shareOverMpi(() => native.distNcclUniqueId(), NCCL_UNIQUE_ID_BYTES);
    if ((worldSize !== undefined && worldSize !== shared.size) || (rank !== undefined && rank !== shared.rank)) {
      throw new DistributedError(`initProcessGroup: MPI sees rank ${shared.rank} of ${shared.size}, but rank ${rank} of ${worldSize} was expected`);
    }
    try {
      await native.distInitNccl(device, shared.data, shared.rank, shared.size);
    } catch (error) {
      throw fromNativeError(error);
    }
    return { backend: 'nccl', rank: shared.rank, worldSize: shared.size, device, store: null };
  }
  const store = await TCPStore.create({ ...rendezvousAt!, isMaster: rank === 0, timeoutMs: options.timeoutMs ?? 300_000 });
  try {
    let id: ArrayBuffer;
    if (rank === 0) {
      id = native.distNcclUniqueId();
      await store.set('nccl_unique_id', new Uint8Array(id));
    } else {
      const bytes = await store.get('nccl_unique_id');
      id = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }
    await native.distInitNccl(device, id, rank!, worldSize!);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw fromNativeError(error);
  }
  return { backend: 'nccl', rank: rank!, worldSize: worldSize!, device, store };
}

/**
 * Joins this process to the job, as `torch.distributed.init_process_group`. With `'mpi'`
 * (the default) rank and world size come from mpirun; with `'nccl'` from the options or
 * torchrun's variables (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`)
 * that `neocog-run` sets. Resolves once every rank has joined; the event loop keeps
 * turning meanwhile.
 * @throws ArgumentError for bad options; DistributedError when a group exists already, the
 * engine is missing or the ranks cannot meet.
 */
export async function initProcessGroup(options: InitProcessGroupOptions = {}): Promise<void> {
  const backend = options.backend ?? 'mpi';
  if (backend !== 'mpi' && backend !== 'nccl') throw new ArgumentError(`initProcessGroup: backend must be 'mpi' or 'nccl', got '${String(backend)}'`);
  checkCount('initProcessGroup', 'rank', options.rank, 0);
  checkCount('initProcessGroup', 'worldSize', options.worldSize, 1);
  checkCount('initProcessGroup', 'timeoutMs', options.timeoutMs, 1);
  if (group !== null) throw new DistributedError('initProcessGroup: a process group exists already; call destroyProcessGroup() first');
  group = backend === 'mpi' ? await initMpi(options) : await initNccl(options);
  // mpirun fails a job whose process exits without MPI_Finalize, and process.exit() skips
  // the addon's own teardown: leave the group on the way out, whichever way that is.
  process.once('exit', destroyProcessGroup);
}

/**
 * Leaves the job, after the collectives already queued (`torch.distributed.destroy_process_group`).
 * MPI cannot start again in the same process. Also done at exit.
 */
export function destroyProcessGroup(): void {
  if (group === null) return;
  const { store } = group;
  group = null;
  process.removeListener('exit', destroyProcessGroup);
  native.distDestroy();
  // Rank 0's store stops serving; nobody needs it once every rank has joined.
  void store?.close().catch(() => undefined);
}

/** Whether this process has joined a group (`torch.distributed.is_initialized`). */
export function isInitialized(): boolean {
  return group !== null;
}

/** This process's rank in the group. @throws DistributedError without a group. */
export function getRank(): number {
  return currentGroup('getRank').rank;
}

/** The number of processes in the group. @throws DistributedError without a group. */
export function getWorldSize(): number {
  return currentGroup('getWorldSize').worldSize;
}

/** The group's engine. @throws DistributedError without a group. */
export function getBackend(): DistributedBackend {
  return currentGroup('getBackend').backend;
}
