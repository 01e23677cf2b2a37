/**
 * Metrics, as torchmetrics' functional ones: classification accuracy and the confusion
 * matrix; detection average precision (PASCAL VOC's and COCO's rules) and COCO's mAP as
 * pycocotools computes it; segmentation Dice / IoU, the accumulated confusion matrix with
 * mean IoU, and surface distances (HD95, ASD) as MONAI's. One line each, sorted.
 * @module
 */
export { averagePrecision, type AveragePrecisionMethod, type AveragePrecisionOptions } from './average_precision.js';
export { accuracy, confusionMatrix, type AccuracyOptions } from './classification.js';
export {
  MeanAveragePrecision,
  meanAveragePrecision,
  precisionRecallCurves,
  type ClassAveragePrecision,
  type ClassPrecisionRecallCurve,
  type CocoAreaRange,
  type CocoEvalArrays,
  type DetectionPrediction,
  type MeanAveragePrecisionResult,
  type PrecisionRecallCurveOptions,
} from './mean_average_precision.js';
export type { Detection, DetectionTarget } from '../tensor/detection_records.js';
export {
  diceScore,
  iouScore,
  SegmentationConfusionMatrix,
  type OverlapScoreOptions,
  type SegmentationMaskOptions,
  type SegmentationMetrics,
} from './segmentation.js';
export {
  averageSurfaceDistance,
  hausdorffDistance,
  type AverageSurfaceDistanceOptions,
  type HausdorffDistanceOptions,
  type SurfaceDistanceOptions,
} from './surface_distance.js';
