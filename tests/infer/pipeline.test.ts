// lib/infer/pipeline.ts: image bytes → preset → batched session → top classes / label map, with
// concurrent requests batched, a bad image failing only its own request, and nothing leaked.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { FormatError, manualSeed, memory, models, nn, noGrad, scope, stack, synchronize, zeros, type Tensor } from '../../lib/index.js';
import {
  batchedDetector,
  classificationPostprocess,
  detectionPostprocess,
  detectionPreset,
  imageClassificationPreset,
  InferenceSession,
  Pipeline,
  segmentationPostprocess,
  semanticSegmentationPreset,
  topClasses,
} from '../../lib/infer/index.js';

/** A flat-colour PNG with a bright square whose place depends on `i`. */
async function image(i: number, width = 24, height = 20): Promise<Buffer> {
  const square = await sharp({ create: { width: 6, height: 6, channels: 3, background: { r: 250, g: 250, b: 250 } } }).png().toBuffer();
  return sharp({ create: { width, height, channels: 3, background: { r: 20 * i, g: 100, b: 255 - 20 * i } } })
    .composite([{ input: square, left: (3 * i) % (width - 6), top: (2 * i) % (height - 6) }])
    .png()
    .toBuffer();
}

describe('Pipeline', () => {
  it('classifies concurrent uploads in batches, equal to the model on the preset tensors, and leaks nothing', async () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(4, 3));
    const batches: number[] = [];
    const session = await InferenceSession.create(model, { example: zeros([1, 3, 16, 16]), maxBatch: 4, maxDelayMs: 20, onBatch: (n) => batches.push(n) });
    const labels = ['a', 'b', 'c'];
    const preprocess = imageClassificationPreset({ resizeSize: 18, cropSize: 16 });
    const classifier = new Pipeline(session, { preprocess, postprocess: classificationPostprocess({ k: 2, labels }) });
    const uploads = await Promise.all(Array.from({ length: 8 }, (_, i) => image(i)));

    const inputs = await Promise.all(uploads.map(async (u) => (await preprocess(u)).tensor));
    const logits = noGrad(() => scope(() => model.call(stack(inputs))));
    const reference = await topClasses(logits, { k: 2, labels });
    for (const t of [...inputs, logits]) t.dispose();
    await synchronize();
    const before = memory('cpu');
    const results = await Promise.allSettled([...uploads.map((u) => classifier.predict(u)), classifier.predict(Buffer.from('not an image'))]);
    expect(results.slice(0, 8).map((r) => (r.status === 'fulfilled' ? r.value.map((c) => c.label) : r.reason))).toEqual(reference.map((r) => r.map((c) => c.label)));
    results.slice(0, 8).forEach((r, i) => {
      if (r.status === 'fulfilled') r.value.forEach((c, j) => expect(c.score).toBeCloseTo(reference[i]![j]!.score, 5));
    });
    expect(results[8]).toMatchObject({ status: 'rejected', reason: expect.any(FormatError) });
    expect(batches.every((n) => n <= 4)).toBe(true);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(8);
    expect(batches.length).toBeLessThan(8); // requests were grouped
    await synchronize();
    // Nothing of the requests stays (earlier garbage the collector frees meanwhile may lower the count).
    expect(memory('cpu').tensors).toBeLessThanOrEqual(before.tensors);
    await session.close();
  });

  it('segments images back to their own size (batched: same shape after the preset), from a model that returns a record', async () => {
    manualSeed(1);
    class SegNet extends nn.Module<[Tensor], Record<string, Tensor>> {
      conv = new nn.Conv2d(3, 3, 3, { padding: 1 });
      forward(x: Tensor): Record<string, Tensor> {
        return { out: this.conv.call(x), aux: this.conv.call(x).mul(2) };
      }
    }
    const session = await InferenceSession.create(new SegNet(), { example: zeros([1, 3, 8, 8]) });
    const segmenter = new Pipeline(session, { preprocess: semanticSegmentationPreset({ resizeSize: 8 }), postprocess: segmentationPostprocess() });
    const [small, large] = await Promise.all([segmenter.predict(await image(1, 16, 16)), segmenter.predict(await image(2, 32, 32))]);
    expect(small.shape).toEqual([16, 16]);
    expect(large.shape).toEqual([32, 32]);
    expect(large.dtype).toBe('int32');
    expect(() => new Pipeline(session, { preprocess: semanticSegmentationPreset() } as never)).toThrow(/preprocess and postprocess/);
    small.dispose();
    large.dispose();
    await session.close();
  });

  it("detects objects in uploads of any size, batched, boxes in each image's own pixels", async () => {
    manualSeed(3);
    const detector = models.detection.fcosLite({ numClasses: 3, width: 8, scoreThreshold: 0 });
    const session = await InferenceSession.create(batchedDetector(detector), { example: zeros([1, 3, 64, 64]), maxBatch: 4, maxDelayMs: 20 });
    const prepare = detectionPreset({ size: [64, 64] });
    const labels = ['background', 'circle', 'square'];
    const pipeline = new Pipeline(session, { preprocess: prepare, postprocess: detectionPostprocess({ scoreThreshold: 0, labels }) });
    const uploads = await Promise.all([image(1, 128, 96), image(2, 64, 64), image(3, 200, 50)]);
    const results = await Promise.all(uploads.map((u) => pipeline.predict(u)));
    // The same detections from the detector on the prepared tensors, boxes scaled back.
    for (const [k, upload] of uploads.entries()) {
      const { tensor, originalSize } = await prepare(upload);
      const [d] = noGrad(() => detector.detect([tensor]));
      const scores = Array.from(d!.scores.dataSync());
      const boxes = Array.from(d!.boxes.dataSync());
      expect(results[k]!.map((o) => o.score)).toEqual(scores.map((s) => expect.closeTo(s, 5)));
      const [sy, sx] = [originalSize[0] / 64, originalSize[1] / 64];
      expect(results[k]![0]!.box).toEqual([boxes[0]! * sx, boxes[1]! * sy, boxes[2]! * sx, boxes[3]! * sy].map((v) => expect.closeTo(v, 3)));
      expect(labels).toContain(results[k]![0]!.name);
    }
    expect(() => detectionPostprocess({ scoreThreshold: 2 })).toThrow(/scoreThreshold must be in \[0, 1\]/);
    expect(() => detectionPreset({ size: [0, 64] })).toThrow(/detectionPreset: size\[0\] must be a positive integer/);
    await session.close();
  });
});
