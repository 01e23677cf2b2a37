// Helpers of the launcher tests: whether a process is gone, and mpirun's presence (a test
// that needs mpirun is skipped with a notice where it is missing, and fails in CI).
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { expect, it } from 'vitest';

import { inCi } from './interop.js';

/** mpirun's path, or null when it is not on PATH. */
export const mpirunPath: string | null =
  (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'mpirun'))
    .find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? null;

/**
 * Declares a test that needs mpirun (Open MPI). Without it the test is skipped with a notice,
 * except in CI (CI set, not '0'), which installs Open MPI: there its absence fails the test.
 */
export function mpirunTest(title: string, body: () => Promise<void>, timeout: number): void {
  if (mpirunPath === null && !inCi) {
    it.skip(`${title} [skipped: mpirun is not on PATH; install Open MPI (apt install openmpi-bin libopenmpi-dev)]`, () => {});
    return;
  }
  it(title, { timeout }, async () => {
    expect(mpirunPath, 'mpirun is not on PATH: CI must install Open MPI').not.toBeNull();
    await body();
  });
}

/**
 * True once `pid` no longer runs: no such process, or a zombie (in a container whose init
 * does not reap orphans, a killed orphan lingers as one).
 */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** Waits up to `ms` for every pid to be gone; returns those still running. */
export async function stillRunning(pids: readonly number[], ms = 3000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const running = pids.filter((pid) => !isGone(pid));
    if (running.length === 0 || Date.now() > deadline) return running;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
