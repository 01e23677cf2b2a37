// examples/train-detector.ts, run end to end in a tiny configuration: it generates its
// dataset, pretrains the backbone as a classifier for one epoch of a few items, reads the
// dataset through CocoDetection and a DataLoader worker, trains one epoch, evaluates and
// writes its outputs. The figures of a real run are in the README.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import sharp from 'sharp';
import { expect, it } from 'vitest';

import { data, io } from '../../lib/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('trains on a generated COCO dataset, writes the model, detections and PR curve, and prints mAP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neocog-train-detector-'));
  const [dataDir, out] = [join(dir, 'data'), join(dir, 'out')];
  const args = ['tsx', 'examples/train-detector.ts', '--epochs', '1', '--train-size', '12', '--val-size', '6', '--batch-size', '6', '--pretrain-epochs', '1', '--pretrain-size', '128', '--workers', '1', '--data-dir', dataDir, '--out', out];
  const { stdout } = await promisify(execFile)('npx', args, { cwd: root, timeout: 280_000 });

  expect(stdout).toMatch(/dataset: 12 train and 6 val canvases/);
  expect(stdout).toMatch(/pretrain epoch 1\/1: loss \d+\.\d+/);
  expect(stdout).toMatch(/pretrained the backbone as a classifier: \d+\.\d% on 2000 official test items/);
  expect(stdout).toMatch(/\nepoch 1\/1: cls \d+\.\d+ box \d+\.\d+ ctr \d+\.\d+/);
  expect(stdout).toMatch(/mAP@0\.5: \d\.\d{3} {2}mAP@\[\.5:\.95\]: \d\.\d{3} {2}on 6 held-out images; wall \d+ s .*process CPU \d+ s, load average/);

  // The dataset: COCO JSON that the reader accepts, with named categories, and its images.
  const val = data.readCocoAnnotations(join(dataDir, 'val.json'));
  expect(val.images).toHaveLength(6);
  expect(val.dropped).toEqual([]);
  const json = JSON.parse(readFileSync(join(dataDir, 'val.json'), 'utf8')) as { categories: { id: number; name: string }[]; annotations: unknown[] };
  expect(json.categories.map((c) => c.name)).toContain('Ankle boot');
  expect(json.annotations.length).toBeGreaterThanOrEqual(12);
  expect(existsSync(join(dataDir, 'val', '000006.png'))).toBe(true);

  // The outputs.
  const weights = await io.loadSafetensors(join(out, 'model.safetensors'));
  expect(weights.tensors.has('head.cls_logits.weight')).toBe(true);
  // The pretraining's classifier head is dropped: the file holds the detector only.
  expect([...weights.tensors.keys()].every((name) => /^(stem|stage[234]|lateral[34]|head)\./.test(name))).toBe(true);
  const grid = await sharp(join(out, 'detections.png')).metadata();
  expect([grid.format, grid.width]).toEqual(['png', 4 * (2 * 128 + 4)]);
  expect((await sharp(join(out, 'pr_curve.png')).metadata()).format).toBe('png');
  expect((await sharp(join(out, 'ap_bars.png')).metadata()).format).toBe('png');
  const svg = readFileSync(join(out, 'pr_curve.svg'), 'utf8');
  expect(svg).toContain('Recall');
  expect(svg).toContain('Precision');
}, 300_000);
