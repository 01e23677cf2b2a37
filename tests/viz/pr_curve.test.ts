import sharp from 'sharp';
import { expect, it } from 'vitest';

import { ArgumentError, metrics, tensor, viz } from '../../lib/index.js';

it('precisionRecall gives precision and recall after each ranked detection', () => {
  const { recall, precision } = viz.precisionRecall([true, true, false, true], 5);
  expect([...recall]).toEqual([0.2, 0.4, 0.4, 0.6]);
  expect([...precision].map((p) => Number(p.toFixed(4)))).toEqual([1, 1, 0.6667, 0.75]);
  expect([...viz.precisionRecall([], 3).recall]).toEqual([]);
  expect(() => viz.precisionRecall([true, true], 1)).toThrow(/at most numGt \(1\) true flags, got 2/);
  expect(() => viz.precisionRecall([true], -1)).toThrow(ArgumentError);
});

it('prCurve charts one line per series with titled axes, as SVG and PNG', async () => {
  const { svg, png } = await viz.prCurve(
    [
      { name: 'Shirt', ...viz.precisionRecall([true, false, true, true], 4) },
      { name: 'Bag', ...viz.precisionRecall([true, true], 2) },
    ],
    { title: 'PR test', width: 300, height: 200 },
  );
  for (const text of ['Recall', 'Precision', 'PR test', 'Shirt', 'Bag']) expect(svg).toContain(text);
  // Two line marks, one path each.
  expect(svg.match(/<path[^>]*aria-roledescription="line mark"/g) ?? svg.match(/role-mark[^"]*line/g)).toBeTruthy();
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  expect(meta.width).toBeGreaterThan(600);
});

it("prCurve takes MeanAveragePrecision's per-class curves as they come", async () => {
  const boxes = tensor([[0, 0, 40, 40], [100, 0, 140, 40], [200, 0, 240, 40]], { dtype: 'float32' });
  const result = await metrics.meanAveragePrecision(
    [{ boxes, labels: tensor(Int32Array.of(1, 1, 2)), scores: tensor([0.9, 0.8, 0.7], { dtype: 'float32' }) }],
    [{ boxes: boxes.slice(0, 0, 2), labels: tensor(Int32Array.of(1, 2)) }],
  );
  const curves = metrics.precisionRecallCurves(result.eval, { name: (label) => ['background', 'cat', 'dog'][label]! });
  const { svg } = await viz.prCurve(curves, { title: 'COCO PR at IoU 0.5' });
  for (const text of ['cat', 'dog', 'COCO PR at IoU 0.5']) expect(svg).toContain(text);
});

it('prCurve refuses no series, unequal lengths and values out of [0, 1]', async () => {
  await expect(viz.prCurve([])).rejects.toThrow(/non-empty array/);
  await expect(viz.prCurve([{ name: 'a', recall: [0.1, 0.2], precision: [1] }])).rejects.toThrow(/recall and precision of equal length/);
  await expect(viz.prCurve([{ name: 'a', recall: [1.5], precision: [1] }])).rejects.toThrow(/values in \[0, 1\], got recall 1.5/);
});
