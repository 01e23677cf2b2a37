// The main job: train a CNN on Fashion-MNIST and report accuracy on the official test set.
//   npm start                                  (bundled 12k-image subset)
//   npx tsx examples/train-fashion-mnist.ts --data /usr/share/datasets/fashion-mnist --epochs 12
// Writes runs/fashion-mnist/{model.safetensors, history.json, curve.png}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { argmax, crossEntropy, data, io, manualSeed, models, noGrad, optim, scope, viz } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    epochs: { type: 'string', default: '12' },
    'batch-size': { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.001' },
    model: { type: 'string', default: 'simple' },
    out: { type: 'string', default: 'runs/fashion-mnist' },
    seed: { type: 'string', default: '0' },
  },
});

const bundled = new URL('./data/fashion-mnist/', import.meta.url).pathname;
const trainDir = args.data ?? bundled;
const epochs = Number(args.epochs);
const batchSize = Number(args['batch-size']);
manualSeed(Number(args.seed));

// Mean and standard deviation of Fashion-MNIST's training pixels.
const MEAN = 0.286;
const STD = 0.353;

const load = (dir: string, images: string, labels: string) =>
  new data.ImageArrayDataset(data.readIdx(join(dir, images)), data.readIdx(join(dir, labels)).data);
const train = args.data
  ? load(trainDir, 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz')
  : load(bundled, 'train-subset-images-idx3-ubyte.gz', 'train-subset-labels-idx1-ubyte.gz');
// Always the official test images: never evaluate on training data.
const test = load(bundled, 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');

const trainLoader = new data.DataLoader(train, { batchSize, shuffle: true, seed: Number(args.seed), collate: train.collate(MEAN, STD) });
const testLoader = new data.DataLoader(test, { batchSize: 500, collate: test.collate(MEAN, STD) });

const factories = { simple: () => models.simpleCnn({ inChannels: 1 }), course: () => models.fashionMnistCnn(), lenet: () => models.lenet5() };
const model = (factories[args.model as keyof typeof factories] ?? factories.simple)();
const optimizer = new optim.Adam(model.parameters(), { lr: Number(args.lr) });
console.log(model.summary([1, 1, 28, 28]));
console.log(`training ${args.model} on ${train.length} images for ${epochs} epochs`);

function progress(epoch: number, step: number, steps: number, loss: number, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  const rate = (step * batchSize) / Math.max(seconds, 1e-3);
  const eta = ((steps - step) * batchSize) / Math.max(rate, 1e-3);
  const text = `epoch ${epoch}/${epochs} ${step}/${steps} loss ${loss.toFixed(4)} ${rate.toFixed(0)} img/s ETA ${eta.toFixed(0)}s`;
  if (process.stdout.isTTY) {
    const width = 24;
    const filled = Math.round((width * step) / steps);
    process.stdout.write(`\r[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${text}`);
    if (step === steps) process.stdout.write('\n');
  } else if (step === steps || step % Math.ceil(steps / 4) === 0) {
    console.log(text);
  }
}

async function evaluate(): Promise<number> {
  model.eval();
  let correct = 0;
  for await (const [x, y] of testLoader) {
    correct += scope(() => noGrad(() => argmax(model.call(x!), 1).eq(y!).to('int32').sum().item()));
    x!.dispose();
    y!.dispose();
  }
  model.train();
  return correct / test.length;
}

const history: Array<{ epoch: number; loss: number; testAccuracy: number; seconds: number }> = [];
const started = performance.now();
const baseLr = Number(args.lr);
for (let epoch = 1; epoch <= epochs; ++epoch) {
  // Cosine annealing from the base rate to 0 over the run, set once per epoch.
  for (const group of optimizer.paramGroups) group.options.lr = (baseLr * (1 + Math.cos((Math.PI * (epoch - 1)) / epochs))) / 2;
  const epochStart = performance.now();
  let lossSum = 0;
  let step = 0;
  for await (const [x, y] of trainLoader) {
    const loss = scope(() => {
      const l = crossEntropy(model.call(x!), y!);
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
      return l.item();
    });
    x!.dispose();
    y!.dispose();
    lossSum += loss;
    progress(epoch, ++step, trainLoader.length, lossSum / step, epochStart);
  }
  const testAccuracy = await evaluate();
  history.push({ epoch, loss: lossSum / step, testAccuracy, seconds: (performance.now() - started) / 1000 });
  console.log(`epoch ${epoch}: train loss ${(lossSum / step).toFixed(4)}, test accuracy ${(100 * testAccuracy).toFixed(2)}%`);
}

mkdirSync(args.out, { recursive: true });
await io.saveCheckpoint(join(args.out, 'model.safetensors'), { model, optimizer, extra: { model: args.model, epochs, history } });
writeFileSync(join(args.out, 'history.json'), `${JSON.stringify(history, null, 2)}\n`);
viz.plotLines(join(args.out, 'curve.png'), [
  { name: 'train loss', values: history.map((h) => h.loss), color: [214, 39, 40] },
  { name: 'test accuracy', values: history.map((h) => h.testAccuracy), color: [31, 119, 180] },
], { independentScales: true });
const final = history[history.length - 1]!;
console.log(`test accuracy: ${(100 * final.testAccuracy).toFixed(2)}% on the official 10,000 test images after ${final.seconds.toFixed(0)} s`);
console.log(`saved ${join(args.out, 'model.safetensors')}, history.json and curve.png`);
