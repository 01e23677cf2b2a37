// The launcher end to end: real ranks (tests/distributed/fixtures), in both modes.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { launch, type LaunchOptions } from '../../lib/distributed/launcher.js';
import { ArgumentError, DistributedError } from '../../lib/errors.js';
import { mpirunTest, stillRunning } from '../helpers/processes.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
const printEnv = join(fixtures, 'print_env.ts');
const misbehave = join(fixtures, 'misbehave.mjs');

/** A TextSink that keeps what it gets. */
function collector(): { text: string; write(text: string): void } {
  return {
    text: '',
    write(text: string) {
      this.text += text;
    },
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

async function run(options: LaunchOptions): Promise<Run> {
  const stdout = collector();
  const stderr = collector();
  const started = Date.now();
  const code = await launch({ forwardSignals: false, ...options, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text, ms: Date.now() - started };
}

/** The JSON each print_env rank printed, by rank; fails on a rank seen twice. */
function ranksSeen(stdout: string): Map<number, Record<string, unknown> & { job: Record<string, unknown> }> {
  const seen = new Map<number, Record<string, unknown> & { job: Record<string, unknown> }>();
  for (const line of stdout.split('\n').filter(Boolean)) {
    const match = /^\[rank (\d+)\] (\{.*\})$/.exec(line);
    expect(match, line).not.toBeNull();
    const rank = Number(match![1]);
    expect(seen.has(rank), `rank ${rank} twice`).toBe(false);
    seen.set(rank, JSON.parse(match![2]!));
  }
  return seen;
}

const ompShare = (n: number) => String(Math.max(1, Math.floor(availableParallelism() / n)));

let pidDir = '';
afterEach(() => {
  if (pidDir) rmSync(pidDir, { recursive: true, force: true });
  pidDir = '';
});

/** A fresh folder for the misbehave fixture's pid files, and the env that names it. */
function pidEnv(): NodeJS.ProcessEnv {
  pidDir = mkdtempSync(join(tmpdir(), 'neocog-launcher-'));
  return { ...process.env, PID_DIR: pidDir };
}

function pids(): number[] {
  return readdirSync(pidDir).map((file) => Number(readFileSync(join(pidDir, file), 'utf8')));
}

describe.each([2, 3])('spawn mode with %i ranks', (n) => {
  it("starts every rank once, with torchrun's variables and its share of the cores", { timeout: 20_000 }, async () => {
    const { code, stdout, stderr } = await run({ script: printEnv, scriptArgs: ['x', '--flag'], nprocPerNode: n, launcher: 'spawn' });
    expect(code, stderr).toBe(0);
    const seen = ranksSeen(stdout);
    expect([...seen.keys()].sort()).toEqual(Array.from({ length: n }, (_, r) => r));
    for (const [rank, env] of seen) {
      expect(env.job).toEqual({ rank, worldSize: n, localRank: rank, localWorldSize: n, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29500, source: 'torchrun' });
      expect(env).toMatchObject({ RANK: String(rank), WORLD_SIZE: String(n), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(n), GROUP_RANK: '0' });
      expect(env.OMP_NUM_THREADS).toBe(ompShare(n));
      expect(env.args).toEqual(['x', '--flag']);
      expect(stderr).toContain(`[rank ${rank}] rank ${rank} done\n`);
    }
  });
});

it('spawn mode numbers the ranks of node 1 of 2 after node 0', { timeout: 20_000 }, async () => {
  const { code, stdout, stderr } = await run({ script: printEnv, nprocPerNode: 2, nnodes: 2, nodeRank: 1, masterAddr: 'head', masterPort: 4321 });
  expect(code, stderr).toBe(0); // auto: more than one node means spawn
  const seen = ranksSeen(stdout);
  expect([...seen.keys()].sort()).toEqual([2, 3]);
  for (const [rank, env] of seen) {
    expect(env.job).toEqual({ rank, worldSize: 4, localRank: rank - 2, localWorldSize: 2, nodeRank: 1, masterAddr: 'head', masterPort: 4321, source: 'torchrun' });
  }
});

it('spawn mode ranks meet at MASTER_ADDR:MASTER_PORT through a TCPStore', { timeout: 20_000 }, async () => {
  // A port of our own: another job on this machine may hold torchrun's default 29500.
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  const { code, stdout, stderr } = await run({ script: join(fixtures, 'store_exchange.ts'), nprocPerNode: 3, launcher: 'spawn', masterPort: port });
  expect(code, stderr).toBe(0);
  const lines = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line.replace(/^\[rank \d+\] /, '')) as { rank: number; bytes: number; sum: number; arrived: number });
  const sum = Array.from({ length: 128 }, (_, i) => (i * 31 + 7) & 255).reduce((a, b) => a + b, 0);
  expect(lines.map((line) => line.rank).sort()).toEqual([0, 1, 2]);
  for (const line of lines) expect(line).toMatchObject({ bytes: 128, sum });
  expect(lines.map((line) => line.arrived).sort()).toEqual([1, 2, 3]);
});

it("a user's OMP_NUM_THREADS wins", { timeout: 20_000 }, async () => {
  const { stdout } = await run({ script: printEnv, nprocPerNode: 2, launcher: 'spawn', env: { ...process.env, OMP_NUM_THREADS: '7' } });
  for (const env of ranksSeen(stdout).values()) expect(env.OMP_NUM_THREADS).toBe('7');
});

describe.each([2, 3])('mpirun mode with %i ranks', (n) => {
  mpirunTest(
    'starts one MPI world whose ranks find themselves in OMPI_COMM_WORLD_*',
    async () => {
      // Stale torchrun variables in the launcher's environment must not reach the ranks.
      const { code, stdout, stderr } = await run({ script: printEnv, nprocPerNode: n, launcher: 'mpirun', env: { ...process.env, RANK: '9', WORLD_SIZE: '10' } });
      expect(code, stderr).toBe(0);
      const seen = ranksSeen(stdout);
      expect([...seen.keys()].sort()).toEqual(Array.from({ length: n }, (_, r) => r));
      for (const [rank, env] of seen) {
        expect(env.job).toEqual({ rank, worldSize: n, localRank: rank, localWorldSize: n, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29500, source: 'openmpi' });
        expect(env.RANK).toBeNull();
        expect(env.OMP_NUM_THREADS).toBe(ompShare(n));
        expect(stderr).toContain(`[rank ${rank}] rank ${rank} done\n`);
      }
    },
    20_000,
  );
});

/** The failure cases, run in each mode. */
function failureCases(launcher: 'spawn' | 'mpirun', declare: (title: string, body: () => Promise<void>) => void): void {
  declare(`${launcher}: a rank that exits with code 3 fails the job at once, and the summary says so`, async () => {
    const result = await run({ script: misbehave, scriptArgs: ['exit', '1', '3'], nprocPerNode: 3, launcher, env: pidEnv() });
    expect(result.code, result.stderr).toBe(3);
    expect(result.ms).toBeLessThan(10_000);
    expect(result.stderr).toMatch(/neocog-run: job failed: rank 1 (\(pid \d+\) )?exited with exit code 3\n/);
    expect(result.stderr).toContain('neocog-run: the last 2 lines rank 1 wrote to stderr:\n    rank 1: something went wrong\n    rank 1: giving up with code 3\n');
    expect(pids()).toHaveLength(3);
    expect(await stillRunning(pids())).toEqual([]);
  });

  declare(`${launcher}: a rank killed by SIGKILL while the others sleep ends the job within seconds`, async () => {
    const result = await run({ script: misbehave, scriptArgs: ['kill', '1'], nprocPerNode: 3, launcher, env: pidEnv() });
    expect(result.code, result.stderr).toBe(137);
    expect(result.ms).toBeLessThan(10_000);
    expect(result.stderr).toMatch(/neocog-run: job failed: rank 1 (\(pid \d+\) )?was killed by signal SIGKILL\n/);
    expect(result.stderr).toContain('    rank 1: killing myself\n');
    expect(pids()).toHaveLength(3);
    expect(await stillRunning(pids())).toEqual([]);
  });
}

failureCases('spawn', (title, body) => it(title, { timeout: 20_000 }, body));
failureCases('mpirun', (title, body) => mpirunTest(title, body, 20_000));

it('spawn: ranks that ignore SIGTERM are killed after the grace period', { timeout: 20_000 }, async () => {
  const env = { ...pidEnv(), TRAP_TERM: '1' };
  const result = await run({ script: misbehave, scriptArgs: ['exit', '0', '5'], nprocPerNode: 3, launcher: 'spawn', env, killGraceMs: 500 });
  expect(result.code).toBe(5);
  expect(result.ms).toBeLessThan(10_000);
  expect(result.stderr).toContain('[rank 1] rank 1 ignores SIGTERM');
  expect(result.stderr).toContain('neocog-run: rank 0 exited with exit code 5; stopping the other 2 ranks');
  expect(await stillRunning(pids())).toEqual([]);
});

it('every rank exiting 0 is exit code 0, even when they end at different times', { timeout: 20_000 }, async () => {
  const result = await run({ script: misbehave, scriptArgs: ['exit', '2', '0'], nprocPerNode: 3, launcher: 'spawn', env: { ...pidEnv(), SLEEP_MS: '300' } });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).not.toContain('job failed');
});

it('launch rejects bad options before starting anything', async () => {
  await expect(launch({ script: join(fixtures, 'missing.ts') })).rejects.toThrow(ArgumentError);
  await expect(launch({ script: 'missing.ts', cwd: fixtures })).rejects.toThrow(`launch: script 'missing.ts' not found (looked for ${join(fixtures, 'missing.ts')})`);
  await expect(launch({ script: printEnv, nprocPerNode: 0 })).rejects.toThrow('launch: expected nprocPerNode to be a positive integer, got 0 (number)');
  await expect(launch({ script: printEnv, nnodes: 2, nodeRank: 2 })).rejects.toThrow('launch: expected nodeRank to be an integer in 0..1, got 2 (number)');
  await expect(launch({ script: printEnv, nnodes: 2, launcher: 'mpirun' })).rejects.toThrow(/the mpirun launcher starts one node's ranks/);
  await expect(launch({ script: printEnv, launcher: 'mpirun', env: { PATH: '' } })).rejects.toThrow(DistributedError);
  await expect(launch({ script: printEnv, launcher: 'mpirun', env: { PATH: '' } })).rejects.toThrow(/mpirun is not on PATH/);
});
