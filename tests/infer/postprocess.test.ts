// lib/infer/postprocess.ts: top classes by softmax with labels, and a segmentation's label map
// (or one-channel mask) resized back to the image's original size.
import { describe, expect, it } from 'vitest';

import { ArgumentError, randn, ShapeError, tensor, vision } from '../../lib/index.js';
import { classificationPostprocess, segmentationPostprocess, topClasses } from '../../lib/infer/index.js';

const softmaxRow = (row: number[]) => {
  const max = Math.max(...row);
  const exp = row.map((v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / sum);
};

describe('topClasses', () => {
  it('gives the k best classes of each row, best first, with softmax probabilities and labels', async () => {
    const rows = [
      [0.1, 2.0, -1.0, 0.5],
      [3.0, 0.0, 1.0, 2.5],
    ];
    const labels = ['cat', 'dog', 'owl', 'fox'];
    const top = await topClasses(tensor(rows), { k: 2, labels });
    const p0 = softmaxRow(rows[0]!);
    const p1 = softmaxRow(rows[1]!);
    expect(top.map((r) => r.map((c) => c.label))).toEqual([
      ['dog', 'fox'],
      ['cat', 'fox'],
    ]);
    expect(top[0]![0]!.index).toBe(1);
    expect(top[0]![0]!.score).toBeCloseTo(p0[1]!, 6);
    expect(top[1]![1]!.score).toBeCloseTo(p1[3]!, 6);
    // One row [C]; k larger than C gives every class; raw scores without softmax.
    const all = await topClasses(tensor([0.5, -2, 7]), { k: 10, softmax: false });
    expect(all).toEqual([[{ index: 2, score: 7 }, { index: 0, score: 0.5 }, { index: 1, score: -2 }]]);
    expect(await classificationPostprocess({ k: 1, labels })(tensor(rows[1]!))).toEqual([{ index: 0, score: expect.closeTo(p1[0]!, 6), label: 'cat' }]);
  });

  it('bad logits, k or labels are typed errors', async () => {
    await expect(topClasses(randn([2, 3, 4]))).rejects.toThrow(ShapeError);
    await expect(topClasses(randn([2, 3]), { k: 0 })).rejects.toThrow(/k must be a positive integer, got 0/);
    await expect(topClasses(randn([2, 3]), { labels: ['a', 'b'] })).rejects.toThrow(ArgumentError);
  });
});

describe('segmentationPostprocess', () => {
  it("resizes one sample's scores to the original size, then takes the argmax (or the one-channel mask)", async () => {
    const scores = randn([3, 4, 5]);
    const prepared = { tensor: randn([3, 4, 5]), originalSize: [8, 10] as [number, number] };
    const labels = segmentationPostprocess()({ out: scores, aux: randn([3, 4, 5]) }, prepared);
    expect(labels.shape).toEqual([8, 10]);
    expect(labels.dtype).toBe('int32');
    const expected = vision.labelMap(scores.unsqueeze(0), { size: [8, 10] });
    expect(Array.from(await labels.data())).toEqual(Array.from(await expected.data()));
    const logits = randn([1, 4, 5]);
    const mask = segmentationPostprocess({ threshold: 0.7 })(logits, prepared);
    const expectedMask = vision.thresholdMask(logits.unsqueeze(0), { size: [8, 10], logits: true, threshold: 0.7 });
    expect(Array.from(await mask.data())).toEqual(Array.from(await expectedMask.data()).map(Number));
    expect(() => segmentationPostprocess({ output: 'logits' })({ out: scores }, prepared)).toThrow(/has no tensor 'logits'/);
    expect(() => segmentationPostprocess()(randn([1, 3, 4, 5]), prepared)).toThrow(ShapeError);
  });
});
