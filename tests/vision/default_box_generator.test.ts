import { expect, it } from 'vitest';

import { ArgumentError, ShapeError, vision, zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { readFixture } from '../helpers/fixture_cases.js';

// Written by make_ssd_fixtures.py from torchvision 0.14's DefaultBoxGenerator: scales
// estimated from min/max ratios (several levels, and one), given scales above 1 with and
// without clipping, steps that divide the image evenly and one (7) that does not, and cells
// that divide the image when no steps are given. The boxes are float32 and must be equal.
interface BoxCase {
  aspect_ratios: number[][];
  kwargs: { scales?: number[]; steps?: number[]; clip?: boolean; min_ratio?: number; max_ratio?: number };
  image: [number, number];
  grids: Array<[number, number]>;
  scales: number[];
  num_anchors: number[];
  boxes: number[][];
}
const fixture = readFixture<{ default_boxes: BoxCase[] }>('ssd.json');

describeDevices('DefaultBoxGenerator', (device) => {
  for (const c of fixture.default_boxes) {
    it(`aspect ratios ${JSON.stringify(c.aspect_ratios)} ${JSON.stringify(c.kwargs)} on [${c.image}] with grids ${JSON.stringify(c.grids)} match torchvision`, () => {
      const { scales, steps, clip, min_ratio: minRatio, max_ratio: maxRatio } = c.kwargs;
      const generator = new vision.DefaultBoxGenerator(c.aspect_ratios, { scales, steps, clip, minRatio, maxRatio });
      expect(generator.scales.map(Math.fround)).toEqual(c.scales.map(Math.fround));
      expect(generator.numAnchorsPerLocation()).toEqual(c.num_anchors);
      const [h, w] = c.image;
      const imageList = new vision.ImageList(zeros([2, 3, h, w], { device }), [[h, w], [h - 1, w]]);
      const boxes = generator.call(imageList, c.grids.map(([gh, gw]) => zeros([2, 1, gh, gw], { device })));
      expect(boxes).toHaveLength(2);
      for (const b of boxes) {
        expect(b.device).toBe(device);
        expect(b.dtype).toBe('float32');
        expect(b.shape).toEqual([c.boxes.length, 4]);
        expect(Array.from(b.dataSync())).toEqual(c.boxes.flat().map(Math.fround));
      }
      generator.dispose();
    });
  }
});

it('DefaultBoxGenerator rejects malformed aspect ratios, steps, scales and clip (ArgumentError)', () => {
  expect(() => new vision.DefaultBoxGenerator([])).toThrow(ArgumentError);
  expect(() => new vision.DefaultBoxGenerator([[2], [0]])).toThrow(/DefaultBoxGenerator: expected aspectRatios\[1\] to be an array of positive finite numbers, got/);
  expect(() => new vision.DefaultBoxGenerator([[2], [3]], { steps: [8] })).toThrow(/expected steps to be an array of 2 positive finite numbers/);
  expect(() => new vision.DefaultBoxGenerator([[2], [3]], { scales: [0.1, 0.2] })).toThrow(/expected scales to be an array of 3 positive finite numbers/);
  expect(() => new vision.DefaultBoxGenerator([[2]], { clip: 1 as unknown as boolean })).toThrow(/expected clip to be a boolean, got/);
});

it('DefaultBoxGenerator.forward rejects the wrong number of feature maps, bad shapes and mixed devices', () => {
  const generator = new vision.DefaultBoxGenerator([[2], [2, 3]]);
  const imageList = new vision.ImageList(zeros([1, 3, 32, 32]), [[32, 32]]);
  expect(() => generator.call(imageList, [zeros([1, 1, 4, 4])])).toThrow(/DefaultBoxGenerator.forward: expected one feature map per level of aspectRatios \(2\), got 1/);
  expect(() => generator.call(imageList, [zeros([1, 1, 4, 4]), zeros([1, 1, 0, 2])])).toThrow(ShapeError);
  expect(() => generator.call(zeros([1, 3, 32, 32]) as never, [zeros([1, 1, 4, 4]), zeros([1, 1, 2, 2])])).toThrow(/expected imageList to be an ImageList/);
  // Default boxes for a 300x300 SSD300: 8732, as the paper's.
  const ssd = new vision.DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], { scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps: [8, 16, 32, 64, 100, 300] });
  const [boxes] = ssd.call(new vision.ImageList(zeros([1, 3, 300, 300]), [[300, 300]]), [38, 19, 10, 5, 3, 1].map((s) => zeros([1, 1, s, s])));
  expect(boxes!.shape).toEqual([8732, 4]);
  expect(ssd.numAnchorsPerLocation()).toEqual([4, 6, 6, 6, 4, 4]);
});
