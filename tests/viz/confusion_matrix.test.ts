import sharp from 'sharp';
import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, IndexError, ShapeError, tensor, viz } from '../../lib/index.js';

// 6 samples of 3 classes. By hand, rows true, columns predicted:
//   cat:  cat, cat, dog   -> [2, 1, 0]
//   dog:  dog, bird       -> [0, 1, 1]
//   bird: bird            -> [0, 0, 1]
const targets = [0, 0, 0, 1, 1, 2];
const predictions = [0, 0, 1, 1, 2, 2];
const classNames = ['cat', 'dog', 'bird'];

it('counts each (true, predicted) pair and writes class names, axis titles and counts into the chart', async () => {
  const { svg, png, matrix } = await viz.confusionMatrix(predictions, targets, { classNames, title: 'Pets' });
  expect(matrix).toEqual([[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  for (const text of ['Pets', 'cat', 'dog', 'bird', 'True label', 'Predicted label', 'count']) expect(svg).toContain(text);
  // One text per cell, its count.
  const cellTexts = [.../text mark container[\s\S]*?<\/g>/.exec(svg)![0].matchAll(/>(\d+)<\/text>/g)].map((m) => Number(m[1]));
  expect(cellTexts).toEqual([2, 1, 0, 0, 1, 1, 0, 0, 1]);
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  expect((await sharp(png).stats()).channels.some((c) => c.min !== c.max)).toBe(true);
});

it('takes int32 and uint8 tensors, and infers the classes from the largest label', async () => {
  const { matrix, svg } = await viz.confusionMatrix(tensor(Int32Array.from(predictions)), tensor(Uint8Array.from(targets)));
  expect(matrix).toEqual([[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  expect(svg).toContain('>0<');
  const wider = await viz.confusionMatrix(predictions, targets, { numClasses: 4 });
  expect(wider.matrix).toHaveLength(4);
  expect(wider.matrix[3]).toEqual([0, 0, 0, 0]);
});

it("normalises as sklearn: rows ('true'), columns ('pred') or everything ('all'); empty rows stay 0", async () => {
  const byTrue = (await viz.confusionMatrix(predictions, targets, { classNames, normalize: 'true' })).matrix;
  for (const row of byTrue) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  expect(byTrue[0]).toEqual([2 / 3, 1 / 3, 0]);
  const byPred = (await viz.confusionMatrix(predictions, targets, { numClasses: 4, normalize: 'pred' })).matrix;
  expect(byPred.map((row) => row[2])).toEqual([0, 0.5, 0.5, 0]);
  expect(byPred.map((row) => row[3])).toEqual([0, 0, 0, 0]);
  const all = await viz.confusionMatrix(predictions, targets, { normalize: 'all' });
  expect(all.matrix.flat().reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  expect(all.svg).toContain('0.33');
  expect(all.svg).toContain('fraction of all');
});

it('refuses bad labels with typed errors naming the argument', async () => {
  await expect(viz.confusionMatrix([0, 1], [0])).rejects.toThrow(ShapeError);
  await expect(viz.confusionMatrix([0, 1], [0])).rejects.toThrow(/predictions and targets of equal length, got 2 and 1/);
  await expect(viz.confusionMatrix([], [])).rejects.toThrow(/at least one sample/);
  await expect(viz.confusionMatrix([0, 3], [0, 1], { classNames })).rejects.toThrow(IndexError);
  await expect(viz.confusionMatrix([0, 3], [0, 1], { classNames })).rejects.toThrow(/expected predictions in \[0, 3\) \(the 3 classNames\), got 3/);
  await expect(viz.confusionMatrix([0, 1], [0, -1])).rejects.toThrow(/expected targets in \[0, 2\) \(labels >= 0\), got -1/);
  await expect(viz.confusionMatrix([0, 2], [0, 1], { numClasses: 2 })).rejects.toThrow(/predictions in \[0, 2\) \(numClasses 2\), got 2/);
  await expect(viz.confusionMatrix([0, 1.5], [0, 1])).rejects.toThrow(/predictions to hold integer labels, got 1.5 \(number\) at 1/);
  await expect(viz.confusionMatrix(tensor([0, 1], { dtype: 'float32' }), [0, 1])).rejects.toThrow(DTypeError);
  await expect(viz.confusionMatrix([0], [0], { classNames: ['a', 'a'] })).rejects.toThrow(/distinct/);
  await expect(viz.confusionMatrix([0], [0], { classNames, numClasses: 2 })).rejects.toThrow(/numClasses to equal the 3 classNames, got 2/);
  await expect(viz.confusionMatrix([0], [0], { normalize: 'rows' as 'true' })).rejects.toThrow(ArgumentError);
  await expect(viz.confusionMatrix('0' as unknown as number[], [0])).rejects.toThrow(/predictions to be a Tensor or an array of integer labels/);
});
