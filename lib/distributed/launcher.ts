/**
 * The launcher behind `neocog-run`, as torchrun: starts one process per rank, prefixes
 * their output with the rank, and ends the whole job when one rank fails.
 * @module
 */
import { constants } from 'node:os';

import { Child, type ChildExit } from './launcher_process.js';
import { mpirunArgs, planLaunch, spawnEnv, type LaunchPlan } from './launch_plan.js';
import type { LaunchOptions, TextSink } from './launcher_args.js';
import { announcesFailure, mpirunFailure, parseTaggedLine } from './mpirun_output.js';
import { RankLog } from './rank_output.js';

export { LAUNCHER_USAGE, parseLauncherArgs, wantsHelp, type LaunchOptions, type LauncherKind, type TextSink } from './launcher_args.js';

/** The rank that ended a job, and how. */
interface Failure {
  rank: number;
  exitCode: number | null;
  signal: string | null;
  /** Why it could not start, if it could not. */
  error?: string;
  pid?: number;
}

/** A job whose ranks run. */
interface RunningJob {
  /** Resolves once every process has ended, with the job's exit code and failure. */
  readonly done: Promise<{ code: number; failure: Failure | null }>;
  /** Passes a signal the launcher received on to the ranks, and kills what is left after the grace period. */
  forward(signal: NodeJS.Signals): void;
  /** Kills everything at once. */
  kill(): void;
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `options.script` as `nprocPerNode` ranks on this node and resolves with the job's
 * exit code once every rank has ended: 0 when all exited 0; else the first failed rank's
 * exit code, or 128 + the signal that killed it (the shell's convention); 128 + the signal
 * when the launcher itself was stopped by one.
 *
 * - `mpirun` mode (the default when mpirun is on PATH and the job has one node) runs
 *   `mpirun -np N`: MPI processes must be started by mpirun to form one MPI world. The ranks
 *   find their rank in OMPI_COMM_WORLD_* (see `jobEnv`).
 * - `spawn` mode (NCCL, and jobs across nodes) starts each rank itself with torchrun's
 *   variables: RANK = nodeRank * nprocPerNode + localRank, WORLD_SIZE = nprocPerNode *
 *   nnodes, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT.
 *
 * Both set OMP_NUM_THREADS to the cores / nprocPerNode (at least 1) unless it is set, print
 * each rank's lines prefixed `[rank R] `, and pass SIGINT, SIGTERM and SIGHUP on to the
 * ranks. When a rank exits non-zero or dies on a signal the others are stopped (SIGTERM,
 * then SIGKILL after `killGraceMs`), and a summary names the rank, its exit code or signal
 * and the last lines of its stderr.
 *
 * @throws ArgumentError on bad options or a missing script; DistributedError when mpirun
 *   (asked for) or tsx (for a .ts script) cannot be found. Nothing has started then.
 * @example
 * const code = await launch({ script: 'train.ts', nprocPerNode: 2, launcher: 'spawn' });
 * process.exitCode = code;
 */
export async function launch(options: LaunchOptions): Promise<number> {
  const plan = planLaunch(options);
  const say = (text: string) => plan.stderr.write(`neocog-run: ${text}\n`);
  const log = new RankLog(plan.stdout, plan.stderr);
  const job = plan.mode === 'spawn' ? runSpawn(plan, log, say) : runMpirun(plan, log, say);

  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received === null) {
      received = signal;
      say(`got ${signal}: passing it to the ranks`);
      job.forward(signal);
    } else {
      say(`got ${signal} again: killing the ranks`);
      job.kill();
    }
  };
  if (plan.forwardSignals) for (const signal of FORWARDED) process.on(signal, onSignal);
  try {
    const { code, failure } = await job.done;
    if (received !== null) {
      say(`stopped by ${received}`);
      return 128 + (constants.signals[received] ?? 0);
    }
    if (failure) summarize(failure, log, say, plan.stderr);
    return code;
  } finally {
    for (const signal of FORWARDED) process.off(signal, onSignal);
  }
}

/** spawn mode: one child per rank, with torchrun's variables. */
function runSpawn(plan: LaunchPlan, log: RankLog, say: (text: string) => void): RunningJob {
  const [node, ...args] = plan.command as [string, ...string[]];
  let failure: Failure | null = null;
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  const ranks: Child[] = [];
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const child of ranks) child.kill(signal);
    // A rank that ignores the signal (or hangs in a handler) is killed after the grace period.
    killTimer ??= setTimeout(() => ranks.forEach((child) => child.kill('SIGKILL')), plan.killGraceMs);
  };
  for (let localRank = 0; localRank < plan.nprocPerNode; ++localRank) {
    const rank = plan.nodeRank * plan.nprocPerNode + localRank;
    const child: Child = new Child(node, args, {
      env: spawnEnv(plan, localRank),
      cwd: plan.cwd,
      onLine: (stream, text) => log.line(rank, stream, text),
      onExit: (exit) => {
        if (!failed(exit) || failure !== null || stopping) return;
        failure = { rank, exitCode: exit.code, signal: exit.signal, ...(exit.error === undefined ? {} : { error: exit.error }), ...(child.pid === undefined ? {} : { pid: child.pid }) };
        const others = ranks.filter((other) => other.exit === null).length;
        say(`rank ${rank} ${describeExit(failure)}; stopping the other ${others} rank${others === 1 ? '' : 's'}`);
        stop('SIGTERM');
      },
    });
    ranks.push(child);
  }
  const done = Promise.all(ranks.map((child) => child.done)).then(() => {
    clearTimeout(killTimer);
    return { code: failure === null ? 0 : exitCodeOf(failure), failure };
  });
  return { done, forward: (signal) => stop(signal), kill: () => ranks.forEach((child) => child.kill('SIGKILL')) };
}

/** mpirun mode: one mpirun, whose tagged output says which rank wrote what. */
function runMpirun(plan: LaunchPlan, log: RankLog, say: (text: string) => void): RunningJob {
  const messages: string[] = [];
  let mpirunExit: ChildExit | null = null;
  const timers: NodeJS.Timeout[] = [];
  // mpirun tears the job down itself when a rank fails (within a second here) or when it is
  // signalled; if it has not after the grace period, it is stopped, and after another
  // killed with its ranks.
  let armed = false;
  const arm = () => {
    if (armed) return;
    armed = true;
    timers.push(
      setTimeout(() => {
        mpirun.kill('SIGTERM', false);
        timers.push(setTimeout(() => mpirun.killTree(), plan.killGraceMs));
      }, plan.killGraceMs),
    );
  };
  const mpirun = new Child(plan.mpirun!, mpirunArgs(plan), {
    env: plan.env,
    cwd: plan.cwd,
    onLine: (_stream, text) => {
      const tagged = parseTaggedLine(text);
      if (tagged) {
        log.line(tagged.rank, tagged.stream, tagged.text);
        return;
      }
      // mpirun's own words: shown as they are, and read for the failed rank at the end.
      messages.push(text);
      plan.stderr.write(`${text}\n`);
      if (announcesFailure(text)) arm();
    },
    onExit: (exit) => {
      mpirunExit = exit;
    },
  });
  const done = mpirun.done.then(() => {
    timers.forEach(clearTimeout);
    const exit = mpirunExit!;
    if (!failed(exit)) return { code: 0, failure: null };
    const found = mpirunFailure(messages);
    if (found) return { code: exit.code ?? exitCodeOf(found), failure: found };
    // mpirun failed without naming a rank (it could not start, or was killed): report mpirun.
    const failure: Failure = { rank: -1, exitCode: exit.code, signal: exit.signal, ...(exit.error === undefined ? {} : { error: exit.error }) };
    say(`mpirun ${describeExit(failure)} without naming a failed rank${messages.length > 0 ? '; its messages are above' : ''}`);
    return { code: exitCodeOf(failure), failure: null };
  });
  // mpirun ends the job itself on SIGINT or SIGTERM (its ranks get SIGTERM); SIGHUP is passed
  // as SIGTERM, the signal whose handling the tests check.
  const forward = (signal: NodeJS.Signals) => {
    mpirun.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal, false);
    arm();
  };
  return { done, forward, kill: () => mpirun.killTree() };
}

function failed(exit: ChildExit): boolean {
  return exit.code !== 0 || exit.signal !== null || exit.error !== undefined;
}

/** The shell's exit code for a failure: its code, or 128 + its signal, or 1. */
function exitCodeOf(failure: Failure): number {
  if (failure.exitCode !== null && failure.exitCode !== 0) return failure.exitCode;
  const signo = failure.signal === null ? undefined : constants.signals[failure.signal as NodeJS.Signals];
  return signo === undefined ? 1 : 128 + signo;
}

function describeExit(failure: Pick<Failure, 'exitCode' | 'signal' | 'error'>): string {
  if (failure.error !== undefined) return `could not start (${failure.error})`;
  if (failure.signal !== null) return `was killed by signal ${failure.signal}`;
  return `exited with exit code ${failure.exitCode}`;
}

/** The closing summary: which rank failed, how, and what it said last. */
function summarize(failure: Failure, log: RankLog, say: (text: string) => void, stderr: TextSink): void {
  say(`job failed: rank ${failure.rank}${failure.pid === undefined ? '' : ` (pid ${failure.pid})`} ${describeExit(failure)}`);
  const tail = log.tail(failure.rank);
  if (tail.length === 0) {
    say(`rank ${failure.rank} wrote nothing to stderr`);
    return;
  }
  say(`the last ${tail.length === 1 ? 'line' : `${tail.length} lines`} rank ${failure.rank} wrote to stderr:`);
  for (const line of tail) stderr.write(`    ${line}\n`);
}
