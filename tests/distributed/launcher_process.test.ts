import { expect, it } from 'vitest';

import { Child, childrenOf, type ChildExit } from '../../lib/distributed/launcher_process.js';
import { stillRunning } from '../helpers/processes.js';

/** Starts `sh -c script`, collecting its lines and its exit. */
function sh(script: string): { child: Child; lines: string[]; exits: ChildExit[] } {
  const lines: string[] = [];
  const exits: ChildExit[] = [];
  const child = new Child('sh', ['-c', script], {
    env: process.env,
    cwd: process.cwd(),
    onLine: (stream, text) => lines.push(`${stream}: ${text}`),
    onExit: (exit) => exits.push(exit),
  });
  return { child, lines, exits };
}

it('Child reads its output line by line and reports how it ended', { timeout: 10_000 }, async () => {
  const { child, lines, exits } = sh('echo one; echo two >&2; printf three; exit 4');
  expect(await child.done).toEqual({ code: 4, signal: null });
  expect(exits).toEqual([{ code: 4, signal: null }]);
  expect(child.exit).toEqual({ code: 4, signal: null });
  expect(lines.sort()).toEqual(['stderr: two', 'stdout: one', 'stdout: three']);
});

it('Child.kill signals its whole group, and nothing once it has ended', { timeout: 10_000 }, async () => {
  const { child, lines } = sh('sleep 30 & echo $!; wait');
  while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const grandchild = Number(lines[0]!.split(' ')[1]);
  expect(childrenOf(child.pid!)).toContain(grandchild);
  child.kill('SIGTERM');
  expect(await child.done).toEqual({ code: null, signal: 'SIGTERM' });
  expect(await stillRunning([grandchild])).toEqual([]);
  child.kill('SIGKILL'); // ended: a no-op, not an error
});

it('Child.killTree kills the groups of its children too (as mpirun leaves its ranks)', { timeout: 10_000 }, async () => {
  // The grandchild runs in a session (and group) of its own, out of reach of a group kill.
  const { child, lines } = sh('setsid sleep 30 & echo $!; wait');
  while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const grandchild = Number(lines[0]!.split(' ')[1]);
  child.killTree();
  expect((await child.done).signal).toBe('SIGKILL');
  expect(await stillRunning([grandchild])).toEqual([]);
});

it('Child reports a command that cannot start', { timeout: 10_000 }, async () => {
  const exits: ChildExit[] = [];
  const child = new Child('/nonexistent/neocog-command', [], { env: process.env, cwd: process.cwd(), onLine: () => {}, onExit: (exit) => exits.push(exit) });
  expect(await child.done).toEqual({ code: null, signal: null, error: 'ENOENT' });
  expect(exits).toHaveLength(1);
});
