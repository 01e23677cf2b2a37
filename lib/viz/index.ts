/**
 * Visualisation: charts drawn with Vega-Lite and rendered headless to SVG and PNG (training
 * curves, PR curves, any spec), boxes and segmentations drawn on images, and images and
 * RGB rasters written as PNG.
 * @module
 */
export { confusionMatrix, type ClassLabels, type ConfusionMatrixChart, type ConfusionMatrixOptions } from './confusion_matrix.js';
export { drawBoundingBoxes, type BoxColor, type DrawBoundingBoxesOptions } from './draw_bounding_boxes.js';
export { encodePng } from './encode_png.js';
export { histogram, type HistogramChart, type HistogramOptions, type NamedTensors, type TensorHistogram } from './histogram.js';
export { lrSchedule, type LrScheduleChart, type LrScheduleOptions, type SchedulerFactory } from './lr_schedule.js';
export { overlaySegmentation, type OverlaySegmentationOptions } from './overlay_segmentation.js';
export { precisionRecall, prCurve, type PrCurveOptions, type PrCurveSeries } from './pr_curve.js';
export { trainingCurves, type TrainingCurvesOptions } from './training_curves.js';
export { renderVegaLite, type RenderedChart, type RenderVegaLiteOptions, type VegaLiteSpec } from './vega.js';
export { encodeImagePng, writePng, type WritePngOptions } from './write_png.js';
