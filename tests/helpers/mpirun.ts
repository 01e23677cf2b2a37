/**
 * Runs a script under Open MPI's mpirun, as the distributed tests need (the 'mpi' backend's
 * processes must be started by mpirun). CI installs Open MPI (.ci/run); there, a missing
 * mpirun fails the tests that need it rather than skipping them.
 */
import { spawnSync } from 'node:child_process';
import { inCi } from './interop.js';

/** Whether `mpirun` is on PATH. */
export const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;

/** Skip (visibly) only outside CI: in CI the suite must run. */
export const skipWithoutMpirun = !hasMpirun && !inCi;
if (skipWithoutMpirun) console.warn('mpirun not found: the MPI tests are skipped (apt-get install openmpi-bin libopenmpi-dev)');

export interface MpiRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every stdout line that parses as a JSON object. */
  records: Array<Record<string, unknown>>;
}

/** Runs `node --import tsx script ...args` on `ranks` processes; each rank gets one OpenMP thread. */
export function runMpi(ranks: number, script: string, args: readonly string[] = [], timeoutMs = 90_000): MpiRun {
  const result = spawnSync(
    'mpirun',
    ['-np', String(ranks), '--oversubscribe', '-x', 'OMP_NUM_THREADS=1', process.execPath, '--import', 'tsx', script, ...args],
    {
      encoding: 'utf8',
      timeout: timeoutMs,
      // Containers (CI) run as root; Open MPI refuses that unless told it is intended.
      env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' },
    },
  );
  const records: Array<Record<string, unknown>> = [];
  for (const line of result.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a record
    }
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, records };
}
