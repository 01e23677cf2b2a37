import sharp from 'sharp';
import { expect, it } from 'vitest';

import { ArgumentError, train, viz } from '../../lib/index.js';

// Three epochs as fit logs them; validation loss is lowest at epoch 2, accuracy highest at 3.
const history: train.EpochLog[] = [
  { epoch: 1, loss: 1.0, accuracy: 0.6, lr: 1e-3, seconds: 1, valLoss: 1.2, valAccuracy: 0.5 },
  { epoch: 2, loss: 0.5, accuracy: 0.7, lr: 5e-4, seconds: 2, valLoss: 0.6, valAccuracy: 0.6 },
  { epoch: 3, loss: 0.3, accuracy: 0.8, lr: 1e-4, seconds: 3, valLoss: 0.9, valAccuracy: 0.7 },
];

/** Whether the PNG has more than one colour: a chart, not a blank page. */
async function notConstant(png: Buffer): Promise<boolean> {
  const stats = await sharp(png).stats();
  return stats.channels.some((c) => c.min !== c.max);
}

it('charts loss, accuracy and learning rate on their own axes, with a legend, a title and the best epoch', async () => {
  const { svg, png } = await viz.trainingCurves(history, { title: 'Fashion-MNIST run' });
  for (const text of ['Fashion-MNIST run', 'Epoch', 'Loss', 'Accuracy', 'Learning rate', 'train', 'validation', 'learning rate']) expect(svg).toContain(text);
  expect(svg).toContain('best epoch (lowest validation loss)');
  expect(svg).toContain('Best epoch 2: lowest validation loss, 0.6');
  // Seconds are wall-clock time, not a curve.
  expect(svg).not.toContain('seconds');
  const width = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
  const height = Number(/height="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  expect([meta.width, meta.height]).toEqual([Math.round(2 * width), Math.round(2 * height)]);
  // Three panels of the default height 150, stacked.
  expect(height).toBeGreaterThan(3 * 150);
  expect(await notConstant(png)).toBe(true);
});

it('marks the monitor the caller names, and charts other numeric keys in their own panel', async () => {
  const withNorm = history.map((log, i) => ({ ...log, gradNorm: 3 - i }));
  const { svg } = await viz.trainingCurves(withNorm, { monitor: 'valAccuracy' });
  expect(svg).toContain('Best epoch 3: highest validation accuracy, 0.7');
  expect(svg).toContain('gradNorm');
  // Without validation the training loss is the default monitor.
  const trainOnly = history.map(({ epoch, loss, accuracy, lr, seconds }) => ({ epoch, loss, accuracy, lr, seconds }));
  const { svg: plain } = await viz.trainingCurves(trainOnly);
  expect(plain).toContain('Best epoch 3: lowest train loss, 0.3');
  expect(plain).not.toContain('validation');
});

it('refuses an empty history, records without an epoch, an unknown monitor and a bad mode', async () => {
  await expect(viz.trainingCurves([])).rejects.toThrow(ArgumentError);
  await expect(viz.trainingCurves([{ loss: 1 }] as unknown as train.EpochLog[])).rejects.toThrow(/history\[0\] to be an object with a numeric epoch/);
  await expect(viz.trainingCurves(history, { monitor: 'valTopk' })).rejects.toThrow(/monitor to be a numeric key of the history, got 'valTopk'/);
  await expect(viz.trainingCurves(history, { mode: 'best' as 'min' })).rejects.toThrow(/mode 'min' or 'max'/);
  await expect(viz.trainingCurves([{ epoch: 1, seconds: 2 }])).rejects.toThrow(/no numeric quantity/);
});
