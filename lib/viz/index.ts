/**
 * Visualisation: charts drawn with Vega-Lite and rendered headless to SVG and PNG (training
 * curves, confusion matrices, learning-rate schedules, histograms, PR curves, any spec),
 * boxes and segmentations drawn on images, images written as PNG; and a look inside
 * networks: saliency maps (gradient, SmoothGrad, Integrated Gradients), Grad-CAM and
 * Grad-CAM++, occlusion, filters, feature maps and activation maximisation, returned as
 * tensors and drawn with perceptual colormaps and image grids.
 * @module
 */
export { activationMaximization, type ActivationMaximizationOptions } from './activation_maximization.js';
export { apBars, type ApBarsOptions, type ApMetric } from './ap_bars.js';
export { colormap, overlayHeatmap, type ColormapName, type ColormapOptions, type OverlayHeatmapOptions } from './colormap.js';
export { confusionMatrix, type ClassLabels, type ConfusionMatrixChart, type ConfusionMatrixOptions } from './confusion_matrix.js';
export { drawBoundingBoxes, type BoxColor, type DrawBoundingBoxesOptions } from './draw_bounding_boxes.js';
export { encodePng } from './encode_png.js';
export { featureMaps, type FeatureMapsOptions } from './feature_maps.js';
export { filters, type FiltersOptions } from './filters.js';
export { gradCam, type GradCamOptions } from './grad_cam.js';
export { makeGrid, type MakeGridOptions } from './grid.js';
export { histogram, type HistogramChart, type HistogramOptions, type NamedTensors, type TensorHistogram } from './histogram.js';
export type { Target } from './inputs.js';
export type { LayerRef } from './layer.js';
export { lrSchedule, type LrScheduleChart, type LrScheduleOptions, type SchedulerFactory } from './lr_schedule.js';
export { occlusion, type OcclusionOptions } from './occlusion.js';
export { overlaySegmentation, type OverlaySegmentationOptions } from './overlay_segmentation.js';
export { precisionRecall, prCurve, type PrCurveOptions, type PrCurveSeries } from './pr_curve.js';
export { renderVegaLite, type RenderedChart, type RenderVegaLiteOptions, type VegaLiteSpec } from './vega.js';
export { saliency, type Saliency, type SaliencyMethod, type SaliencyOptions } from './saliency.js';
export { trainingCurves, type TrainingCurvesOptions } from './training_curves.js';
export { encodeImagePng, writePng, type WritePngOptions } from './write_png.js';
