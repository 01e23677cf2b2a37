// The NCCL communicator across two GPUs (issue 18): two processes started as torchrun would
// start them (tests/gpu/nccl_worker.ts) run allReduce, broadcast, allGather, reduceScatter and
// barrier through `distributed` with backend 'nccl'. Needs two GPUs; otherwise the suite is
// visibly skipped with the reason.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { cuda } from '../../lib/index.js';
import { hasMpirun, runMpi } from '../helpers/mpirun.js';

const WORLD_SIZE = 2;
const gpus = cuda.deviceCount();
const ready = gpus >= WORLD_SIZE;
const suite = ready ? describe : describe.skip;
const why = cuda.isAvailable() ? `${gpus} GPU, ${WORLD_SIZE} needed` : cuda.unavailableReason();
const title = ready ? 'NCCL across 2 GPUs' : `NCCL across 2 GPUs [skipped: ${why}]`;

const repo = fileURLToPath(new URL('../..', import.meta.url));
const worker = fileURLToPath(new URL('./nccl_worker.ts', import.meta.url));

interface RankResult {
  rank: number;
  worldSize: number;
  allReduce: number[];
  broadcast: number[];
  allGather: number[][];
  reduceScatter: number[];
}

/** A TCP port nothing listens on now, for rank 0's rendezvous store. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs one rank to its end; resolves with its RESULT line, rejects with its output otherwise. */
function runRank(rank: number, port: number): Promise<RankResult> {
  const env = {
    ...process.env,
    RANK: String(rank),
    WORLD_SIZE: String(WORLD_SIZE),
    LOCAL_RANK: String(rank),
    LOCAL_WORLD_SIZE: String(WORLD_SIZE),
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(port),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', worker], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = /^RESULT (.*)$/m.exec(output);
      if (code === 0 && line) resolve(JSON.parse(line[1]!) as RankResult);
      else reject(new Error(`rank ${rank} ended with ${signal ?? `exit ${code}`}:\n${output}`));
    });
  });
}

/** What rank r starts with (nccl_worker.ts). */
const own = (r: number): number[] => [r + 1, 10 * (r + 1), -(r + 1)];
const ranks = Array.from({ length: WORLD_SIZE }, (_, r) => r);
const sum = (rows: number[][]): number[] => rows[0]!.map((_, i) => rows.reduce((s, row) => s + row[i]!, 0));

/** Checks every rank's RESULT against the collectives' definitions. */
function expectCollectives(results: RankResult[]): void {
  for (const [rank, result] of results.entries()) {
    expect({ rank: result.rank, worldSize: result.worldSize }).toEqual({ rank, worldSize: WORLD_SIZE });
    expect(result.allReduce, `allReduce on rank ${rank}`).toEqual(sum(ranks.map(own)));
    expect(result.broadcast, `broadcast on rank ${rank}`).toEqual(own(0));
    expect(result.allGather, `allGather on rank ${rank}`).toEqual(ranks.map(own));
    const block = ranks.map((r) => own(r).map((v) => v + 100 * rank));
    expect(result.reduceScatter, `reduceScatter on rank ${rank}`).toEqual(sum(block));
  }
}

suite(title, () => {
  it('allReduce, broadcast, allGather, reduceScatter and barrier agree with their definitions on every rank', async () => {
    const port = await freePort();
    expectCollectives(await Promise.all(ranks.map((rank) => runRank(rank, port))));
  }, 180_000);

  it.skipIf(!hasMpirun)('the same under mpirun, the ranks sharing NCCL\'s id over MPI (no MASTER_ADDR)', () => {
    const run = runMpi(WORLD_SIZE, worker, [], 180_000);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const results = [...run.stdout.matchAll(/^RESULT (.*)$/gm)].map((m) => JSON.parse(m[1]!) as RankResult);
    expectCollectives(results.sort((a, b) => a.rank - b.rank));
  }, 180_000);
});
