// Dispatch cost of small ops (issue 11): microseconds of JavaScript-thread time per call of
// add(16 elements), relu(16), conv2d 1x8x8x8 (8 filters, 3x3, padding 1) and matmul 4x4,
// each result disposed at once, against PyTorch 1.13 from Python (bench/dispatch_torch.py)
// in the same run, taking turns. At this size the kernels take well under a microsecond:
// what is timed is validation, allocation, Tensor bookkeeping and the queueing of the task.
// Two figures per side: wall time per call (includes waiting for the stream, and anything
// else the machine runs), and the CPU time of the calling thread alone (Linux schedstat /
// Python's thread_time), which a shared, loaded machine disturbs much less.
// `npx tsx bench/dispatch.ts [case ...]`; NEOCOG_BENCH_ROUNDS sets the rounds (default 5),
// NEOCOG_DISPATCH_COUNT the calls per round (default 100000). Writes bench/results/dispatch.json.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { conv2d, manualSeed, matmul, noGrad, randn, relu, synchronizeSync, type Tensor } from '../lib/index.js';
import { describeMachine, machineLines } from './machine.js';
import { printTable, saveResults } from './report.js';

const CASES: Record<string, { shape: string; build: () => () => Tensor }> = {
  add: {
    shape: '16',
    build: () => {
      const [a, b] = [randn([16]), randn([16])];
      return () => a.add(b);
    },
  },
  relu: {
    shape: '16',
    build: () => {
      const a = randn([16]);
      return () => relu(a);
    },
  },
  conv2d: {
    shape: '1x8x8x8, 8x8x3x3',
    build: () => {
      // Channels-last, as activations are inside a neocog network.
      const x = randn([1, 8, 8, 8]).permute(0, 3, 1, 2);
      const w = randn([8, 8, 3, 3]).mul(0.05);
      return () => conv2d(x, w, null, { padding: 1 });
    },
  },
  matmul: {
    shape: '4x4 @ 4x4',
    build: () => {
      const [a, b] = [randn([4, 4]), randn([4, 4])];
      return () => matmul(a, b);
    },
  },
};

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(CASES);
for (const name of names) {
  if (!(name in CASES)) {
    console.error(`bench/dispatch: unknown case ${name}; known: ${Object.keys(CASES).join(', ')}`);
    process.exit(2);
  }
}
const rounds = Number(process.env.NEOCOG_BENCH_ROUNDS ?? 5);
const count = Number(process.env.NEOCOG_DISPATCH_COUNT ?? 100_000);

/** Nanoseconds the JavaScript thread has run on a CPU (Linux), or null where unknown. */
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
function threadCpuNs(): number | null {
  return existsSync(schedstat) ? Number(readFileSync(schedstat, 'utf8').split(' ')[0]) : null;
}

interface Timing {
  wallUs: number;
  cpuUs: number | null;
}

/** µs per call over `n` calls, each result disposed at once; the stream's backlog is drained at the end. */
function timeNeocog(step: () => Tensor, n: number): Timing {
  const cpu = threadCpuNs();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; ++i) step().dispose();
  const cpuEnd = threadCpuNs();
  synchronizeSync();
  const wallUs = Number(process.hrtime.bigint() - start) / n / 1e3;
  return { wallUs, cpuUs: cpu === null || cpuEnd === null ? null : (cpuEnd - cpu) / n / 1e3 };
}

function timeTorch(name: string): { version: string; timing: Timing } {
  const out = execFileSync('/usr/bin/python3', ['bench/dispatch_torch.py', name, String(count), '1'], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as { torch: string; us: Record<string, number[]>; cpuUs: Record<string, number[]> };
  return { version: parsed.torch, timing: { wallUs: parsed.us[name]![0]!, cpuUs: parsed.cpuUs[name]![0]! } };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const medianOf = (ts: readonly Timing[], key: keyof Timing) => {
  const xs = ts.map((t) => t[key]).filter((x): x is number => x !== null);
  return xs.length > 0 ? median(xs) : null;
};
const fixed = (x: number | null) => (x === null ? 'n/a' : +x.toFixed(2));

const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
console.log(`dispatch: ${count} calls per round, ${rounds} rounds, neocog and PyTorch taking turns`);
manualSeed(0);
const rows: Record<string, string | number>[] = [];
const saved: unknown[] = [];
let torchVersion = 'n/a';
for (const name of names) {
  const step = noGrad(() => CASES[name]!.build());
  noGrad(() => timeNeocog(step, Math.min(count, 5000))); // warm-up: primitive caches, JIT
  const ours: Timing[] = [];
  const theirs: Timing[] = [];
  for (let r = 0; r < rounds; ++r) {
    ours.push(noGrad(() => timeNeocog(step, count)));
    try {
      const torch = timeTorch(name);
      torchVersion = torch.version;
      theirs.push(torch.timing);
    } catch (e) {
      console.log(`  PyTorch skipped: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const show = (ts: Timing[]) => ts.map((t) => `${t.cpuUs?.toFixed(2) ?? '?'} cpu / ${t.wallUs.toFixed(2)} wall`).join(', ');
  console.log(`  ${name}: neocog ${show(ours)} µs; torch ${show(theirs)} µs`);
  const [cpu, wall, peerCpu, peerWall] = [medianOf(ours, 'cpuUs'), medianOf(ours, 'wallUs'), medianOf(theirs, 'cpuUs'), medianOf(theirs, 'wallUs')];
  rows.push({
    op: name,
    shape: CASES[name]!.shape,
    'neocog cpu µs': fixed(cpu),
    'neocog wall µs': fixed(wall),
    'torch cpu µs': fixed(peerCpu),
    'torch wall µs': fixed(peerWall),
    'cpu neocog / torch': cpu === null || peerCpu === null ? 'n/a' : +(cpu / peerCpu).toFixed(1),
  });
  saved.push({ op: name, shape: CASES[name]!.shape, neocog: ours, torch: theirs });
}
console.log(`\nµs per call (cpu: the calling thread's CPU time; wall: elapsed), median over ${rounds} rounds of ${count} calls; torch ${torchVersion}`);
printTable(rows);
console.log(`wrote ${saveResults('dispatch', { machine, rounds, configs: [{ name: 'neocog' }, { name: `torch ${torchVersion}` }], cases: saved })}`);
