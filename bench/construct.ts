// Model construction with random initialisation (issue 17: "building vgg16 takes 11.6 s
// against torchvision's 3.4 s"), neocog against torchvision 0.14 (PyTorch 1.13, tuned
// allocator, as many threads as cores), each in a fresh process per turn, taking turns:
// `npx tsx bench/construct.ts [vgg16 resnet50 ...]`. A turn times the constructor alone (the
// library is imported first) and, for neocog, until the queued initialisation has run.
import { execFileSync } from 'node:child_process';

import { waitForIdle } from './alternate.js';
import { roundsFromEnv } from './cases.js';
import { describeMachine, machineLines } from './machine.js';
import { printTable, saveResults } from './report.js';
import { glibcTuned } from './torch_configs.js';

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['vgg16', 'resnet50', 'efficientnet_b0'];
const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const neocogScript = (name: string) => `
import { models, synchronize } from './lib/index.js';
const start = performance.now();
const model = models.${camel(name)}();
await synchronize();
console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, params: model.parameterCount() }));`;

const torchScript = (name: string, threads: number) => `
import json, time, torch, torchvision
torch.set_num_threads(${threads})
start = time.perf_counter()
model = torchvision.models.${name}()
print(json.dumps({"seconds": time.perf_counter() - start, "params": sum(p.numel() for p in model.parameters())}))`;

function turn(file: string, args: string[], env: NodeJS.ProcessEnv = {}): { seconds: number; params: number } {
  const out = execFileSync(file, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; params: number };
}

const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
const rounds = roundsFromEnv();
const results: Array<{ model: string; neocog: number[]; torchvision: number[]; params: [number, number] }> = [];
for (const name of names) {
  const row = { model: name, neocog: [] as number[], torchvision: [] as number[], params: [0, 0] as [number, number] };
  for (let round = 0; round < rounds; round++) {
    await waitForIdle();
    const ours = turn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', neocogScript(name)], { OMP_NUM_THREADS: String(machine.cores) });
    await waitForIdle();
    const theirs = turn('/usr/bin/python3', ['-c', torchScript(name, machine.cores)], glibcTuned.env);
    row.neocog.push(ours.seconds);
    row.torchvision.push(theirs.seconds);
    row.params = [ours.params, theirs.params];
  }
  results.push(row);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
printTable(
  results.map((r) => ({
    model: r.model,
    params: r.params[0] === r.params[1] ? r.params[0] : `${r.params[0]} vs ${r.params[1]}`,
    'neocog s': median(r.neocog).toFixed(2),
    'torchvision 0.14 s': median(r.torchvision).toFixed(2),
    ratio: (median(r.torchvision) / median(r.neocog)).toFixed(2),
  })),
);
console.log('ratio = torchvision time / neocog time (> 1: neocog builds faster)');
console.log(`wrote ${saveResults('construct', { machine, rounds, configs: [{ torchvision: glibcTuned.label }], cases: results })}`);
