import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { mpirunArgs, planLaunch, spawnEnv } from '../../lib/distributed/launch_plan.js';
import { ArgumentError } from '../../lib/errors.js';
import { mpirunPath } from '../helpers/processes.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
const tsScript = join(fixtures, 'print_env.ts');
const jsScript = join(fixtures, 'misbehave.mjs');

/** A folder holding an executable `mpirun` that is never run, for PATH. */
function fakeMpirun<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'neocog-plan-'));
  try {
    writeFileSync(join(dir, 'mpirun'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('planLaunch runs .ts with node --import tsx (by file URL) and .js with plain node', () => {
  const ts = planLaunch({ script: tsScript, scriptArgs: ['--lr', '0.1'], launcher: 'spawn' });
  expect(ts.command[0]).toBe(process.execPath);
  expect(ts.command[1]).toBe('--import');
  expect(ts.command[2]).toMatch(/^file:\/\/.*\/tsx\/dist\/loader\.mjs$/);
  expect(ts.command.slice(3)).toEqual([tsScript, '--lr', '0.1']);
  const js = planLaunch({ script: 'misbehave.mjs', cwd: fixtures, launcher: 'spawn' });
  expect(js.command).toEqual([process.execPath, jsScript]);
});

it('planLaunch picks mpirun for one node when it is on PATH, spawn otherwise', () => {
  fakeMpirun((dir) => {
    const env = { PATH: dir };
    expect(planLaunch({ script: jsScript, env })).toMatchObject({ mode: 'mpirun', mpirun: join(dir, 'mpirun') });
    expect(planLaunch({ script: jsScript, env, nnodes: 2 })).toMatchObject({ mode: 'spawn', mpirun: null });
    expect(planLaunch({ script: jsScript, env, launcher: 'spawn' })).toMatchObject({ mode: 'spawn' });
  });
  expect(planLaunch({ script: jsScript, env: { PATH: '' } })).toMatchObject({ mode: 'spawn' });
  if (mpirunPath !== null) expect(planLaunch({ script: jsScript }).mode).toBe('mpirun');
});

it("planLaunch shares the cores among the ranks' OpenMP teams, unless OMP_NUM_THREADS is set", () => {
  for (const n of [1, 2, 3, 64]) {
    expect(planLaunch({ script: jsScript, nprocPerNode: n, env: {} }).env.OMP_NUM_THREADS).toBe(String(Math.max(1, Math.floor(availableParallelism() / n))));
  }
  expect(planLaunch({ script: jsScript, nprocPerNode: 2, env: { OMP_NUM_THREADS: '3' } }).env.OMP_NUM_THREADS).toBe('3');
});

it("spawnEnv gives each rank torchrun's variables", () => {
  const plan = planLaunch({ script: jsScript, nprocPerNode: 4, nnodes: 3, nodeRank: 2, masterAddr: 'head', masterPort: 1000, env: { KEEP: 'me' } });
  expect(spawnEnv(plan, 1)).toMatchObject({ KEEP: 'me', RANK: '9', WORLD_SIZE: '12', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '4', GROUP_RANK: '2', MASTER_ADDR: 'head', MASTER_PORT: '1000' });
});

it("mpirunArgs start one tagged, unbound world, and drop torchrun's stale variables", () => {
  fakeMpirun((dir) => {
    const plan = planLaunch({ script: jsScript, scriptArgs: ['a'], nprocPerNode: 3, env: { PATH: dir, RANK: '5', LOCAL_RANK: '1' } });
    expect(plan.env.RANK).toBeUndefined();
    expect(plan.env.LOCAL_RANK).toBeUndefined();
    const root = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
    expect(mpirunArgs(plan)).toEqual([
      '-np',
      '3',
      '--oversubscribe',
      '--tag-output',
      '--bind-to',
      'none',
      ...root,
      '-x',
      'OMP_NUM_THREADS',
      '-x',
      'MASTER_ADDR',
      '-x',
      'MASTER_PORT',
      process.execPath,
      jsScript,
      'a',
    ]);
  });
});

it('planLaunch rejects bad options, naming them', () => {
  const bad: [object, string | RegExp][] = [
    [{ script: '' }, "launch: expected script to be a path, got ''"],
    [{ script: jsScript, scriptArgs: [1] }, /expected scriptArgs to be an array of strings/],
    [{ script: jsScript, nprocPerNode: 1.5 }, 'launch: expected nprocPerNode to be a positive integer, got 1.5 (number)'],
    [{ script: jsScript, nnodes: 0 }, /nnodes/],
    [{ script: jsScript, masterPort: 0 }, 'launch: expected masterPort to be an integer in 1..65535, got 0 (number)'],
    [{ script: jsScript, masterAddr: ' ' }, /masterAddr/],
    [{ script: jsScript, killGraceMs: -1 }, /killGraceMs/],
    [{ script: jsScript, launcher: 'ssh' }, "launch: expected launcher to be one of auto, mpirun, spawn, got 'ssh'"],
    [{ script: fixtures }, /not found/], // a folder is not a script
  ];
  for (const [options, message] of bad) {
    expect(() => planLaunch(options as never)).toThrow(ArgumentError);
    expect(() => planLaunch(options as never)).toThrow(message);
  }
  expect(() => planLaunch(null as never)).toThrow(ArgumentError);
});
