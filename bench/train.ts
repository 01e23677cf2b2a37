// Training throughput (images/s) of neocog and PyTorch on the same models, batch sizes and
// step (SGD with momentum, cross entropy), in one run; prints the ratio and writes
// bench/results/train.json. Inputs are channels-last in neocog, as data loaders would
// deliver them after the first layer anyway.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

import { crossEntropy, manualSeed, models, nn, optim, randint, randn, scope } from '../lib/index.js';

interface Case {
  model: 'lenet5' | 'simpleCnn' | 'resnet18';
  batch: number;
  shape: [number, number, number];
  steps: number;
}

const cases: Case[] = [
  { model: 'lenet5', batch: 256, shape: [1, 28, 28], steps: 10 },
  { model: 'simpleCnn', batch: 64, shape: [3, 32, 32], steps: 10 },
  { model: 'resnet18', batch: 64, shape: [3, 32, 32], steps: 8 },
];

function build(name: Case['model']): nn.Module {
  if (name === 'lenet5') return models.lenet5();
  if (name === 'simpleCnn') return models.simpleCnn({ inChannels: 3 });
  return models.resnet18({ numClasses: 10 });
}

function imagesPerSecond(c: Case): number {
  manualSeed(0);
  const model = build(c.model) as nn.Module & { call(x: unknown): ReturnType<typeof randn> };
  const sgd = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const [ch, h, w] = c.shape;
  const x = randn([c.batch, h, w, ch]).permute(0, 3, 1, 2);
  const y = randint(0, 10, [c.batch]);
  const times: number[] = [];
  for (let i = 0; i < c.steps + 2; ++i) {
    const start = performance.now();
    scope(() => {
      sgd.zeroGrad();
      const loss = crossEntropy(model.call(x), y);
      loss.backward();
      sgd.step();
      loss.item(); // wait for the step
    });
    if (i >= 2) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  model.dispose();
  return (c.batch * 1000) / times[Math.floor(times.length / 2)]!;
}

const torch = JSON.parse(execFileSync('/usr/bin/python3', ['bench/train_torch.py'], { input: JSON.stringify(cases), encoding: 'utf8' })) as {
  torch: string;
  imagesPerSecond: number[];
};
const rows = cases.map((c, i) => {
  const ours = imagesPerSecond(c);
  const theirs = torch.imagesPerSecond[i]!;
  return { model: c.model, batch: c.batch, input: c.shape.join('x'), neocog: +ours.toFixed(1), torch: +theirs.toFixed(1), ratio: +(ours / theirs).toFixed(2) };
});
console.log(`training images/s, neocog vs PyTorch ${torch.torch} (same run, ${cpus().length} threads); ratio = neocog / torch`);
console.table(rows);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/train.json', `${JSON.stringify({ date: new Date().toISOString(), torch: torch.torch, rows }, null, 2)}\n`);
