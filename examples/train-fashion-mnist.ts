// The main job: train a CNN on Fashion-MNIST and report accuracy on the official test set.
//   npm start                                  (bundled 12k-image subset)
//   npx tsx examples/train-fashion-mnist.ts --data /usr/share/datasets/fashion-mnist --epochs 12
// Writes runs/fashion-mnist/{model.safetensors, history.json, curves.png, curves.svg}: the
// curves (loss, accuracy, learning rate per epoch, best epoch marked) are redrawn after every epoch.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { data, io, manualSeed, models, optim, train, viz } from '../lib/index.js';

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
const trainSet = args.data
  ? load(trainDir, 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz')
  : load(bundled, 'train-subset-images-idx3-ubyte.gz', 'train-subset-labels-idx1-ubyte.gz');
// Always the official test images: never evaluate on training data.
const test = load(bundled, 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');

const trainLoader = new data.DataLoader(trainSet, { batchSize, shuffle: true, seed: Number(args.seed), collate: trainSet.collate(MEAN, STD) });
const testLoader = new data.DataLoader(test, { batchSize: 500, collate: test.collate(MEAN, STD) });

const factories = { simple: () => models.simpleCnn({ inChannels: 1 }), course: () => models.fashionMnistCnn(), lenet: () => models.lenet5() };
const model = (factories[args.model as keyof typeof factories] ?? factories.simple)();
const optimizer = new optim.Adam(model.parameters(), { lr: Number(args.lr) });
console.log(model.summary([1, 1, 28, 28]));
console.log(`training ${args.model} on ${trainSet.length} images for ${epochs} epochs`);

// The library's loop: progress bar, loss and accuracy per epoch, the official test set as
// validation after each epoch, cosine annealing of the learning rate to 0 over the run.
mkdirSync(args.out, { recursive: true });
const started = performance.now();
const history = await train.fit(model, {
  epochs,
  optimizer,
  train: trainLoader,
  validation: testLoader,
  scheduler: new optim.CosineAnnealingLR(optimizer, epochs),
  historyPath: join(args.out, 'history.json'),
  curvesPath: join(args.out, 'curves.png'),
});

await io.saveCheckpoint(join(args.out, 'model.safetensors'), { model, optimizer, extra: { model: args.model, epochs, history } });
// The same chart as vector graphics, for pages and papers.
writeFileSync(join(args.out, 'curves.svg'), (await viz.trainingCurves(history)).svg);
const final = history[history.length - 1]!;
const seconds = (performance.now() - started) / 1000;
console.log(`test accuracy: ${(100 * final.valAccuracy!).toFixed(2)}% on the official 10,000 test images after ${seconds.toFixed(0)} s`);
console.log(`saved ${join(args.out, 'model.safetensors')}, history.json, curves.png and curves.svg`);
