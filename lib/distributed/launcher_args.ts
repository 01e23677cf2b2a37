/**
 * neocog-run's command line, as torchrun's: launcher options, then the script and its
 * arguments, which are passed through untouched.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT } from './env.js';

/**
 * How ranks are started: `mpirun` (one MPI world, single node), `spawn` (neocog-run starts
 * each rank itself with torchrun's variables: NCCL, and multi-node), or `auto` (mpirun
 * when it is on PATH and the job has one node, else spawn).
 */
export type LauncherKind = 'auto' | 'mpirun' | 'spawn';

/** Somewhere to print to: `process.stdout`, `process.stderr`, or a collector. */
export interface TextSink {
  /** Writes `text` (whole lines, each ending in '\n'). */
  write(text: string): unknown;
}

/** Options of `launch` (what `parseLauncherArgs` makes of a command line). */
export interface LaunchOptions {
  /** The script each rank runs: `.ts`/`.mts`/`.cts` with `node --import tsx`, anything else with plain `node`. */
  script: string;
  /** Arguments after the script, passed to every rank as they are (default none). */
  scriptArgs?: readonly string[];
  /** Ranks on this node (default 1). */
  nprocPerNode?: number;
  /** Nodes in the job (default 1); each runs neocog-run with its own nodeRank. */
  nnodes?: number;
  /** This node's index, in `[0, nnodes)` (default 0). */
  nodeRank?: number;
  /** Host of rank 0's store, reachable from every node (default 127.0.0.1). */
  masterAddr?: string;
  /** Port of rank 0's store (default 29500). */
  masterPort?: number;
  /** How to start the ranks (default 'auto'). */
  launcher?: LauncherKind;
  /** The environment the ranks inherit, before the launcher's variables (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The ranks' working directory, and where a relative script is found (default `process.cwd()`). */
  cwd?: string;
  /** Where the ranks' standard output goes, each line prefixed `[rank R] ` (default `process.stdout`). */
  stdout?: TextSink;
  /** Where their standard error and the launcher's own messages go (default `process.stderr`). */
  stderr?: TextSink;
  /** How long ranks that are being stopped get between SIGTERM and SIGKILL, in ms (default 5000). */
  killGraceMs?: number;
  /** Forward SIGINT, SIGTERM and SIGHUP sent to this process to the ranks while they run (default true). */
  forwardSignals?: boolean;
}

/** The command line's help text. */
export const LAUNCHER_USAGE = `usage: neocog-run [options] script [args...]

Starts one process per rank, as torchrun does; each finds its place with jobEnv().

options:
  --nproc-per-node N     ranks on this node (default 1)
  --nnodes M             nodes in the job (default 1)
  --node-rank R          this node's index, 0..M-1 (default 0)
  --master-addr A        host of rank 0's store (default ${DEFAULT_MASTER_ADDR})
  --master-port P        port of rank 0's store (default ${DEFAULT_MASTER_PORT})
  --launcher K           auto | mpirun | spawn (default auto: mpirun when it is on
                         PATH and the job has one node, else spawn)
  -h, --help             this text

.ts scripts run with node --import tsx (tsx must be installed), others with node.
`;

const LAUNCHERS: readonly LauncherKind[] = ['auto', 'mpirun', 'spawn'];
const VALUED = new Set(['--nproc-per-node', '--nnodes', '--node-rank', '--master-addr', '--master-port', '--launcher']);

/** One launcher option, as given. */
interface Flag {
  name: string;
  value: string;
}

/**
 * Splits argv into the launcher's options and the script with its arguments. Options end
 * at the first argument that is not one (or at `--`); names take `-` or `_` (torchrun
 * accepts both) and their value as the next argument or after `=`.
 */
function split(argv: readonly string[]): { flags: Flag[]; help: boolean; rest: string[] } {
  const flags: Flag[] = [];
  let help = false;
  let i = 0;
  for (; i < argv.length; ++i) {
    const arg = argv[i]!;
    if (arg === '--') {
      ++i;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replaceAll('_', '-');
    if (!VALUED.has(name)) throw new ArgumentError(`neocog-run: unknown option '${arg}' (see neocog-run --help)`);
    if (eq >= 0) flags.push({ name, value: arg.slice(eq + 1) });
    else if (i + 1 < argv.length) flags.push({ name, value: argv[++i]! });
    else throw new ArgumentError(`neocog-run: option ${name} needs a value`);
  }
  return { flags, help, rest: argv.slice(i) };
}

/** True when the launcher's own options (before the script) ask for help. */
export function wantsHelp(argv: readonly string[]): boolean {
  try {
    return split(argv).help;
  } catch {
    return false;
  }
}

/**
 * The {@link LaunchOptions} of a command line (without `node` and the launcher's path).
 * @throws ArgumentError on an unknown option, a missing or malformed value, or no script;
 *   the message names the option and what it got.
 * @example
 * parseLauncherArgs(['--nproc-per-node', '2', 'train.ts', '--epochs', '3']);
 * // { nprocPerNode: 2, script: 'train.ts', scriptArgs: ['--epochs', '3'], ... }
 */
export function parseLauncherArgs(argv: readonly string[]): LaunchOptions {
  if (!Array.isArray(argv) || argv.some((arg) => typeof arg !== 'string')) throw new ArgumentError('parseLauncherArgs: expected argv to be an array of strings');
  const { flags, rest } = split(argv);
  // A repeated option takes its last value, as argparse does.
  const value = (name: string): string | undefined => flags.filter((flag) => flag.name === name).at(-1)?.value;
  const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const text = value(name);
    if (text === undefined) return undefined;
    const number = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!(number >= min && number <= max)) {
      const range = max === Number.MAX_SAFE_INTEGER ? (min === 0 ? 'a non-negative integer' : 'a positive integer') : `an integer in ${min}..${max}`;
      throw new ArgumentError(`neocog-run: expected ${name} to be ${range}, got '${text}'`);
    }
    return number;
  };
  const nprocPerNode = integer('--nproc-per-node', 1) ?? 1;
  const nnodes = integer('--nnodes', 1) ?? 1;
  const nodeRank = integer('--node-rank', 0, nnodes - 1) ?? 0;
  const masterPort = integer('--master-port', 1, 65535) ?? DEFAULT_MASTER_PORT;
  const masterAddr = value('--master-addr') ?? DEFAULT_MASTER_ADDR;
  if (masterAddr.trim() === '') throw new ArgumentError("neocog-run: expected --master-addr to be a host name or address, got ''");
  const launcher = value('--launcher') ?? 'auto';
  if (!(LAUNCHERS as readonly string[]).includes(launcher)) {
    throw new ArgumentError(`neocog-run: expected --launcher to be one of ${LAUNCHERS.join(', ')}, got '${launcher}'`);
  }
  const [script, ...scriptArgs] = rest;
  if (script === undefined) throw new ArgumentError('neocog-run: missing the script to run (usage: neocog-run [options] script [args...])');
  return { script, scriptArgs, nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, launcher: launcher as LauncherKind };
}
