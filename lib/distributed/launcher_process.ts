/**
 * One child process of the launcher (a rank, or mpirun): started in its own process group
 * with its output cut into lines, and signalled as a group.
 * @module
 * @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

import { LineSplitter } from './rank_output.js';

/** How a child ended. */
export interface ChildExit {
  /** Its exit code, when it exited. */
  code: number | null;
  /** The signal that ended it, when one did. */
  signal: NodeJS.Signals | null;
  /** Why it could not be started (e.g. the command does not exist). */
  error?: string;
}

/** Options of {@link startChild}. */
export interface StartChildOptions {
  /** Its environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** Its working directory. */
  cwd: string;
  /** Called with each line of its stdout and stderr. */
  onLine(stream: 'stdout' | 'stderr', text: string): void;
  /** Called once when it has ended (before its last output may have been read). */
  onExit(exit: ChildExit): void;
}

/**
 * How long a child's pipes may stay open after it exited: a grandchild that inherited them
 * must not keep the launcher waiting for ever.
 */
const DRAIN_MS = 2000;

/** A started child. */
export class Child {
  readonly #child: ChildProcess;
  #exit: ChildExit | null = null;
  /** Resolves once it has ended and its output has been read. */
  readonly done: Promise<ChildExit>;

  constructor(command: string, args: readonly string[], opts: StartChildOptions) {
    // Its own process group (detached): the launcher forwards signals itself, so a Ctrl+C
    // in the terminal reaches each rank once, not twice; and a signal to the group also
    // reaches what the rank started.
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.#child = child;
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = new LineSplitter();
      const pipe = child[stream]!;
      pipe.setEncoding('utf8');
      pipe.on('data', (chunk: string) => lines.push(chunk).forEach((text) => opts.onLine(stream, text)));
      pipe.on('end', () => lines.flush().forEach((text) => opts.onLine(stream, text)));
      pipe.on('error', () => {});
    }
    this.done = new Promise((resolve) => {
      let drain: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(drain);
        resolve(this.#exit!);
      };
      const ended = (exit: ChildExit) => {
        if (this.#exit !== null) return;
        this.#exit = exit;
        opts.onExit(exit);
        drain = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, DRAIN_MS);
      };
      child.on('exit', (code, signal) => ended({ code, signal }));
      child.on('error', (error: NodeJS.ErrnoException) => {
        // 'error' without 'exit': it never started; no 'close' follows for sure.
        ended({ code: null, signal: null, error: error.code ?? error.message });
        finish();
      });
      child.on('close', () => {
        if (this.#exit !== null) finish();
      });
    });
  }

  /** Its pid (undefined if it could not be started). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** How it ended, or null while it runs. */
  get exit(): ChildExit | null {
    return this.#exit;
  }

  /**
   * Sends `signal` to it and its process group while it runs. Once it has ended the pid
   * may name another process, so nothing is sent.
   */
  kill(signal: NodeJS.Signals, group = true): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#exit !== null) return;
    try {
      process.kill(group ? -pid : pid, signal);
    } catch {
      // Gone meanwhile (ESRCH), or the group is: either way nothing is left to signal.
    }
  }

  /**
   * Sends SIGKILL to it, its group, and the groups of its children. mpirun starts each rank
   * in a process group of its own, so killing mpirun alone would leave its ranks running
   * (orphans); its children are found before it dies, while their parent is still known.
   */
  killTree(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#exit !== null) return;
    const children = childrenOf(pid);
    this.kill('SIGKILL');
    for (const child of children) {
      try {
        process.kill(-child, 'SIGKILL');
      } catch {
        try {
          process.kill(child, 'SIGKILL'); // not a group leader
        } catch {
          // gone
        }
      }
    }
  }
}

/** The pids whose parent is `pid`, from /proc (neocog runs on Linux only). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}
