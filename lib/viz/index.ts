/**
 * Visualisation: PNG line charts, Vega-Lite charts rendered headless (PR curves), boxes
 * and segmentations drawn on images, images written as PNG; and a look inside networks:
 * saliency maps (gradient, SmoothGrad, Integrated Gradients), Grad-CAM and Grad-CAM++,
 * occlusion, filters, feature maps and activation maximisation, returned as tensors and
 * drawn with perceptual colormaps and image grids.
 * @module
 */
export { activationMaximization, type ActivationMaximizationOptions } from './activation_maximization.js';
export { colormap, overlayHeatmap, type ColormapName, type ColormapOptions, type OverlayHeatmapOptions } from './colormap.js';
export { drawBoundingBoxes, type BoxColor, type DrawBoundingBoxesOptions } from './draw_bounding_boxes.js';
export { featureMaps, type FeatureMapsOptions } from './feature_maps.js';
export { filters, type FiltersOptions } from './filters.js';
export { gradCam, type GradCamOptions } from './grad_cam.js';
export { makeGrid, type MakeGridOptions } from './grid.js';
export { occlusion, type OcclusionOptions } from './occlusion.js';
export { overlaySegmentation, type OverlaySegmentationOptions } from './overlay_segmentation.js';
export type { Target } from './inputs.js';
export type { LayerRef } from './layer.js';
export { encodePng, plotLines, type Series } from './plot.js';
export { precisionRecall, prCurve, type PrCurveOptions, type PrCurveSeries } from './pr_curve.js';
export { saliency, type Saliency, type SaliencyMethod, type SaliencyOptions } from './saliency.js';
export { renderVegaLite, type RenderedChart, type RenderVegaLiteOptions, type VegaLiteSpec } from './vega.js';
export { encodeImagePng, writePng, type WritePngOptions } from './write_png.js';
