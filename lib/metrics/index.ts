/**
 * Metrics, as torchmetrics' functional ones: classification accuracy and the confusion
 * matrix, one line each, sorted.
 * @module
 */
export { accuracy, confusionMatrix, type AccuracyOptions } from './classification.js';
