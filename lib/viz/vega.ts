/**
 * Charts from Vega-Lite specs, rendered headless: Vega-Lite compiles the spec to Vega,
 * a Vega View with no renderer draws it to SVG, and sharp rasterises the SVG to PNG. The
 * base for the library's charts (PR curves, and any chart a spec can describe).
 * @module
 */
import sharp from 'sharp';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

import { ArgumentError } from '../errors.js';
import { describe } from '../tensor/shape.js';

/** A Vega-Lite spec (the `vega-lite` package's TopLevelSpec). */
export type VegaLiteSpec = TopLevelSpec;

/** Options of {@link renderVegaLite}. */
export interface RenderVegaLiteOptions {
  /** Pixels of the PNG per SVG unit (default 2: sharp text at the chart's nominal size). */
  scale?: number;
}

/** A rendered chart: the SVG text and the PNG bytes of the same picture. */
export interface RenderedChart {
  /** The chart as SVG markup (vector; the spec's width and height, plus padding and axes). */
  svg: string;
  /** The chart as PNG, `scale` times the SVG's size, on a white background. */
  png: Buffer;
}

/**
 * Renders a Vega-Lite spec to SVG and PNG without a browser (async: Vega's dataflow and
 * sharp's rasterisation both run asynchronously). Data must be inline (`data.values`):
 * nothing is loaded.
 *
 * @example
 * const { svg, png } = await viz.renderVegaLite({
 *   data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
 *   mark: 'line',
 *   encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
 * });
 * writeFileSync('chart.png', png);
 */
export async function renderVegaLite(spec: VegaLiteSpec, opts: RenderVegaLiteOptions = {}): Promise<RenderedChart> {
  const op = 'renderVegaLite';
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ArgumentError(`${op}: expected spec to be a Vega-Lite spec object, got ${describe(spec)}`);
  const scale = opts.scale ?? 2;
  if (typeof scale !== 'number' || !(scale > 0 && scale <= 16)) throw new ArgumentError(`${op}: expected scale to be a number in (0, 16], got ${describe(scale)}`);
  let compiled: vega.Spec;
  try {
    compiled = vegaLite.compile(spec).spec;
  } catch (error) {
    throw new ArgumentError(`${op}: the spec does not compile: ${(error as Error).message}`);
  }
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = await sharp(Buffer.from(svg), { density: 72 * scale }).flatten({ background: '#ffffff' }).png().toBuffer();
    return { svg, png };
  } finally {
    view.finalize();
  }
}
