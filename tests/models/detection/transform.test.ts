import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, manualSeed, models, rand, ShapeError, tensor, zeros, type Tensor } from '../../../lib/index.js';
import { expectClose } from '../../helpers/devices.js';
import { readFixture } from '../../helpers/fixture_cases.js';

const { GeneralizedRCNNTransform } = models.detection;
/** A fixture record: a target or detection with whichever entries torchvision's had. */
type DetectionRecord = models.detection.DetectionTarget & Record<string, Tensor>;

// tests/fixtures/make_detection_transform_fixtures.py: torchvision 0.14's
// GeneralizedRCNNTransform in eval mode on images of different sizes.
interface Stored {
  shape: number[];
  values: number[];
}
interface TransformCase {
  name: string;
  minSize: number;
  maxSize: number;
  sizeDivisible: number;
  fixedSize: [number, number] | null;
  images: Stored[];
  targets: Record<string, Stored>[];
  batch: Stored;
  imageSizes: [number, number][];
  resizedTargets: Record<string, Stored>[];
  detections: Record<string, Stored>[];
  postprocessed: Record<string, Stored>[];
}
const fixture = readFixture<{ mean: number[]; std: number[]; cases: TransformCase[] }>('detection_transform.json');

/** A stored tensor as neocog's: labels as int32 (torch's int64), masks as uint8, the rest float32. */
const load = (name: string, s: Stored): Tensor => {
  const dtype = name === 'labels' ? 'int32' : name === 'masks' ? 'uint8' : 'float32';
  return tensor(s.values, { dtype }).reshape(s.shape);
};
const loadRecord = (record: Record<string, Stored>): DetectionRecord => {
  const entries = Object.fromEntries(Object.entries(record).map(([k, v]) => [k, load(k, v)]));
  return { ...entries, boxes: entries.boxes!, labels: entries.labels! };
};

describe('GeneralizedRCNNTransform against torchvision', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: sizes, padded batch, resized targets and postprocessed detections`, () => {
      const transform = new GeneralizedRCNNTransform(c.minSize, c.maxSize, fixture.mean, fixture.std, {
        sizeDivisible: c.sizeDivisible,
        ...(c.fixedSize ? { fixedSize: c.fixedSize } : {}),
      }).eval();
      const images = c.images.map((s) => load('image', s));
      const targets = c.targets.map(loadRecord);
      const [imageList, resized] = transform.call(images, targets);
      expect(imageList.imageSizes).toEqual(c.imageSizes);
      expect(imageList.tensors.shape).toEqual(c.batch.shape);
      expectClose(imageList.tensors.dataSync(), c.batch.values, 1e-4);
      expect(resized).toHaveLength(c.resizedTargets.length);
      c.resizedTargets.forEach((expected, i) => {
        const got = resized![i]! as DetectionRecord;
        expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
        for (const [key, value] of Object.entries(expected)) {
          const t = got[key]!;
          expect(t.shape, key).toEqual(value.shape);
          if (key === 'masks' || key === 'labels') expect(Array.from(t.dataSync()), key).toEqual(value.values);
          else expectClose(t.dataSync(), value.values, 1e-5);
        }
        // Entries the transform does not resize are passed through; the given record is left alone.
        expect(got.labels).toBe(targets[i]!.labels);
        expect(got).not.toBe(targets[i]);
        expect(targets[i]!.boxes.shape).toEqual(c.targets[i]!.boxes!.shape);
        expectClose(targets[i]!.boxes.dataSync(), c.targets[i]!.boxes!.values, 1e-6);
      });

      const detections = c.detections.map(loadRecord);
      const originalSizes = c.images.map((s): [number, number] => [s.shape[1]!, s.shape[2]!]);
      const posted = transform.postprocess(detections, imageList.imageSizes, originalSizes);
      c.postprocessed.forEach((expected, i) => {
        expectClose(posted[i]!.boxes.dataSync(), expected.boxes!.values, 1e-5);
        expectClose(posted[i]!.keypoints!.dataSync(), expected.keypoints!.values, 1e-5);
        expect(posted[i]!.scores).toBe(detections[i]!.scores);
      });
    });
  }
});

describe('GeneralizedRCNNTransform', () => {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];

  it('in training draws minSize from the list per image, and postprocess returns detections unchanged', () => {
    manualSeed(1);
    const transform = new GeneralizedRCNNTransform([16, 24, 32], 1000, mean, std, { sizeDivisible: 8 });
    expect(transform.training).toBe(true);
    const seen = new Set<number>();
    for (let i = 0; i < 12; ++i) {
      const [list] = transform.call([rand([3, 10, 20])]);
      seen.add(list.imageSizes[0]![0]);
      expect(list.tensors.shape[2]! % 8).toBe(0);
    }
    expect([...seen].every((s) => [16, 24, 32].includes(s))).toBe(true);
    expect(seen.size).toBeGreaterThan(1);

    const detections = [{ boxes: tensor([[1, 2, 3, 4]], { dtype: 'float32' }) }];
    expect(transform.postprocess(detections, [[16, 32]], [[10, 20]])[0]).toBe(detections[0]);
    transform.eval();
    const [list] = transform.call([rand([3, 10, 20])]);
    expect(list.imageSizes).toEqual([[32, 64]]);
    expect(transform.toString()).toBe("GeneralizedRCNNTransform(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], minSize=[16, 24, 32], maxSize=1000, mode='bilinear', sizeDivisible=8)");
  });

  it('postprocess pastes masks at the boxes scaled to the original size (torchvision\'s paste_masks_in_image)', () => {
    const transform = new GeneralizedRCNNTransform(8, 100, mean, std).eval();
    const masks = rand([2, 1, 28, 28]);
    const boxes = tensor([[1, 2, 10, 12], [0, 0, 15.5, 7]], { dtype: 'float32' });
    const [posted] = transform.postprocess([{ boxes, masks }], [[16, 16]], [[24, 40]]);
    expectClose(posted!.boxes.dataSync(), [2.5, 3, 25, 18, 0, 0, 38.75, 10.5], 1e-6);
    expect(posted!.masks!.shape).toEqual([2, 1, 24, 40]);
    expectClose(posted!.masks!.dataSync(), models.detection.pasteMasksInImage(masks, posted!.boxes, [24, 40]).dataSync(), 1e-7);
  });

  it('passes gradients back to the images, zero in the padding', () => {
    const transform = new GeneralizedRCNNTransform(8, 100, [0], [0.5]).eval();
    const image = rand([1, 4, 4]).requiresGrad_();
    const [list, targets] = transform.call([image]);
    expect(targets).toBeUndefined();
    expect(list.tensors.shape).toEqual([1, 1, 32, 32]);
    list.tensors.sum().backward();
    // Bilinear weights of each of the 8x8 resized pixels sum to 1, each divided by std;
    // the padding reaches no input pixel.
    expect(image.grad!.sum().item()).toBeCloseTo((8 * 8) / 0.5, 3);
  });

  it('refuses bad arguments with typed errors naming the argument', () => {
    expect(() => new GeneralizedRCNNTransform(0, 100, mean, std)).toThrow(/GeneralizedRCNNTransform: expected minSize to be a positive number/);
    expect(() => new GeneralizedRCNNTransform([], 100, mean, std)).toThrow(ArgumentError);
    expect(() => new GeneralizedRCNNTransform(8, -1, mean, std)).toThrow(/expected maxSize to be a positive number, got -1/);
    expect(() => new GeneralizedRCNNTransform(8, 100, mean, [1, 0, 1])).toThrow(/expected imageStd to be a non-empty list of positive numbers/);
    expect(() => new GeneralizedRCNNTransform(8, 100, mean, [1, 1])).toThrow(/expected imageMean and imageStd of the same length, got 3 and 2/);
    expect(() => new GeneralizedRCNNTransform(8, 100, mean, std, { sizeDivisible: 0 })).toThrow(/expected sizeDivisible to be an integer >= 1/);
    // @ts-expect-error: [width, height]
    expect(() => new GeneralizedRCNNTransform(8, 100, mean, std, { fixedSize: [8] })).toThrow(/expected fixedSize to be \[width, height\]/);

    const transform = new GeneralizedRCNNTransform(8, 100, mean, std).eval();
    expect(() => transform.call([])).toThrow(/expected images to be a non-empty list of \[C, H, W\] tensors/);
    expect(() => transform.call([rand([1, 3, 8, 8])])).toThrow(ShapeError);
    expect(() => transform.call([rand([1, 3, 8, 8])])).toThrow(/GeneralizedRCNNTransform: expected images\[0\] of shape \[3, H, W\] \(one channel per imageMean entry\), got \[1, 3, 8, 8\]/);
    expect(() => transform.call([rand([3, 8, 8]), rand([1, 8, 8])])).toThrow(/images\[1\] of shape \[3, H, W\]/);
    expect(() => transform.call([zeros([3, 8, 8], { dtype: 'uint8' })])).toThrow(DTypeError);
    expect(() => transform.call([zeros([3, 8, 8], { dtype: 'uint8' })])).toThrow(/expected images\[0\] to have dtype float32, got uint8/);
    const boxes = tensor([[1, 1, 4, 4]], { dtype: 'float32' });
    const labels = tensor(Int32Array.of(1));
    expect(() => transform.call([rand([3, 8, 8])], [])).toThrow(/expected one target per image \(1\), got 0/);
    expect(() => transform.call([rand([3, 8, 8])], [{ boxes: tensor([1, 1, 4, 4], { dtype: 'float32' }), labels }])).toThrow(/expected targets\[0\].boxes of shape \[K, 4\], got \[4\]/);
    expect(() => transform.call([rand([3, 8, 8])], [{ boxes, labels, masks: zeros([1, 4, 4], { dtype: 'uint8' }) }])).toThrow(/expected targets\[0\].masks of shape \[K, 8, 8\] \(the image's size\), got \[1, 4, 4\]/);
    expect(() => transform.call([rand([3, 1, 200])])).toThrow(/an image of \[1, 200\] resizes to \[0, 100\]/);
    expect(() => transform.postprocess([{ boxes }], [[8, 8]], [])).toThrow(/expected one image shape and one original size per result \(1\), got 1 and 0/);
    expect(() => transform.postprocess([{ boxes }], [[8, 8]], [[0, 8]])).toThrow(/expected originalImageSizes\[0\] to be \[height, width\], positive integers/);
    expect(() => transform.postprocess([{ boxes, masks: zeros([1, 28, 28]) }], [[8, 8]], [[4, 4]])).toThrow(/pasteMasksInImage: expected masks of shape \[N, 1, M, M\]/);
  });
});
