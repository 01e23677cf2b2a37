/**
 * Visualisation: PNG line charts, Vega-Lite charts rendered headless (PR curves), and
 * boxes drawn on images.
 * @module
 */
export { drawBoundingBoxes, type BoxColor, type DrawBoundingBoxesOptions } from './draw_bounding_boxes.js';
export { encodePng, plotLines, type Series } from './plot.js';
export { precisionRecall, prCurve, type PrCurveOptions, type PrCurveSeries } from './pr_curve.js';
export { renderVegaLite, type RenderedChart, type RenderVegaLiteOptions, type VegaLiteSpec } from './vega.js';
