/**
 * What the launcher will run, worked out before anything starts: the options checked and
 * defaulted, the script's command, the way ranks are started, and their environment.
 * @module
 * @internal
 */
import { accessSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ArgumentError, DistributedError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import { DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT } from './env.js';
import type { LaunchOptions, LauncherKind, TextSink } from './launcher_args.js';

/** Environment variables, as `process.env` holds them. */
export type EnvRecord = Record<string, string | undefined>;

/** A launch, ready to start. */
export interface LaunchPlan {
  /** How ranks start. */
  mode: 'mpirun' | 'spawn';
  /** mpirun's path, in mpirun mode. */
  mpirun: string | null;
  /** `node` and its arguments up to and including the script, then the script's arguments. */
  command: readonly string[];
  /** The environment every rank shares (spawn mode adds each rank's coordinates). */
  env: EnvRecord;
  cwd: string;
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  stdout: TextSink;
  stderr: TextSink;
  killGraceMs: number;
  forwardSignals: boolean;
}

/** torchrun's variables: stale values inherited by mpirun's ranks would hide their OMPI_* ones from jobEnv. */
export const TORCHRUN_VARIABLES = ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'GROUP_RANK'] as const;

/**
 * Checks `options` and works out the launch.
 * @throws ArgumentError on bad options or a script that does not exist.
 * @throws DistributedError when what the launch needs is missing (mpirun, tsx).
 */
export function planLaunch(options: LaunchOptions): LaunchPlan {
  const op = 'launch';
  if (options === null || typeof options !== 'object') throw new ArgumentError(`${op}: expected options { script, nprocPerNode, ... }, got ${describe(options)}`);
  const positive = (name: string, value: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max !== Number.MAX_SAFE_INTEGER ? `an integer in ${min}..${max}` : min === 0 ? 'a non-negative integer' : 'a positive integer';
      throw new ArgumentError(`${op}: expected ${name} to be ${range}, got ${describe(value)}`);
    }
    return value;
  };
  const { script } = options;
  if (typeof script !== 'string' || script === '') throw new ArgumentError(`${op}: expected script to be a path, got ${describe(script)}`);
  const scriptArgs = options.scriptArgs ?? [];
  if (!Array.isArray(scriptArgs) || scriptArgs.some((arg) => typeof arg !== 'string')) {
    throw new ArgumentError(`${op}: expected scriptArgs to be an array of strings, got ${describe(scriptArgs)}`);
  }
  const nprocPerNode = positive('nprocPerNode', options.nprocPerNode ?? 1);
  const nnodes = positive('nnodes', options.nnodes ?? 1);
  const nodeRank = positive('nodeRank', options.nodeRank ?? 0, 0, nnodes - 1);
  const masterPort = positive('masterPort', options.masterPort ?? DEFAULT_MASTER_PORT, 1, 65535);
  const masterAddr = options.masterAddr ?? DEFAULT_MASTER_ADDR;
  if (typeof masterAddr !== 'string' || masterAddr.trim() === '') throw new ArgumentError(`${op}: expected masterAddr to be a host name or address, got ${describe(masterAddr)}`);
  const killGraceMs = options.killGraceMs ?? 5000;
  if (typeof killGraceMs !== 'number' || !Number.isFinite(killGraceMs) || killGraceMs < 0) {
    throw new ArgumentError(`${op}: expected killGraceMs to be a non-negative number of ms, got ${describe(killGraceMs)}`);
  }
  const launcher: LauncherKind = options.launcher ?? 'auto';
  if (!['auto', 'mpirun', 'spawn'].includes(launcher)) throw new ArgumentError(`${op}: expected launcher to be one of auto, mpirun, spawn, got ${describe(launcher)}`);
  const cwd = options.cwd ?? process.cwd();
  const baseEnv: EnvRecord = { ...(options.env ?? process.env) };

  const scriptPath = resolve(cwd, script);
  if (!existsSync(scriptPath) || !statSync(scriptPath).isFile()) throw new ArgumentError(`${op}: script '${script}' not found (looked for ${scriptPath})`);
  const command = [process.execPath, ...loaderArgs(scriptPath, cwd), scriptPath, ...scriptArgs];

  const mpirun = findOnPath('mpirun', baseEnv.PATH);
  if (launcher === 'mpirun' && nnodes > 1) {
    throw new ArgumentError(`${op}: the mpirun launcher starts one node's ranks (got nnodes ${nnodes}); use launcher 'spawn' on each node, or run mpirun with a hostfile yourself`);
  }
  if (launcher === 'mpirun' && mpirun === null) {
    throw new DistributedError(`${op}: launcher 'mpirun' asked for, but mpirun is not on PATH (install Open MPI, e.g. apt install openmpi-bin libopenmpi-dev, or use launcher 'spawn')`);
  }
  const mode = launcher === 'spawn' || mpirun === null || nnodes > 1 ? 'spawn' : 'mpirun';

  // Our CPU kernels run OpenMP teams sized to the cores by default: N ranks each with a team
  // of all cores would oversubscribe the machine N times over (torchrun sets 1 for the same
  // reason). Each rank gets its share; a value the user set wins.
  if (baseEnv.OMP_NUM_THREADS === undefined) baseEnv.OMP_NUM_THREADS = String(Math.max(1, Math.floor(availableParallelism() / nprocPerNode)));
  baseEnv.MASTER_ADDR = masterAddr;
  baseEnv.MASTER_PORT = String(masterPort);
  if (mode === 'mpirun') for (const name of TORCHRUN_VARIABLES) delete baseEnv[name];

  return {
    mode,
    mpirun: mode === 'mpirun' ? mpirun : null,
    command,
    env: baseEnv,
    cwd,
    nprocPerNode,
    nnodes,
    nodeRank,
    masterAddr,
    masterPort,
    stdout: options.stdout ?? process.stdout,
    stderr: options.stderr ?? process.stderr,
    killGraceMs,
    forwardSignals: options.forwardSignals ?? true,
  };
}

/** mpirun's arguments for `plan`: one MPI world of nprocPerNode ranks on this node. */
export function mpirunArgs(plan: LaunchPlan): string[] {
  return [
    '-np',
    String(plan.nprocPerNode),
    // More ranks than cores is the user's choice (a GPU per rank needs few cores); without
    // this flag mpirun refuses to start more ranks than it counts slots.
    '--oversubscribe',
    // "[1,R]<stdout>:" before each line, so that the launcher can prefix it with its rank.
    '--tag-output',
    // mpirun binds each rank to one core (two ranks or fewer) or a socket by default, which
    // would pile a rank's whole OpenMP team onto that core.
    '--bind-to',
    'none',
    // mpirun refuses to run as root unless told; containers (and CI) run as root, and
    // torchrun runs there too.
    ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []),
    // Exported explicitly: mpirun passes its environment on to local ranks, but -x is how
    // these reach ranks it starts anywhere else.
    ...['OMP_NUM_THREADS', 'MASTER_ADDR', 'MASTER_PORT'].flatMap((name) => ['-x', name]),
    ...plan.command,
  ];
}

/** The environment of spawn mode's rank `localRank`: torchrun's variables. */
export function spawnEnv(plan: LaunchPlan, localRank: number): EnvRecord {
  return {
    ...plan.env,
    RANK: String(plan.nodeRank * plan.nprocPerNode + localRank),
    WORLD_SIZE: String(plan.nprocPerNode * plan.nnodes),
    LOCAL_RANK: String(localRank),
    LOCAL_WORLD_SIZE: String(plan.nprocPerNode),
    GROUP_RANK: String(plan.nodeRank),
  };
}

/** `--import <tsx>` for a TypeScript script, nothing for JavaScript. */
function loaderArgs(scriptPath: string, cwd: string): string[] {
  if (!/\.(ts|mts|cts|tsx)$/.test(scriptPath)) return [];
  // The user's project has tsx beside the script; neocog's own copy (a dev dependency) is
  // the last resort. Passing its file URL makes the ranks independent of their cwd.
  for (const from of [dirname(scriptPath), cwd, dirname(fileURLToPath(import.meta.url))]) {
    try {
      return ['--import', pathToFileURL(createRequire(join(from, 'noop.js')).resolve('tsx')).href];
    } catch {
      // not reachable from there
    }
  }
  throw new DistributedError(`launch: ${scriptPath} is TypeScript, which runs with node --import tsx, but tsx cannot be found from ${dirname(scriptPath)} or ${cwd}: install it (npm install --save-dev tsx), or run a .js build of the script`);
}

/** The first executable `name` on `path` (a PATH value), or null. */
function findOnPath(name: string, path: string | undefined): string | null {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
