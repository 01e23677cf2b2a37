/**
 * Inference helpers: sliding-window inference over images and volumes too large to run
 * whole, with MONAI's importance-weighted blending, and flip test-time augmentation. One
 * line each, sorted.
 * @module
 */
export { flipTta, type FlipTtaOptions, type TtaActivation } from './flip_tta.js';
export { importanceMap, slidingWindowInference, type BlendMode, type SlidingWindowOptions, type TilePredictor } from './sliding_window.js';
