// examples/explain.ts run end to end in small configurations: once from a checkpoint as the
// main job saves it, once training its quick epoch; every PNG it writes is decoded here.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';

import { io, manualSeed, models } from '../../lib/index.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'neocog-explain-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function explain(out: string, ...extra: string[]): Promise<string> {
  const tsx = pathToFileURL(join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const argv = ['--out', out, '--images', '2', '--samples', '3', '--steps', '6', ...extra];
  const { stdout } = await run(process.execPath, ['--import', tsx, join(repo, 'examples', 'explain.ts'), ...argv], { cwd: repo });
  return stdout;
}

/** Every PNG in `dir` at its expected size (charts: any), with more than one value in some channel. */
async function checkPngs(dir: string, sizes: Record<string, [number, number]>): Promise<void> {
  const files = readdirSync(dir).sort();
  const perImage = ['feature-maps', 'grad-cam', 'grad-cam-pp', 'occlusion', 'saliency-gradient', 'saliency-integratedGradients', 'saliency-smoothGrad'];
  const charts = ['confusion-matrix.png', 'curves.png'];
  expect(files).toEqual(['0', '1'].flatMap((i) => perImage.map((name) => `${i}-${name}.png`)).concat('filters.png', ...charts).sort());
  for (const file of files) {
    const kind = file === 'filters.png' ? 'filters' : file.includes('feature-maps') ? 'featureMaps' : 'overlay';
    const { width, height, format } = await sharp(join(dir, file)).metadata();
    if (charts.includes(file)) expect(format).toBe('png');
    else expect([format, width, height], file).toEqual(['png', ...sizes[kind]!]);
    const { channels } = await sharp(join(dir, file)).stats();
    expect(channels.some((c) => c.max > c.min), `${file} is constant`).toBe(true);
  }
}

it('from the main job checkpoint: 2 images x 7 explanations, the filters and the charts, every PNG decoding at its size, none constant', async () => {
  manualSeed(1);
  const model = models.simpleCnn({ inChannels: 1 });
  const checkpoint = join(work, 'model.safetensors');
  const history = [1, 2].map((epoch) => ({ epoch, loss: 1 / epoch, accuracy: 0.5 + 0.1 * epoch, valLoss: 1.2 / epoch, valAccuracy: 0.45 + 0.1 * epoch, seconds: 1 }));
  await io.saveCheckpoint(checkpoint, { model, extra: { model: 'simple', epochs: 2, history } });
  const out = join(work, 'from-checkpoint');
  const stdout = await explain(out, '--checkpoint', checkpoint, '--zoom', '2');
  expect(stdout).toContain(`loaded ${checkpoint} (simple)`);
  expect(stdout).toMatch(/image 1: \S.*, predicted \S/);
  expect(stdout).toContain(`wrote 17 PNGs to ${out}`);
  // Overlays at zoom 2; 32 feature maps of 28x28 at scale 2 in 6 columns; 32 3x3 filters at scale 8.
  await checkPngs(out, { overlay: [56, 56], featureMaps: [6 * 58 + 2, 6 * 58 + 2], filters: [6 * 25 + 1, 6 * 25 + 1] });
}, 60_000);

it('without a checkpoint: one quick epoch on a few training images, then the same PNGs', async () => {
  const out = join(work, 'trained');
  const stdout = await explain(out, '--checkpoint', join(work, 'missing.safetensors'), '--train-images', '128');
  expect(stdout).toContain("training the main job's model for 1 epoch on 128 images");
  await checkPngs(out, { overlay: [112, 112], featureMaps: [350, 350], filters: [151, 151] });
}, 60_000);
