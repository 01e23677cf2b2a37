// lib/viz/ap_bars.ts: per-class AP bars from MeanAveragePrecision's perClass.
import sharp from 'sharp';
import { expect, it } from 'vitest';

import { ArgumentError, metrics, tensor, viz } from '../../lib/index.js';

it('draws one bar per class with ground truth, values written, absent classes named in the subtitle', async () => {
  const boxes = tensor([[0, 0, 40, 40], [100, 0, 140, 40], [200, 0, 240, 40]], { dtype: 'float32' });
  const result = await metrics.meanAveragePrecision(
    [{ boxes, labels: tensor(Int32Array.of(1, 1, 3)), scores: tensor([0.9, 0.8, 0.7], { dtype: 'float32' }) }],
    [{ boxes: boxes.slice(0, 0, 2), labels: tensor(Int32Array.of(1, 2)) }],
  );
  const names = ['background', 'cat', 'dog', 'owl'];
  const { svg, png } = await viz.apBars(result.perClass, { classNames: names, metric: 'map50', title: 'AP test' });
  const cat = result.perClass.find((c) => c.label === 1)!;
  expect(cat.map50).toBeGreaterThan(0);
  for (const text of ['AP test', 'AP @ IoU 0.50', 'cat', 'dog', 'No ground truth: owl', cat.map50.toFixed(3)]) expect(svg).toContain(text);
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  const { channels } = await sharp(png).stats();
  expect(channels.some((c) => c.max > c.min)).toBe(true);
  // Names from a function, and the default names.
  expect((await viz.apBars(result.perClass, { classNames: (l) => `L${l}` })).svg).toContain('L2');
  expect((await viz.apBars(result.perClass)).svg).toContain('class 1');
});

it('bad input is an ArgumentError naming it', async () => {
  await expect(viz.apBars([])).rejects.toThrow(/apBars: expected perClass to be a non-empty array/);
  await expect(viz.apBars([{ label: 1, map: 2, map50: 0, map75: 0, mar100: 0 }])).rejects.toThrow(/perClass\[0\]/);
  await expect(viz.apBars([{ label: 1, map: -1, map50: -1, map75: -1, mar100: -1 }])).rejects.toThrow(/no class has ground truth/);
  await expect(viz.apBars([{ label: 1, map: 0.5, map50: 0.5, map75: 0.5, mar100: 0.5 }], { metric: 'f1' as 'map' })).rejects.toThrow(ArgumentError);
});
