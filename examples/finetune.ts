// Fine-tuning from a PyTorch checkpoint, no Python at run time: load torchvision's resnet18
// from its torch.save file (io.loadTorch), replace the 1000-class head with a 10-class one,
// and fine-tune on the bundled Fashion-MNIST subset (gray replicated to 3 channels, resized
// to 32×32); then report accuracy on the official test images.
//   npx tsx examples/finetune.ts --weights tests/fixtures/interop/resnet18.pth
//   npx tsx examples/finetune.ts --weights resnet18.pth --train-size 2000 --epochs 2
// The weights: any torch.save(model.state_dict()) of a torchvision resnet18, e.g.
//   python3 -c "import torch, torchvision; torch.save(torchvision.models.resnet18(weights='DEFAULT').state_dict(), 'resnet18.pth')"
// or, offline (seeded random init), /usr/bin/python3 tests/fixtures/make_torch_fixtures.py --interop.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { data, interpolate, io, manualSeed, models, nn, optim, train, type Tensor } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    weights: { type: 'string' },
    'train-size': { type: 'string', default: '2000' },
    'test-size': { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '1' },
    'batch-size': { type: 'string', default: '32' },
    lr: { type: 'string', default: '0.001' },
    seed: { type: 'string', default: '0' },
  },
});

if (!args.weights || !existsSync(args.weights)) {
  console.error(
    `${args.weights ? `${args.weights} does not exist.` : 'Pass --weights path/to/resnet18.pth.'}\n` +
      'Make one with PyTorch, e.g. torchvision\'s ImageNet weights:\n' +
      '  python3 -c "import torch, torchvision; torch.save(torchvision.models.resnet18(weights=\'DEFAULT\').state_dict(), \'resnet18.pth\')"\n' +
      'or, offline, a seeded random init: /usr/bin/python3 tests/fixtures/make_torch_fixtures.py --interop (writes tests/fixtures/interop/resnet18.pth)',
  );
  process.exit(2);
}
manualSeed(Number(args.seed));

// Mean and standard deviation of Fashion-MNIST's training pixels.
const MEAN = 0.286;
const STD = 0.353;
const SIZE = 32;

const bundled = new URL('./data/fashion-mnist/', import.meta.url).pathname;
/** The first `count` images of an IDX pair (the bundled files are shuffled already). */
function load(images: string, labels: string, count: number): data.ImageArrayDataset {
  const pixels = data.readIdx(join(bundled, images));
  const n = Math.min(count, pixels.shape[0]!);
  const [height, width] = pixels.shape.slice(1) as [number, number];
  return new data.ImageArrayDataset({ shape: [n, height, width], data: pixels.data.subarray(0, n * height * width) }, data.readIdx(join(bundled, labels)).data.subarray(0, n));
}
const trainSet = load('train-subset-images-idx3-ubyte.gz', 'train-subset-labels-idx1-ubyte.gz', Number(args['train-size']));
const testSet = load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', Number(args['test-size']));

/** The dataset's collate, then what an ImageNet model expects: 3 channels, a size its five stride-2 stages can halve. */
function collate(set: data.ImageArrayDataset): (items: Array<[Uint8Array, number]>) => [Tensor, Tensor] {
  const gray = set.collate(MEAN, STD);
  return (items) => {
    const [images, labels] = gray(items);
    const resized = interpolate(images, { size: SIZE, mode: 'bilinear' });
    const rgb = resized.expand(-1, 3, -1, -1).contiguous();
    images.dispose();
    resized.dispose();
    return [rgb, labels];
  };
}
const batchSize = Number(args['batch-size']);
const trainLoader = new data.DataLoader(trainSet, { batchSize, shuffle: true, seed: Number(args.seed), collate: collate(trainSet) });
const testLoader = new data.DataLoader(testSet, { batchSize: 250, collate: collate(testSet) });

// torchvision's names load as they are; the 1000-class head is loaded, then replaced.
const model = models.resnet18();
const state = await io.loadTorch(args.weights);
const { missing } = model.loadStateDict(state);
for (const t of state.values()) t.dispose();
if (missing.length > 0) throw new Error(`${args.weights} lacks ${missing.join(', ')}: is it a torchvision resnet18?`);
model.fc.dispose();
model.fc = new nn.Linear(512, 10);
console.log(`loaded ${args.weights}; fine-tuning on ${trainSet.length} images (${SIZE}×${SIZE}, 3 channels) for ${args.epochs} epoch(s)`);

const started = performance.now();
const history = await train.fit(model, {
  epochs: Number(args.epochs),
  optimizer: new optim.Adam(model.parameters(), { lr: Number(args.lr) }),
  train: trainLoader,
  validation: testLoader,
  progress: false,
});
const final = history[history.length - 1]!;
console.log(`test accuracy: ${(100 * final.valAccuracy!).toFixed(2)}% on ${testSet.length} official test images after ${((performance.now() - started) / 1000).toFixed(0)} s`);
model.dispose();
