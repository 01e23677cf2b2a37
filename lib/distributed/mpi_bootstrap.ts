/**
 * NCCL's unique id handed from rank 0 to every rank over MPI (issue 18: MPI "as the
 * bootstrap when present"), for NCCL jobs that `mpirun` started: no MASTER_ADDR, no TCP
 * store, on as many nodes as mpirun reaches. MPI is joined for the exchange only, and left
 * (MPI_Finalize) right after it: NCCL then carries the collectives, and mpirun sees every
 * process finalise, as it requires.
 * @module
 */
import { fromNativeError } from '../errors.js';
import { native } from '../native.js';
import { fromBytes } from '../tensor/creation.js';

/** Which way NCCL's ranks exchange the unique id. */
export type NcclBootstrap = { kind: 'mpi' } | { kind: 'tcp' };

/**
 * @internal MPI when `initMethod` is `'mpi://'`, or when it is not given and the process was
 * started by mpirun without MASTER_ADDR (torchrun's variables, or an address, mean the TCP
 * store). Pure: reads only its arguments.
 */
export function chooseNcclBootstrap(initMethod: string | undefined, env: Readonly<Record<string, string | undefined>>): NcclBootstrap {
  if (initMethod === 'mpi://') return { kind: 'mpi' };
  if (initMethod !== undefined) return { kind: 'tcp' };
  const startedByMpirun = env.OMPI_COMM_WORLD_RANK !== undefined && env.RANK === undefined;
  return startedByMpirun && env.MASTER_ADDR === undefined ? { kind: 'mpi' } : { kind: 'tcp' };
}

/**
 * @internal Joins MPI, broadcasts rank 0's `make()` (`bytes` long; the other ranks never call
 * it) and leaves MPI. Resolves with the bytes and MPI's rank and size.
 * @throws DistributedError when MPI cannot start or the broadcast fails
 */
export async function shareOverMpi(make: () => ArrayBuffer, bytes: number): Promise<{ data: ArrayBuffer; rank: number; size: number }> {
  let joined: { rank: number; size: number };
  try {
    joined = await native.distInitMpi();
  } catch (error) {
    throw fromNativeError(error);
  }
  try {
    const mine = joined.rank === 0 ? new Uint8Array(make()) : new Uint8Array(bytes);
    const buffer = fromBytes('initProcessGroup', mine, [bytes], 'uint8');
    try {
      const work = native.distCollective('broadcast', buffer._native('initProcessGroup', 'tensor'), null, 0, 0);
      work.wait();
      await work.done;
      const shared = await buffer.data();
      return { data: shared.buffer.slice(shared.byteOffset, shared.byteOffset + shared.byteLength) as ArrayBuffer, ...joined };
    } finally {
      buffer.dispose();
    }
  } catch (error) {
    throw fromNativeError(error);
  } finally {
    native.distDestroy(); // MPI_Finalize, after the broadcast
  }
}
