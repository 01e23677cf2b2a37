// neocog-run as a command: run with node --import tsx from the sources, as bin/neocog-run.mjs
// runs the compiled module.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, expect, it } from 'vitest';

import { mpirunTest, stillRunning } from '../helpers/processes.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'lib/distributed/launcher_cli.ts');
const misbehave = join(root, 'tests/distributed/fixtures/misbehave.mjs');

interface Cli {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

function start(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output, exited };
}

let pidDir = '';
afterEach(() => {
  if (pidDir) rmSync(pidDir, { recursive: true, force: true });
  pidDir = '';
});

it('neocog-run --help prints the usage', { timeout: 20_000 }, async () => {
  const run = start(['--help']);
  expect(await run.exited).toBe(0);
  expect(run.output.stdout).toMatch(/^usage: neocog-run \[options\] script \[args\.\.\.\]/);
  expect(run.output.stdout).toContain('--nproc-per-node N');
});

it('neocog-run with bad options prints why and the usage, and exits 2', { timeout: 20_000 }, async () => {
  const run = start(['--nproc-per-node', 'two', 'train.ts']);
  expect(await run.exited).toBe(2);
  expect(run.output.stderr).toMatch(/^neocog-run: expected --nproc-per-node to be a positive integer, got 'two'\n\nusage: neocog-run/);
  const missing = start(['--nproc-per-node', '2']);
  expect(await missing.exited).toBe(2);
  expect(missing.output.stderr).toContain('neocog-run: missing the script to run');
});

for (const launcher of ['spawn', 'mpirun'] as const) {
  const declare = launcher === 'mpirun' ? mpirunTest : (title: string, body: () => Promise<void>, timeout: number) => it(title, { timeout }, body);
  declare(
    `${launcher} mode: SIGTERM to neocog-run stops every rank and exits 143`,
    async () => {
      pidDir = mkdtempSync(join(tmpdir(), 'neocog-cli-'));
      const run = start(['--nproc-per-node', '2', '--launcher', launcher, misbehave, 'sleep'], { ...process.env, PID_DIR: pidDir });
      // Wait until both ranks run (they write their pids first thing).
      const deadline = Date.now() + 10_000;
      while (!['0.pid', '1.pid'].every((file) => existsSync(join(pidDir, file))) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 100)); // the pid files written through
      const pids = readdirSync(pidDir).map((file) => Number(readFileSync(join(pidDir, file), 'utf8')));
      expect(pids, run.output.stderr).toHaveLength(2);
      const started = Date.now();
      run.child.kill('SIGTERM');
      expect(await run.exited, run.output.stderr).toBe(143);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(run.output.stderr).toContain('neocog-run: got SIGTERM: passing it to the ranks');
      expect(run.output.stderr).toContain('neocog-run: stopped by SIGTERM');
      expect(await stillRunning(pids)).toEqual([]);
    },
    20_000,
  );
}
