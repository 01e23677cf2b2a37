import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, models, rand, ShapeError, tensor, zeros } from '../../../lib/index.js';
import { expectClose } from '../../helpers/devices.js';
import { readFixture } from '../../helpers/fixture_cases.js';

const { pasteMasksInImage } = models.detection;

// tests/fixtures/make_paste_masks_fixtures.py: torchvision 0.14's paste_masks_in_image on
// seeded random masks and boxes (fractional, negative, past the edge, under a pixel, larger
// and smaller than the padded mask).
interface Stored {
  shape: number[];
  values: number[];
}
interface PasteCase {
  name: string;
  imageShape: [number, number];
  padding: number;
  masks: Stored;
  boxes: Stored;
  output: Stored;
}
const fixture = readFixture<{ cases: PasteCase[]; emptyShape: number[] }>('paste_masks.json');
const load = (s: Stored) => tensor(Float32Array.from(s.values)).reshape(s.shape);

describe('pasteMasksInImage against torchvision', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: [${c.masks.shape}] into [${c.imageShape}]`, () => {
      const out = pasteMasksInImage(load(c.masks), load(c.boxes), c.imageShape, c.padding);
      expect(out.shape).toEqual(c.output.shape);
      expect(out.dtype).toBe('float32');
      expectClose(out.dataSync(), c.output.values, 1e-5);
    });
  }

  it('returns [0, 1, H, W] for no masks, as torchvision', () => {
    const out = pasteMasksInImage(zeros([0, 1, 28, 28]), zeros([0, 4]), [5, 7]);
    expect(out.shape).toEqual(fixture.emptyShape);
  });

  it('is differentiable with respect to the masks (each pixel\'s weights sum to 1 inside the box)', () => {
    const masks = rand([1, 1, 4, 4]).requiresGrad_();
    // Without padding the box stays [2, 2, 8, 8]: 7x7 pixels upsampled from the 4x4 mask.
    const out = pasteMasksInImage(masks, tensor([[2, 2, 8, 8]], { dtype: 'float32' }), [10, 10], 0);
    out.sum().backward();
    // Each of the 49 pasted pixels spreads a total weight of 1 over the mask's cells.
    expect(masks.grad!.sum().item()).toBeCloseTo(49, 4);
    expect(out.slice(2, 0, 2).abs().sum().item()).toBe(0);
  });
});

describe('pasteMasksInImage failures', () => {
  const masks = rand([2, 1, 28, 28]);
  const boxes = tensor([[0, 0, 5, 5], [1, 1, 9, 9]], { dtype: 'float32' });
  it('names the argument and what came', () => {
    expect(() => pasteMasksInImage(rand([2, 28, 28]), boxes, [10, 10])).toThrow(ShapeError);
    expect(() => pasteMasksInImage(rand([2, 1, 28, 14]), boxes, [10, 10])).toThrow(/pasteMasksInImage: expected masks of shape \[N, 1, M, M\] \(square, M >= 1\), got \[2, 1, 28, 14\]/);
    expect(() => pasteMasksInImage(masks, boxes.slice(0, 0, 1), [10, 10])).toThrow(/pasteMasksInImage: expected boxes of shape \[2, 4\] \(one xyxy box per mask\), got \[1, 4\]/);
    expect(() => pasteMasksInImage(masks.to('uint8'), boxes, [10, 10])).toThrow(DTypeError);
    expect(() => pasteMasksInImage(masks, boxes.to('int32'), [10, 10])).toThrow(DTypeError);
    expect(() => pasteMasksInImage(masks, boxes, [10, 0])).toThrow(/pasteMasksInImage: expected imageShape to be \[height, width\], positive integers/);
    expect(() => pasteMasksInImage(masks, boxes, [10, 10], -1)).toThrow(ArgumentError);
    expect(() => pasteMasksInImage(null as never, boxes, [10, 10])).toThrow(/pasteMasksInImage: expected masks to be a Tensor/);
  });
});
