// Data-parallel training on CPU (issue 18), neocog against Open MPI's own C and PyTorch at
// its best, taking turns round by round (`npx tsx bench/distributed.ts`, or `npm run bench --
// distributed`; needs Open MPI: apt-get install openmpi-bin libopenmpi-dev):
//   1. all-reduce of a 100 MiB float32 buffer over 2 ranks: neocog's allReduce, MPI_Allreduce
//      from C (bench/allreduce_ref.c, the ceiling neocog's MPI backend can reach) and PyTorch's
//      gloo (the CPU backend its wheel ships);
//   2. resnet18 CIFAR training (batch 64 per rank, SGD with momentum) on 1 process with all
//      cores and on 2 processes (DistributedDataParallel) sharing them: images/s and the
//      scaling efficiency (2-process images/s over 1-process images/s, on the same cores).
// PyTorch 2.x runs with the tuned allocator and its better memory format of the round.
// Writes bench/results/distributed.json.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';

import { waitForIdle } from './alternate.js';
import { roundsFromEnv } from './cases.js';
import { describeMachine, machineLines } from './machine.js';
import { printTable, saveResults } from './report.js';
import { glibcTuned, torch2Python } from './torch_configs.js';

interface Result {
  world: number;
  seconds: number;
  bytes?: number;
  imagesPerSecond?: number;
}

const MIB = 100;
const ITERATIONS = 10;
const STEPS = 4;
const root = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

/** Runs a command (or several at once, as the ranks of one job) and returns rank 0's JSON line. */
async function run(commands: Array<{ file: string; args: string[]; env: NodeJS.ProcessEnv }>): Promise<Result> {
  await waitForIdle();
  const outputs = await Promise.all(
    commands.map(
      ({ file, args, env }) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} ${args.join(' ')} exited with ${code}`))));
        }),
    ),
  );
  const line = outputs.join('\n').split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no result from ${commands[0]!.file}`);
  return JSON.parse(line) as Result;
}

const mpirun = (ranks: number, threads: number, command: string[]) => ({
  file: 'mpirun',
  args: ['-np', String(ranks), '--oversubscribe', '--bind-to', 'none', '-x', `OMP_NUM_THREADS=${threads}`, ...command],
  env: root,
});
const neocogRank = [process.execPath, '--import', 'tsx', 'bench/distributed_rank.ts'];

/** PyTorch's ranks, started as torchrun would (gloo meets at MASTER_ADDR:MASTER_PORT). */
let port = 29600;
const torchJob = (ranks: number, threads: number, args: string[]) => {
  port += 1;
  return Array.from({ length: ranks }, (_, rank) => ({
    file: torch2Python,
    args: ['bench/distributed_torch.py', ...args],
    env: { ...glibcTuned.env, OMP_NUM_THREADS: String(threads), RANK: String(rank), WORLD_SIZE: String(ranks), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) },
  }));
};

function buildReference(): string {
  const binary = 'bench/.build/allreduce_ref';
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync('bench/allreduce_ref.c').mtimeMs) {
    mkdirSync('bench/.build', { recursive: true });
    execFileSync('mpicc', ['-O2', '-o', binary, 'bench/allreduce_ref.c'], { stdio: 'inherit' });
  }
  return binary;
}

const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
const rounds = roundsFromEnv();
const cores = machine.cores;
const half = Math.max(1, Math.floor(cores / 2));
const reference = buildReference();
const withTorch = existsSync(torch2Python);
if (!withTorch) console.log(`PyTorch 2.x peer skipped: no venv at ${torch2Python} (bench/run.sh creates it)`);

const samples: Record<string, number[]> = {};
const record = (key: string, value: number) => (samples[key] ??= []).push(value);
const medianOf = (xs: number[] | undefined) => (xs ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);

for (let round = 1; round <= rounds; round++) {
  console.log(`round ${round}/${rounds}`);
  const bandwidth = (r: Result) => r.bytes! / r.seconds / 1e9;
  record('allreduce neocog', bandwidth(await run([mpirun(2, half, [...neocogRank, 'allreduce', String(MIB), String(ITERATIONS)])])));
  record('allreduce C', bandwidth(await run([mpirun(2, half, [reference, String(MIB), String(ITERATIONS)])])));
  if (withTorch) record('allreduce torch', bandwidth(await run(torchJob(2, half, ['allreduce', String(MIB), String(ITERATIONS)]))));

  record('train1 neocog', (await run([{ file: process.execPath, args: [...neocogRank.slice(1), 'train', String(STEPS)], env: { OMP_NUM_THREADS: String(cores) } }])).imagesPerSecond!);
  record('train2 neocog', (await run([mpirun(2, half, [...neocogRank, 'train', String(STEPS)])])).imagesPerSecond!);
  if (withTorch) {
    for (const format of ['contiguous', 'channels_last']) {
      record(`train1 torch ${format}`, (await run(torchJob(1, cores, ['train', String(STEPS), format]))).imagesPerSecond!);
      record(`train2 torch ${format}`, (await run(torchJob(2, half, ['train', String(STEPS), format]))).imagesPerSecond!);
    }
  }
}

// Each figure is the median over rounds; PyTorch gets its better memory format.
const figure = (key: string) => medianOf(samples[key]);
const torchBest = (world: number) => Math.max(figure(`train${world} torch contiguous`), figure(`train${world} torch channels_last`));
const gb = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} GB/s` : 'n/a');
const ips = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} img/s` : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}x` : 'n/a');
const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(0)}%` : 'n/a');
const allreduce = { neocog: figure('allreduce neocog'), c: figure('allreduce C'), torch: figure('allreduce torch') };
const train = { neocog1: figure('train1 neocog'), neocog2: figure('train2 neocog'), torch1: torchBest(1), torch2: torchBest(2) };
printTable([
  { measure: `all-reduce ${MIB} MiB, 2 ranks (algorithm bandwidth)`, neocog: gb(allreduce.neocog), 'Open MPI (C)': gb(allreduce.c), 'PyTorch gloo': gb(allreduce.torch), 'neocog / C': ratio(allreduce.neocog, allreduce.c), 'neocog / PyTorch': ratio(allreduce.neocog, allreduce.torch) },
  { measure: `resnet18 CIFAR b64, 1 process x ${cores} threads`, neocog: ips(train.neocog1), 'PyTorch 2.x': ips(train.torch1), 'neocog / PyTorch': ratio(train.neocog1, train.torch1) },
  { measure: `resnet18 CIFAR b64/rank, 2 processes x ${half} threads (DDP)`, neocog: ips(train.neocog2), 'PyTorch 2.x': ips(train.torch2), 'neocog / PyTorch': ratio(train.neocog2, train.torch2) },
  { measure: 'scaling efficiency (2 processes / 1 process, same cores)', neocog: pct(train.neocog2 / train.neocog1), 'PyTorch 2.x': pct(train.torch2 / train.torch1) },
]);
const path = saveResults('distributed', { machine, rounds, configs: [{ torch: withTorch ? torch2Python : null, allocator: glibcTuned.label }], cases: [{ samples, allreduce, train }] });
console.log(`wrote ${path}`);
