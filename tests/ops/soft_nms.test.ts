import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, manualSeed, rand, ShapeError, softNms, softNmsAsync, tensor, type SoftNmsOptions } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

/** Soft-NMS as the paper's Algorithm 1 states it, in float64 (the reference the kernel is held to). */
function reference(boxes: Float64Array, scores: Float64Array, opts: Required<SoftNmsOptions>): { indices: number[]; scores: number[] } {
  const area = (i: number) => (boxes[i * 4 + 2]! - boxes[i * 4]!) * (boxes[i * 4 + 3]! - boxes[i * 4 + 1]!);
  const iou = (i: number, j: number) => {
    const w = Math.max(0, Math.min(boxes[i * 4 + 2]!, boxes[j * 4 + 2]!) - Math.max(boxes[i * 4]!, boxes[j * 4]!));
    const h = Math.max(0, Math.min(boxes[i * 4 + 3]!, boxes[j * 4 + 3]!) - Math.max(boxes[i * 4 + 1]!, boxes[j * 4 + 1]!));
    const union = area(i) + area(j) - w * h;
    return union > 0 ? (w * h) / union : 0;
  };
  const s = Array.from(scores);
  let remaining = s.map((_, i) => i).filter((i) => s[i]! >= opts.scoreThreshold);
  const result = { indices: [] as number[], scores: [] as number[] };
  while (remaining.length > 0) {
    const m = remaining.reduce((best, i) => (s[i]! > s[best]! ? i : best));
    result.indices.push(m);
    result.scores.push(s[m]!);
    remaining = remaining.filter((i) => i !== m);
    for (const i of remaining) {
      const o = iou(m, i);
      s[i]! *= opts.method === 'linear' ? (o > opts.iouThreshold ? 1 - o : 1) : Math.exp(-(o * o) / opts.sigma);
    }
    remaining = remaining.filter((i) => s[i]! >= opts.scoreThreshold);
  }
  return result;
}

/** Clustered random boxes (many overlaps) with distinct scores. */
function scene(n: number, device: 'cpu' | 'cuda' | `cuda:${number}`) {
  manualSeed(11);
  const xy = rand([n, 2]).mul(60).dataSync(), wh = rand([n, 2]).mul(30).add(2).dataSync(), sc = rand([n]).dataSync();
  const boxes = new Float32Array(n * 4);
  for (let i = 0; i < n; ++i) boxes.set([xy[2 * i]!, xy[2 * i + 1]!, xy[2 * i]! + wh[2 * i]!, xy[2 * i + 1]! + wh[2 * i + 1]!], i * 4);
  return { boxes: tensor(boxes, { device }).reshape(n, 4), scores: tensor(sc, { device }), b64: Float64Array.from(boxes), s64: Float64Array.from(sc) };
}

describeDevices('softNms', (device) => {
  const cases: Array<Required<SoftNmsOptions>> = [
    { method: 'gaussian', sigma: 0.5, iouThreshold: 0.3, scoreThreshold: 0.001 },
    { method: 'gaussian', sigma: 0.1, iouThreshold: 0.3, scoreThreshold: 0.05 },
    { method: 'linear', sigma: 0.5, iouThreshold: 0.3, scoreThreshold: 0.001 },
    { method: 'linear', sigma: 0.5, iouThreshold: 0.6, scoreThreshold: 0.2 },
  ];
  for (const opts of cases) {
    it(`matches a float64 reference of the paper's algorithm (${opts.method}, sigma ${opts.sigma}, iou ${opts.iouThreshold}, score >= ${opts.scoreThreshold})`, async () => {
      const { boxes, scores, b64, s64 } = scene(300, device);
      const expected = reference(b64, s64, opts);
      const got = softNms(boxes, scores, opts);
      expect(got.indices.dtype).toBe('int32');
      expect(Array.from(got.indices.cpu().dataSync())).toEqual(expected.indices);
      expectClose(got.scores.cpu().dataSync(), expected.scores, 1e-5);
      const viaAsync = await softNmsAsync(boxes, scores, opts);
      expect(Array.from(await viaAsync.indices.cpu().data())).toEqual(expected.indices);
    });
  }

  it('keeps a second, overlapping object that hard NMS would drop, with a lower score', () => {
    const boxes = tensor([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], { dtype: 'float32', device });
    const scores = tensor([0.9, 0.8, 0.7], { dtype: 'float32', device });
    const { indices, scores: decayed } = softNms(boxes, scores, { method: 'gaussian', sigma: 0.5 });
    const iou = 90 / 110;
    expect(Array.from(indices.cpu().dataSync())).toEqual([0, 2, 1]);
    expectClose(decayed.cpu().dataSync(), [0.9, 0.7, 0.8 * Math.exp(-(iou * iou) / 0.5)], 1e-6);
    // Linear below its threshold leaves the score as it is; ties go to the lower index.
    const tied = softNms(boxes, tensor([0.5, 0.5, 0.5], { dtype: 'float32', device }), { method: 'linear', iouThreshold: 0.9 });
    expect(Array.from(tied.indices.cpu().dataSync())).toEqual([0, 1, 2]);
  });

  it('handles no boxes, NaN scores and everything below the threshold', () => {
    const none = softNms(tensor(new Float32Array(0), { device }).reshape(0, 4), tensor(new Float32Array(0), { device }));
    expect(none.indices.shape).toEqual([0]);
    const boxes = tensor([[0, 0, 1, 1], [5, 5, 6, 6]], { dtype: 'float32', device });
    expect(Array.from(softNms(boxes, tensor([Number.NaN, 0.5], { dtype: 'float32', device })).indices.cpu().dataSync())).toEqual([1]);
    expect(softNms(boxes, tensor([0.1, 0.2], { dtype: 'float32', device }), { scoreThreshold: 0.5 }).indices.shape).toEqual([0]);
  });

  it('refuses bad arguments with typed errors', () => {
    const boxes = tensor([[0, 0, 1, 1]], { dtype: 'float32', device });
    const scores = tensor([0.5], { dtype: 'float32', device });
    expect(() => softNms(boxes.reshape(2, 2), scores)).toThrow(ShapeError);
    expect(() => softNms(boxes, tensor([0.5, 0.4], { dtype: 'float32', device }))).toThrow(/softNms: expected scores of shape \[1\]/);
    expect(() => softNms(boxes, tensor([1], { dtype: 'int32', device }))).toThrow(DTypeError);
    expect(() => softNms(boxes, scores, { method: 'hard' as 'linear' })).toThrow(ArgumentError);
    expect(() => softNms(boxes, scores, { sigma: 0 })).toThrow(/softNms: expected sigma > 0/);
    expect(() => softNms(boxes, scores, { scoreThreshold: Number.NaN })).toThrow(/scoreThreshold to be a number/);
  });
});
