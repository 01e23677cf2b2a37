/**
 * Training loops.
 * @module
 */
export { bestCheckpoint, earlyStopping, fit, type BatchSource, type Callback, type EpochLog, type FitOptions } from './fit.js';
export { ProgressBar } from './progress.js';
