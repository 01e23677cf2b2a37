/**
 * Detection and segmentation machinery that is not an op. Detection, as torchvision.models.detection's:
 * the anchor generator, SSD's default boxes, the box coder, the matchers, the positive/negative
 * sampler, the FPN RoI pooler and the position-sensitive RoI Align module, with torchvision's names
 * (camelCase) and semantics. Segmentation post-processing: scores to masks and label maps, and
 * connected-component statistics and filters (MONAI's and scipy.ndimage's semantics). One line
 * each, sorted.
 * @module
 */
export { AnchorGenerator, type GridPair, type PerLevel } from './anchor_generator.js';
export { BalancedPositiveNegativeSampler, type SampledMasks } from './balanced_sampler.js';
export { BoxCoder, BoxLinearCoder, type BoxCoderOptions, type BoxCoderWeights, type BoxLinearCoderOptions } from './box_coder.js';
export {
  componentStats,
  fillHoles,
  keepLargestComponent,
  removeSmallComponents,
  type ComponentFilterOptions,
  type ComponentStats,
  type RemoveSmallComponentsOptions,
} from './components.js';
export { DefaultBoxGenerator, type DefaultBoxGeneratorOptions } from './default_box_generator.js';
export { ImageList, type ImageSize } from './image_list.js';
export { Matcher, SSDMatcher, type MatcherOptions } from './matcher.js';
export { MultiScaleRoIAlign, type MultiScaleRoIAlignOptions } from './poolers.js';
export { PSRoIAlign } from './ps_roi_align.js';
export { labelMap, thresholdMask, type ResizeScoresOptions, type ThresholdMaskOptions } from './segmentation_outputs.js';
