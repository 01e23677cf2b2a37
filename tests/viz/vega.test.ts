import sharp from 'sharp';
import { expect, it } from 'vitest';

import { ArgumentError, viz } from '../../lib/index.js';

const spec: viz.VegaLiteSpec = {
  width: 200,
  height: 100,
  data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }, { x: 3, y: 1 }] },
  mark: 'line',
  encoding: { x: { field: 'x', type: 'quantitative', title: 'Epoch' }, y: { field: 'y', type: 'quantitative', title: 'Loss' } },
};

it('renders a Vega-Lite spec to SVG with its axis titles and to a PNG of the SVG size times the scale', async () => {
  const { svg, png } = await viz.renderVegaLite(spec);
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('Epoch');
  expect(svg).toContain('Loss');
  const width = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
  const height = Number(/height="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
  expect(width).toBeGreaterThan(200);
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  expect(meta.width).toBe(Math.round(2 * width));
  expect(meta.height).toBe(Math.round(2 * height));
  const once = await sharp((await viz.renderVegaLite(spec, { scale: 1 })).png).metadata();
  expect(once.width).toBe(Math.round(width));
});

it('refuses a spec that is not an object or does not compile, and a bad scale', async () => {
  await expect(viz.renderVegaLite(null as unknown as viz.VegaLiteSpec)).rejects.toThrow(/renderVegaLite: expected spec to be a Vega-Lite spec object, got null/);
  await expect(viz.renderVegaLite({ mark: 'nonsense' } as unknown as viz.VegaLiteSpec)).rejects.toThrow(ArgumentError);
  await expect(viz.renderVegaLite(spec, { scale: 0 })).rejects.toThrow(/scale/);
});
