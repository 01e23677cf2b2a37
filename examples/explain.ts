// What the main job's CNN looks at: saliency (gradient, SmoothGrad, Integrated Gradients),
// Grad-CAM and Grad-CAM++, occlusion, its first-layer filters and feature maps, as PNGs.
//   npx tsx examples/explain.ts                (after `npm start`; trains 1 quick epoch if there is no checkpoint)
//   npx tsx examples/explain.ts --images 8 --checkpoint runs/fashion-mnist/model.safetensors
// Writes runs/explain/{filters.png, curves.png, confusion-matrix.png} and, per test image i,
// runs/explain/<i>-<method>.png.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { data, interpolate, io, manualSeed, models, nn, noGrad, optim, scope, tensor, train, viz, type Tensor } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: 'runs/fashion-mnist/model.safetensors' },
    out: { type: 'string', default: 'runs/explain' },
    images: { type: 'string', default: '4' },
    // Without a checkpoint: how many of the bundled training images the quick epoch uses (default all 12,000).
    'train-images': { type: 'string' },
    samples: { type: 'string', default: '16' },
    steps: { type: 'string', default: '32' },
    zoom: { type: 'string', default: '4' },
    seed: { type: 'string', default: '0' },
  },
});
manualSeed(Number(args.seed));

// As the main job: its data, its normalisation, its models.
const bundled = new URL('./data/fashion-mnist/', import.meta.url).pathname;
const MEAN = 0.286;
const STD = 0.353;
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const factories: Record<string, () => nn.Sequential> = { simple: () => models.simpleCnn({ inChannels: 1 }), course: () => models.fashionMnistCnn(), lenet: () => models.lenet5() };

function load(images: string, labels: string, limit?: number): data.ImageArrayDataset {
  const pixels = data.readIdx(join(bundled, images));
  const classes = data.readIdx(join(bundled, labels)).data;
  const count = Math.min(limit ?? pixels.shape[0]!, pixels.shape[0]!);
  const size = pixels.data.length / pixels.shape[0]!;
  return new data.ImageArrayDataset({ shape: [count, ...pixels.shape.slice(1)], data: pixels.data.subarray(0, count * size) }, classes.subarray(0, count));
}

/** The main job's checkpoint (and its training history), or the main job's model after one quick epoch. */
async function trainedModel(): Promise<{ model: nn.Sequential; history: train.EpochLog[] }> {
  if (existsSync(args.checkpoint)) {
    // The main job records which of its models it trained, and its history.
    const header = (await io.loadSafetensors(args.checkpoint)).metadata.neocog;
    const extra = header ? (JSON.parse(header) as { extra?: { model?: unknown; history?: train.EpochLog[] } }).extra : undefined;
    const name = String(extra?.model ?? 'simple');
    const model = (factories[name] ?? factories.simple!)();
    await io.loadCheckpoint(args.checkpoint, { model });
    console.log(`loaded ${args.checkpoint} (${name})`);
    return { model, history: extra?.history ?? [] };
  }
  const limit = args['train-images'] === undefined ? undefined : Number(args['train-images']);
  const trainSet = load('train-subset-images-idx3-ubyte.gz', 'train-subset-labels-idx1-ubyte.gz', limit);
  console.log(`no checkpoint at ${args.checkpoint}: training the main job's model for 1 epoch on ${trainSet.length} images`);
  const model = factories.simple!();
  const loader = new data.DataLoader(trainSet, { batchSize: 64, shuffle: true, seed: Number(args.seed), collate: trainSet.collate(MEAN, STD) });
  const history = await train.fit(model, { epochs: 1, optimizer: new optim.Adam(model.parameters(), { lr: 0.001 }), train: loader, progress: false });
  return { model, history };
}

const { model, history } = await trainedModel();
model.eval();
// The layers to look at, found by type so that any of the main job's models works: the
// first convolution (filters, feature maps) and the last one (Grad-CAM).
const convs = [...model.namedModules()].filter(([, m]) => m instanceof nn.Conv2d) as Array<[string, nn.Conv2d]>;
const [firstConv, first] = convs[0]!;
const [lastConv] = convs[convs.length - 1]!;

mkdirSync(args.out, { recursive: true });
const zoom = Number(args.zoom);
const written: string[] = [];
async function save(image: Tensor, name: string): Promise<void> {
  const path = join(args.out, name);
  await viz.writePng(image, path);
  written.push(path);
  image.dispose();
}

await save(viz.filters(first, { padding: 1, scale: 8 }), 'filters.png');

// The charts of the run: its training curves, and what it confuses on the official test set.
const charts: Array<[string, Promise<{ png: Buffer }>]> = [];
if (history.length > 0) charts.push(['curves.png', viz.trainingCurves(history)]);
const testSet = load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');
const predictions: number[] = [];
for await (const [images, labels] of new data.DataLoader(testSet, { batchSize: 1000, collate: testSet.collate(MEAN, STD) })) {
  predictions.push(...(await noGrad(() => model.call(images).argmax(1)).data()));
  images.dispose();
  labels.dispose();
}
charts.push(['confusion-matrix.png', viz.confusionMatrix(predictions, Array.from(testSet.labels), { classNames: CLASSES, normalize: 'true' })]);
for (const [name, chart] of charts) {
  writeFileSync(join(args.out, name), (await chart).png);
  written.push(join(args.out, name));
}

const test = load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', Number(args.images));
for (let i = 0; i < test.length; ++i) {
  await scope(async () => {
    const [pixels, label] = test.get(i);
    const picture = tensor(Uint8Array.from(pixels), { shape: [1, 28, 28] });
    const image = picture.float().div(255).sub(MEAN).div(STD);
    const predicted = noGrad(() => model.call(image.reshape([1, 1, 28, 28])).argmax(1).item());
    console.log(`image ${i}: ${CLASSES[label]}, predicted ${CLASSES[predicted]}`);
    // Heatmaps are drawn over the picture enlarged, so that 28 pixels can be seen.
    const shown = interpolate(picture.float().reshape([1, 1, 28, 28]), { scaleFactor: zoom, mode: 'nearest' }).reshape([1, 28 * zoom, 28 * zoom]).to('uint8');
    const over = (heat: Tensor, colormap: viz.ColormapName = 'magma') => viz.overlayHeatmap(shown, heat, { colormap, alpha: 0.6 });
    for (const method of ['gradient', 'smoothGrad', 'integratedGradients'] as const) {
      const { map } = viz.saliency(model, image, predicted, { method, samples: Number(args.samples), steps: Number(args.steps) });
      await save(over(map), `${i}-saliency-${method}.png`);
    }
    await save(over(viz.gradCam(model, lastConv, image, predicted), 'turbo'), `${i}-grad-cam.png`);
    await save(over(viz.gradCam(model, lastConv, image, predicted, { plusPlus: true }), 'turbo'), `${i}-grad-cam-pp.png`);
    await save(over(viz.occlusion(model, image, predicted, { patch: 6, stride: 2 }), 'viridis'), `${i}-occlusion.png`);
    await save(viz.featureMaps(model, firstConv, image, { scale: 2 }), `${i}-feature-maps.png`);
  });
}
console.log(`wrote ${written.length} PNGs to ${args.out}`);
