// lib/data/box_geometry.ts: boxes (xyxy, pixel edges) under flips, crops, resizes and affine
// maps, clipped to the output image; checked against the moved corners by hand.
import { describe, expect, it } from 'vitest';

import { affineBoxes, clipBoxes, cropBoxes, flipBoxesX, flipBoxesY, scaleBoxes } from '../../lib/data/box_geometry.js';
import { boxMatrix, rotation } from '../../lib/data/geometry.js';
import { memory, tensor, type Device } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

describeDevices('box geometry', (device: Device) => {
  // In a 10 (h) x 20 (w) image.
  const boxes = () => tensor([[2, 1, 6, 4], [0, 0, 20, 10]], { dtype: 'float32', device });

  it('flips mirror the coordinates and keep x1 < x2, y1 < y2', () => {
    expect(flipBoxesX(boxes(), 20).tolist()).toEqual([[14, 1, 18, 4], [0, 0, 20, 10]]);
    expect(flipBoxesY(boxes(), 10).tolist()).toEqual([[2, 6, 6, 9], [0, 0, 20, 10]]);
    expect(flipBoxesX(flipBoxesX(boxes(), 20), 20).tolist()).toEqual(boxes().tolist());
  });

  it('crop shifts into the window and clips to it; scale multiplies x and y apart', () => {
    expect(cropBoxes(boxes(), 2, 3, [5, 10]).tolist()).toEqual([[0, 0, 3, 2], [0, 0, 10, 5]]);
    expect(scaleBoxes(boxes(), 0.5, 2).tolist()).toEqual([[1, 2, 3, 8], [0, 0, 10, 20]]);
    expect(clipBoxes(tensor([[-3, 2, 25, 12]], { dtype: 'float32', device }), 10, 20).tolist()).toEqual([[0, 2, 20, 10]]);
  });

  it('an affine map gives the box enclosing the four moved corners, clipped', () => {
    // A half turn about the center of a 10 x 20 image: (x, y) -> (20 - x, 10 - y).
    expectClose(affineBoxes(boxes(), boxMatrix(rotation(180), 10, 20), 10, 20).dataSync(), [14, 6, 18, 9, 0, 0, 20, 10], 1e-5);
    // A 45 degree turn of a 2 x 2 box at the center of a 10 x 10 image: a diamond of half-diagonal sqrt(2).
    const r = Math.SQRT2;
    const centered = tensor([[4, 4, 6, 6]], { dtype: 'float32', device });
    expectClose(affineBoxes(centered, boxMatrix(rotation(45), 10, 10), 10, 10).dataSync(), [5 - r, 5 - r, 5 + r, 5 + r], 1e-5);
  });

  it('leaves no temporaries behind', () => {
    const input = boxes();
    const before = memory(device).tensors;
    const out = [flipBoxesX(input, 20), cropBoxes(input, 1, 1, [4, 4]), affineBoxes(input, boxMatrix(rotation(30), 10, 20), 10, 20)];
    expect(memory(device).tensors).toBe(before + out.length);
  });
});

describe('box geometry on no boxes', () => {
  it('keeps the [0, 4] shape', () => {
    const none = tensor(new Float32Array(0), { shape: [0, 4] });
    expect(flipBoxesX(none, 5).shape).toEqual([0, 4]);
    expect(affineBoxes(none, boxMatrix(rotation(10), 5, 5), 5, 5).shape).toEqual([0, 4]);
  });
});
