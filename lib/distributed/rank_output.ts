/**
 * The ranks' output as the launcher prints it: whole lines, each prefixed `[rank R] `, and
 * the last lines of each rank's standard error kept for the failure summary.
 * @module
 * @internal
 */
import type { TextSink } from './launcher_args.js';

/** Lines of a rank's stderr kept for the summary, as torchrun's error file keeps its tail. */
export const TAIL_LINES = 20;

/** Cuts a text stream into lines; a line split across chunks comes out whole. */
export class LineSplitter {
  #partial = '';

  /** The lines `chunk` completes, without their '\n' (a trailing '\r' is dropped too). */
  push(chunk: string): string[] {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop()!;
    return parts.map(stripCr);
  }

  /** What is left after the stream ended: an unterminated last line, if any. */
  flush(): string[] {
    const rest = this.#partial;
    this.#partial = '';
    return rest === '' ? [] : [stripCr(rest)];
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Prints each rank's lines with its prefix and remembers the tail of its stderr. */
export class RankLog {
  readonly #stdout: TextSink;
  readonly #stderr: TextSink;
  readonly #tails = new Map<number, string[]>();

  constructor(stdout: TextSink, stderr: TextSink) {
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  /** Prints one line of `rank`'s `stream`. */
  line(rank: number, stream: 'stdout' | 'stderr', text: string): void {
    (stream === 'stdout' ? this.#stdout : this.#stderr).write(`[rank ${rank}] ${text}\n`);
    if (stream === 'stdout') return;
    const tail = this.#tails.get(rank) ?? [];
    tail.push(text);
    if (tail.length > TAIL_LINES) tail.shift();
    this.#tails.set(rank, tail);
  }

  /** The last (up to {@link TAIL_LINES}) lines `rank` wrote to stderr. */
  tail(rank: number): readonly string[] {
    return this.#tails.get(rank) ?? [];
  }
}
