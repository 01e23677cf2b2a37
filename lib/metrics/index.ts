/**
 * Metrics, as torchmetrics' functional ones: classification accuracy and the confusion
 * matrix; detection average precision (PASCAL VOC's and COCO's rules). One line each, sorted.
 * @module
 */
export { averagePrecision, type AveragePrecisionMethod, type AveragePrecisionOptions } from './average_precision.js';
export { accuracy, confusionMatrix, type AccuracyOptions } from './classification.js';
