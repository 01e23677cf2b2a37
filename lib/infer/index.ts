/**
 * Inference: sessions that serve a model for throughput (BatchNorm folded and ReLU fused,
 * batches run one at a time, dynamic batching in a bounded queue), the fusion on its own,
 * sliding-window inference over images and volumes too large to run whole, with MONAI's
 * importance-weighted blending, flip test-time augmentation, and the stages around a model
 * (torchvision's image presets, top classes, label maps) joined by a Pipeline, and a pool of
 * worker threads that share one copy of the weights for CPU throughput. One line each, sorted.
 * @module
 */
export { batchedDetector, type ListDetector } from './batched_detector.js';
export { flipTta, type FlipTtaOptions, type TtaActivation } from './flip_tta.js';
export { fuseForInference, type Activation, type FusedModel, type FuseOptions } from './fuse.js';
export { halfPrecision, type HalfPrecisionModel } from './half_precision.js';
export { Pipeline, type PipelineStages, type Submitter } from './pipeline.js';
export {
  classificationPostprocess,
  detectionPostprocess,
  segmentationPostprocess,
  topClasses,
  type ClassPrediction,
  type DetectedObject,
  type DetectionPostprocessOptions,
  type SegmentationPostprocessOptions,
  type TopClassesOptions,
} from './postprocess.js';
export {
  detectionPreset,
  IMAGENET_MEAN,
  IMAGENET_STD,
  imageClassificationPreset,
  semanticSegmentationPreset,
  type DetectionPresetOptions,
  type ImageClassificationPresetOptions,
  type ImagePreprocess,
  type ImagePresetOptions,
  type PreparedImage,
  type SemanticSegmentationPresetOptions,
} from './preprocess.js';
export { InferenceSession, type InferenceSessionOptions, type InferenceSessionStats, type RunOptions, type SampleResult } from './session.js';
export { importanceMap, slidingWindowInference, type BlendMode, type SlidingWindowOptions, type TilePredictor } from './sliding_window.js';
export { WorkerPool, type WorkerPoolOptions, type WorkerPoolStats } from './worker_pool.js';
