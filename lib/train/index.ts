/**
 * Training loops.
 * @module
 */
export { evaluate, type BatchMetric, type EvaluateOptions, type EvaluateResult } from './evaluate.js';
export { bestCheckpoint, earlyStopping, fit, type BatchSource, type Callback, type EpochLog, type FitOptions } from './fit.js';
export { ProgressBar } from './progress.js';
