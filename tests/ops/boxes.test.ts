import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import {
  ArgumentError, batchedNms, batchedNmsAsync, boxArea, boxConvert, boxIou, cat, clipBoxesToImage, completeBoxIou, distanceBoxIou, DTypeError, floor, generalizedBoxIou,
  manualSeed, memory, nms, nmsAsync, noGrad, randint, randn, removeSmallBoxes, removeSmallBoxesAsync, ShapeError, tensor, type Device, type Tensor,
} from '../../lib/index.js';
import { atan } from '../../lib/ops/atan.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

// Written by make_box_fixtures.py from torchvision.ops (seeded random boxes, no tied scores).
const fixture = JSON.parse(readFileSync(new URL('../fixtures/boxes.json', import.meta.url), 'utf8')) as {
  a: number[]; b: number[]; iou: number[]; giou: number[]; diou: number[]; boxes: number[]; scores: number[]; idxs: number[];
  nms: Record<string, number[]>; batched: number[]; cxcywh: number[]; xywh: number[];
  ciou: { out: number[]; w: number[]; gradA: number[]; gradB: number[] };
  ciouDegenerate: { a: number[]; b: number[]; out: Array<number | 'NaN'> };
  nmsFiltered: Array<{ iou: number; scoreThreshold: number; maxDetections: number; nms: number[]; batched: number[] }>;
  clip: { boxes: number[]; out: number[]; w: number[]; grad: number[] };
  small: { boxes: number[]; kept: Record<string, number[]> };
};

const boxesOf = (flat: number[], device: Device) => tensor(Float32Array.from(flat), { device }).reshape(-1, 4);

/** atan(w / h) of each box [K, 4]: the aspect term of complete IoU. */
const aspectAtan = (boxes: Tensor) => {
  const [x1, y1, x2, y2] = [0, 1, 2, 3].map((c) => boxes.slice(1, c, c + 1).squeeze(1)) as [Tensor, Tensor, Tensor, Tensor];
  return atan(x2.sub(x1).div(y2.sub(y1)));
};

/** The slow reference: greedy NMS in float64. */
function referenceNms(boxes: number[][], scores: number[], threshold: number): number[] {
  const area = (b: number[]) => (b[2]! - b[0]!) * (b[3]! - b[1]!);
  const iou = (p: number[], q: number[]) => {
    const w = Math.max(0, Math.min(p[2]!, q[2]!) - Math.max(p[0]!, q[0]!));
    const h = Math.max(0, Math.min(p[3]!, q[3]!) - Math.max(p[1]!, q[1]!));
    return (w * h) / (area(p) + area(q) - w * h);
  };
  const order = scores.map((s, i) => [s, i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]).map(([, i]) => i);
  const kept: number[] = [];
  for (const i of order) if (kept.every((k) => iou(boxes[k]!, boxes[i]!) <= threshold)) kept.push(i);
  return kept;
}

describeDevices('boxes', (device) => {
  it('boxIou, boxArea and boxConvert match torchvision.ops', () => {
    const a = boxesOf(fixture.a, device), b = boxesOf(fixture.b, device);
    expectClose(boxIou(a, b).cpu().dataSync(), fixture.iou, 1e-5);
    expect(boxIou(a, b).shape).toEqual([20, 30]);
    expectClose(generalizedBoxIou(a, b).cpu().dataSync(), fixture.giou, 1e-5);
    expectClose(distanceBoxIou(a, b).cpu().dataSync(), fixture.diou, 1e-5);
    expectClose(boxConvert(a, 'xyxy', 'cxcywh').cpu().dataSync(), fixture.cxcywh, 1e-5);
    expectClose(boxConvert(a, 'xyxy', 'xywh').cpu().dataSync(), fixture.xywh, 1e-5);
    expectClose(boxConvert(boxConvert(a, 'xyxy', 'cxcywh'), 'cxcywh', 'xyxy').cpu().dataSync(), fixture.a, 1e-4);
    expect(boxArea(tensor([[0, 0, 2, 3], [1, 1, 1, 5]], { dtype: 'float32', device })).cpu().tolist()).toEqual([6, 0]);
  });

  it('nms and batchedNms keep what torchvision keeps, in its order', () => {
    const boxes = boxesOf(fixture.boxes, device);
    const scores = tensor(Float32Array.from(fixture.scores), { device });
    for (const [threshold, expected] of Object.entries(fixture.nms)) {
      expect(nms(boxes, scores, Number(threshold)).cpu().tolist()).toEqual(expected);
    }
    const idxs = tensor(Int32Array.from(fixture.idxs), { device });
    expect(batchedNms(boxes, scores, idxs, 0.5).cpu().tolist()).toEqual(fixture.batched);
  });

  it('batchedNms equals nms run per category, merged by score (ties: lower index), over 80 categories', () => {
    manualSeed(5);
    const n = 600;
    const corner = randn([n, 2]).abs().mul(30);
    const boxes = cat([corner, corner.add(randn([n, 2]).abs().mul(20).add(1))], 1).to(device);
    // Scores on a coarse grid, so that ties across and within categories are common.
    const scores = floor(randn([n]).abs().mul(8)).div(8).to(device);
    const ids = randint(0, 80, [n]).to(device);
    const [b, sc, id] = [boxes.cpu().dataSync(), scores.cpu().dataSync(), ids.cpu().dataSync()];
    const kept: number[] = [];
    for (let c = 0; c < 80; ++c) {
      const members = [...id.keys()].filter((i) => id[i] === c);
      if (members.length === 0) continue;
      const mb = tensor(Float32Array.from(members.flatMap((i) => [b[4 * i]!, b[4 * i + 1]!, b[4 * i + 2]!, b[4 * i + 3]!]))).reshape(-1, 4);
      kept.push(...Array.from(nms(mb, tensor(Float32Array.from(members, (i) => sc[i]!)), 0.3).dataSync(), (k) => members[k]!));
    }
    kept.sort((i, j) => sc[j]! - sc[i]! || i - j);
    expect(batchedNms(boxes, scores, ids, 0.3).cpu().tolist()).toEqual(kept);
  });

  it('completeBoxIou matches torchvision.ops.complete_box_iou, gradients included', () => {
    const a = boxesOf(fixture.a, device).requiresGrad_(), b = boxesOf(fixture.b, device).requiresGrad_();
    const ciou = completeBoxIou(a, b);
    expect(ciou.shape).toEqual([20, 30]);
    expectClose(ciou.cpu().dataSync(), fixture.ciou.out, 1e-5);
    ciou.backward(tensor(Float32Array.from(fixture.ciou.w), { device }).reshape(20, 30));
    expectClose(a.grad!.cpu().dataSync(), fixture.ciou.gradA, 1e-4);
    expectClose(b.grad!.cpu().dataSync(), fixture.ciou.gradB, 1e-4);
    // Zero width (aspect atan(0)) and zero height (atan(inf)); two empty boxes give 0 / 0.
    const d = fixture.ciouDegenerate;
    expectClose(completeBoxIou(boxesOf(d.a, device), boxesOf(d.b, device), 1e-6).cpu().dataSync(), d.out.map(Number), 1e-5);
    expect(completeBoxIou(boxesOf(fixture.a, device), boxesOf([], device)).shape).toEqual([20, 0]);
  });

  it('nms, nmsAsync, batchedNms and batchedNmsAsync with scoreThreshold and maxDetections keep what torchvision keeps after filtering', async () => {
    const boxes = boxesOf(fixture.boxes, device);
    const scores = tensor(Float32Array.from(fixture.scores), { device });
    const idxs = tensor(Int32Array.from(fixture.idxs), { device });
    for (const c of fixture.nmsFiltered) {
      const opts = { scoreThreshold: c.scoreThreshold, maxDetections: c.maxDetections };
      expect(nms(boxes, scores, c.iou, opts).cpu().tolist()).toEqual(c.nms);
      expect((await nmsAsync(boxes, scores, c.iou, opts)).cpu().tolist()).toEqual(c.nms);
      expect(batchedNms(boxes, scores, idxs, c.iou, opts).cpu().tolist()).toEqual(c.batched);
      expect((await batchedNmsAsync(boxes, scores, idxs, c.iou, opts)).cpu().tolist()).toEqual(c.batched);
    }
    // Each option alone; maxDetections 0 keeps nothing.
    expect(nms(boxes, scores, 0.5, { maxDetections: 7 }).cpu().tolist()).toEqual(fixture.nms['0.5']!.slice(0, 7));
    expect(nms(boxes, scores, 0.5, { maxDetections: 0 }).shape).toEqual([0]);
    // Low scorers cannot suppress higher ones, so dropping them first or last is the same.
    const byThreshold = nms(boxes, scores, 0.3, { scoreThreshold: 0.75 }).cpu().tolist();
    expect(byThreshold).toEqual(fixture.nms['0.3']!.filter((i) => fixture.scores[i]! >= 0.75));
    // A score of exactly the threshold is kept; a NaN score is dropped with a threshold.
    const two = boxesOf([0, 0, 1, 1, 5, 5, 6, 6], device);
    expect(nms(two, tensor([0.5, 0.25], { dtype: 'float32', device }), 0.5, { scoreThreshold: 0.25 }).cpu().tolist()).toEqual([0, 1]);
    expect(nms(two, tensor([Number.NaN, 0.25], { dtype: 'float32', device }), 0.5, { scoreThreshold: 0 }).cpu().tolist()).toEqual([1]);
    const none = boxesOf([], device);
    expect(nms(none, tensor(new Float32Array(0), { device }), 0.5, { scoreThreshold: 0.1, maxDetections: 3 }).shape).toEqual([0]);
  });

  it('clipBoxesToImage matches torchvision.ops.clip_boxes_to_image, gradients included', () => {
    const boxes = boxesOf(fixture.clip.boxes, device).requiresGrad_();
    const clipped = clipBoxesToImage(boxes, [50, 70]);
    expectClose(clipped.cpu().dataSync(), fixture.clip.out, 1e-6);
    clipped.backward(tensor(Float32Array.from(fixture.clip.w), { device }).reshape(clipped.shape));
    expectClose(boxes.grad!.cpu().dataSync(), fixture.clip.grad, 1e-6);
    // Any leading dims, as torchvision's [..., 4]; on the bounds the value and gradient pass.
    const batch = tensor([[[-1, 0, 70, 51]], [[3, 4, 5, 6]]], { dtype: 'float32', device });
    expect(clipBoxesToImage(batch, [50, 70]).cpu().tolist()).toEqual([[[0, 0, 70, 50]], [[3, 4, 5, 6]]]);
    const onBounds = boxesOf([0, 0, 70, 50], device).requiresGrad_();
    clipBoxesToImage(onBounds, [50, 70]).sum().backward();
    expect(onBounds.grad!.cpu().tolist()).toEqual([[1, 1, 1, 1]]);
    expect(clipBoxesToImage(boxesOf([], device), [5, 5]).shape).toEqual([0, 4]);
  });

  it('removeSmallBoxes and removeSmallBoxesAsync keep the indices torchvision.ops.remove_small_boxes keeps, as int32', async () => {
    const boxes = boxesOf(fixture.small.boxes, device);
    for (const [minSize, expected] of Object.entries(fixture.small.kept)) {
      const kept = removeSmallBoxes(boxes, Number(minSize));
      expect(kept.dtype).toBe('int32');
      expect(kept.device).toBe(boxes.device);
      expect(kept.cpu().tolist()).toEqual(expected);
      expect((await removeSmallBoxesAsync(boxes, Number(minSize))).cpu().tolist()).toEqual(expected);
    }
    expect(removeSmallBoxes(boxesOf([], device), 1).shape).toEqual([0]);
  });

  it('nmsAsync and batchedNmsAsync give the same indices without blocking; validation is the same', async () => {
    const boxes = boxesOf(fixture.boxes, device);
    const scores = tensor(Float32Array.from(fixture.scores), { device });
    for (const [threshold, expected] of Object.entries(fixture.nms)) {
      expect((await nmsAsync(boxes, scores, Number(threshold))).cpu().tolist()).toEqual(expected);
    }
    const idxs = tensor(Int32Array.from(fixture.idxs), { device });
    expect((await batchedNmsAsync(boxes, scores, idxs, 0.5)).cpu().tolist()).toEqual(fixture.batched);
    const none = tensor(new Float32Array(0), { device }).reshape(0, 4);
    expect((await nmsAsync(none, tensor(new Float32Array(0), { device }), 0.5)).shape).toEqual([0]);
    await expect(nmsAsync(boxes, scores.slice(0, 0, 2), 0.5)).rejects.toThrow(/nmsAsync: expected scores of shape/);
    await expect(batchedNmsAsync(boxes, scores, idxs.to('float32'), 0.5)).rejects.toThrow(DTypeError);
  });

  it('nms decides boxes just above and just below the threshold like the reference, beyond 64 boxes', () => {
    // Pairs (i, i + 1) overlap with IoU 0.5 +- 0.01, far apart from the other pairs: 80 boxes
    // span two of the CUDA kernel's 64-box blocks.
    const list: number[][] = [];
    const scores: number[] = [];
    for (let p = 0; p < 40; ++p) {
      const x = p * 100;
      const iou = p % 2 ? 0.51 : 0.49; // second box [x + s, 0, x + 10 + s, 10] with IoU (10 - s) / (10 + s)
      const s = (10 * (1 - iou)) / (1 + iou);
      list.push([x, 0, x + 10, 10], [x + s, 0, x + 10 + s, 10]);
      scores.push(1 - p / 100, 0.5 - p / 100);
    }
    const kept = nms(tensor(Float32Array.from(list.flat()), { device }).reshape(-1, 4), tensor(Float32Array.from(scores), { device }), 0.5);
    const expected = referenceNms(list, scores, 0.5);
    expect(kept.cpu().tolist()).toEqual(expected);
    expect(expected).toHaveLength(60); // 40 first boxes + the 20 second boxes below the threshold
  });

  it('empty inputs give empty results; bad shapes and dtypes are refused', () => {
    const none = tensor(new Float32Array(0), { device }).reshape(0, 4);
    expect(nms(none, tensor(new Float32Array(0), { device }), 0.5).shape).toEqual([0]);
    expect(boxIou(none, boxesOf(fixture.a, device)).shape).toEqual([0, 20]);
    const two = tensor([[0, 0, 1, 1], [0, 0, 2, 2]], { dtype: 'float32', device });
    expect(() => nms(two.reshape(8), tensor([1, 2], { dtype: 'float32', device }), 0.5)).toThrow(ShapeError);
    expect(() => nms(two, tensor([1, 2, 3], { dtype: 'float32', device }), 0.5)).toThrow(/scores of shape \[2\]/);
    expect(() => nms(two.to('int32'), tensor([1, 2], { dtype: 'float32', device }), 0.5)).toThrow(DTypeError);
    expect(() => boxIou(two, tensor([[1, 2, 3]], { dtype: 'float32', device }))).toThrow(/boxes2 of shape \[K, 4\]/);
    expect(() => boxConvert(two, 'xyxy', 'polar' as never)).toThrow(/outFmt/);
    expect(() => boxArea(two.reshape(1, 8))).toThrow(/boxes of shape \[K, 4\]/);
    expect(() => generalizedBoxIou(two, two.reshape(4, 2))).toThrow(ShapeError);
    expect(() => distanceBoxIou(two.to('int32'), two)).toThrow(DTypeError);
    const scores2 = tensor([1, 2], { dtype: 'float32', device });
    expect(() => batchedNms(two, scores2, tensor([0, 1], { dtype: 'float32', device }), 0.5)).toThrow(DTypeError);
    expect(() => batchedNms(two, scores2, tensor([0, 1, 2], { device }), 0.5)).toThrow(/idxs of shape \[2\]/);
    expect(() => nms(two, scores2, Number.NaN)).toThrow(/iouThreshold/);
  });

  it('the new box ops refuse bad arguments, naming themselves and the argument', async () => {
    const two = tensor([[0, 0, 1, 1], [0, 0, 2, 2]], { dtype: 'float32', device });
    const scores2 = tensor([1, 2], { dtype: 'float32', device });
    const ids = tensor([0, 1], { device });
    expect(() => nms(two, scores2, 0.5, { scoreThreshold: Number.NaN })).toThrow(/nms: expected scoreThreshold to be a number, got NaN/);
    expect(() => nms(two, scores2, 0.5, { maxDetections: 1.5 })).toThrow(/nms: expected maxDetections to be an integer >= 0, got 1.5/);
    expect(() => nms(two, scores2, 0.5, { maxDetections: -1 })).toThrow(ArgumentError);
    expect(() => batchedNms(two, scores2, ids, 0.5, { maxDetections: -1 })).toThrow(/batchedNms: expected maxDetections/);
    await expect(nmsAsync(two, scores2, 0.5, { scoreThreshold: '0.5' as never })).rejects.toThrow(/nmsAsync: expected scoreThreshold/);
    await expect(batchedNmsAsync(two, scores2, ids, 0.5, { maxDetections: Infinity })).rejects.toThrow(/batchedNmsAsync: expected maxDetections/);
    expect(() => completeBoxIou(two, two.reshape(1, 8))).toThrow(/completeBoxIou: expected boxes2 of shape \[K, 4\], got \[1, 8\]/);
    expect(() => completeBoxIou(two.to('int32'), two)).toThrow(DTypeError);
    expect(() => completeBoxIou(two, two, Number.NaN)).toThrow(/completeBoxIou: expected eps to be a finite number, got NaN/);
    expect(() => distanceBoxIou(two, two, Number.POSITIVE_INFINITY)).toThrow(/distanceBoxIou: expected eps/);
    expect(() => clipBoxesToImage(two.reshape(8), [5, 5])).toThrow(/clipBoxesToImage: expected boxes of shape \[\.\.\., 4\], got \[8\]/);
    expect(() => clipBoxesToImage(two.to('int32'), [5, 5])).toThrow(DTypeError);
    expect(() => clipBoxesToImage(two, [5] as never)).toThrow(/clipBoxesToImage: expected size to be \[height, width\]/);
    expect(() => clipBoxesToImage(two, [5, -1])).toThrow(ArgumentError);
    expect(() => removeSmallBoxes(two.reshape(4, 2), 1)).toThrow(/removeSmallBoxes: expected boxes of shape \[K, 4\]/);
    expect(() => removeSmallBoxes(two, Number.NaN)).toThrow(/removeSmallBoxes: expected minSize to be a number, got NaN/);
    await expect(removeSmallBoxesAsync(two.to('int32'), 1)).rejects.toThrow(DTypeError);
  });
});

it('generalized, distance and complete IoU and clipBoxesToImage are differentiable (finite differences)', () => {
  const a = tensor([[0.5, 1.0, 3.2, 4.1], [2.0, 0.3, 5.5, 2.9]], { dtype: 'float32' });
  const b = tensor([[1.1, 0.2, 4.0, 3.3], [6.0, 5.0, 7.5, 8.0], [0.0, 0.0, 2.5, 2.0]], { dtype: 'float32' });
  gradcheck((p, q) => generalizedBoxIou(p, q), [a, b]);
  gradcheck((p, q) => distanceBoxIou(p, q), [a, b]);
  // complete IoU's alpha is a constant of the gradient (no_grad in torchvision): finite
  // differences of DIoU - alpha v with alpha frozen at the unperturbed boxes, whose analytic
  // gradient must be completeBoxIou's (the torchvision fixture test checks that one too).
  const v = (p: Tensor, q: Tensor) => aspectAtan(p).unsqueeze(1).sub(aspectAtan(q).unsqueeze(0)).square().mul(4 / Math.PI ** 2);
  const alpha = noGrad(() => v(a, b).div(boxIou(a, b).neg().add(1).add(v(a, b)).add(1e-7)));
  gradcheck((p, q) => distanceBoxIou(p, q).sub(alpha.mul(v(p, q))), [a, b]);
  const [p, q] = [a.detach().requiresGrad_(), b.detach().requiresGrad_()];
  const [r, t] = [a.detach().requiresGrad_(), b.detach().requiresGrad_()];
  const weights = randn([2, 3]);
  completeBoxIou(p, q).mul(weights).sum().backward();
  distanceBoxIou(r, t).sub(alpha.mul(v(r, t))).mul(weights).sum().backward();
  expectClose(p.grad!.dataSync(), r.grad!.dataSync(), 1e-5);
  expectClose(q.grad!.dataSync(), t.grad!.dataSync(), 1e-5);
  gradcheck((p) => clipBoxesToImage(p, [3, 5]), [tensor([[-1.0, 0.4, 2.2, 3.5], [4.1, -0.3, 5.6, 2.0]], { dtype: 'float32' })]);
});

it('the composed box ops leave no temporaries behind (freed at once, not at garbage collection)', () => {
  const a = boxesOf(fixture.a, 'cpu'), b = boxesOf(fixture.b, 'cpu');
  const calls: Array<() => Tensor> = [
    () => generalizedBoxIou(a, b), () => distanceBoxIou(a, b), () => completeBoxIou(a, b), () => clipBoxesToImage(a, [30, 40]), () => removeSmallBoxes(a, 20),
  ];
  for (const call of calls) {
    const before = memory('cpu').tensors;
    noGrad(call).dispose();
    expect(memory('cpu').tensors).toBe(before);
  }
});

describeDevices('boxIou over many rows (parallel rows, vectorised inner loop)', (device) => {
  it('boxIou [300, 4] x [257, 4] equals a float32 reference, degenerate boxes included', () => {
    manualSeed(97);
    // Half-integer coordinates on a small grid: many exact overlaps, touching edges and
    // zero-area boxes (the empty pair has IoU 0).
    const make = (n: number) => {
      const v = Array.from(randn([n, 4]).dataSync(), (r) => Math.abs(Math.round(r * 3) / 2));
      const out = new Float32Array(n * 4);
      for (let i = 0; i < n; ++i) {
        const [x, y, w, h] = [v[i * 4]!, v[i * 4 + 1]!, i % 7 === 0 ? 0 : v[i * 4 + 2]!, v[i * 4 + 3]!];
        out.set([x, y, x + w, y + h], i * 4);
      }
      return out;
    };
    const a = make(300), b = make(257);
    const f = Math.fround;
    const expected = new Float32Array(300 * 257);
    for (let i = 0; i < 300; ++i) {
      for (let j = 0; j < 257; ++j) {
        const p = a.subarray(i * 4, i * 4 + 4), q = b.subarray(j * 4, j * 4 + 4);
        const w = Math.max(f(Math.min(p[2]!, q[2]!) - Math.max(p[0]!, q[0]!)), 0);
        const h = Math.max(f(Math.min(p[3]!, q[3]!) - Math.max(p[1]!, q[1]!)), 0);
        const inter = f(w * h);
        const union = f(f(f(f(p[2]! - p[0]!) * f(p[3]! - p[1]!)) + f(f(q[2]! - q[0]!) * f(q[3]! - q[1]!))) - inter);
        expected[i * 257 + j] = union > 0 ? f(inter / union) : 0;
      }
    }
    const iou = boxIou(tensor(a, { device }).reshape(300, 4), tensor(b, { device }).reshape(257, 4));
    expect(iou.shape).toEqual([300, 257]);
    expectClose(iou.cpu().dataSync(), expected, 1e-6);
  });
});
