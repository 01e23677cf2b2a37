import { describe, expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, tensor, viz, zeros } from '../../lib/index.js';

const boxesOf = (rows: number[][]) => tensor(Float32Array.from(rows.flat())).reshape(rows.length, 4);

/** The distance from pixel (x, y)'s centre to the outline of box [x1, y1, x2, y2]. */
function distanceToOutline(x: number, y: number, [x1, y1, x2, y2]: readonly number[]): number {
  const [cx, cy] = [x + 0.5, y + 0.5];
  const inX = cx >= x1! && cx <= x2!;
  const inY = cy >= y1! && cy <= y2!;
  const toVertical = inY ? Math.min(Math.abs(cx - x1!), Math.abs(cx - x2!)) : Infinity;
  const toHorizontal = inX ? Math.min(Math.abs(cy - y1!), Math.abs(cy - y2!)) : Infinity;
  const toCorner = Math.min(...[[x1!, y1!], [x2!, y1!], [x1!, y2!], [x2!, y2!]].map(([px, py]) => Math.hypot(cx - px!, cy - py!)));
  return Math.min(toVertical, toHorizontal, toCorner);
}

describe('drawBoundingBoxes', () => {
  it('changes pixels along the box edges and nowhere far from them; uint8 [3, H, W] out', async () => {
    const image = zeros([3, 40, 60], { dtype: 'uint8' });
    const box = [10, 8, 50, 30];
    const drawn = await viz.drawBoundingBoxes(image, boxesOf([box]), { colors: [[255, 0, 0]], width: 2 });
    expect(drawn.shape).toEqual([3, 40, 60]);
    expect(drawn.dtype).toBe('uint8');
    const pixels = await drawn.data();
    const plane = 40 * 60;
    let onEdge = 0;
    for (let y = 0; y < 40; ++y) {
      for (let x = 0; x < 60; ++x) {
        const [r, g, b] = [pixels[y * 60 + x]!, pixels[plane + y * 60 + x]!, pixels[2 * plane + y * 60 + x]!];
        const d = distanceToOutline(x, y, box);
        if (d > 2.5) expect([x, y, r, g, b]).toEqual([x, y, 0, 0, 0]);
        if (d <= 0.5) {
          // On the outline: red, and only red.
          expect(r, `(${x}, ${y})`).toBeGreaterThan(200);
          expect(g + b).toBe(0);
          ++onEdge;
        }
      }
    }
    expect(onEdge).toBeGreaterThan(100);
  });

  it('writes labels inside the box, draws a [1, H, W] image in colour, and leaves its input alone', async () => {
    const image = zeros([1, 40, 60], { dtype: 'uint8' });
    const plain = await viz.drawBoundingBoxes(image, boxesOf([[2, 2, 58, 38]]), { colors: '#00ff00' });
    const labelled = await viz.drawBoundingBoxes(image, boxesOf([[2, 2, 58, 38]]), { colors: '#00ff00', labels: ['Shirt 0.9'], fontSize: 12 });
    expect(labelled.shape).toEqual([3, 40, 60]);
    const [a, b] = [await plain.data(), await labelled.data()];
    const changed: [number, number][] = [];
    for (let p = 0; p < 40 * 60; ++p) if (a[40 * 60 + p] !== b[40 * 60 + p]) changed.push([p % 60, Math.floor(p / 60)]);
    // The text: some pixels, all near the top-left corner, inside the box.
    expect(changed.length).toBeGreaterThan(10);
    for (const [x, y] of changed) {
      // (x, y >= 2: the glyphs' anti-aliasing may touch the outline's own row or column.)
      expect(x).toBeGreaterThanOrEqual(2);
      expect(y).toBeGreaterThanOrEqual(2);
      expect(y).toBeLessThan(20);
    }
    expect([...(await image.data())].every((v) => v === 0)).toBe(true);
  });

  it('draws nothing for no boxes', async () => {
    const image = tensor(Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i), { shape: [3, 4, 5] });
    const drawn = await viz.drawBoundingBoxes(image, zeros([0, 4]));
    expect([...(await drawn.data())]).toEqual([...(await image.data())]);
  });

  it('refuses bad images, boxes, labels and colours with typed errors', async () => {
    const image = zeros([3, 8, 8], { dtype: 'uint8' });
    const box = boxesOf([[1, 1, 5, 5]]);
    await expect(viz.drawBoundingBoxes(zeros([3, 8, 8]), box)).rejects.toThrow(DTypeError);
    await expect(viz.drawBoundingBoxes(zeros([2, 8, 8], { dtype: 'uint8' }), box)).rejects.toThrow(/drawBoundingBoxes: expected image of shape \[3, H, W\] or \[1, H, W\], got \[2, 8, 8\]/);
    await expect(viz.drawBoundingBoxes(image, zeros([2, 3]))).rejects.toThrow(ShapeError);
    await expect(viz.drawBoundingBoxes(image, boxesOf([[5, 1, 1, 5]]))).rejects.toThrow(/boxes\[0\] to be finite xyxy with x1 <= x2 and y1 <= y2, got \[5, 1, 1, 5\]/);
    await expect(viz.drawBoundingBoxes(image, box, { labels: ['a', 'b'] })).rejects.toThrow(/labels to be 1 strings/);
    await expect(viz.drawBoundingBoxes(image, box, { colors: ['red', 'blue'] })).rejects.toThrow(/colors to be one colour or 1/);
    await expect(viz.drawBoundingBoxes(image, box, { colors: [300, 0, 0] })).rejects.toThrow(ArgumentError);
    await expect(viz.drawBoundingBoxes(image, box, { colors: 'red"/><script' })).rejects.toThrow(/CSS colour/);
    await expect(viz.drawBoundingBoxes(image, box, { width: 0 })).rejects.toThrow(/width/);
  });
});
