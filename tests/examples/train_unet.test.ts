// examples/train-unet.ts run end to end in a tiny configuration: it generates its dataset,
// trains, evaluates, and writes the checkpoint and both PNGs, which are checked here.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';

import { io, models } from '../../lib/index.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'neocog-train-unet-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('examples/train-unet.ts: a tiny run generates the data, reports Dice and HD95, writes model.safetensors, samples.png and large.png', async () => {
  const [data, out] = [join(work, 'data'), join(work, 'out')];
  const tsx = pathToFileURL(join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const argv = ['--train', '8', '--val', '3', '--size', '64', '--epochs', '1', '--batch-size', '4', '--large', '160', '--data', data, '--out', out];
  const { stdout } = await run(process.execPath, ['--import', tsx, join(repo, 'examples', 'train-unet.ts'), ...argv], { cwd: repo });

  // The dataset: images and PNG masks for both splits, generated once.
  const files = readdirSync(data);
  expect(files.filter((f) => /^train-64-\d+\.png$/.test(f))).toHaveLength(8);
  expect(files.filter((f) => /^val-64-\d+-mask\.png$/.test(f))).toHaveLength(3);
  const mask = await sharp(join(data, 'val-64-0-mask.png')).raw().toBuffer();
  expect(new Set(mask)).toEqual(new Set([0, 255]));

  const summary = /summary: Dice (\S+) HD95 (\S+) px \| 1 epochs \| wall (\d+) s, CPU (\d+) s, load average (\S+) on \d+ cores/.exec(stdout);
  expect(summary, stdout).not.toBeNull();
  const dice = Number(summary![1]);
  expect(dice).toBeGreaterThanOrEqual(0);
  expect(dice).toBeLessThanOrEqual(1);
  expect(Number(summary![2])).toBeGreaterThanOrEqual(0);
  expect(stdout).toMatch(/sliding window on 160×160: Dice \d\.\d{4}/);

  // The checkpoint loads into the same U-Net.
  const net = models.segmentation.unet({ inChannels: 1, numClasses: 1, depth: 3, baseChannels: 8 });
  net.loadStateDict(await io.loadStateDict(join(out, 'model.safetensors')));
  // samples.png: 3 rows (image, truth, prediction) of 64-pixel tiles with 2-pixel gaps; large.png: image and prediction.
  expect(await sharp(join(out, 'samples.png')).metadata()).toMatchObject({ width: 3 * 64 + 4, height: 3 * 64 + 4, format: 'png' });
  expect(await sharp(join(out, 'large.png')).metadata()).toMatchObject({ width: 2 * 160 + 2, height: 160, format: 'png' });
}, 120_000);
