/**
 * Atomic file writes (DESIGN §7): the bytes go to a temporary file next to the target,
 * are flushed to disk, and the temporary is renamed over the target, so a crash leaves
 * either the old file or the new one.
 *
 * A process killed mid-write cannot remove its temporary, so every write first removes
 * the target's stale temporaries: `<target>.tmp-<pid>-<thread>-<n>` whose process is no
 * longer alive, or which this thread left behind and is not writing now. Temporaries of
 * live processes (another trainer saving the same path) and of other threads of this
 * process are left alone, so concurrent saves stay safe without a lock file. Older
 * neocog versions named them `<target>.tmp-<pid>-<ms>`; those are cleaned the same way.
 * @module
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';

/** Temporaries this thread is writing now (full paths). */
const writing = new Set<string>();
let counter = 0;

function temporaryFor(path: string): string {
  return `${path}.tmp-${process.pid}-${threadId}-${counter++}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Whether `name` (a directory entry) is a temporary of `target` that no writer owns any more. */
function isStale(name: string, target: string, directory: string): boolean {
  const prefix = `${basename(target)}.tmp-`;
  if (!name.startsWith(prefix)) return false;
  const parts = name.slice(prefix.length).split('-');
  if (!parts.every((p) => /^[0-9]+$/.test(p))) return false;
  const pid = Number(parts[0]);
  if (!(pid >= 1)) return false;
  if (pid !== process.pid) return !isAlive(pid);
  // Ours: stale if this thread wrote it and is not writing it now (a previous run that had
  // the same pid, as in containers, or a write whose cleanup failed).
  return parts.length === 3 && Number(parts[1]) === threadId && !writing.has(join(directory, name));
}

function removeStaleSync(target: string): void {
  const directory = dirname(target);
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return; // best effort: the write itself reports an unusable directory
  }
  for (const name of names) {
    if (!isStale(name, target, directory)) continue;
    try {
      unlinkSync(join(directory, name));
    } catch {
      // another process removed it first
    }
  }
}

async function removeStale(target: string): Promise<void> {
  const directory = dirname(target);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return;
  }
  await Promise.all(names.filter((name) => isStale(name, target, directory)).map((name) => unlink(join(directory, name)).catch(() => undefined)));
}

/** Writes `chunks` to `path` atomically, blocking the thread (see the module comment). */
export function writeFileAtomicSync(path: string, chunks: readonly Uint8Array[]): void {
  const temporary = temporaryFor(path);
  writing.add(temporary);
  try {
    removeStaleSync(path);
    const fd = openSync(temporary, 'w');
    try {
      // writeFile (unlike write) loops until the whole chunk is written, from the current position.
      for (const chunk of chunks) writeFileSync(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // never created, or already renamed
    }
    throw error;
  } finally {
    writing.delete(temporary);
  }
}

/** Writes `chunks` (produced as they are written) to `path` atomically without blocking the event loop. */
export async function writeFileAtomic(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const temporary = temporaryFor(path);
  writing.add(temporary);
  try {
    await removeStale(path);
    const handle = await open(temporary, 'w');
    try {
      for await (const chunk of chunks) await handle.writeFile(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  } finally {
    writing.delete(temporary);
  }
}
