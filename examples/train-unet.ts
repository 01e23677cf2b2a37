// Segmentation: train a U-Net on synthetic cell/membrane images and report Dice and HD95 on
// a held-out split, then segment one large image by sliding-window inference.
//   npx tsx examples/train-unet.ts
//   npx tsx examples/train-unet.ts --train 32 --val 8 --epochs 1 --large 256   (a smoke run)
// The dataset is generated deterministically on first run into runs/unet-data/ (images and
// PNG masks). Writes runs/unet/{model.safetensors, samples.png, large.png}.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import sharp from 'sharp';

import { diceCeLoss, fromTypedArray, infer, io, manualSeed, metrics, models, noGrad, optim, scope, sigmoid, viz, type Tensor } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    train: { type: 'string', default: '192' },
    val: { type: 'string', default: '32' },
    size: { type: 'string', default: '96' },
    epochs: { type: 'string', default: '30' },
    'time-budget': { type: 'string', default: '600' },
    'batch-size': { type: 'string', default: '8' },
    'base-channels': { type: 'string', default: '8' },
    depth: { type: 'string', default: '3' },
    lr: { type: 'string', default: '0.003' },
    large: { type: 'string', default: '1024' },
    data: { type: 'string', default: 'runs/unet-data' },
    out: { type: 'string', default: 'runs/unet' },
    seed: { type: 'string', default: '0' },
  },
});

const started = performance.now();
const cpuStarted = process.cpuUsage();
const trainCount = Number(args.train);
const valCount = Number(args.val);
const size = Number(args.size);
const epochs = Number(args.epochs);
const batchSize = Number(args['batch-size']);
const largeSize = Number(args.large);
const timeBudget = Number(args['time-budget']);
manualSeed(Number(args.seed));

// ---- The synthetic dataset -------------------------------------------------------------

/** mulberry32: a small seeded generator, so the dataset is the same on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One 3×3 box blur pass over a `side`×`side` image. */
function blur(src: Float32Array, side: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let sum = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < side && xx >= 0 && xx < side) (sum += src[yy * side + xx]!), n++;
      }
      out[y * side + x] = sum / n;
    }
  }
  return out;
}

/**
 * A cell/membrane-like image: touching blobs (Voronoi cells of random seeds, cut to a
 * wobbly radius around each seed) with textured interiors, separated by thin dark
 * membranes, on a textured background; blurred, with noise. The mask is the cells'
 * interiors (membranes and background are 0). Pixels in [0, 255].
 */
function syntheticCells(side: number, seed: number): { image: Uint8Array; mask: Uint8Array } {
  const random = rng(seed);
  const count = Math.max(3, Math.round((side * side) / 900) + Math.floor(random() * 4));
  const seeds = Array.from({ length: count }, () => ({ x: random() * side, y: random() * side, r: 10 + random() * 14, phase: random() * 6.28, bright: 150 + random() * 80, freq: 0.2 + random() * 0.4 }));
  const image = new Float32Array(side * side);
  const mask = new Uint8Array(side * side);
  const bgFreq = 0.05 + random() * 0.1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      // The nearest and second-nearest seeds: a membrane where they are about equally near.
      let best = Infinity, second = Infinity, owner = 0;
      for (let i = 0; i < count; i++) {
        const s = seeds[i]!;
        const d = Math.hypot(x - s.x, y - s.y);
        if (d < best) (second = best), (best = d), (owner = i);
        else if (d < second) second = d;
      }
      const cell = seeds[owner]!;
      const angle = Math.atan2(y - cell.y, x - cell.x);
      const radius = cell.r * (1 + 0.2 * Math.sin(3 * angle + cell.phase));
      const background = 70 + 25 * Math.sin(x * bgFreq) * Math.cos(y * bgFreq * 1.3);
      const k = y * side + x;
      if (best > radius + 1.5) image[k] = background;
      else if (best > radius || second - best < 2.5) image[k] = 25; // the membrane: thin and dark
      else {
        image[k] = cell.bright + 20 * Math.sin(x * cell.freq + cell.phase) * Math.sin(y * cell.freq);
        mask[k] = 1;
      }
    }
  }
  const blurred = blur(blur(image, side), side);
  const out = new Uint8Array(side * side);
  for (let k = 0; k < out.length; k++) out[k] = Math.max(0, Math.min(255, Math.round(blurred[k]! + (random() - 0.5) * 60)));
  return { image: out, mask };
}

/** The dataset's files, generated once: `<dir>/<split>-<i>.png` and `-mask.png` (0/255). */
async function loadOrGenerate(dir: string, split: string, count: number, side: number, seedBase: number): Promise<{ images: Float32Array; masks: Float32Array }> {
  mkdirSync(dir, { recursive: true });
  const images = new Float32Array(count * side * side);
  const masks = new Float32Array(count * side * side);
  for (let i = 0; i < count; i++) {
    const imagePath = join(dir, `${split}-${side}-${i}.png`);
    const maskPath = join(dir, `${split}-${side}-${i}-mask.png`);
    if (!existsSync(imagePath) || !existsSync(maskPath)) {
      const { image, mask } = syntheticCells(side, seedBase + i);
      const raw = { raw: { width: side, height: side, channels: 1 as const } };
      await sharp(Buffer.from(image), raw).png().toFile(imagePath);
      await sharp(Buffer.from(mask.map((m) => m * 255)), raw).png().toFile(maskPath);
    }
    const [image, mask] = await Promise.all([imagePath, maskPath].map((p) => sharp(readFileSync(p)).extractChannel(0).raw().toBuffer()));
    for (let k = 0; k < side * side; k++) {
      images[i * side * side + k] = (image![k]! - 128) / 64;
      masks[i * side * side + k] = mask![k]! > 127 ? 1 : 0;
    }
  }
  return { images, masks };
}

const trainSet = await loadOrGenerate(args.data, 'train', trainCount, size, 1_000);
const valSet = await loadOrGenerate(args.data, 'val', valCount, size, 2_000_000);
console.log(`data: ${trainCount} training and ${valCount} held-out ${size}×${size} images in ${args.data} (${((performance.now() - started) / 1000).toFixed(1)} s)`);

// ---- Training --------------------------------------------------------------------------

const model = models.segmentation.unet({ inChannels: 1, numClasses: 1, depth: Number(args.depth), baseChannels: Number(args['base-channels']) });
const optimizer = new optim.Adam(model.parameters(), { lr: Number(args.lr) });
const pixels = size * size;

/** A training batch of images `[B, 1, S, S]` and masks, each randomly flipped and transposed (the task is isotropic). */
function batchOf(indices: readonly number[], random: () => number): [Tensor, Tensor] {
  const x = new Float32Array(indices.length * pixels);
  const y = new Float32Array(indices.length * pixels);
  indices.forEach((index, b) => {
    const [flipX, flipY, swap] = [random() < 0.5, random() < 0.5, random() < 0.5];
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        let [sr, sc] = swap ? [c, r] : [r, c];
        if (flipY) sr = size - 1 - sr;
        if (flipX) sc = size - 1 - sc;
        x[b * pixels + r * size + c] = trainSet.images[index * pixels + sr * size + sc]!;
        y[b * pixels + r * size + c] = trainSet.masks[index * pixels + sr * size + sc]!;
      }
    }
  });
  return [fromTypedArray(x, [indices.length, 1, size, size]), fromTypedArray(y, [indices.length, 1, size, size])];
}

const random = rng(Number(args.seed) + 7);
const stepsPerEpoch = Math.ceil(trainCount / batchSize);
const scheduler = new optim.CosineAnnealingLR(optimizer, epochs * stepsPerEpoch);
let epoch = 0;
for (; epoch < epochs; epoch++) {
  const order = Array.from({ length: trainCount }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  model.train();
  let lossSum = 0;
  for (let step = 0; step < stepsPerEpoch; step++) {
    lossSum += await scope(async () => {
      const [x, y] = batchOf(order.slice(step * batchSize, (step + 1) * batchSize), random);
      const loss = diceCeLoss(model.call(x), y, { sigmoid: true });
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      scheduler.step();
      return (await loss.data())[0]!;
    });
  }
  const elapsed = (performance.now() - started) / 1000;
  console.log(`epoch ${epoch + 1}/${epochs}: loss ${(lossSum / stepsPerEpoch).toFixed(4)}, ${elapsed.toFixed(0)} s`);
  // The wall-clock budget covers the whole run: stop early rather than overrun it.
  if (elapsed > timeBudget) {
    epoch++;
    break;
  }
}

// ---- Held-out evaluation ---------------------------------------------------------------

model.eval();
const valImages = fromTypedArray(valSet.images, [valCount, 1, size, size]);
const valMasks = fromTypedArray(valSet.masks, [valCount, 1, size, size]);
const predicted = noGrad(() => sigmoid(model.call(valImages)).gt(0.5).float());
const dice = await metrics.diceScore(predicted, valMasks).data();
const hd95 = await (await metrics.hausdorffDistance(predicted, valMasks)).data();
const meanOf = (values: ArrayLike<number>) => {
  const finite = Array.from(values).filter(Number.isFinite);
  return finite.reduce((a, b) => a + b, 0) / finite.length;
};
const meanDice = meanOf(dice);
const meanHd95 = meanOf(hd95);
console.log(`held-out: Dice ${meanDice.toFixed(4)}, HD95 ${meanHd95.toFixed(2)} px over ${valCount} images`);

// ---- Outputs ---------------------------------------------------------------------------

mkdirSync(args.out, { recursive: true });
await io.saveSafetensors(join(args.out, 'model.safetensors'), model.stateDict());

/** Writes gray `[rows][cols]` tiles of `side`×`side` pixels (values 0..255) as one RGB PNG. */
function writeGrid(path: string, tiles: ReadonlyArray<ReadonlyArray<ArrayLike<number>>>, side: number): void {
  const rows = tiles.length, cols = tiles[0]!.length, gap = 2;
  const width = cols * side + (cols - 1) * gap, height = rows * side + (rows - 1) * gap;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  tiles.forEach((row, r) => row.forEach((tile, c) => {
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
      const v = tile[y * side + x]!, k = ((r * (side + gap) + y) * width + c * (side + gap) + x) * 3;
      rgb[k] = rgb[k + 1] = rgb[k + 2] = v;
    }
  }));
  writeFileSync(path, viz.encodePng(width, height, rgb));
}

const predictedData = await predicted.data();
const shown = Math.min(4, valCount);
writeGrid(join(args.out, 'samples.png'), Array.from({ length: shown }, (_, i) => {
  const at = (a: ArrayLike<number>, scale: (v: number) => number) => Array.from({ length: pixels }, (_, k) => scale(a[i * pixels + k]!));
  return [at(valSet.images, (v) => Math.max(0, Math.min(255, v * 64 + 128))), at(valSet.masks, (v) => v * 255), at(predictedData, (v) => v * 255)];
}), size);

// One large image, segmented window by window with Gaussian blending.
const large = syntheticCells(largeSize, 3_000_000);
const largeInput = fromTypedArray(Float32Array.from(large.image, (v) => (v - 128) / 64), [1, 1, largeSize, largeSize]);
const slidingStarted = performance.now();
const largeLogits = await infer.slidingWindowInference(largeInput, [size, size], (tiles) => model.call(tiles), { overlap: 0.25, mode: 'gaussian', swBatchSize: 4 });
const largePredicted = sigmoid(largeLogits).gt(0.5).float();
const slidingSeconds = (performance.now() - slidingStarted) / 1000;
const largeDice = (await metrics.diceScore(largePredicted, fromTypedArray(Float32Array.from(large.mask), [1, 1, largeSize, largeSize])).data())[0]!;
const largeData = await largePredicted.data();
writeGrid(join(args.out, 'large.png'), [[large.image, Array.from(largeData, (v) => v * 255)]], largeSize);
console.log(`sliding window on ${largeSize}×${largeSize}: Dice ${largeDice.toFixed(4)} in ${slidingSeconds.toFixed(1)} s`);

const wall = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
console.log(`wrote ${join(args.out, 'model.safetensors')}, samples.png and large.png`);
console.log(
  `summary: Dice ${meanDice.toFixed(4)} HD95 ${meanHd95.toFixed(2)} px | ${epoch} epochs | wall ${wall.toFixed(0)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
);
