/**
 * Reading mpirun's output: the ranks' lines as `--tag-output` tags them, and which rank
 * failed, from the messages mpirun prints when it aborts a job.
 * @module
 * @internal
 */
import { constants } from 'node:os';

/** A rank's line, untagged. */
export interface TaggedLine {
  /** The rank (in MPI_COMM_WORLD) that wrote it. */
  rank: number;
  /** The stream it wrote it to. */
  stream: 'stdout' | 'stderr';
  /** The line, without the tag. */
  text: string;
}

/** Why mpirun ended the job, as its messages tell. */
export interface MpirunFailure {
  /** The first rank that failed. */
  rank: number;
  /** Its exit code (or MPI_Abort's error code), when it exited. */
  exitCode: number | null;
  /** The signal that killed it, by name (e.g. 'SIGKILL'), when one did. */
  signal: string | null;
}

// Open MPI 4.1 with --tag-output: "[1,0]<stdout>:text", the job id first, then the rank.
const TAG = /^\[\d+,(\d+)\]<(stdout|stderr)>:(.*)$/s;

// mpirun tags every chunk a rank writes, so a line written in pieces (a progress bar
// redrawn with '\r') carries the tag again inside.
const INNER_TAG = /\[\d+,\d+\]<(?:stdout|stderr)>:/g;

/** The rank, stream and text of a tagged line; null for mpirun's own lines. */
export function parseTaggedLine(line: string): TaggedLine | null {
  const match = TAG.exec(line);
  if (!match) return null;
  return { rank: Number(match[1]), stream: match[2] as 'stdout' | 'stderr', text: match[3]!.replace(INNER_TAG, '') };
}

/**
 * Lines by which mpirun says a rank ended the job. Seeing one, the launcher gives mpirun a
 * grace period to tear the job down before it stops mpirun itself.
 */
export function announcesFailure(line: string): boolean {
  return /Primary job\s+terminated normally, but|exited on signal|MPI_ABORT was invoked|mpirun detected that one or more processes exited/.test(line);
}

/**
 * The failing rank from mpirun's own messages (the lines that were not tagged), or null
 * when they name none. Open MPI 4.1 prints, when a rank exits non-zero:
 *
 *     Process name: [[14578,1],1]
 *     Exit code:    3
 *
 * when one dies on a signal:
 *
 *     mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).
 *
 * and when one calls MPI_Abort: "MPI_ABORT was invoked on rank 1 in communicator
 * MPI_COMM_WORLD with errorcode 3." (the line may break before "with").
 */
export function mpirunFailure(messages: readonly string[]): MpirunFailure | null {
  const text = messages.join('\n');
  const exited = /Process name:\s*\[\[\d+,\d+\],(\d+)\]\s*\n\s*Exit code:\s*(\d+)/.exec(text);
  if (exited) return { rank: Number(exited[1]), exitCode: Number(exited[2]), signal: null };
  const signalled = /process rank (\d+) with PID \d+ on node \S+ exited on signal (\d+)/.exec(text);
  if (signalled) return { rank: Number(signalled[1]), exitCode: null, signal: signalName(Number(signalled[2])) };
  const aborted = /MPI_ABORT was invoked on rank (\d+) in communicator \S+\s+with errorcode (\d+)/.exec(text);
  if (aborted) return { rank: Number(aborted[1]), exitCode: Number(aborted[2]), signal: null };
  return null;
}

/** 'SIGKILL' for 9; 'signal N' for a number the system does not name. */
export function signalName(signo: number): string {
  const entry = Object.entries(constants.signals).find(([, value]) => value === signo);
  return entry ? entry[0] : `signal ${signo}`;
}
